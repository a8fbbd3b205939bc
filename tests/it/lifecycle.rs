//! Order life after checkout: the transition table, its history, and cancelling with the
//! money back in the wallet and the stock back on the shelf.

use crate::common::*;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A paid order of two shirts (physical) and one key (digital) by customer 2.
async fn paid_order(app: &TestApp) -> (String, i64, i64, i64) {
    let shirt = app.physical(1_000, 5).await;
    let key = app.digital(500, &codes("LIFE", 2)).await;
    let token = app.customer(2, 10_000).await;
    app.put_cart(&token, shirt, 2).await;
    app.put_cart(&token, key, 1).await;
    let (s, order) = app.checkout(&token, "order").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    (token, order["id"].as_i64().expect("id"), shirt, key)
}

async fn move_to(app: &TestApp, order: i64, to: &str) -> (StatusCode, Value) {
    let path = format!("/v1/admin/orders/{order}/transitions");
    app.call(
        Method::POST,
        &path,
        Some(&app.token(1, "staff")),
        None,
        Some(json!({ "to": to })),
    )
    .await
}

#[tokio::test]
async fn staff_move_an_order_along_the_table_and_every_move_is_in_its_history() {
    let app = TestApp::spawn().await;
    let (_, order, _, _) = paid_order(&app).await;
    for to in ["processing", "shipped", "delivered"] {
        let (s, body) = move_to(&app, order, to).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["status"], to);
    }
    // delivered → shipped is not in the table: 409 naming what is allowed.
    let (s, body) = move_to(&app, order, "shipped").await;
    assert_error(s, &body, 409, "invalid_transition");
    assert_eq!(
        body["error"]["details"]["allowed"],
        json!(["return_requested", "refunded"])
    );
    let (s, body) = move_to(&app, order, "teleported").await;
    assert_error(s, &body, 422, "invalid_input");
    let history: Vec<String> = app
        .db()
        .await
        .query("SELECT coalesce(from_status, '-') || '>' || to_status FROM order_status_history ORDER BY id", &[])
        .await
        .expect("history")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        history,
        [
            "->paid",
            "paid>processing",
            "processing>shipped",
            "shipped>delivered"
        ]
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_customer_may_not_move_an_order_and_only_one_of_two_racing_moves_wins() {
    let app = TestApp::spawn().await;
    let (token, order, _, _) = paid_order(&app).await;
    let path = format!("/v1/admin/orders/{order}/transitions");
    let (s, body) = app
        .call(
            Method::POST,
            &path,
            Some(&token),
            None,
            Some(json!({ "to": "shipped" })),
        )
        .await;
    assert_error(s, &body, 403, "forbidden");
    let answers = join_all((0..10).map(|_| move_to(&app, order, "processing"))).await;
    let won = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(won, 1, "{answers:?}");
    for (s, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*s, StatusCode::CONFLICT, "{body}");
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM order_status_history")
            .await,
        2
    );
}

#[tokio::test]
async fn cancelling_gives_the_shirts_money_and_units_back_but_the_delivered_key_stays_paid() {
    let app = TestApp::spawn().await;
    let (token, order, shirt, key) = paid_order(&app).await;
    let (_, before) = app.get("/v1/me/wallet", Some(&token)).await;
    assert_eq!(before["balance_minor"], 10_000 - 2_500);
    let path = format!("/v1/me/orders/{order}/cancel");
    let (s, body) = app
        .call(Method::POST, &path, Some(&token), None, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "cancelled");
    // The shirts' 2,000 comes back; the delivered key's 500 stays paid.
    let (_, after) = app.get("/v1/me/wallet", Some(&token)).await;
    assert_eq!(
        after["balance_minor"], 9_500,
        "the actor's balance has the refund"
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 2")
            .await,
        9_500
    );
    let (_, p) = app.get(&format!("/v1/products/{shirt}"), None).await;
    assert_eq!(p["stock_available"], 5);
    let (_, k) = app.get(&format!("/v1/products/{key}"), None).await;
    assert_eq!(k["stock_available"], 1, "a delivered key stays delivered");
    // The shirts are for sale again: another buyer takes all five.
    let other = app.customer(3, 10_000).await;
    app.put_cart(&other, shirt, 5).await;
    assert_eq!(
        app.checkout(&other, "all-five").await.0,
        StatusCode::CREATED
    );
    // Twice is refused, and so is someone else's order.
    let (s, body) = app
        .call(Method::POST, &path, Some(&token), None, None)
        .await;
    assert_error(s, &body, 409, "invalid_transition");
    let (s, body) = app
        .call(Method::POST, &path, Some(&other), None, None)
        .await;
    assert_error(s, &body, 404, "not_found");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_shipped_order_cannot_be_cancelled_by_its_customer_and_ten_racing_cancels_refund_once() {
    let app = TestApp::spawn().await;
    let (token, order, _, _) = paid_order(&app).await;
    let path = format!("/v1/me/orders/{order}/cancel");
    let answers =
        join_all((0..10).map(|_| app.call(Method::POST, &path, Some(&token), None, None))).await;
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == StatusCode::OK).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM wallet_transactions WHERE kind = 'refund'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 2")
            .await,
        9_500
    );

    let (_, second, _, _) = {
        let shirt = app.physical(1_000, 5).await;
        app.put_cart(&token, shirt, 1).await;
        let (_, o) = app.checkout(&token, "second").await;
        (token.clone(), o["id"].as_i64().expect("id"), shirt, 0)
    };
    assert_eq!(move_to(&app, second, "shipped").await.0, StatusCode::OK);
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/v1/me/orders/{second}/cancel"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_error(s, &body, 409, "invalid_transition");
    // Staff may still cancel what the table allows; shipped → cancelled is not in it.
    let (s, body) = move_to(&app, second, "cancelled").await;
    assert_error(s, &body, 409, "invalid_transition");
    app.assert_invariants().await;
}

#[tokio::test]
async fn staff_cancel_a_processing_order_with_the_same_refund_and_restock() {
    let app = TestApp::spawn().await;
    let (token, order, shirt, _) = paid_order(&app).await;
    assert_eq!(move_to(&app, order, "processing").await.0, StatusCode::OK);
    let (s, body) = move_to(&app, order, "cancelled").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The shirts' money comes back; the delivered key stays paid, as in a customer's cancel.
    let (_, wallet) = app.get("/v1/me/wallet", Some(&token)).await;
    assert_eq!(wallet["balance_minor"], 9_500);
    assert_eq!(
        app.scalar(&format!(
            "SELECT stock_on_hand FROM products WHERE id = {shirt}"
        ))
        .await,
        5
    );
    // Refunded has its own flow; the table allows it from paid, but not through here.
    let (_, third) = {
        app.put_cart(&token, shirt, 1).await;
        let (_, o) = app.checkout(&token, "third").await;
        (0, o["id"].as_i64().expect("id"))
    };
    let (s, body) = move_to(&app, third, "refunded").await;
    assert_error(s, &body, 409, "invalid_transition");
    assert_eq!(body["error"]["details"]["reason"], "needs_its_own_endpoint");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_stopped_app_leaves_no_connection_behind() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 1_000).await;
    app.put_cart(&c, p, 1).await;
    assert_eq!(app.checkout(&c, "leak").await.0.as_u16(), 201);
    // Stopped while busy, as `souk bench` stops one engine's app before the next: every
    // actor thread must stop too, not only the HTTP server.
    let busy: Vec<_> = (10..40).map(|u| app.customer(u, 1_000)).collect();
    let tokens = futures_util::future::join_all(busy).await;
    let carts = tokens.iter().map(|t| app.put_cart(t, p, 1));
    futures_util::future::join_all(carts).await;
    // A client still holds a keep-alive connection when the app stops.
    let lingering = reqwest::Client::new();
    let health = lingering.get(format!("{}/v1/health", app.base)).send();
    assert!(health.await.expect("health").status().is_success());
    let (url, name) = (app.db_url.clone(), app.db_name.clone());
    drop(app);
    let client = souk::db::connect_one(&url).await.expect("connect");
    let mut left = i64::MAX;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&name],
            )
            .await
            .expect("count")
            .get(0);
        if left == 0 {
            break;
        }
    }
    let queries: Vec<String> = client
        .query(
            "SELECT coalesce(query, '') FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .await
        .expect("queries")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        left, 0,
        "connections left open after the app stopped: {queries:?}"
    );
}

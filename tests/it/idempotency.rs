//! P3/I4 and P4: a double click charges once; a failed checkout changes nothing.

use crate::common::*;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_checkouts_with_one_key_make_one_order_and_one_debit() {
    let app = TestApp::spawn().await;
    let product = app.physical(1_500, 100).await;
    let token = app.customer(7, 10_000).await;
    app.put_cart(&token, product, 2).await;
    let answers = join_all((0..20).map(|_| app.checkout(&token, "double-click"))).await;
    let first = &answers[0];
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    for answer in &answers {
        assert_eq!(answer, first, "every answer is the first one");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 1);
    assert_eq!(
        app.scalar("SELECT count(*) FROM wallet_transactions WHERE kind = 'debit'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 7")
            .await,
        10_000 - 3_000
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT stock_on_hand FROM products WHERE id = {product}"
        ))
        .await,
        98
    );

    // Later, the same key with another body is refused; with the same body it replays.
    let other = json!({ "payment": "wallet", "promo_code": "SPRING" });
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/me/checkout",
            Some(&token),
            Some("double-click"),
            Some(other),
        )
        .await;
    assert_error(s, &b, 422, "idempotency_key_reused");
    assert_eq!(&app.checkout(&token, "double-click").await, first);
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn a_key_reused_while_the_first_request_runs_with_another_body_is_refused() {
    let app = TestApp::spawn().await;
    let product = app.physical(100, 10).await;
    let token = app.customer(8, 1_000).await;
    app.put_cart(&token, product, 1).await;
    let same = app.checkout(&token, "k");
    let other = app.call(
        Method::POST,
        "/v1/me/checkout",
        Some(&token),
        Some("k"),
        Some(json!({ "payment": "wallet", "promo_code": "X" })),
    );
    let (a, b) = tokio::join!(same, other);
    // Whichever reached the key first owns it; the other is refused as a reuse.
    let (first, second) = if a.1["error"]["code"] == "idempotency_key_reused" {
        (b, a)
    } else {
        (a, b)
    };
    assert_error(second.0, &second.1, 422, "idempotency_key_reused");
    let orders = app.scalar("SELECT count(*) FROM orders").await;
    match first.0.as_u16() {
        201 => assert_eq!(orders, 1),
        _ => {
            assert_error(first.0, &first.1, 422, "promo_invalid");
            assert_eq!(orders, 0);
        }
    }
}

#[tokio::test]
async fn an_admin_credit_retried_with_its_key_is_applied_once() {
    let app = TestApp::spawn().await;
    app.customer(9, 0).await;
    let body = json!({ "amount_minor": 2_500, "reason": "refund by hand" });
    let path = "/v1/admin/users/9/wallet/credits";
    let admin = app.admin();
    let answers = join_all((0..10).map(|_| {
        app.call(
            Method::POST,
            path,
            Some(&admin),
            Some("credit-1"),
            Some(body.clone()),
        )
    }))
    .await;
    assert!(
        answers
            .iter()
            .all(|a| a == &answers[0] && a.0 == StatusCode::CREATED),
        "{answers:?}"
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 9")
            .await,
        2_500
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM wallet_transactions WHERE user_id = 9")
            .await,
        1
    );
}

/// Stock, balance and cart, as the API and the database report them.
async fn snapshot(
    app: &TestApp,
    token: &str,
    user: i64,
    product: i64,
) -> (i64, i64, serde_json::Value, i64) {
    let (_, cart) = app.get("/v1/me/cart", Some(token)).await;
    let stock = app
        .scalar(&format!(
            "SELECT stock_on_hand FROM products WHERE id = {product}"
        ))
        .await;
    let balance = app
        .scalar(&format!(
            "SELECT balance_minor FROM users WHERE id = {user}"
        ))
        .await;
    let lines = app
        .scalar(&format!(
            "SELECT count(*) FROM cart_items WHERE user_id = {user}"
        ))
        .await;
    (stock, balance, cart, lines)
}

#[tokio::test]
async fn a_checkout_refused_for_funds_leaves_stock_balance_and_cart_as_they_were() {
    let app = TestApp::spawn().await;
    let product = app.physical(4_000, 3).await;
    let token = app.customer(11, 5_000).await;
    app.put_cart(&token, product, 2).await;
    let before = snapshot(&app, &token, 11, product).await;
    let (s, b) = app.checkout(&token, "poor").await;
    assert_error(s, &b, 402, "insufficient_funds");
    assert_eq!(b["error"]["details"]["required_minor"], 8_000);
    assert_eq!(b["error"]["details"]["balance_minor"], 5_000);
    assert_eq!(snapshot(&app, &token, 11, product).await, before);
    // The reservation was released: another buyer can take all three units.
    let other = app.customer(12, 20_000).await;
    app.put_cart(&other, product, 3).await;
    assert_eq!(app.checkout(&other, "rich").await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_checkout_refused_for_stock_leaves_stock_balance_and_cart_as_they_were() {
    let app = TestApp::spawn().await;
    let plenty = app.physical(100, 50).await;
    let scarce = app.physical(100, 1).await;
    let token = app.customer(13, 5_000).await;
    app.put_cart(&token, plenty, 5).await;
    app.put_cart(&token, scarce, 2).await;
    let before = snapshot(&app, &token, 13, plenty).await;
    let (s, b) = app.checkout(&token, "greedy").await;
    assert_error(s, &b, 409, "out_of_stock");
    assert_eq!(b["error"]["details"]["product_id"], scarce);
    assert_eq!(b["error"]["details"]["requested"], 2);
    assert_eq!(b["error"]["details"]["available"], 1);
    assert_eq!(snapshot(&app, &token, 13, plenty).await, before);
    assert_eq!(
        app.scalar(&format!(
            "SELECT stock_on_hand FROM products WHERE id = {scarce}"
        ))
        .await,
        1
    );
    // The first line's reservation was released too: all 50 are still for sale.
    let (_, p) = app.get(&format!("/v1/products/{plenty}"), None).await;
    assert_eq!(p["stock_available"], 50);
    let other = app.customer(14, 10_000).await;
    app.put_cart(&other, plenty, 50).await;
    assert_eq!(app.checkout(&other, "all").await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_refusal_is_the_keys_answer_even_after_the_reason_is_gone() {
    let app = TestApp::spawn().await;
    let product = app.physical(100, 5).await;
    let token = app.customer(15, 1_000).await;
    let (s, first) = app.checkout(&token, "too-early").await;
    assert_error(s, &first, 409, "cart_empty");
    // The cart is filled now, but this key already answered: the same refusal, byte for byte.
    app.put_cart(&token, product, 1).await;
    let (s, again) = app.checkout(&token, "too-early").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(again, first);
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 0);
    // A new key checks out.
    assert_eq!(app.checkout(&token, "now").await.0, StatusCode::CREATED);
}

/// Issue 13, item 6: four requests with body A and four with body B race for one key, in
/// many trials. The key's stored answer decides: every request with the body that produced
/// it gets exactly that answer, every other one is refused as a reuse, whichever request
/// happened to hold the key in flight when it arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_with_the_stored_answers_body_gets_that_answer_when_two_bodies_race() {
    let app = TestApp::spawn().await;
    app.customer(16, 0).await;
    let admin = app.admin();
    let path = "/v1/admin/users/16/wallet/credits";
    let bodies = [
        json!({ "amount_minor": 100, "reason": "body A" }),
        json!({ "amount_minor": 200, "reason": "body B" }),
    ];
    let mut credited = 0;
    for trial in 0..20 {
        let key = format!("race-{trial}");
        // A, B, A, B, ...: each body both leads and follows in some trials.
        let sent: Vec<usize> = (0..8).map(|i| (i + trial) % 2).collect();
        // Arrivals spread over about one effect's time, so some come while the first runs,
        // some after it stored its answer and while a request of the other body holds the key.
        let step = Duration::from_micros(500 * (1 + trial as u64 % 4));
        let answers = join_all(sent.iter().enumerate().map(|(i, &b)| {
            let (app, admin, key, body) = (&app, &admin, &key, bodies[b].clone());
            async move {
                tokio::time::sleep(step * i as u32).await;
                app.call(Method::POST, path, Some(admin), Some(key), Some(body))
                    .await
            }
        }))
        .await;
        let created: Vec<_> = answers
            .iter()
            .filter(|a| a.0 == StatusCode::CREATED)
            .collect();
        let stored = created
            .first()
            .map(|a| a.1.clone())
            .unwrap_or_else(|| panic!("trial {trial}: no request was answered 201: {answers:?}"));
        let winner = usize::from(stored["amount_minor"] != 100);
        // Who got what, short enough to read when a trial fails: (body, status).
        let seen: Vec<_> = sent
            .iter()
            .zip(&answers)
            .map(|(b, a)| (*b, a.0.as_u16()))
            .collect();
        for (&body, (status, answer)) in sent.iter().zip(&answers) {
            if body == winner {
                assert_eq!(
                    (*status, answer),
                    (StatusCode::CREATED, &stored),
                    "trial {trial}: body {winner} was stored, so every request with it gets \
                     that answer; (body, status) = {seen:?}"
                );
            } else {
                assert_error(*status, answer, 422, "idempotency_key_reused");
            }
        }
        credited += stored["amount_minor"].as_i64().expect("amount");
        assert_eq!(
            app.scalar(&format!(
                "SELECT count(*) FROM idempotency_keys WHERE user_id = 1 AND key = '{key}'"
            ))
            .await,
            1
        );
    }
    // Each trial's effect happened once.
    assert_eq!(
        app.scalar("SELECT count(*) FROM wallet_transactions WHERE user_id = 16")
            .await,
        20
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 16")
            .await,
        credited
    );
}

//! Refunds to the wallet: full or partial, never more than was paid, applied once per key,
//! and the order becomes `refunded` when nothing is left to give back.

use crate::common::*;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A paid order of 1,000 by customer 2, who had 5,000.
async fn paid(app: &TestApp) -> (String, i64) {
    let product = app.physical(1_000, 5).await;
    let token = app.customer(2, 5_000).await;
    app.put_cart(&token, product, 1).await;
    let (s, order) = app.checkout(&token, "order").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    (token, order["id"].as_i64().expect("id"))
}

async fn status(app: &TestApp, token: &str, order: i64) -> String {
    let (_, body) = app
        .get(&format!("/v1/me/orders/{order}"), Some(token))
        .await;
    body["status"].as_str().unwrap_or_default().to_string()
}

async fn refund(
    app: &TestApp,
    order: i64,
    key: impl AsRef<str>,
    body: Value,
) -> (StatusCode, Value) {
    let path = format!("/v1/admin/orders/{order}/refunds");
    app.call(
        Method::POST,
        &path,
        Some(&app.admin()),
        Some(key.as_ref()),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn partial_refunds_add_up_to_the_total_and_then_the_order_is_refunded() {
    let app = TestApp::spawn().await;
    let (token, order) = paid(&app).await;
    let (s, first) = refund(
        &app,
        order,
        "r1",
        json!({ "amount_minor": 300, "reason": "late" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(
        (first["kind"].as_str(), first["amount_minor"].as_i64()),
        (Some("refund"), Some(300))
    );
    assert_eq!(first["order_id"], order);
    assert_eq!(status(&app, &token, order).await, "paid");
    let (s, body) = refund(
        &app,
        order,
        "r2",
        json!({ "amount_minor": 701, "reason": "too much" }),
    )
    .await;
    assert_error(s, &body, 422, "refund_exceeds_paid");
    assert_eq!(body["error"]["details"]["remaining_minor"], 700);
    // No amount: all that is left.
    let (s, body) = refund(&app, order, "r3", json!({ "reason": "the rest" })).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["amount_minor"], 700);
    assert_eq!(status(&app, &token, order).await, "refunded");
    let (_, wallet) = app.get("/v1/me/wallet", Some(&token)).await;
    assert_eq!(wallet["balance_minor"], 5_000);
    let (s, body) = refund(
        &app,
        order,
        "r4",
        json!({ "amount_minor": 1, "reason": "more" }),
    )
    .await;
    assert_error(s, &body, 409, "invalid_transition");
    // The same key again replays the first answer and refunds nothing more.
    let (s, again) = refund(
        &app,
        order,
        "r1",
        json!({ "amount_minor": 300, "reason": "late" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(again, first, "the first answer, replayed");
    let refunded =
        "SELECT sum(amount_minor)::bigint FROM wallet_transactions WHERE kind = 'refund'";
    assert_eq!(app.scalar(refunded).await, 1_000);
    app.assert_invariants().await;
}

#[tokio::test]
async fn ten_concurrent_refunds_of_200_on_an_order_of_1000_pay_out_exactly_1000() {
    let app = TestApp::spawn().await;
    let (token, order) = paid(&app).await;
    let body = json!({ "amount_minor": 200, "reason": "race" });
    let answers =
        join_all((0..10).map(|i| refund(&app, order, format!("c{i}"), body.clone()))).await;
    let ok = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(ok, 5, "{answers:?}");
    for (s, body) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert!([409, 422].contains(&s.as_u16()), "{body}");
    }
    let refunded =
        "SELECT sum(amount_minor)::bigint FROM wallet_transactions WHERE kind = 'refund'";
    assert_eq!(app.scalar(refunded).await, 1_000);
    let (_, wallet) = app.get("/v1/me/wallet", Some(&token)).await;
    assert_eq!(wallet["balance_minor"], 5_000);
    assert_eq!(status(&app, &token, order).await, "refunded");
    app.assert_invariants().await;
}

#[tokio::test]
async fn only_admins_refund_and_bad_amounts_are_refused() {
    let app = TestApp::spawn().await;
    let (token, order) = paid(&app).await;
    let path = format!("/v1/admin/orders/{order}/refunds");
    let staff = app.token(3, "staff");
    for who in [&token, &staff] {
        let (s, body) = app
            .call(
                Method::POST,
                &path,
                Some(who),
                Some("k"),
                Some(json!({ "reason": "x" })),
            )
            .await;
        assert_error(s, &body, 403, "forbidden");
    }
    for amount in [0, -5] {
        let (s, body) = refund(
            &app,
            order,
            format!("bad{amount}"),
            json!({ "amount_minor": amount, "reason": "x" }),
        )
        .await;
        assert_error(s, &body, 422, "invalid_input");
    }
    let (s, body) = refund(&app, order, "noreason", json!({ "amount_minor": 5 })).await;
    assert_error(s, &body, 422, "invalid_input");
    let (s, body) = refund(&app, 999_999, "nope", json!({ "reason": "x" })).await;
    assert_error(s, &body, 404, "not_found");
    assert_eq!(
        app.scalar("SELECT count(*) FROM wallet_transactions WHERE kind = 'refund'")
            .await,
        0
    );
}

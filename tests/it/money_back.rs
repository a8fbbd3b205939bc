//! Money goes back once (issue 13, items 1–3): every flow that gives money back is bounded
//! by what was paid and not yet given back, delivered license keys are not refunded by a
//! cancel, and a cancelled or expired order gives its promo redemption back exactly once.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use souk::config::Settings;
use std::time::Duration;

async fn balance(app: &TestApp, token: &str) -> i64 {
    app.get("/v1/me/wallet", Some(token)).await.1["balance_minor"]
        .as_i64()
        .expect("balance")
}

async fn refund(app: &TestApp, order: i64, amount: i64) -> (StatusCode, Value) {
    let path = format!("/v1/admin/orders/{order}/refunds");
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({ "amount_minor": amount, "reason": "goodwill" });
    app.call(
        Method::POST,
        &path,
        Some(&app.admin()),
        Some(&key),
        Some(body),
    )
    .await
}

async fn cancel_mine(app: &TestApp, token: &str, order: i64) -> (StatusCode, Value) {
    let path = format!("/v1/me/orders/{order}/cancel");
    app.call(Method::POST, &path, Some(token), None, None).await
}

async fn cancel_by_staff(app: &TestApp, order: i64) -> (StatusCode, Value) {
    let path = format!("/v1/admin/orders/{order}/transitions");
    let body = json!({ "to": "cancelled" });
    app.call(Method::POST, &path, Some(&app.admin()), None, Some(body))
        .await
}

/// Buys what is in the cart from the wallet; answers the order.
async fn bought(app: &TestApp, token: &str) -> Value {
    let key = uuid::Uuid::new_v4().to_string();
    let (s, order) = app.checkout(token, &key).await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    order
}

#[tokio::test]
async fn a_cancel_after_a_partial_refund_gives_back_only_what_is_left() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 10).await;
    let c = app.customer(2, 5_000).await;

    // The customer cancels after staff refunded 600 of 1,000: 400 comes back, not 1,000.
    app.put_cart(&c, shirt, 1).await;
    let order = bought(&app, &c).await["id"].as_i64().expect("id");
    assert_eq!(refund(&app, order, 600).await.0, StatusCode::CREATED);
    let (s, cancelled) = cancel_mine(&app, &c, order).await;
    assert_eq!(s, StatusCode::OK, "{cancelled}");
    assert_eq!(balance(&app, &c).await, 5_000);
    assert_eq!(cancelled["refunded_minor"], 1_000, "{cancelled}");

    // Staff cancel after a 900 refund: 100 comes back.
    app.put_cart(&c, shirt, 1).await;
    let order = bought(&app, &c).await["id"].as_i64().expect("id");
    assert_eq!(refund(&app, order, 900).await.0, StatusCode::CREATED);
    let (s, cancelled) = cancel_by_staff(&app, order).await;
    assert_eq!(s, StatusCode::OK, "{cancelled}");
    assert_eq!(balance(&app, &c).await, 5_000);

    let over =
        "SELECT count(*) FROM (SELECT order_id FROM wallet_transactions WHERE kind = 'refund'
                GROUP BY order_id HAVING sum(amount_minor) > 1000) o";
    assert_eq!(app.scalar(over).await, 0);
    app.assert_invariants().await;
}

#[tokio::test]
async fn the_database_refuses_a_refund_past_what_was_paid() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 1).await;
    let c = app.customer(2, 1_000).await;
    app.put_cart(&c, shirt, 1).await;
    let order = bought(&app, &c).await["id"].as_i64().expect("id");
    // A script (or a bug) that writes a refund behind the actors' back is refused.
    let err = app
        .db()
        .await
        .batch_execute(&format!(
            "UPDATE orders SET refunded_minor = paid_minor + 1 WHERE id = {order}"
        ))
        .await
        .expect_err("past what was paid");
    let constraint = err.as_db_error().and_then(|e| e.constraint());
    assert_eq!(constraint, Some("orders_refunds_within_paid"));
}

#[tokio::test]
async fn delivered_keys_are_not_refunded_by_a_cancel_but_staff_can_refund_them() {
    let app = TestApp::spawn().await;
    let key = app.digital(500, &codes("FREE", 3)).await;
    let shirt = app.physical(1_000, 5).await;
    let c = app.customer(2, 10_000).await;

    // A key bought from the wallet and delivered: nothing left to cancel, for anyone.
    app.put_cart(&c, key, 1).await;
    let order = bought(&app, &c).await;
    let id = order["id"].as_i64().expect("id");
    assert_eq!(
        order["lines"][0]["delivered_items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let (s, body) = cancel_mine(&app, &c, id).await;
    assert_error(s, &body, 409, "already_delivered");
    let (s, body) = cancel_by_staff(&app, id).await;
    assert_error(s, &body, 409, "already_delivered");
    assert_eq!(balance(&app, &c).await, 9_500);

    // A key and a shirt: the cancel gives back the shirt's price only; the key stays
    // delivered and paid, and the shirt goes back on the shelf.
    app.put_cart(&c, key, 1).await;
    app.put_cart(&c, shirt, 1).await;
    let mixed = bought(&app, &c).await["id"].as_i64().expect("id");
    assert_eq!(balance(&app, &c).await, 8_000);
    let (s, cancelled) = cancel_mine(&app, &c, mixed).await;
    assert_eq!(s, StatusCode::OK, "{cancelled}");
    assert_eq!(balance(&app, &c).await, 9_000);
    let key_line = cancelled["lines"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["product_id"] == key))
        .expect("key line")
        .clone();
    assert_eq!(
        key_line["delivered_items"].as_array().map(Vec::len),
        Some(1)
    );
    let (_, page) = app.get(&format!("/v1/products/{shirt}"), None).await;
    assert_eq!(page["stock_available"], 5);

    // Staff may still give the key's money back, explicitly, and it is audited as a refund.
    let (s, tx) = refund(&app, id, 500).await;
    assert_eq!(s, StatusCode::CREATED, "{tx}");
    assert_eq!(balance(&app, &c).await, 9_500);
    let audited = format!(
        "SELECT count(*) FROM audit_log WHERE action = 'order.refund' AND target = 'order:{id}'"
    );
    assert_eq!(app.scalar(&audited).await, 1);
    app.assert_invariants().await;
}

fn short_payment_window(s: &mut Settings) {
    s.checkout.reservation_ttl_secs = 1;
    s.checkout.expiry_sweep_ms = 100;
}

async fn promo(app: &TestApp, code: &str, uses: i64) {
    let body = json!({ "code": code, "kind": "percent", "value": 10, "max_redemptions": uses });
    app.create_promo(body).await;
}

/// An external-payment checkout of one shirt with `code`; answers the order.
async fn unpaid_with_code(
    app: &TestApp,
    token: &str,
    shirt: i64,
    code: &str,
) -> (StatusCode, Value) {
    app.put_cart(token, shirt, 1).await;
    let (s, b) = app.apply_promo(token, code).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let key = uuid::Uuid::new_v4().to_string();
    app.external_checkout(token, &key).await
}

async fn redemptions(app: &TestApp, code: &str) -> i64 {
    app.get(&format!("/v1/admin/promos/{code}"), Some(&app.admin()))
        .await
        .1["redemptions"]
        .as_i64()
        .expect("redemptions")
}

#[tokio::test]
async fn cancelled_unpaid_orders_give_their_promo_uses_back_exactly_once() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 100).await;
    promo(&app, "FIVE", 5).await;
    // Five unpaid orders, one per buyer, each cancelled: the code is as good as new.
    let mut orders = Vec::new();
    for user in 2..=6 {
        let token = app.customer(user, 0).await;
        let (s, order) = unpaid_with_code(&app, &token, shirt, "FIVE").await;
        assert_eq!(s, StatusCode::CREATED, "{order}");
        orders.push((token, order["id"].as_i64().expect("id")));
    }
    assert_eq!(redemptions(&app, "FIVE").await, 5);
    for (token, order) in &orders {
        assert_eq!(cancel_mine(&app, token, *order).await.0, StatusCode::OK);
    }
    assert_eq!(redemptions(&app, "FIVE").await, 0);
    // A second cancel is refused and gives nothing back twice.
    let (token, order) = &orders[0];
    let (s, body) = cancel_mine(&app, token, *order).await;
    assert_error(s, &body, 409, "invalid_transition");
    assert_eq!(redemptions(&app, "FIVE").await, 0);

    // Everyone can use it again, up to its limit, and the live owner knows the count.
    for user in 7..=11 {
        let token = app.customer(user, 2_000).await;
        let (s, order) = unpaid_with_code(&app, &token, shirt, "FIVE").await;
        assert_eq!(s, StatusCode::CREATED, "{order}");
    }
    let token = app.customer(12, 2_000).await;
    let (s, body) = app.apply_promo(&token, "FIVE").await;
    assert_error(s, &body, 422, "promo_invalid");
    assert_eq!(body["error"]["details"]["reason"], "exhausted");
    app.assert_invariants().await;
}

#[tokio::test]
async fn expired_unpaid_orders_give_their_promo_uses_back() {
    let app = TestApp::spawn_with(short_payment_window).await;
    let shirt = app.physical(1_000, 100).await;
    promo(&app, "SHORT", 2).await;
    let mut orders = Vec::new();
    for user in 2..=3 {
        let token = app.customer(user, 0).await;
        let (s, order) = unpaid_with_code(&app, &token, shirt, "SHORT").await;
        assert_eq!(s, StatusCode::CREATED, "{order}");
        orders.push(order["id"].as_i64().expect("id"));
    }
    let expired = format!(
        "SELECT count(*) FROM orders WHERE status = 'cancelled' AND id IN ({}, {})",
        orders[0], orders[1]
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while app.scalar(&expired).await < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.scalar(&expired).await, 2);
    assert_eq!(redemptions(&app, "SHORT").await, 0);
    let token = app.customer(4, 0).await;
    let (s, order) = unpaid_with_code(&app, &token, shirt, "SHORT").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    app.assert_invariants().await;
}

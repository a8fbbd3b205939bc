//! Wallets: `GET /v1/me/wallet`, `GET /v1/me/wallet/transactions`, and admin credits ⚑.

use crate::client::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn credit(app: &TestApp, user: impl std::fmt::Display, body: Value) -> Reply {
    app.req(
        Method::POST,
        format!("/v1/admin/users/{user}/wallet/credits"),
    )
    .token(&app.admin())
    .fresh_key()
    .json(body)
    .send()
    .await
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    let r = app
        .req(Method::GET, "/v1/me/wallet")
        .token(token)
        .send()
        .await;
    r.ok(200)["balance_minor"].as_i64().unwrap()
}

async fn transactions(app: &TestApp, token: &str, query: &str) -> Value {
    let path = format!("/v1/me/wallet/transactions{query}");
    app.req(Method::GET, path)
        .token(token)
        .send()
        .await
        .ok(200)
        .clone()
}

#[tokio::test]
async fn a_new_customer_has_an_empty_wallet_in_the_shop_currency() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    let r = app.req(Method::GET, "/v1/me/wallet").token(&c).send().await;
    assert_eq!(r.ok(200), &json!({ "balance_minor": 0, "currency": "USD" }));
    let txs = transactions(&app, &c, "").await;
    assert_eq!(txs, json!({ "items": [], "next_cursor": null }));
}

#[tokio::test]
async fn an_admin_credit_raises_the_balance_and_is_listed_as_a_transaction() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    let r = credit(
        &app,
        2,
        json!({ "amount_minor": 500, "reason": "  welcome bonus " }),
    )
    .await;
    let tx = r.ok(201).clone();
    assert_eq!(tx["kind"], "credit");
    assert_eq!(tx["amount_minor"], 500);
    assert!(tx["order_id"].is_null());
    assert_eq!(tx["reason"], "welcome bonus");
    assert!(tx["id"].as_i64().is_some_and(|id| id > 0));
    assert!(chrono::DateTime::parse_from_rfc3339(tx["created_at"].as_str().unwrap()).is_ok());
    assert_eq!(balance(&app, &c).await, 500);
    assert_eq!(transactions(&app, &c, "").await["items"], json!([tx]));
    let stored = app
        .scalar("SELECT balance_minor FROM users WHERE id = 2")
        .await;
    assert_eq!(stored, 500);
}

#[tokio::test]
async fn a_purchase_appears_as_a_debit_naming_its_order() {
    let app = TestApp::spawn().await;
    let p = app.physical(300, 5).await;
    let c = app.customer(2, 1000).await;
    app.cart_line(&c, p, 2).await;
    let order = app.buy(&c, "buy-1").await;
    let txs = transactions(&app, &c, "").await;
    let debit = &txs["items"][0];
    assert_eq!(debit["kind"], "debit");
    assert_eq!(debit["amount_minor"], 600);
    assert_eq!(debit["order_id"], order["id"]);
    assert_eq!(txs["items"][1]["kind"], "credit");
    assert_eq!(balance(&app, &c).await, 400);
}

#[tokio::test]
async fn transactions_are_listed_newest_first_and_paged() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    for amount in [10, 20, 30] {
        credit(&app, 2, json!({ "amount_minor": amount, "reason": "r" }))
            .await
            .ok(201);
    }
    let amounts = |v: &Value| -> Vec<i64> {
        let items = v["items"].as_array().unwrap();
        items
            .iter()
            .map(|t| t["amount_minor"].as_i64().unwrap())
            .collect()
    };
    let first = transactions(&app, &c, "?limit=2").await;
    assert_eq!(amounts(&first), [30, 20]);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let second = transactions(&app, &c, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(amounts(&second), [10]);
    assert!(second["next_cursor"].is_null());
    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=x",
        "?cursor=abc",
        "?cursor=-1",
    ] {
        let path = format!("/v1/me/wallet/transactions{bad}");
        let r = app.req(Method::GET, path).token(&c).send().await;
        r.err(422, "invalid_input");
    }
}

#[tokio::test]
async fn credit_amounts_outside_1_to_1_000_000_000_are_refused() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    for bad in [
        json!(0),
        json!(-5),
        json!(1_000_000_001),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(1e20),
        json!(1.5),
        json!("100"),
        json!(null),
    ] {
        let r = credit(&app, 2, json!({ "amount_minor": bad, "reason": "r" })).await;
        r.invalid("amount_minor");
    }
    credit(&app, 2, json!({ "reason": "r" }))
        .await
        .invalid("amount_minor");
    assert_eq!(balance(&app, &c).await, 0);
    credit(
        &app,
        2,
        json!({ "amount_minor": 1_000_000_000, "reason": "max" }),
    )
    .await
    .ok(201);
    credit(&app, 2, json!({ "amount_minor": 1, "reason": "min" }))
        .await
        .ok(201);
    assert_eq!(balance(&app, &c).await, 1_000_000_001);
}

#[tokio::test]
async fn credit_reasons_must_be_1_to_500_printable_characters() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    for bad in [
        json!(""),
        json!("   "),
        json!("r".repeat(501)),
        json!("a\u{0}b"),
        json!("a\nb"),
        json!(5),
    ] {
        let r = credit(&app, 2, json!({ "amount_minor": 10, "reason": bad })).await;
        r.invalid("reason");
    }
    credit(&app, 2, json!({ "amount_minor": 10 }))
        .await
        .invalid("reason");
    credit(
        &app,
        2,
        json!({ "amount_minor": 10, "reason": "r", "note": "x" }),
    )
    .await
    .invalid("note");
    assert_eq!(balance(&app, &c).await, 0);
    credit(
        &app,
        2,
        json!({ "amount_minor": 10, "reason": "r".repeat(500) }),
    )
    .await
    .ok(201);
    assert_eq!(balance(&app, &c).await, 10);
}

#[tokio::test]
async fn credits_need_a_valid_idempotency_key_and_a_retry_is_applied_once() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    let send = |key: Option<&str>, amount: i64| {
        let mut r = app
            .req(Method::POST, "/v1/admin/users/2/wallet/credits")
            .token(&app.admin());
        if let Some(k) = key {
            r = r.key(k);
        }
        r.json(json!({ "amount_minor": amount, "reason": "r" }))
            .send()
    };
    send(None, 10).await.err(400, "idempotency_key_required");
    let long = "k".repeat(256);
    for bad in ["", "a\tb", "ключ", long.as_str()] {
        send(Some(bad), 10)
            .await
            .err(400, "invalid_idempotency_key");
    }
    assert_eq!(balance(&app, &c).await, 0);
    let first = send(Some("credit-1"), 10).await;
    let again = send(Some("credit-1"), 10).await;
    assert_eq!(
        again.ok(201),
        first.ok(201),
        "the same transaction is replayed"
    );
    send(Some("credit-1"), 11)
        .await
        .err(422, "idempotency_key_reused");
    assert_eq!(balance(&app, &c).await, 10);
    assert_eq!(
        app.scalar("SELECT count(*) FROM wallet_transactions").await,
        1
    );
}

#[tokio::test]
async fn credits_to_a_malformed_or_unknown_user_id_are_400_or_404() {
    let app = TestApp::spawn().await;
    for bad in BAD_IDS {
        let r = credit(&app, bad, json!({ "amount_minor": 10, "reason": "r" })).await;
        assert_eq!(r.err(400, "invalid_id")["field"], "user_id");
    }
    let r = credit(&app, 999_999, json!({ "amount_minor": 10, "reason": "r" })).await;
    r.err(404, "not_found");
    assert_eq!(
        app.scalar("SELECT count(*) FROM wallet_transactions").await,
        0
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE id = 999999")
            .await,
        0
    );
}

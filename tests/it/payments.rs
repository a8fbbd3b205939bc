//! External payments: an order awaiting its payment holds stock and keys until the signed
//! provider event pays it (once per event id) or its window closes (then everything goes
//! back, also across a restart, and a late payment lands in the wallet).

use crate::common::{assert_error, codes, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use souk::config::Settings;
use souk_http::routes::payments::sign;
use std::time::Duration;

const HOOK_SECRET: &str = "whsec-test-0123456789-0123456789-abcdef";

fn configure(s: &mut Settings) {
    s.payments.webhook_secret = Some(HOOK_SECRET.to_string().into());
    s.checkout.expiry_sweep_ms = 100;
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn deliver(app: &TestApp, body: &Value, signature: Option<String>) -> (StatusCode, Value) {
    let raw = body.to_string();
    let mut req = app
        .http
        .post(format!("{}/v1/payments/webhook", app.base))
        .header("content-type", "application/json")
        .body(raw);
    if let Some(sig) = signature {
        req = req.header("Souk-Signature", sig);
    }
    let res = req.send().await.expect("webhook answers");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn signed(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let sig = sign(HOOK_SECRET.as_bytes(), body.to_string().as_bytes(), now());
    deliver(app, body, Some(sig)).await
}

fn paid(event: &str, order: i64, amount: i64) -> Value {
    json!({ "event_id": event, "type": "payment.succeeded", "amount_minor": amount,
            "currency": "USD", "order_id": order })
}

async fn external_checkout(app: &TestApp, token: &str, key: &str) -> Value {
    let (s, order) = app.external_checkout(token, key).await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    order
}

async fn order(app: &TestApp, token: &str, id: i64) -> Value {
    app.get(&format!("/v1/me/orders/{id}"), Some(token)).await.1
}

async fn available(app: &TestApp, product: i64) -> i64 {
    app.get(&format!("/v1/products/{product}"), None).await.1["stock_available"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn an_external_order_holds_its_stock_and_delivers_its_keys_once_paid() {
    let app = TestApp::spawn_with(configure).await;
    let shirt = app.physical(1_000, 3).await;
    let key = app.digital(500, &codes("EXT", 2)).await;
    let c = app.customer(2, 0).await;
    app.put_cart(&c, shirt, 1).await;
    app.put_cart(&c, key, 1).await;
    let pending = external_checkout(&app, &c, "ext-1").await;
    let id = pending["id"].as_i64().unwrap();
    assert_eq!(
        (pending["status"].clone(), pending["payment"].clone()),
        (json!("pending_payment"), json!("external"))
    );
    assert!(pending["payment_due_at"].is_string());
    assert_eq!(
        pending["lines"][1]["delivered_items"],
        json!([]),
        "no key before payment"
    );
    // Nothing was debited (an empty wallet may pay externally), and the stock is held.
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 2")
            .await,
        0
    );
    assert_eq!(
        (available(&app, shirt).await, available(&app, key).await),
        (2, 1)
    );

    let (s, receipt) = signed(&app, &paid("evt_paid_1", id, 1_500)).await;
    assert_eq!(s, StatusCode::OK, "{receipt}");
    assert_eq!(
        (receipt["outcome"].clone(), receipt["duplicate"].clone()),
        (json!("applied"), json!(false))
    );
    let now_paid = order(&app, &c, id).await;
    assert_eq!(now_paid["status"], "paid");
    assert_eq!(
        now_paid["lines"][1]["delivered_items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // A customer may cancel an order still awaiting payment: stock and key go back, no refund.
    app.put_cart(&c, shirt, 1).await;
    app.put_cart(&c, key, 1).await;
    let second = external_checkout(&app, &c, "ext-2").await;
    let second = second["id"].as_i64().unwrap();
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/me/orders/{second}/cancel"),
            Some(&c),
            Some("cancel-2"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (available(&app, shirt).await, available(&app, key).await),
        (2, 1)
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 2")
            .await,
        0
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn webhook_signatures_are_checked_good_bad_expired_missing_and_rotated() {
    let app = TestApp::spawn_with(configure).await;
    app.customer(2, 0).await;
    let topup = |event: &str| {
        json!({ "event_id": event, "type": "payment.succeeded", "amount_minor": 100,
                "currency": "USD", "wallet_topup": { "user_id": 2 } })
    };
    let body = topup("evt_sig_bad");
    let raw = body.to_string();
    for sig in [
        Some(sign(
            b"not-the-secret-not-the-secret-0000",
            raw.as_bytes(),
            now(),
        )),
        Some(sign(HOOK_SECRET.as_bytes(), raw.as_bytes(), now() - 301)),
        Some(sign(HOOK_SECRET.as_bytes(), b"{}", now())),
        Some("t=1,v1=zz".to_string()),
        None,
    ] {
        let (s, b) = deliver(&app, &body, sig).await;
        assert_error(s, &b, 401, "unauthorized");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM payment_events").await, 0);

    // Rotation: signed with the old and the current secret, either matching is enough.
    let body = topup("evt_sig_rotated");
    let raw = body.to_string();
    let t = now();
    let old = sign(b"the-previous-secret-0123456789-abc", raw.as_bytes(), t);
    let current = sign(HOOK_SECRET.as_bytes(), raw.as_bytes(), t);
    let both = format!("{old},{}", current.split_once(',').unwrap().1);
    let (s, b) = deliver(&app, &body, Some(both)).await;
    assert_eq!(
        (s, b["outcome"].clone()),
        (StatusCode::OK, json!("applied")),
        "{b}"
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 2")
            .await,
        100
    );

    // Malformed and half-formed events are refused before anything is applied.
    for (bad, field) in [
        (
            json!({ "event_id": "e", "type": "payment.refunded", "amount_minor": 1, "currency": "USD", "order_id": 1 }),
            "type",
        ),
        (
            json!({ "event_id": "e", "type": "payment.succeeded", "amount_minor": 1, "currency": "USD" }),
            "order_id",
        ),
        (
            json!({ "event_id": "", "type": "payment.succeeded", "amount_minor": 1, "currency": "USD", "order_id": 1 }),
            "event_id",
        ),
        (
            json!({ "event_id": "e", "type": "payment.succeeded", "amount_minor": 1, "currency": "US", "order_id": 1 }),
            "currency",
        ),
    ] {
        let (s, b) = signed(&app, &bad).await;
        assert_error(s, &b, 422, "invalid_input");
        assert_eq!(b["error"]["details"]["field"], field);
    }

    // Without a configured secret every event is refused.
    let bare = TestApp::spawn().await;
    let (s, b) = signed(&bare, &topup("evt_unconfigured")).await;
    assert_error(s, &b, 401, "unauthorized");
}

#[tokio::test]
async fn the_same_event_delivered_ten_times_at_once_is_applied_once() {
    let app = TestApp::spawn_with(configure).await;
    app.customer(2, 0).await;
    let body = json!({ "event_id": "evt_topup_10x", "type": "payment.succeeded", "amount_minor": 2_500,
                       "currency": "USD", "wallet_topup": { "user_id": 2 } });
    let answers = futures_util::future::join_all((0..10).map(|_| signed(&app, &body))).await;
    let mut fresh = 0;
    for (s, b) in &answers {
        assert_eq!(*s, StatusCode::OK, "{b}");
        assert_eq!(b["outcome"], "applied");
        if b["duplicate"] == json!(false) {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 2")
            .await,
        2_500
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM wallet_transactions").await,
        1
    );
    let (_, wallet) = app
        .get("/v1/me/wallet", Some(&app.token(2, "customer")))
        .await;
    assert_eq!(
        wallet["balance_minor"], 2_500,
        "the actor's balance moved once too"
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_wrong_amount_or_currency_is_recorded_as_rejected_with_200_and_audited() {
    let app = TestApp::spawn_with(configure).await;
    let shirt = app.physical(1_000, 3).await;
    let c = app.customer(2, 0).await;
    app.put_cart(&c, shirt, 1).await;
    let id = external_checkout(&app, &c, "ext-wrong").await["id"]
        .as_i64()
        .unwrap();
    let mut euros = paid("evt_eur", id, 1_000);
    euros["currency"] = json!("EUR");
    for body in [paid("evt_short", id, 999), euros] {
        let (s, b) = signed(&app, &body).await;
        assert_eq!(
            (s, b["outcome"].clone()),
            (StatusCode::OK, json!("rejected")),
            "{b}"
        );
        assert!(b["reason"].is_string());
    }
    let (s, b) = signed(&app, &paid("evt_ghost", 9_999, 1_000)).await;
    assert_eq!(
        (s, b["reason"].clone()),
        (StatusCode::OK, json!("unknown_order"))
    );
    assert_eq!(order(&app, &c, id).await["status"], "pending_payment");
    assert_eq!(
        app.scalar("SELECT count(*) FROM payment_events WHERE outcome = 'rejected'")
            .await,
        3
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'payment.event'")
            .await,
        3
    );
    let m = app.metrics().await;
    assert!(
        m.contains("souk_payment_events_total{outcome=\"rejected\",type=\"payment.succeeded\"} 3"),
        "{m}"
    );
}

async fn wait_for_status(app: &TestApp, token: &str, id: i64, want: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let o = order(app, token, id).await;
        if o["status"] == want || std::time::Instant::now() > deadline {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_unpaid_order_expires_and_a_late_payment_goes_to_the_wallet() {
    let app = TestApp::spawn_with(|s| {
        configure(s);
        s.checkout.reservation_ttl_secs = 1;
    })
    .await;
    let shirt = app.physical(1_000, 1).await;
    let key = app.digital(500, &codes("EXP", 1)).await;
    let c = app.customer(2, 0).await;
    app.put_cart(&c, shirt, 1).await;
    app.put_cart(&c, key, 1).await;
    let id = external_checkout(&app, &c, "ext-expire").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        (available(&app, shirt).await, available(&app, key).await),
        (0, 0)
    );

    let expired = wait_for_status(&app, &c, id, "cancelled").await;
    assert_eq!(expired["status"], "cancelled");
    assert_eq!(
        (available(&app, shirt).await, available(&app, key).await),
        (1, 1)
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM order_status_history WHERE note = 'payment window expired'"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM audit_log WHERE actor = 'system' AND action = 'order.expire'"
        )
        .await,
        1
    );
    let (s, b) = signed(&app, &paid("evt_late", id, 1_500)).await;
    assert_eq!(
        (s, b["outcome"].clone()),
        (StatusCode::OK, json!("credited_wallet")),
        "{b}"
    );
    let (_, wallet) = app.get("/v1/me/wallet", Some(&c)).await;
    assert_eq!(wallet["balance_minor"], 1_500, "money is never lost");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_held_order_survives_a_restart_and_still_expires() {
    let tweak = |s: &mut Settings| {
        configure(s);
        s.checkout.reservation_ttl_secs = 3;
        // The one buyer holds every unit, which the default share would refuse.
        s.checkout.unpaid_product_share_pct = 100;
    };
    let app = TestApp::spawn_with(tweak).await;
    let shirt = app.physical(1_000, 2).await;
    let c = app.customer(2, 0).await;
    app.put_cart(&c, shirt, 2).await;
    let id = external_checkout(&app, &c, "ext-restart").await["id"]
        .as_i64()
        .unwrap();
    let (db_url, db_name) = (app.db_url.clone(), app.db_name.clone());
    drop(app);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let app = TestApp::spawn_on(db_url, db_name, tweak).await;
    assert_eq!(
        available(&app, shirt).await,
        0,
        "the hold outlived the process"
    );
    let o = wait_for_status(&app, &c, id, "cancelled").await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(available(&app, shirt).await, 2);
    app.assert_invariants().await;
}

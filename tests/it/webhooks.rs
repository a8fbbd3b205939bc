//! Events out: the outbox records each event in its change's transaction, and the
//! dispatcher delivers it, signed, at least once and in commit order per order, through a
//! receiver's failures, outages and Souk's own crash. Real Postgres, real Souk, a local
//! receiver (`webhook_receiver.rs`).

use crate::common::*;
use crate::external::{free_port, Souk};
use crate::webhook_receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Fast retries, so a test sees several attempts in well under a second.
fn quick(s: &mut souk::config::Settings) {
    s.webhooks.retry_base_ms = 20;
    s.webhooks.retry_cap_secs = 1;
    s.webhooks.timeout_ms = 2000;
}

/// `POST /v1/admin/webhooks` as an admin.
async fn post_webhook(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/admin/webhooks",
        Some(&app.admin()),
        None,
        Some(body),
    )
    .await
}

async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> (i64, String) {
    let (s, b) = post_webhook(
        app,
        json!({ "url": url, "events": events, "description": "ERP" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let secret = b["secret"].as_str().expect("secret shown at creation");
    assert!(secret.len() >= 64, "{secret}");
    (b["id"].as_i64().expect("id"), secret.to_string())
}

/// A customer with money and a product with stock; one wallet checkout answers its order.
async fn buy(app: &TestApp, token: &str, product: i64) -> Value {
    let (s, b) = app.put_cart(token, product, 1).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, order) = app.checkout(token, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    order
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_each_event_of_a_checkout_once_in_order_and_signed() {
    let app = TestApp::spawn_with(quick).await;
    let receiver = Receiver::start();
    receiver.fail_first(2);
    let (id, secret) = subscribe(&app, &receiver.url, &["order.created", "order.paid"]).await;
    let product = app.physical(700, 10).await;
    let token = app.customer(41, 10_000).await;
    let order = buy(&app, &token, product).await;
    let order_id = order["id"].as_i64().expect("order id");

    receiver
        .wait_for("both events accepted", Duration::from_secs(20), |d| {
            d.len() >= 2
        })
        .await;
    // Give a duplicate, if any were coming, the time to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accepted = receiver.accepted();
    let kinds: Vec<&str> = accepted.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["order.created", "order.paid"],
        "once each, in commit order"
    );
    let ids: HashSet<&str> = accepted.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    for d in &accepted {
        let now = chrono::Utc::now().timestamp();
        souk_http::signature::verify(secret.as_bytes(), &d.signature, &d.body, now)
            .unwrap_or_else(|e| panic!("signature of {}: {e}", d.kind));
        assert!(
            souk_http::signature::verify(b"another secret", &d.signature, &d.body, now).is_err()
        );
        assert_eq!(d.json["type"], d.kind.as_str());
        assert!(d.json["created_at"].is_string(), "{}", d.json);
        assert_eq!(
            d.json["data"]
                .get("order_id")
                .or(d.json["data"]["order"].get("id")),
            Some(&json!(order_id))
        );
    }
    assert_eq!(
        accepted[0].json["data"]["order"]["total_minor"],
        order["total_minor"]
    );
    // Two 500s before each 2xx, and nothing after it.
    let all = receiver.deliveries();
    for event in &ids {
        let statuses: Vec<u16> = all
            .iter()
            .filter(|d| d.event_id == *event)
            .map(|d| d.status)
            .collect();
        assert_eq!(statuses, [500, 500, 200], "event {event}");
    }
    // The admin sees the same in the delivery log.
    let (s, log) = app
        .get(
            &format!("/v1/admin/webhooks/{id}/deliveries"),
            Some(&app.admin()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let items = log["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{log}");
    for item in items {
        assert_eq!(item["state"], "delivered", "{item}");
        let codes: Vec<i64> = item["attempt_log"]
            .as_array()
            .expect("attempts")
            .iter()
            .map(|a| a["status_code"].as_i64().unwrap_or(0))
            .collect();
        assert_eq!(codes, [500, 500, 200], "{item}");
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("souk_webhook_deliveries_total{outcome=\"delivered\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("souk_webhook_deliveries_total{outcome=\"retry\"} 4"));
    assert!(metrics.contains("souk_events_recorded_total{type=\"order.created\"} 1"));
    assert!(metrics.contains("souk_outbox_pending 0"));

    // Deleting the subscription takes its deliveries and their attempts with it.
    let id = items_subscription(&app).await;
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/admin/webhooks/{id}"),
            Some(&app.admin()),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for table in ["webhook_deliveries", "webhook_attempts"] {
        let left = app.scalar(&format!("SELECT count(*) FROM {table}")).await;
        assert_eq!(left, 0, "{table} kept rows of a deleted subscription");
    }
}

/// The id of the app's only subscription.
async fn items_subscription(app: &TestApp) -> i64 {
    let (_, b) = app.get("/v1/admin/webhooks", Some(&app.admin())).await;
    b["items"][0]["id"].as_i64().expect("a subscription")
}

#[tokio::test]
async fn a_failed_checkout_records_no_event() {
    let app = TestApp::spawn_with(quick).await;
    let product = app.physical(5_000, 1).await;
    let poor = app.customer(51, 100).await;
    let (s, _) = app.put_cart(&poor, product, 1).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app.checkout(&poor, "no-money").await;
    assert_error(s, &b, 402, "insufficient_funds");
    let rich = app.customer(52, 100_000).await;
    let (s, _) = app.put_cart(&rich, product, 2).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app.checkout(&rich, "too-many").await;
    assert_error(s, &b, 409, "out_of_stock");
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 0);
    assert_eq!(
        app.scalar("SELECT count(*) FROM events WHERE type LIKE 'order.%'")
            .await,
        0,
        "no event for a change that did not commit"
    );
    // The credits did commit, and told so.
    assert_eq!(
        app.scalar("SELECT count(*) FROM events WHERE type = 'wallet.credited'")
            .await,
        2
    );
}

#[tokio::test]
async fn concurrent_checkouts_each_deliver_exactly_one_order_created() {
    const BUYERS: i64 = 200;
    let app = TestApp::spawn_with(quick).await;
    let receiver = Receiver::start();
    subscribe(&app, &receiver.url, &["order.created"]).await;
    let product = app.physical(100, 1_000).await;
    let mut tokens = Vec::new();
    for user in 0..BUYERS {
        let token = app.customer(1_000 + user, 1_000).await;
        let (s, _) = app.put_cart(&token, product, 1).await;
        assert_eq!(s, StatusCode::OK);
        tokens.push(token);
    }
    let checkouts = tokens.iter().map(|t| async {
        let (s, b) = app.checkout(t, &uuid::Uuid::new_v4().to_string()).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_i64().expect("order id")
    });
    let orders: HashSet<i64> = futures_util::future::join_all(checkouts)
        .await
        .into_iter()
        .collect();
    assert_eq!(orders.len() as i64, BUYERS);
    receiver
        .wait_for("an order.created per order", Duration::from_secs(30), |d| {
            d.len() as i64 >= BUYERS
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accepted = receiver.accepted();
    assert_eq!(accepted.len() as i64, BUYERS, "exactly one delivery each");
    let ids: HashSet<&str> = accepted.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids.len() as i64, BUYERS, "event ids are unique");
    let delivered: HashSet<i64> = accepted
        .iter()
        .map(|d| d.json["data"]["order"]["id"].as_i64().expect("order id"))
        .collect();
    assert_eq!(delivered, orders);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_everything_when_it_comes_back() {
    let app = TestApp::spawn_with(quick).await;
    // Nothing listens there yet: connections are refused.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let (id, _) = subscribe(&app, &url, &["order.created", "order.paid"]).await;
    let product = app.physical(100, 100).await;
    let token = app.customer(61, 10_000).await;
    let mut orders = Vec::new();
    for _ in 0..5 {
        orders.push(buy(&app, &token, product).await["id"].as_i64().expect("id"));
    }
    // Attempts fail meanwhile, and are logged.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app
        .scalar(&format!("SELECT count(*) FROM webhook_attempts WHERE subscription_id = {id} AND status_code IS NULL"))
        .await
        < 3
    {
        assert!(std::time::Instant::now() < deadline, "no failed attempt logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let receiver = Receiver::start_on(port);
    receiver
        .wait_for("all ten events", Duration::from_secs(20), |d| d.len() >= 10)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 10);
    // Per order: created before paid.
    let mut seen: HashMap<i64, Vec<String>> = HashMap::new();
    for d in &accepted {
        let order = d.json["data"]["order_id"]
            .as_i64()
            .or(d.json["data"]["order"]["id"].as_i64())
            .expect("order");
        seen.entry(order).or_default().push(d.kind.clone());
    }
    for order in orders {
        assert_eq!(
            seen[&order],
            ["order.created", "order.paid"],
            "order {order}"
        );
    }
}

#[tokio::test]
async fn an_event_committed_before_a_sigkill_is_delivered_after_the_restart() {
    let (db_url, _) = fresh_database().await;
    let port = free_port();
    let keys = TestKeys::new();
    let mut souk = Souk::start(&db_url, port).await;
    let http = reqwest::Client::new();
    // A receiver that takes the connection and never answers: the delivery is in flight,
    // held only in Souk's memory (its row is written when it is settled), when Souk is
    // killed.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hook_port = hanging.local_addr().expect("addr").port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let holder = held.clone();
    std::thread::spawn(move || {
        // One connection, then the port is free for the real receiver.
        if let Ok((conn, _)) = hanging.accept() {
            holder.lock().unwrap().push(conn);
        }
    });
    let created: Value = http
        .post(format!("{}/v1/admin/webhooks", souk.base))
        .bearer_auth(&keys.admin)
        .json(&json!({ "url": format!("http://127.0.0.1:{hook_port}/hook"), "events": ["wallet.credited"] }))
        .send()
        .await
        .expect("subscribe")
        .json()
        .await
        .expect("json");
    let secret = created["secret"].as_str().expect("secret").to_string();
    let (s, _) = (
        http.get(format!("{}/v1/me/wallet", souk.base))
            .bearer_auth(keys.customer(71))
            .send()
            .await
            .expect("user")
            .status(),
        (),
    );
    assert_eq!(s, StatusCode::OK);
    let credit = http
        .post(format!("{}/v1/admin/users/71/wallet/credits", souk.base))
        .bearer_auth(&keys.admin)
        .header("Idempotency-Key", "kill-me")
        .json(&json!({ "amount_minor": 500, "reason": "goodwill" }))
        .send()
        .await
        .expect("credit");
    assert_eq!(credit.status(), StatusCode::CREATED);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while held.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no delivery began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    souk.sigkill();
    let db = souk::db::connect_one(&db_url).await.expect("db");
    let rows: i64 = db
        .query_one("SELECT count(*) FROM webhook_deliveries", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 0, "the delivery was in flight, not yet settled");
    // The hanging receiver goes (its port with it) and a real one takes the port.
    drop(held.lock().unwrap().drain(..));
    let receiver = Receiver::start_on(hook_port);
    let _souk = Souk::start(&db_url, port).await;
    receiver
        .wait_for("the credit's event", Duration::from_secs(20), |d| {
            !d.is_empty()
        })
        .await;
    let accepted = receiver.accepted();
    assert_eq!(accepted[0].kind, "wallet.credited");
    assert_eq!(accepted[0].json["data"]["amount_minor"], 500);
    assert_eq!(accepted[0].json["data"]["user_id"], 71);
    let now = chrono::Utc::now().timestamp();
    souk_http::signature::verify(
        secret.as_bytes(),
        &accepted[0].signature,
        &accepted[0].body,
        now,
    )
    .expect("signed");
}

#[tokio::test]
async fn subscriptions_are_validated_and_managed_by_admins_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let (s, b) = post_webhook(
        &app,
        json!({ "url": "http://127.0.0.1:9/x", "events": ["order.exploded"] }),
    )
    .await;
    assert_error(s, &b, 422, "invalid_input");
    assert_eq!(b["error"]["details"]["field"], "events", "{b}");
    let (s, b) = post_webhook(
        &app,
        json!({ "url": "ftp://example.com/x", "events": ["order.paid"] }),
    )
    .await;
    assert_error(s, &b, 422, "invalid_input");
    assert_eq!(b["error"]["details"]["field"], "url", "{b}");
    let (s, b) = post_webhook(&app, json!({ "url": "http://127.0.0.1:9/x", "events": [] })).await;
    assert_eq!(s.as_u16(), 422, "{b}");
    let (s, b) = post_webhook(
        &app,
        json!({ "url": "http://127.0.0.1:9/x", "events": ["order.paid"], "extra": 1 }),
    )
    .await;
    assert!(s.is_client_error(), "{b}");
    let (s, b) = post_webhook(&app, json!({ "events": ["order.paid"] })).await;
    assert!(s.is_client_error(), "{b}");

    let customer = app.token(81, "customer");
    let (s, _) = app
        .call(
            Method::POST,
            "/v1/admin/webhooks",
            Some(&customer),
            None,
            Some(json!({ "url": "http://127.0.0.1:9/x", "events": ["order.paid"] })),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (id, _) = subscribe(&app, "http://127.0.0.1:9/x", &["order.paid", "order.paid"]).await;
    let (s, b) = app
        .get(&format!("/v1/admin/webhooks/{id}"), Some(&admin))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.get("secret").is_none(), "the secret is shown once: {b}");
    assert_eq!(b["events"], json!(["order.paid"]), "duplicates dropped");
    let (s, b) = app
        .call(
            Method::PATCH,
            &format!("/v1/admin/webhooks/{id}"),
            Some(&admin),
            None,
            Some(json!({ "events": ["stock.low", "stock.restocked"], "active": false, "description": null })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["active"], false);
    assert_eq!(b["description"], Value::Null);
    let (s, b) = app.get("/v1/admin/webhooks", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["items"].as_array().map(Vec::len), Some(1), "{b}");

    for path in [
        "/v1/admin/webhooks/999".to_string(),
        "/v1/admin/webhooks/999/deliveries".to_string(),
    ] {
        let (s, b) = app.get(&path, Some(&admin)).await;
        assert_error(s, &b, 404, "not_found");
    }
    let retry = format!("/v1/admin/webhooks/{id}/deliveries/evt_999999/retry");
    let (s, b) = app
        .call(Method::POST, &retry, Some(&admin), None, None)
        .await;
    assert_error(s, &b, 404, "not_found");
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/v1/admin/webhooks/{id}/deliveries/not-a-uuid/retry"),
            Some(&admin),
            None,
            None,
        )
        .await;
    assert!(s.is_client_error());
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/admin/webhooks/{id}"),
            Some(&admin),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app
        .get(&format!("/v1/admin/webhooks/{id}"), Some(&admin))
        .await;
    assert_error(s, &b, 404, "not_found");
}

#[tokio::test]
async fn production_refuses_a_loopback_or_plain_http_target() {
    let app = TestApp::spawn_with(|s| s.profile = souk::config::Profile::Production).await;
    for url in [
        "http://127.0.0.1:9000/hook",
        "https://127.0.0.1:9000/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest",
        "http://hooks.example.com/x",
    ] {
        let (s, b) = post_webhook(&app, json!({ "url": url, "events": ["order.paid"] })).await;
        assert_error(s, &b, 422, "invalid_input");
        assert_eq!(b["error"]["details"]["field"], "url", "{url}: {b}");
    }
    subscribe(&app, "https://hooks.example.com/souk", &["order.paid"]).await;
}

#[tokio::test]
async fn pruning_takes_old_events_with_their_deliveries_and_keeps_those_still_pending() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    subscribe(&app, &receiver.url, &["wallet.credited"]).await;
    // The user exists once they first call.
    let (s, _) = app
        .get("/v1/me/wallet", Some(&app.token(81, "customer")))
        .await;
    assert_eq!(s, StatusCode::OK);
    app.credit(81, 100).await;
    receiver
        .wait_for("the first credit", Duration::from_secs(10), |d| {
            d.len() == 1
        })
        .await;
    // A second subscriber whose receiver is down: the next credit waits for it.
    let dead = format!("http://127.0.0.1:{}/hook", crate::external::free_port());
    subscribe(&app, &dead, &["wallet.credited"]).await;
    app.credit(81, 200).await;
    receiver
        .wait_for("the second credit", Duration::from_secs(10), |d| {
            d.len() == 2
        })
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.scalar("SELECT count(*) FROM webhook_attempts").await == 0 {
        assert!(std::time::Instant::now() < deadline, "no failed attempt");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settings = test_settings(&app.db_url);
    let url = secrecy::SecretString::from(app.db_url.clone());
    let pool = souk::db::pool(&url, &settings).expect("pool");
    let pruned = souk_actors::store::webhooks::prune(&pool, Duration::ZERO)
        .await
        .expect("prune");
    assert_eq!(pruned, 1, "the first credit's event, delivered everywhere");
    assert_eq!(app.scalar("SELECT count(*) FROM events").await, 1);
    assert_eq!(
        app.scalar("SELECT count(*) FROM webhook_deliveries").await,
        2,
        "the second event's: delivered to one, pending for the other"
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM webhook_deliveries d LEFT JOIN events e ON e.seq = d.event_seq
             WHERE e.seq IS NULL"
        )
        .await,
        0,
        "no delivery outlives its event"
    );
    assert!(app.scalar("SELECT count(*) FROM webhook_attempts").await >= 1);
}

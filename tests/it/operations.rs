//! Operators: maintenance mode stops order-creating and money-moving writes by everyone but
//! admins, is persisted, audited and shown in the metrics; the audit log answers "who did it".

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn set_maintenance(
    app: &TestApp,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    app.call(
        Method::PUT,
        "/v1/admin/maintenance",
        Some(&app.admin()),
        None,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn maintenance_stops_checkouts_and_cancels_but_not_reads_or_admins() {
    let app = TestApp::spawn().await;
    let product = app.physical(500, 10).await;
    let token = app.customer(2, 5_000).await;
    app.put_cart(&token, product, 1).await;
    let (_, order) = app.checkout(&token, "before").await;
    app.put_cart(&token, product, 1).await;

    let (s, body) = set_maintenance(
        &app,
        json!({ "enabled": true, "message": "Stocktaking until 14:00" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, shown) = app.get("/v1/maintenance", None).await;
    assert_eq!(
        shown,
        json!({ "enabled": true, "message": "Stocktaking until 14:00" })
    );

    let res = app
        .http
        .post(format!("{}/v1/me/checkout", app.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "during")
        .json(&crate::common::wallet_checkout())
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("retry-after").is_some());
    let body: serde_json::Value = res.json().await.expect("json");
    assert_error(StatusCode::SERVICE_UNAVAILABLE, &body, 503, "maintenance");
    assert_eq!(body["error"]["message"], "Stocktaking until 14:00");
    let cancel = format!("/v1/me/orders/{}/cancel", order["id"]);
    let (s, body) = app
        .call(Method::POST, &cancel, Some(&token), None, None)
        .await;
    assert_error(s, &body, 503, "maintenance");

    // Reads work, and admins still act.
    assert_eq!(
        app.get(&format!("/v1/products/{product}"), None).await.0,
        StatusCode::OK
    );
    assert_eq!(app.get("/v1/me/cart", Some(&token)).await.0, StatusCode::OK);
    app.credit(2, 100).await;
    let metrics = app.metrics().await;
    assert!(metrics.contains("souk_maintenance_mode 1"), "{metrics}");
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 1);

    // Persisted: the row says so; switched off, checkout works with the same key.
    assert_eq!(
        app.scalar("SELECT enabled::int::bigint FROM maintenance")
            .await,
        1
    );
    let (s, _) = set_maintenance(&app, json!({ "enabled": false })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.checkout(&token, "during").await.0, StatusCode::CREATED);
    // A customer cannot switch it.
    let (s, body) = app
        .call(
            Method::PUT,
            "/v1/admin/maintenance",
            Some(&token),
            None,
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_error(s, &body, 403, "forbidden");
}

#[tokio::test]
async fn the_audit_log_says_who_changed_stock_money_and_maintenance() {
    let app = TestApp::spawn().await;
    let product = app.physical(500, 7).await;
    app.customer(2, 1_000).await;
    set_maintenance(&app, json!({ "enabled": true })).await;
    set_maintenance(&app, json!({ "enabled": false })).await;
    let admin = app.admin();

    let (s, stock) = app
        .get(
            &format!("/v1/admin/audit?target=product:{product}&action=stock.change"),
            Some(&admin),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{stock}");
    let rows = stock["items"].as_array().expect("items");
    assert_eq!(rows.len(), 1, "{stock}");
    assert_eq!(rows[0]["actor"], "user:1:admin");
    assert!(rows[0]["request_id"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));

    let (_, money) = app
        .get(
            "/v1/admin/audit?target=user:2&action=wallet.credit",
            Some(&admin),
        )
        .await;
    assert_eq!(money["items"][0]["after"]["amount_minor"], 1_000, "{money}");

    let (_, switches) = app
        .get(
            "/v1/admin/audit?action=maintenance.set&limit=1",
            Some(&admin),
        )
        .await;
    assert_eq!(
        switches["items"][0]["after"]["enabled"], false,
        "newest first: {switches}"
    );
    assert_eq!(switches["items"][0]["before"]["enabled"], true);
    let cursor = switches["next_cursor"].as_str().expect("a second page");
    let (_, older) = app
        .get(
            &format!("/v1/admin/audit?action=maintenance.set&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_eq!(older["items"][0]["after"]["enabled"], true, "{older}");

    let staff = app.token(5, "staff");
    let (s, body) = app.get("/v1/admin/audit", Some(&staff)).await;
    assert_error(s, &body, 403, "forbidden");
}

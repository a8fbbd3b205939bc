//! P27: the admin dashboard. A figure read right after a write already includes it, and
//! 200 admins asking at once share at most two computations of the figures.

use crate::common::*;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;

async fn dashboard(app: &TestApp) -> Value {
    let (status, body) = app.get("/v1/admin/dashboard", Some(&app.admin())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn every_sale_and_refund_shows_on_the_dashboard_as_soon_as_it_is_answered() {
    let app = TestApp::spawn().await;
    let product = app.physical(250, 10).await;
    let buyer = app.customer(2, 100_000).await;
    let before = dashboard(&app).await;
    assert_eq!(before["today"]["orders"], 0, "{before}");

    let mut order = 0;
    for n in 1..=4 {
        app.put_cart(&buyer, product, 2).await;
        let (status, body) = app.checkout(&buyer, &format!("sale-{n}")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        order = body["id"].as_i64().expect("order id");
        let d = dashboard(&app).await;
        assert_eq!(d["today"]["orders"], n, "sale {n} missing: {d}");
        assert_eq!(d["today"]["gross_minor"], n * 500, "{d}");
        assert_eq!(d["last_7_days"]["orders"], n, "{d}");
        assert_eq!(d["checkouts_by_outcome_since_start"]["ok"], n, "{d}");
        assert_eq!(d["top_products_7_days"][0]["product_id"], product, "{d}");
        assert_eq!(d["top_products_7_days"][0]["units"], 2 * n, "{d}");
    }
    // 10 - 8 = 2 left: under the threshold of 5.
    let d = dashboard(&app).await;
    assert_eq!(d["low_stock"]["threshold"], 5);
    assert_eq!(
        d["low_stock"]["items"],
        json!([{ "product_id": product, "name": "Shirt", "stock_available": 2 }])
    );

    let (status, body) = app
        .call(
            Method::POST,
            &format!("/v1/admin/orders/{order}/refunds"),
            Some(&app.admin()),
            Some("refund-1"),
            Some(json!({ "amount_minor": 120, "reason": "damaged" })),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let d = dashboard(&app).await;
    assert_eq!(d["today"]["refunded_minor"], 120, "{d}");
    assert_eq!(d["today"]["net_minor"], 4 * 500 - 120, "{d}");
}

/// The first computation is held up by a lock on `orders` until all 200 readers have
/// arrived, so every one of them is waiting at once.
#[tokio::test]
async fn two_hundred_admins_at_once_share_at_most_two_computations() {
    let app = TestApp::spawn_with(|s| s.database.timeout_ms = 20_000).await;
    let product = app.physical(100, 50).await;
    let buyer = app.customer(2, 10_000).await;
    app.put_cart(&buyer, product, 1).await;
    assert_eq!(app.checkout(&buyer, "one").await.0, StatusCode::CREATED);
    let blocker = app.db().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let url = format!("{}/v1/admin/dashboard", app.base);
    let readers: Vec<_> = (0..200)
        .map(|_| {
            let req = app.http.get(&url).bearer_auth(app.admin());
            tokio::spawn(async move {
                let res = req.send().await.expect("response");
                (res.status(), res.json::<Value>().await.expect("json"))
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    blocker.batch_execute("COMMIT").await.expect("unlock");
    let mut computed = HashSet::new();
    for reader in join_all(readers).await {
        let (status, body) = reader.expect("reader");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["today"]["orders"], 1, "{body}");
        computed.insert(body["computed_at"].as_str().expect("time").to_string());
    }
    assert!(
        computed.len() <= 2,
        "{} computations for 200 readers waiting at once",
        computed.len()
    );
}

#[tokio::test]
async fn the_dashboard_is_for_admins_only() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/v1/admin/dashboard", None).await;
    assert_error(status, &body, 401, "unauthorized");
    let (status, body) = app
        .get("/v1/admin/dashboard", Some(&app.token(2, "staff")))
        .await;
    assert_error(status, &body, 403, "forbidden");
}

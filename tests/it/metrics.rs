//! `/metrics` after a scripted run: every family is there and moved exactly as the run did.

use crate::common::*;
use reqwest::StatusCode;

fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in:\n{metrics}"))
}

#[tokio::test]
async fn metrics_count_exactly_what_a_scripted_run_did() {
    let app = TestApp::spawn().await;
    let product = app.physical(1_000, 3).await;
    let rich = app.customer(2, 10_000).await;
    let poor = app.customer(3, 10).await;
    for i in 0..3 {
        app.put_cart(&rich, product, 1).await;
        assert_eq!(
            app.checkout(&rich, &format!("ok-{i}")).await.0,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        app.checkout(&rich, "ok-0").await.0,
        StatusCode::CREATED,
        "a replay"
    );
    assert_eq!(app.checkout(&rich, "empty").await.0, StatusCode::CONFLICT);
    app.put_cart(&rich, product, 1).await;
    assert_eq!(
        app.checkout(&rich, "sold-out").await.0,
        StatusCode::CONFLICT
    );
    app.add_stock(product, serde_json::json!({ "quantity_delta": 1 }))
        .await;
    app.put_cart(&poor, product, 1).await;
    assert_eq!(
        app.checkout(&poor, "poor").await.0,
        StatusCode::PAYMENT_REQUIRED
    );

    let m = app.metrics().await;
    let checkouts = |outcome: &str| {
        value(
            &m,
            &format!("souk_checkouts_total{{outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(checkouts("ok"), 3.0);
    assert_eq!(checkouts("idempotent_replay"), 1.0);
    assert_eq!(checkouts("cart_empty"), 1.0);
    assert_eq!(checkouts("out_of_stock"), 1.0);
    assert_eq!(checkouts("insufficient_funds"), 1.0);
    assert_eq!(checkouts("maintenance"), 0.0);
    let requests = |status: &str| {
        value(&m, &format!("souk_http_requests_total{{method=\"POST\",route=\"/v1/me/checkout\",status=\"{status}\"}}"))
    };
    assert_eq!(requests("201"), 4.0, "three orders and one replay");
    assert_eq!(requests("409"), 2.0);
    assert_eq!(requests("402"), 1.0);
    // Users 1 (admin), 2 and 3 are live; the one product too.
    assert_eq!(value(&m, "souk_actors_live{kind=\"user\"}"), 3.0);
    assert_eq!(value(&m, "souk_actors_live{kind=\"product\"}"), 1.0);
    assert_eq!(
        value(&m, "souk_actors_passivated_total{kind=\"user\"}"),
        0.0
    );
    // Committed writes: 2 credits, 2 stock changes, 5 cart lines, 3 orders and 3 stored refusals.
    assert_eq!(value(&m, "souk_persistence_batch_size_sum"), 15.0);
    assert!(value(&m, "souk_persistence_commit_seconds_count") >= 1.0);
    assert_eq!(
        value(
            &m,
            "souk_persistence_failures_total{reason=\"unavailable\"}"
        ),
        0.0
    );
    assert_eq!(value(&m, "souk_persistence_queue_depth"), 0.0);
    assert_eq!(value(&m, "souk_maintenance_mode"), 0.0);
    // The one product has 1 unit left, under the default low-stock threshold of 5.
    assert_eq!(value(&m, "souk_stock_low_products"), 1.0);
    assert!(value(&m, "souk_db_pool_size") >= 1.0);
    assert!(value(&m, "souk_db_pool_available") <= value(&m, "souk_db_pool_size"));
    assert_eq!(value(&m, "souk_db_pool_waiting"), 0.0);
    assert!(value(&m, "souk_process_cpu_seconds_total") > 0.0);
    assert!(value(&m, "souk_process_resident_memory_bytes") > 1e6);
    for class in ["checkout", "writes", "reads", "auth", "webhooks"] {
        let series = format!("souk_rate_limited_total{{class=\"{class}\"}}");
        assert_eq!(value(&m, &series), 0.0);
    }
    assert_eq!(value(&m, "souk_http_panics_total"), 0.0);
    // Every checkout the test made (4 answered 201, 2 with 409, 1 with 402) was timed.
    assert_eq!(value(&m, "souk_checkout_duration_seconds_count"), 7.0);
    // The one repeated checkout is the one replay.
    assert_eq!(value(&m, "souk_idempotent_replays_total"), 1.0);
    // Nothing waits on an actor once every answer is in.
    for kind in ["product", "user", "promo"] {
        let depth = format!("souk_actor_mailbox_depth{{kind=\"{kind}\"}}");
        assert_eq!(value(&m, &depth), 0.0);
        let max = format!("souk_actor_mailbox_depth_max{{kind=\"{kind}\"}}");
        assert_eq!(value(&m, &max), 0.0);
    }
    // Users 1, 2 and 3 and this test's own address (for the anonymous scrape) at most.
    let keys = value(&m, "souk_rate_limit_keys");
    assert!((1.0..=8.0).contains(&keys), "{keys}");
}

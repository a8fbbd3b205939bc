//! Postgres goes away mid-test: writes answer 503 `unavailable` within the configured
//! timeout, nothing is half-applied, and service resumes by itself when it returns.

use crate::common::*;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// Refuses new connections to the test's database and cuts the open ones.
async fn cut(app: &TestApp, allow: bool) {
    let admin = souk::db::connect_one(&server_url().await)
        .await
        .expect("server connection");
    let name = &app.db_name;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {allow}"
        ))
        .await
        .expect("alter database");
    if !allow {
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                &[name],
            )
            .await
            .expect("terminate backends");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_fail_fast_with_503_while_postgres_is_gone_and_resume_after() {
    let app = TestApp::spawn().await;
    let product = app.physical(1_000, 5).await;
    let token = app.customer(21, 10_000).await;
    app.put_cart(&token, product, 2).await;

    cut(&app, false).await;
    let started = Instant::now();
    let (s, b) = app.checkout(&token, "during-outage").await;
    let waited = started.elapsed();
    assert_error(s, &b, 503, "unavailable");
    // Bounded by the configured 2 s database timeout, with room for a slow machine.
    assert!(waited < Duration::from_secs(10), "took {waited:?}");
    let (s, b) = app.get("/v1/ready", None).await;
    assert_error(s, &b, 503, "unavailable");
    let (s, b) = app.put_cart(&token, product, 3).await;
    assert_error(s, &b, 503, "unavailable");

    cut(&app, true).await;
    // Nothing was applied: no order, stock and balance and cart as before.
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT stock_on_hand FROM products WHERE id = {product}"
        ))
        .await,
        5
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 21")
            .await,
        10_000
    );
    assert_eq!(
        app.scalar("SELECT quantity::bigint FROM cart_items WHERE user_id = 21")
            .await,
        2
    );

    // Service resumes; the same key runs now because a 503 was never stored as its answer.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, _) = app.get("/v1/ready", None).await;
        if s == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "never became ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (s, order) = app.checkout(&token, "during-outage").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["lines"][0]["quantity"], 2);
    assert_eq!(
        app.scalar(&format!(
            "SELECT stock_on_hand FROM products WHERE id = {product}"
        ))
        .await,
        3
    );
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 21")
            .await,
        8_000
    );
}

//! The actor runtime itself: group commit isolates a bad write, idle actors leave memory
//! and come back from committed state, and nothing that does not exist gets an actor.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use souk_actors::domain::changes::Write;
use souk_actors::domain::changes::WriteOp;
use souk_actors::domain::ids::{ProductId, UserId};
use souk_actors::domain::money::Money;
use souk_actors::domain::quantity::Quantity;
use souk_actors::metrics::ActorMetrics;
use souk_actors::store::group_commit::{persist, PersistenceActor, PersistenceConfig};
use souk_actors::DomainError;
use std::time::{Duration, Instant};

#[actix_rt::test]
async fn one_bad_write_never_fails_the_writes_batched_with_it() {
    let (url, _) = fresh_database().await;
    let settings = test_settings(&url);
    let secret_url = settings.database.url.clone().expect("url");
    souk::db::migrate(&secret_url).await.expect("migrate");
    let client = souk::db::connect_one(&url).await.expect("db");
    client
        .batch_execute(
            "INSERT INTO categories (name) VALUES ('c');
             INSERT INTO products (category_id, name, kind, price_minor) VALUES (1, 'p', 'physical', 100);
             INSERT INTO users (display_name) SELECT 'u' || n FROM generate_series(1, 50) n;",
        )
        .await
        .expect("seed");
    let pool = souk::db::pool(&secret_url, &settings).expect("pool");
    let registry = prometheus::Registry::new();
    let metrics = ActorMetrics::new(&registry).expect("metrics");
    let config = PersistenceConfig {
        batch_max: 256,
        queue_max: 1000,
        write_timeout: Duration::from_secs(5),
        events: souk_actors::domain::events::EventRules::default(),
    };
    let persistence = actix::Actor::start(PersistenceActor::new(
        pool,
        config,
        metrics.clone(),
        single(),
    ));

    let quantity = Quantity::new(1).expect("quantity");
    let writes = (1..=51_i64).map(|i| {
        // Write 26 names a product that does not exist: a foreign-key violation.
        let product = if i == 26 { 999_999 } else { 1 };
        let user = if i == 26 { 1 } else { i - i64::from(i > 26) };
        let op = WriteOp::CartSet {
            user: UserId::new(user).expect("id"),
            product: ProductId::new(product).expect("id"),
            quantity: Some(quantity),
        };
        persist(&persistence, Write::new(op))
    });
    // All 51 are queued in one go: the first commits alone, the other 50 share a batch.
    let results = futures_util::future::join_all(writes).await;
    for (i, result) in results.iter().enumerate() {
        if i == 25 {
            assert!(
                matches!(result, Err(DomainError::Rejected { .. })),
                "{result:?}"
            );
        } else {
            assert!(result.is_ok(), "write {i}: {result:?}");
        }
    }
    let rows: i64 = client
        .query_one("SELECT count(*) FROM cart_items", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 50);
    assert_eq!(
        metrics.batch_size.get_sample_count(),
        2,
        "one batch of 1, then one of 49 after the retry"
    );
    assert_eq!(metrics.batch_size.get_sample_sum() as i64, 50);
}

fn gauge(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn idle_actors_leave_memory_and_return_with_committed_state() {
    let app = TestApp::spawn_with(|s| s.actors.idle_timeout_secs = 1).await;
    let product = app.physical(500, 10).await;
    let token = app.customer(31, 5_000).await;
    app.put_cart(&token, product, 3).await;
    assert_eq!(
        app.checkout(&token, "before-sleep").await.0,
        StatusCode::CREATED
    );

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let m = app.metrics().await;
        let live = gauge(&m, "souk_actors_live{kind=\"product\"}").unwrap_or(0.0)
            + gauge(&m, "souk_actors_live{kind=\"user\"}").unwrap_or(0.0);
        if live == 0.0 {
            assert!(
                gauge(&m, "souk_actors_passivated_total{kind=\"product\"}").unwrap_or(0.0) >= 1.0
            );
            break;
        }
        assert!(Instant::now() < deadline, "actors never passivated:\n{m}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Fresh owners load what was committed: 7 units, 3,500 in the wallet, an empty cart.
    let (_, cart) = app.get("/v1/me/cart", Some(&token)).await;
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(0));
    let (_, wallet) = app.get("/v1/me/wallet", Some(&token)).await;
    assert_eq!(wallet["balance_minor"], 3_500);
    app.put_cart(&token, product, 7).await;
    assert_eq!(
        app.checkout(&token, "after-sleep").await.0,
        StatusCode::CREATED
    );
    app.put_cart(&token, product, 1).await;
    let (s, b) = app.checkout(&token, "one-too-many").await;
    assert_error(s, &b, 409, "out_of_stock");
    let m = app.metrics().await;
    assert!(
        gauge(&m, "souk_actors_started_total{kind=\"product\"}").unwrap_or(0.0) >= 2.0,
        "{m}"
    );
}

/// A batch cut off by the write timeout leaves no connection inside its transaction: with
/// one pooled connection, the next batch would otherwise run in the same transaction and
/// its COMMIT would also commit the write that was reported as failed.
#[actix_rt::test]
async fn a_batch_cut_off_by_the_timeout_never_commits_later() {
    let (url, _) = fresh_database().await;
    let mut settings = test_settings(&url);
    settings.database.pool_size = 1;
    let secret_url = settings.database.url.clone().expect("url");
    souk::db::migrate(&secret_url).await.expect("migrate");
    let mut client = souk::db::connect_one(&url).await.expect("db");
    client
        .batch_execute("INSERT INTO users (display_name) VALUES ('held'), ('free')")
        .await
        .expect("seed");
    let pool = souk::db::pool(&secret_url, &settings).expect("pool");
    let metrics = ActorMetrics::new(&prometheus::Registry::new()).expect("metrics");
    let config = PersistenceConfig {
        batch_max: 256,
        queue_max: 1000,
        write_timeout: Duration::from_millis(300),
        events: souk_actors::domain::events::EventRules::default(),
    };
    let persistence = actix::Actor::start(PersistenceActor::new(pool, config, metrics, single()));
    let credit = |user: i64, amount: i64| {
        Write::new(WriteOp::WalletCredit {
            user: UserId::new(user).expect("id"),
            amount: Money::from_minor(amount),
            reason: "test".into(),
        })
    };

    // Another session holds user 1's row, so the credit waits past the timeout.
    let lock = client.transaction().await.expect("begin");
    lock.execute("SELECT 1 FROM users WHERE id = 1 FOR UPDATE", &[])
        .await
        .expect("lock");
    let cut_off = persist(&persistence, credit(1, 100)).await;
    assert!(
        matches!(cut_off, Err(DomainError::Unavailable(_))),
        "{cut_off:?}"
    );
    lock.rollback().await.expect("release");

    let next = persist(&persistence, credit(2, 5)).await;
    assert!(next.is_ok(), "{next:?}");
    let balances: Vec<i64> = client
        .query("SELECT balance_minor FROM users ORDER BY id", &[])
        .await
        .expect("balances")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(balances, [0, 5], "the cut-off credit must never commit");
    let open: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            &[],
        )
        .await
        .expect("activity")
        .get(0);
    assert_eq!(open, 0, "no pooled connection is left inside a transaction");
}

/// Started and live actors of each kind, as `/metrics` shows them.
async fn actor_counts(app: &TestApp) -> Vec<(String, f64)> {
    let m = app.metrics().await;
    let mut counts = Vec::new();
    for kind in ["product", "user", "promo"] {
        for series in ["souk_actors_started_total", "souk_actors_live"] {
            let name = format!("{series}{{kind=\"{kind}\"}}");
            let value = gauge(&m, &name).unwrap_or(0.0);
            counts.push((name, value));
        }
    }
    counts
}

#[tokio::test]
async fn requests_for_missing_products_promos_and_users_start_no_actor() {
    use rand::Rng;
    let app = TestApp::spawn().await;
    let product = app.physical(500, 5).await;
    let token = app.customer(41, 1_000).await;
    let admin = app.admin();
    // The callers' own actors and one real product's owner are running before the count.
    app.put_cart(&token, product, 1).await;
    app.credit(41, 1).await;
    let before = actor_counts(&app).await;

    let mut rng = rand::rng();
    for _ in 0..50 {
        let missing: i64 = rng.random_range(1_000_000..1_000_000_000_000);
        let (s, b) = app.put_cart(&token, missing, 1).await;
        assert_error(s, &b, 404, "not_found");
        let path = format!("/v1/admin/products/{missing}/stock");
        let body = json!({ "quantity_delta": 1 });
        let key = uuid::Uuid::new_v4().to_string();
        let (s, b) = app
            .call(Method::POST, &path, Some(&admin), Some(&key), Some(body))
            .await;
        assert_error(s, &b, 404, "not_found");
    }
    for _ in 0..20 {
        let code = format!("NOPE{}", rng.random_range(0..u32::MAX));
        let body = json!({ "code": code });
        let (s, b) = app
            .call(
                Method::POST,
                "/v1/me/cart/promo",
                Some(&token),
                None,
                Some(body),
            )
            .await;
        assert_error(s, &b, 422, "promo_invalid");
        assert_eq!(b["error"]["details"]["reason"], "unknown", "{b}");
        let (s, b) = app
            .get(&format!("/v1/admin/promos/{code}"), Some(&admin))
            .await;
        assert_error(s, &b, 404, "not_found");
        let missing: i64 = rng.random_range(1_000_000..1_000_000_000_000);
        let path = format!("/v1/admin/users/{missing}/wallet/credits");
        let body = json!({ "amount_minor": 100, "reason": "gift" });
        let key = uuid::Uuid::new_v4().to_string();
        let (s, b) = app
            .call(Method::POST, &path, Some(&admin), Some(&key), Some(body))
            .await;
        assert_error(s, &b, 404, "not_found");
    }
    assert_eq!(
        actor_counts(&app).await,
        before,
        "no actor for what does not exist"
    );
}

fn single() -> std::sync::Arc<souk_actors::entity::ownership::Ownership> {
    std::sync::Arc::new(souk_actors::entity::ownership::Ownership::single())
}

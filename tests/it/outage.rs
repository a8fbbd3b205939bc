//! Postgres goes away mid-test: writes answer 503 `unavailable` within the configured
//! timeout, nothing is half-applied, and service resumes by itself when it returns.

use crate::common::*;
use crate::external::*;
use crate::load::*;
use crate::proxy::{host_port, Proxy};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

/// How Postgres goes away: it refuses connections (and the open ones are cut), or the
/// network to it stalls (a proxy holds every byte; what was sent lands after the stall).
enum Fault {
    Refuse,
    Stall(Proxy),
}

impl Fault {
    async fn set(&self, app: &TestApp, on: bool) {
        match self {
            Fault::Refuse => cut(app, !on).await,
            Fault::Stall(proxy) => proxy.stall(on),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkouts_under_load_fail_fast_while_postgres_refuses_and_recover_by_themselves() {
    let app = TestApp::spawn_with(|s| {
        s.database.timeout_ms = 2000;
        s.persistence.write_timeout_ms = 2000;
    })
    .await;
    outage_under_load(&app, Fault::Refuse, Duration::from_secs(3)).await;
}

/// A 12 s stall of the network to Postgres (connections stay open, nothing moves): with a
/// 2 s database timeout, requests fail with 503 long before it ends instead of waiting for
/// the network. Every wait on the database is bounded: reads by `AppState::bounded`, actor
/// loads by `load_timeout`, writes by the batch timeout (a write waits at most for the batch
/// ahead of it and its own; the queue behind a failed batch fails at once). A request makes
/// at most three such waits in a row (an owner reloading, the batch ahead, its own): 6 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_request_outlives_the_database_timeout_while_the_network_to_postgres_stalls() {
    let proxy = Proxy::start(host_port(&server_url().await)).await;
    let app = TestApp::spawn_with(|s| {
        let url = s.database.url.as_ref().expect("url").expose_secret();
        s.database.url = Some(SecretString::from(proxy.route(url)));
        s.database.timeout_ms = 2000;
        s.persistence.write_timeout_ms = 2000;
    })
    .await;
    outage_under_load(&app, Fault::Stall(proxy), Duration::from_secs(12)).await;
}

/// 16 customers check out in a loop while Postgres is gone for `outage`: no request takes
/// over 8 s (three 2 s timeouts plus slack), refusals are 503s, `/v1/ready` says 503 during and
/// 200 after, checkouts succeed again by themselves at a rate like before, every
/// acknowledged one is stored once, a refused one sent again is replayed if it committed
/// after all (else runs once), and the actors agree with the database.
async fn outage_under_load(app: &TestApp, fault: Fault, outage: Duration) {
    // A hung request shows up as a transport error after 30 s instead of hanging the test.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let customers = (500..516).map(|u| (u, app.token(u, "customer"))).collect();
    let shop = Shop::open(&http, &app.base, &app.admin(), customers, 1_000).await;
    for batch in ["b", "c"] {
        shop.add_codes(&http, &app.base, batch, 1_000).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let load = run_load(&http, &app.base, &shop, "outage", stop.clone(), false);
    let script = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let cut_at = Instant::now();
        fault.set(app, true).await;
        let mut ready_during = Vec::new();
        while cut_at.elapsed() < outage {
            let asked = Instant::now();
            let (s, _) = app.get("/v1/ready", None).await;
            ready_during.push((asked - cut_at, s, asked.elapsed()));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        fault.set(app, false).await;
        let restored = Instant::now();
        while app.get("/v1/ready", None).await.0 != StatusCode::OK {
            let waited = restored.elapsed();
            assert!(
                waited < Duration::from_secs(10),
                "not ready {waited:?} after"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let ready_after = restored.elapsed();
        // Let the load run until 100 more orders are stored (bounded), then one more second.
        let db = app.db().await;
        let count = || async {
            let row = db.query_one("SELECT count(*) FROM orders", &[]).await;
            row.expect("count").get::<_, i64>(0)
        };
        let base_count = count().await;
        while count().await < base_count + 100 && restored.elapsed() < Duration::from_secs(15) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let steady = Instant::now();
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, Ordering::Relaxed);
        (cut_at, ready_during, restored, ready_after, steady)
    };
    let (sent, (cut_at, ready_during, restored, ready_after, steady)) = tokio::join!(load, script);

    // Nothing hung: every request ended within the 2 s timeout plus slack.
    let mut by_time: Vec<&Sent> = sent.iter().collect();
    by_time.sort_by_key(|s| std::cmp::Reverse(s.took));
    let slowest: Vec<String> = by_time
        .iter()
        .take(5)
        .map(|s| {
            let status = s.reply.as_ref().map(|r| r.status.as_u16());
            let at = match s.started.checked_duration_since(cut_at) {
                Some(d) => format!("{d:?} after"),
                None => format!("{:?} before", cut_at - s.started),
            };
            format!(
                "{:?} sent {at} the cut took {:?} → {status:?}",
                s.kind, s.took
            )
        })
        .collect();
    let took = by_time[0].took;
    assert!(
        took < Duration::from_secs(8),
        "slowest requests:\n{}",
        slowest.join("\n")
    );
    let lost = sent.iter().filter(|s| s.reply.is_none()).count();
    assert_eq!(lost, 0, "requests without an answer");
    // Refusals are 503s (unavailable or overloaded), never a 500.
    let mut refusals: HashMap<String, usize> = HashMap::new();
    for r in sent.iter().filter_map(|s| s.reply.as_ref()) {
        if !r.status.is_success() {
            let code = format!("{} {}", r.status.as_u16(), r.body["error"]["code"]);
            *refusals.entry(code).or_default() += 1;
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
        }
    }
    assert!(
        !refusals.is_empty(),
        "the outage refused nothing: did the cut work?"
    );
    // Ready says 503 while Postgres is gone (once the cut has landed) and 200 after.
    let during: Vec<_> = ready_during
        .iter()
        .filter(|r| r.0 > Duration::from_millis(300))
        .collect();
    assert!(during.len() >= 2, "{ready_during:?}");
    let all_503 = during
        .iter()
        .all(|r| r.1 == StatusCode::SERVICE_UNAVAILABLE);
    assert!(all_503, "{ready_during:?}");
    // Throughput returns by itself: checkouts succeed soon after, then at a rate like before.
    let created = |s: &&Sent| {
        matches!(s.kind, Kind::Checkout(_))
            && s.reply
                .as_ref()
                .is_some_and(|r| r.status == StatusCode::CREATED)
    };
    let ended = |s: &Sent| s.started + s.took;
    let began = sent.iter().map(|s| s.started).min().expect("requests");
    let before = sent
        .iter()
        .filter(created)
        .filter(|s| ended(s) < cut_at)
        .count();
    let after: Vec<Instant> = sent
        .iter()
        .filter(created)
        .map(ended)
        .filter(|t| *t > restored)
        .collect();
    let first = *after
        .iter()
        .min()
        .expect("no checkout succeeded after the outage");
    let recovered = first - restored;
    assert!(
        recovered < Duration::from_secs(10),
        "first checkout {recovered:?} after restore"
    );
    let rate_before = before as f64 / (cut_at - began).as_secs_f64();
    // The last second of load, once 100 orders had been stored since the restore.
    let rate_after = after.iter().filter(|t| **t > steady).count() as f64;
    assert!(
        rate_after * 4.0 >= rate_before,
        "{rate_after:.0}/s after vs {rate_before:.0}/s before"
    );

    // No acknowledged loss; nothing applied twice; the actors agree with the database.
    let mut ledger = Ledger::default();
    ledger.record(&sent);
    let db = app.db().await;
    let answers = verify_stored(&db, &ledger).await;
    verify_views(&http, &app.base, &shop, &db).await;
    // A refused checkout may have committed after all (its COMMIT was on the wire): sent
    // again with its key it must replay that order; one that did not commit runs once now.
    let refused = unanswered(&sent, Some(StatusCode::SERVICE_UNAVAILABLE));
    let committed = refused.iter().filter(|k| answers.contains_key(k)).count();
    let conflict = [StatusCode::CONFLICT];
    retry_checkouts(
        &http,
        &app.base,
        &shop,
        &mut ledger,
        &answers,
        &refused,
        &conflict,
    )
    .await;
    let answers = verify_stored(&db, &ledger).await;
    let orders = answers.values().filter(|a| a.0 == 201).count();
    assert_eq!(orders, ledger.acked.len(), "orders nobody was told about");
    println!(
        "outage: slowest request {took:?}; refusals {refusals:?}, {committed} of the refused \
         checkouts had committed; ready {ready_after:?} after; first checkout {recovered:?} \
         after; {rate_before:.0}/s before, {rate_after:.0}/s after; {orders} orders, all acknowledged"
    );
}

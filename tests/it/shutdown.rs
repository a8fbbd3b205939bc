//! Graceful shutdown under load: the real `souk` binary gets SIGTERM while 16 customers
//! check out. Requests in flight finish with their 2xx or fail at the transport level, never
//! with a 5xx; the persistence queue is flushed, so every acknowledged order is stored; the
//! process exits 0 within the shutdown timeout; `souk check` passes.

use crate::common::*;
use crate::external::*;
use crate::load::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_finishes_in_flight_checkouts_and_exits_zero() {
    let (db_url, _) = fresh_database().await;
    let keys = TestKeys::new();
    let mut souk = Souk::start(&db_url, free_port()).await;
    let customers: Vec<(i64, String)> = (400..416).map(|u| (u, keys.customer(u))).collect();
    let http = reqwest::Client::new();
    let shop = Shop::open(&http, &souk.base, &keys.admin, customers, 1_000).await;
    let (base, log) = (souk.base.clone(), souk.log.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let load = run_load(&http, &base, &shop, "term", stop.clone(), true);
    let (sent, (signalled, exit)) = tokio::join!(load, async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let signalled = Instant::now();
        souk.sigterm();
        let exit = souk.exit_within(Duration::from_secs(35)).await;
        stop.store(true, Ordering::Relaxed);
        (signalled, exit.map(|status| (status, signalled.elapsed())))
    });
    let log = log.display();
    let (status, exited_after) =
        exit.unwrap_or_else(|| panic!("souk still runs 35 s after SIGTERM; see {log}"));
    assert_eq!(status.code(), Some(0), "exit after SIGTERM; see {log}");

    // Every answer is a 2xx: nothing in flight was refused or failed by the server.
    let refused: Vec<String> = sent
        .iter()
        .filter_map(|s| {
            let r = s.reply.as_ref().filter(|r| !r.status.is_success())?;
            let when = if s.started + s.took > signalled {
                "after"
            } else {
                "before"
            };
            Some(format!(
                "{:?} → {} {} (answered {when} SIGTERM)",
                s.kind, r.status, r.body
            ))
        })
        .collect();
    assert!(
        refused.is_empty(),
        "non-2xx answers; see {log}:\n{}",
        refused.join("\n")
    );
    let in_flight: Vec<_> = sent
        .iter()
        .filter(|s| s.started < signalled && s.started + s.took > signalled)
        .collect();
    let finished = in_flight.iter().filter(|s| s.reply.is_some()).count();

    // The queue was flushed: every acknowledged checkout is stored, once.
    let mut ledger = Ledger::default();
    ledger.record(&sent);
    assert!(
        ledger.acked.len() > 10,
        "only {} orders before SIGTERM",
        ledger.acked.len()
    );
    let db = souk::db::connect_one(&db_url).await.expect("db");
    let answers = verify_stored(&db, &ledger).await;
    let orders = answers.values().filter(|a| a.0 == 201).count();
    // A request the server ran to the end was answered: no checkout committed unseen.
    let unseen: Vec<&String> = sent
        .iter()
        .filter_map(|s| match (&s.kind, &s.reply) {
            (Kind::Checkout(key), None) => Some(key),
            _ => None,
        })
        .filter(|key| answers.keys().any(|(_, k)| k == *key))
        .collect();
    assert!(
        unseen.is_empty(),
        "checkouts that committed but whose answer was cut by the shutdown: {unseen:?}"
    );
    assert_eq!(orders, ledger.acked.len(), "orders nobody was told about");
    println!(
        "shutdown: exit 0 after {exited_after:?}; {} in flight at SIGTERM ({finished} answered 2xx, \
         the rest cut at the transport level); {} acknowledged, {orders} orders in db",
        in_flight.len(),
        ledger.acked.len()
    );
}

/// The background loops (payment-expiry sweep, rate-limit sweeper) obey the shutdown signal:
/// an idle server exits promptly after SIGTERM, well before the bound start-up gives the
/// loops to finish their current item, which it would wait out if they missed the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_background_loops_at_once() {
    let (db_url, _) = fresh_database().await;
    let mut souk = Souk::start(&db_url, free_port()).await;
    // Let the expiry sweep and the rate-limit sweeper start their loops.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let signalled = Instant::now();
    souk.sigterm();
    let log = souk.log.display().to_string();
    let status = souk
        .exit_within(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("souk still runs 5 s after SIGTERM; see {log}"));
    assert_eq!(status.code(), Some(0), "exit after SIGTERM; see {log}");
    let took = signalled.elapsed();
    assert!(
        took < souk::shutdown::LOOPS_FINISH_MAX / 2,
        "exit took {took:?}: a loop missed the shutdown signal; see {log}"
    );
}

//! I3 and I4 across crashes: the real `souk` binary is SIGKILLed at a random moment under
//! checkout load and started again, round after round (2 rounds in the normal run;
//! `SOUK_CRASH_ROUNDS=20` for the long one). After every restart each acknowledged order is
//! there with its codes and one debit, nothing was applied twice, and a checkout the crash
//! cut off, sent again with its key and body, is either replayed or placed once.

use crate::common::*;
use crate::external::*;
use crate::load::*;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rounds() -> usize {
    match std::env::var("SOUK_CRASH_ROUNDS") {
        Ok(n) => n.parse().expect("SOUK_CRASH_ROUNDS is a number"),
        Err(_) => 2,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_orders_survive_repeated_sigkill_at_random_moments() {
    let (db_url, _) = fresh_database().await;
    let port = free_port();
    let keys = TestKeys::new();
    let mut souk = Souk::start(&db_url, port).await;
    let customers: Vec<(i64, String)> = (300..316).map(|u| (u, keys.customer(u))).collect();
    let tokens: HashMap<i64, String> = customers.iter().cloned().collect();
    let http = reqwest::Client::new();
    let shop = Shop::open(&http, &souk.base, &keys.admin, customers, 1_000).await;
    let db = souk::db::connect_one(&db_url).await.expect("db");
    let mut ledger = Ledger::default();
    let rounds = rounds();
    let began = Instant::now();
    for round in 1..=rounds {
        // A new client each round: no pooled connection to a process killed before.
        let http = reqwest::Client::new();
        let free: i64 = db
            .query_one(
                "SELECT count(*) FROM digital_items WHERE product_id = $1 AND order_id IS NULL",
                &[&shop.digital],
            )
            .await
            .expect("codes")
            .get(0);
        if free < 1_500 {
            shop.add_codes(&http, &souk.base, &format!("r{round}"), 1_000)
                .await;
        }
        let delay = Duration::from_millis(rand::rng().random_range(300..1500));
        let base = souk.base.clone();
        let tag = format!("r{round}");
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, ()) = tokio::join!(run_load(&http, &base, &shop, &tag, stop, true), async {
            tokio::time::sleep(delay).await;
            souk.sigkill();
        });
        let acked_before = ledger.acked.len();
        ledger.record(&sent);
        let new = ledger.acked.len() - acked_before;
        drop(souk);
        souk = Souk::start(&db_url, port).await;
        let http = reqwest::Client::new();
        let answers = verify_stored(&db, &ledger).await;

        // This round's acknowledged orders read back through the API as they were answered.
        let prefix = format!("checkout-{tag}-");
        for (id, (user, key, order)) in &ledger.acked {
            if !key.starts_with(&prefix) {
                continue;
            }
            let path = format!("/v1/me/orders/{id}");
            let got = (Method::GET, path.as_str());
            let stored = expect(
                &http,
                &souk.base,
                got,
                &tokens[user],
                None,
                Value::Null,
                StatusCode::OK,
            )
            .await;
            assert_eq!(stored["lines"], order["lines"], "order {id} changed");
            assert_eq!(
                stored["total_minor"], order["total_minor"],
                "order {id} changed"
            );
        }
        verify_views(&http, &souk.base, &shop, &db).await;

        // Checkouts the kill cut off, sent again: a replay of what committed, or one new order.
        let cut = unanswered(&sent, None);
        let committed = cut.iter().filter(|k| answers.contains_key(k)).count();
        let orders = answers.values().filter(|a| a.0 == 201).count();
        assert_eq!(
            orders,
            ledger.acked.len() + committed,
            "orders = acknowledged + committed but cut off"
        );
        let (replayed, placed) =
            retry_checkouts(&http, &souk.base, &shop, &mut ledger, &answers, &cut, &[]).await;
        let answers = verify_stored(&db, &ledger).await;
        let orders = answers.values().filter(|a| a.0 == 201).count();
        // Every committed checkout has now been answered 2xx to someone, once.
        assert_eq!(orders, ledger.acked.len(), "orders nobody was told about");
        println!(
            "crash round {round}/{rounds}: killed after {delay:?}; {} acknowledged this round, \
             {} cut off ({replayed} replayed, {placed} placed on retry); \
             {} acknowledged so far, {orders} orders in db",
            new,
            replayed + placed,
            ledger.acked.len(),
        );
    }
    assert!(
        ledger.acked.len() >= 10 * rounds,
        "the load made only {} orders in {rounds} rounds",
        ledger.acked.len()
    );
    println!(
        "crash test: {rounds} SIGKILL rounds, {} acknowledged orders, all intact, in {:?}",
        ledger.acked.len(),
        began.elapsed()
    );
}

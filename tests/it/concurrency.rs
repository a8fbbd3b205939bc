//! P1/I1, I5, I2: many buyers race for few units; the counts at the end are exact.

use crate::common::*;
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashSet;

const BUYERS: i64 = 500;
const UNITS: i64 = 10;

/// Creates `n` customers (ids from 100) with `balance` each and `quantity` of `product` in their carts.
async fn buyers(app: &TestApp, n: i64, balance: i64, product: i64, quantity: i64) -> Vec<String> {
    stream::iter(100..100 + n)
        .map(|id| async move {
            let token = app.customer(id, balance).await;
            let (s, b) = app.put_cart(&token, product, quantity).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            token
        })
        .buffered(32)
        .collect()
        .await
}

/// Everyone checks out at the same moment; returns every answer.
async fn race(app: &TestApp, tokens: &[String]) -> Vec<(StatusCode, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(tokens.len()));
    let runs = tokens.iter().enumerate().map(|(i, token)| {
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            app.checkout(token, &format!("race-{i}")).await
        }
    });
    join_all(runs).await
}

fn tally(answers: &[(StatusCode, Value)]) -> (Vec<&Value>, usize) {
    let mut orders = Vec::new();
    let mut out_of_stock = 0;
    for (status, body) in answers {
        match status.as_u16() {
            201 => orders.push(body),
            409 => {
                assert_eq!(body["error"]["code"], "out_of_stock", "{body}");
                assert!(
                    body["error"]["details"]["available"]
                        .as_i64()
                        .is_some_and(|a| a < 1),
                    "{body}"
                );
                out_of_stock += 1;
            }
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    (orders, out_of_stock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversell_is_impossible_when_500_buyers_race_for_10_physical_units() {
    let app = TestApp::spawn().await;
    let product = app.physical(1000, UNITS).await;
    let tokens = buyers(&app, BUYERS, 5_000, product, 1).await;
    let answers = race(&app, &tokens).await;
    let (orders, out_of_stock) = tally(&answers);
    assert_eq!(orders.len() as i64, UNITS);
    assert_eq!(out_of_stock as i64, BUYERS - UNITS);
    assert_eq!(
        app.scalar(&format!(
            "SELECT stock_on_hand FROM products WHERE id = {product}"
        ))
        .await,
        0
    );
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, UNITS);
    assert_eq!(
        app.scalar("SELECT coalesce(sum(quantity), 0)::bigint FROM order_lines")
            .await,
        UNITS
    );
    let (_, p) = app.get(&format!("/v1/products/{product}"), None).await;
    assert_eq!(p["stock_available"], 0);
    // Losers were not charged: total debits equal exactly ten orders.
    assert_eq!(app.scalar("SELECT coalesce(sum(amount_minor), 0)::bigint FROM wallet_transactions WHERE kind = 'debit'").await, 10 * 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_license_keys_go_to_ten_orders_and_never_twice() {
    let app = TestApp::spawn().await;
    let product = app.digital(500, &codes("RACE", UNITS as usize)).await;
    let tokens = buyers(&app, BUYERS, 5_000, product, 1).await;
    let answers = race(&app, &tokens).await;
    let (orders, out_of_stock) = tally(&answers);
    assert_eq!(orders.len() as i64, UNITS);
    assert_eq!(out_of_stock as i64, BUYERS - UNITS);
    let delivered: Vec<String> = orders
        .iter()
        .flat_map(|o| {
            o["lines"][0]["delivered_items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    assert_eq!(delivered.len() as i64, UNITS);
    assert_eq!(
        delivered.iter().collect::<HashSet<_>>().len() as i64,
        UNITS,
        "a code was delivered twice"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM digital_items WHERE order_id IS NULL")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT count(DISTINCT order_id) FROM digital_items")
            .await,
        UNITS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn money_is_conserved_after_a_mixed_concurrent_run() {
    let app = TestApp::spawn().await;
    let cheap = app.physical(300, 40).await;
    let dear = app.physical(2_000, 1_000).await;
    let key = app.digital(700, &codes("MIX", 30)).await;
    // 60 users with uneven balances buy a mix; some run out of stock, some of money.
    let runs = (0..60_i64).map(|i| {
        let app = &app;
        async move {
            let token = app.customer(200 + i, 1_000 + (i % 7) * 700).await;
            for round in 0..3 {
                let product = [cheap, dear, key][((i + round) % 3) as usize];
                let _ = app.put_cart(&token, product, 1 + (i % 2)).await;
                let (status, body) = app.checkout(&token, &format!("mix-{i}-{round}")).await;
                assert!(
                    [201, 402, 409].contains(&status.as_u16()),
                    "checkout answered {status}: {body}"
                );
                if i % 5 == 0 {
                    app.credit(200 + i, 500).await;
                }
            }
        }
    });
    join_all(runs).await;
    let balances = app
        .scalar("SELECT sum(balance_minor)::bigint FROM users")
        .await;
    let credits =
        app.scalar("SELECT coalesce(sum(amount_minor), 0)::bigint FROM wallet_transactions WHERE kind IN ('credit', 'refund')").await;
    let debits = app.scalar("SELECT coalesce(sum(amount_minor), 0)::bigint FROM wallet_transactions WHERE kind = 'debit'").await;
    assert!(debits > 0, "the run made no sales");
    assert_eq!(balances, credits - debits);
    assert_eq!(
        app.scalar("SELECT sum(total_minor)::bigint FROM orders")
            .await,
        debits
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE balance_minor < 0")
            .await,
        0
    );
    // Each user's in-memory balance agrees with the database.
    for i in 0..60_i64 {
        let token = app.token(200 + i, "customer");
        let (_, wallet) = app.get("/v1/me/wallet", Some(&token)).await;
        let db = app
            .scalar(&format!(
                "SELECT balance_minor FROM users WHERE id = {}",
                200 + i
            ))
            .await;
        assert_eq!(wallet["balance_minor"], db);
    }
    let client = app.db().await;
    assert_eq!(
        souk::check::violations(&client).await.expect("check"),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_cart_edits_by_one_user_are_all_kept() {
    // P2: a cart read-modify-written outside its owner loses concurrent adds.
    let app = TestApp::spawn().await;
    let products: Vec<i64> = stream::iter(0..50)
        .then(|_| app.physical(100, 10))
        .collect()
        .await;
    let token = app.customer(40, 0).await;
    let adds = products
        .iter()
        .enumerate()
        .map(|(i, p)| app.put_cart(&token, *p, 1 + (i as i64 % 5)));
    for (status, body) in join_all(adds).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, cart) = app.get("/v1/me/cart", Some(&token)).await;
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(50), "{cart}");
    assert_eq!(
        app.scalar("SELECT count(*) FROM cart_items WHERE user_id = 40")
            .await,
        50
    );
    let expected: i64 = (0..50).map(|i| 1 + i % 5).sum();
    assert_eq!(
        app.scalar("SELECT sum(quantity)::bigint FROM cart_items WHERE user_id = 40")
            .await,
        expected
    );
    // Racing sets of one line end at one of the values sent, the same in memory and in Postgres.
    let sets = (1..=20).map(|q| app.put_cart(&token, products[0], q));
    join_all(sets).await;
    let (_, cart) = app.get("/v1/me/cart", Some(&token)).await;
    let line = cart["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["product_id"] == products[0]))
        .cloned();
    let in_memory = line.and_then(|l| l["quantity"].as_i64()).expect("line");
    let stored = app
        .scalar(&format!(
            "SELECT quantity::bigint FROM cart_items WHERE user_id = 40 AND product_id = {}",
            products[0]
        ))
        .await;
    assert_eq!(in_memory, stored);
}

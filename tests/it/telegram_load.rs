//! The webhook under load: 64 Telegram users browse and fill carts at once for a fixed time;
//! prints updates/s and latency percentiles of the webhook's answer (which includes sending
//! the replies to the local fake Bot API). Not part of the suite; run it with
//! `cargo test --release --test it telegram_load -- --ignored --nocapture`.

use crate::telegram_harness::*;
use serde_json::json;
use souk_actors::domain::ids::{CategoryId, ProductId};
use souk_http::telegram::callback::Action;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const USERS: i64 = 64;
const SECONDS: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; see the module comment"]
async fn telegram_load_64_users_browse_and_add_to_cart() {
    let shop = Shop::open_with(|s| s.database.timeout_ms = 10_000).await;
    let cat = shop.app.category("Load").await;
    let mut products = Vec::new();
    for i in 0..24 {
        let body = json!({ "category_id": cat, "name": format!("Item {i}"), "kind": "physical", "price_minor": 100 });
        let id = shop.app.create_product(body).await["id"].as_i64().unwrap();
        shop.app
            .add_stock(id, json!({ "quantity_delta": 1_000_000 }))
            .await;
        products.push(ProductId::new(id).unwrap());
    }
    let cat = CategoryId::new(cat).unwrap();
    let users: Vec<i64> = (0..USERS).map(|u| 50_000 + u).collect();
    futures_util::future::join_all(users.iter().map(|u| shop.say(*u, "/start"))).await;
    let latencies = Mutex::new(hdrhistogram::Histogram::<u64>::new(3).unwrap());
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let started = Instant::now();
    let counts = futures_util::future::join_all(users.iter().map(|u| {
        let (shop, products, latencies) = (&shop, &products, &latencies);
        async move {
            let mut n = 0usize;
            while Instant::now() < deadline {
                let product = products[n % products.len()];
                let action = match n % 4 {
                    0 => Action::Category {
                        id: cat,
                        page: (n % 3) as u32,
                    },
                    1 => Action::Product {
                        id: product,
                        qty: 1,
                    },
                    2 => Action::Add {
                        id: product,
                        qty: 1,
                    },
                    _ => Action::Cart,
                };
                let update = shop.press_update(*u, &action.encode(), 1, false);
                let t = Instant::now();
                assert_eq!(shop.post(&update).await.as_u16(), 200);
                let micros = t.elapsed().as_micros() as u64;
                latencies.lock().unwrap().record(micros.max(1)).unwrap();
                n += 1;
            }
            n
        }
    }))
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let total: usize = counts.iter().sum();
    let h = latencies.into_inner().unwrap();
    println!(
        "telegram webhook, {USERS} users, {SECONDS}s: {total} updates, {:.0} updates/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        total as f64 / elapsed,
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
    );
    let metrics = shop.app.metrics().await;
    assert_eq!(updates_with(&metrics, "error"), 0);
}

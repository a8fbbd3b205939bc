//! `souk bench --workload memory`: what a live actor costs. It starts users' actors (a
//! wallet read each), then products' actors (a cart line each), reading the process's RSS
//! before and after each step, and checks the live-actor gauges agree with what it started.

use super::load::Target;
use super::setup::rss_mb;
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;

/// Concurrent requests while touching actors; enough to be quick, few enough not to add memory.
const CLIENTS: usize = 16;

async fn gauge(t: &Target, series: &str) -> f64 {
    let Ok(res) = t.http.get(format!("{}/metrics", t.base)).send().await else {
        return 0.0;
    };
    let text = res.text().await.unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Runs `request(i)` for i in 1..=n, `CLIENTS` at a time; returns how many succeeded.
async fn touch<F, Fut>(n: i64, request: F) -> usize
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    stream::iter(1..=n)
        .map(request)
        .buffer_unordered(CLIENTS)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await
}

pub async fn measure(t: &Target, tokens: &[String], n: i64) -> Value {
    // Settle the allocator and the client's connection pool before the first reading.
    let _ = touch(CLIENTS as i64, |_| async {
        t.http
            .get(format!("{}/v1/health", t.base))
            .send()
            .await
            .is_ok()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_mb();
    let users = touch(n, |i| {
        let req = t
            .http
            .get(format!("{}/v1/me/wallet", t.base))
            .bearer_auth(&tokens[(i - 1) as usize]);
        async move { matches!(req.send().await, Ok(r) if r.status().is_success()) }
    })
    .await;
    let with_users = rss_mb();
    let products = touch(n, |i| {
        let req = t
            .http
            .put(format!("{}/v1/me/cart/items/{i}", t.base))
            .bearer_auth(&tokens[(i - 1) as usize])
            .json(&json!({ "quantity": 1 }));
        async move { matches!(req.send().await, Ok(r) if r.status().is_success()) }
    })
    .await;
    let with_products = rss_mb();
    let live_users = gauge(t, "souk_actors_live{kind=\"user\"}").await;
    let live_products = gauge(t, "souk_actors_live{kind=\"product\"}").await;
    let per_1000 = |mb: f64, count: usize| {
        if count == 0 {
            0.0
        } else {
            mb * 1024.0 * 1000.0 / count as f64
        }
    };
    json!({
        "actors": n,
        "user_actors_started": users,
        "product_actors_started": products,
        "live_user_actors": live_users,
        "live_product_actors": live_products,
        "rss_mb_before": before,
        "rss_kb_per_1000_user_actors": per_1000(with_users - before, users),
        // The second step also stores one cart line in each user actor; that is counted here.
        "rss_kb_per_1000_product_actors": per_1000(with_products - with_users, products),
        "rss_mb_after": with_products,
    })
}

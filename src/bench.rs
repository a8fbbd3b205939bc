//! `souk bench`: loads a freshly seeded Souk over real HTTP from a load generator in the
//! same process and reports checkouts/s, latency percentiles, errors by code, oversells and
//! the persistence batch sizes seen. Workloads: `hot` (every client buys the same product)
//! and `uniform` (random user/product pairs). Each client owns its users, so two clients
//! never edit one cart at once.

use crate::config::Settings;
use crate::db;
use crate::startup::Background;
use hdrhistogram::Histogram;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use souk_actors::ids::UserId;
use souk_http::auth::{JwtKeys, Role};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    Hot,
    Uniform,
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub workload: Workload,
    pub duration: Duration,
    pub warmup: Duration,
    pub concurrency: usize,
    /// Products and users of the uniform workload.
    pub products: i64,
    pub json: Option<std::path::PathBuf>,
}

const UNIT_PRICE: i64 = 100;
const BALANCE: i64 = 1_000_000_000;

/// What one client saw.
#[derive(Default)]
struct ClientReport {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
}

pub async fn run(settings: Settings, options: BenchOptions) -> Result<Value, String> {
    let state_dir = crate::startup::state_dir();
    let target = db::locate(&settings, &state_dir)
        .await
        .map_err(|e| e.to_string())?;
    let url = target.url.expose_secret();
    let (server, _) = url
        .rsplit_once('/')
        .ok_or("database URL has no database name")?;
    let name = format!("souk_bench_{}", std::process::id());
    let maintenance = db::connect_one(&format!("{server}/postgres"))
        .await
        .map_err(|e| e.to_string())?;
    maintenance
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .map_err(|e| e.to_string())?;
    db::create_database_if_missing(&format!("{server}/postgres"), &name)
        .await
        .map_err(|e| e.to_string())?;
    let bench_url = SecretString::from(format!("{server}/{name}"));
    db::migrate(&bench_url).await.map_err(|e| e.to_string())?;
    let (products, users) = match options.workload {
        Workload::Hot => (1, options.concurrency as i64),
        Workload::Uniform => (
            options.products,
            options.products.max(options.concurrency as i64),
        ),
    };
    let stock = 100_000_000 / products.max(1);
    seed(bench_url.expose_secret(), products, users, stock)
        .await
        .map_err(|e| e.to_string())?;

    let secret = SecretString::from("bench-secret-".repeat(4));
    let mut app_settings = settings.clone();
    app_settings.database.url = Some(bench_url.clone());
    app_settings.http.addr = "127.0.0.1:0".into();
    app_settings.auth.jwt_secret = Some(secret.clone());
    app_settings.shop.demo_seed = false;
    let app = Background::start(app_settings, state_dir).await?;
    let base = format!("http://127.0.0.1:{}", app.port);
    let keys = JwtKeys::new(&secret);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .build()
        .map_err(|e| e.to_string())?;

    let started = Instant::now();
    let measure_from = started + options.warmup;
    let deadline = measure_from + options.duration;
    let clients = (0..options.concurrency).map(|c| {
        let own: Vec<String> = (0..users)
            .filter(|u| (*u as usize) % options.concurrency == c)
            .filter_map(|u| UserId::new(u + 1))
            .map(|u| keys.mint(u, Role::Customer, 24 * 3600).unwrap_or_default())
            .collect();
        client(
            http.clone(),
            base.clone(),
            own,
            products,
            measure_from,
            deadline,
        )
    });
    let reports = futures_util::future::join_all(clients).await;

    let mut histogram = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for report in &reports {
        for &us in &report.latencies_us {
            histogram.record(us.max(1)).map_err(|e| e.to_string())?;
        }
        for (code, n) in &report.errors {
            *errors.entry(code.clone()).or_default() += n;
        }
    }
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let metrics = metrics.text().await.map_err(|e| e.to_string())?;
    let (mean_batch, max_batch) = batch_sizes(&metrics);
    let mean_commit_ms = mean(&metrics, "souk_persistence_commit_seconds") * 1000.0;
    let checkouts = histogram.len();
    let oversells = oversells(bench_url.expose_secret(), stock).await?;
    drop(app);
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "workload": format!("{:?}", options.workload).to_lowercase(),
        "concurrency": options.concurrency,
        "duration_s": options.duration.as_secs_f64(),
        "products": products,
        "engines": { "souk": {
            "checkouts_per_s": checkouts as f64 / options.duration.as_secs_f64(),
            "p50_ms": ms(0.50), "p95_ms": ms(0.95), "p99_ms": ms(0.99), "max_ms": histogram.max() as f64 / 1000.0,
            "oversells": oversells,
            "errors": errors,
            "mean_batch": mean_batch,
            "max_batch": max_batch,
            "mean_commit_ms": mean_commit_ms,
            "rss_mb": rss_mb(),
        }},
    });
    let _ = maintenance
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    if let Some(path) = &options.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(report)
}

async fn seed(url: &str, products: i64, users: i64, stock: i64) -> Result<(), db::DbError> {
    let client = db::connect_one(url).await?;
    client
        .batch_execute("INSERT INTO categories (name) VALUES ('Bench')")
        .await?;
    client
        .execute(
            "INSERT INTO products (category_id, name, kind, price_minor, stock_on_hand)
             SELECT (SELECT min(id) FROM categories), 'Product ' || n, 'physical', $1, $2 FROM generate_series(1::bigint, $3::bigint) n",
            &[&UNIT_PRICE, &stock, &products],
        )
        .await?;
    client
        .batch_execute("INSERT INTO stock_movements (product_id, delta, reason) SELECT id, stock_on_hand, 'adjustment' FROM products")
        .await?;
    client.execute("INSERT INTO users (balance_minor) SELECT $1 FROM generate_series(1::bigint, $2::bigint)", &[&BALANCE, &users]).await?;
    client
        .batch_execute(
            "INSERT INTO wallet_transactions (user_id, kind, amount_minor, reason) SELECT id, 'credit', balance_minor, 'bench' FROM users",
        )
        .await?;
    Ok(())
}

async fn client(
    http: reqwest::Client,
    base: String,
    tokens: Vec<String>,
    products: i64,
    measure_from: Instant,
    deadline: Instant,
) -> ClientReport {
    let mut report = ClientReport::default();
    if tokens.is_empty() {
        return report;
    }
    while Instant::now() < deadline {
        let (token, product) = {
            let mut rng = rand::rng();
            (
                &tokens[rng.random_range(0..tokens.len())],
                rng.random_range(1..=products),
            )
        };
        let put = http
            .put(format!("{base}/v1/me/cart/items/{product}"))
            .bearer_auth(token)
            .json(&json!({ "quantity": 1 }))
            .send()
            .await;
        if !matches!(&put, Ok(r) if r.status().is_success()) {
            *report.errors.entry("cart".into()).or_default() += 1;
            continue;
        }
        let sent = Instant::now();
        let res = http
            .post(format!("{base}/v1/me/checkout"))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({ "payment": "wallet" }))
            .send()
            .await;
        let elapsed = sent.elapsed();
        if sent < measure_from || Instant::now() > deadline {
            continue;
        }
        match res {
            Ok(r) if r.status().as_u16() == 201 => {
                report.latencies_us.push(elapsed.as_micros() as u64)
            }
            Ok(r) => {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                let code = body["error"]["code"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string();
                *report.errors.entry(code).or_default() += 1;
            }
            Err(_) => *report.errors.entry("transport".into()).or_default() += 1,
        }
    }
    report
}

/// Mean of a histogram: its sum over its count.
fn mean(metrics: &str, family: &str) -> f64 {
    let value = |suffix: &str| {
        let name = format!("{family}_{suffix} ");
        metrics
            .lines()
            .find(|l| l.starts_with(&name))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    match (value("sum"), value("count")) {
        (Some(sum), Some(count)) if count > 0.0 => sum / count,
        _ => 0.0,
    }
}

/// Mean batch size and the upper bound of the largest batch, from the histogram's buckets.
fn batch_sizes(metrics: &str) -> (f64, f64) {
    let count = metrics
        .lines()
        .find(|l| l.starts_with("souk_persistence_batch_size_count "))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    let max = metrics
        .lines()
        .filter(|l| l.starts_with("souk_persistence_batch_size_bucket"))
        .filter_map(|l| {
            let le = l
                .split("le=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse::<f64>()
                .ok()?;
            let n = l.rsplit(' ').next()?.parse::<f64>().ok()?;
            Some((le, n))
        })
        .find(|(_, n)| *n >= count)
        .map(|(le, _)| le)
        .unwrap_or(0.0);
    (mean(metrics, "souk_persistence_batch_size"), max)
}

/// Products that sold more than they had, plus every I1 violation `souk check` finds.
async fn oversells(url: &str, stock: i64) -> Result<i64, String> {
    let client = db::connect_one(url).await.map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT count(*) FROM products p WHERE p.stock_on_hand < 0 OR
                 (SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.product_id = p.id) + p.stock_on_hand <> $1",
            &[&stock],
        )
        .await
        .map_err(|e| e.to_string())?;
    let bad: i64 = row.get(0);
    let violations = crate::check::violations(&client)
        .await
        .map_err(|e| e.to_string())?;
    Ok(bad + violations.iter().filter(|v| v.starts_with("I1")).count() as i64)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub fn print_table(report: &Value) {
    let s = &report["engines"]["souk"];
    println!(
        "workload {} | {} clients | {} s | {} products",
        report["workload"], report["concurrency"], report["duration_s"], report["products"]
    );
    println!("engine  checkouts/s   p50 ms   p95 ms   p99 ms   max ms  oversells  mean batch  max batch  commit ms  rss MB  errors");
    println!(
        "souk    {:>11.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>10} {:>11.1} {:>10} {:>10.2} {:>7.0}  {}",
        s["checkouts_per_s"].as_f64().unwrap_or(0.0),
        s["p50_ms"].as_f64().unwrap_or(0.0),
        s["p95_ms"].as_f64().unwrap_or(0.0),
        s["p99_ms"].as_f64().unwrap_or(0.0),
        s["max_ms"].as_f64().unwrap_or(0.0),
        s["oversells"],
        s["mean_batch"].as_f64().unwrap_or(0.0),
        s["max_batch"],
        s["mean_commit_ms"].as_f64().unwrap_or(0.0),
        s["rss_mb"].as_f64().unwrap_or(0.0),
        s["errors"],
    );
}

//! The bench's database work: a fresh database per engine run, the seed, and the figures
//! read back afterwards (commits, oversells, batch sizes, memory).

use crate::db;
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, Instant};

pub const UNIT_PRICE: i64 = 100;
pub const BALANCE: i64 = 1_000_000_000;

/// A database made for one engine's run and dropped afterwards.
pub struct BenchDb {
    pub url: SecretString,
    pub name: String,
    server: String,
}

impl BenchDb {
    /// `base` is any URL on the server to use; the new database sits beside it.
    pub async fn create(base: &SecretString, label: &str) -> Result<BenchDb, String> {
        let url = base.expose_secret();
        let (server, _) = url
            .rsplit_once('/')
            .ok_or("database URL has no database name")?;
        // Unique per run, so two benches on one server (tests run in parallel) never meet.
        let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let name = format!("souk_bench_{}_{nonce}_{label}", std::process::id());
        let admin = db::connect_one(&format!("{server}/postgres"))
            .await
            .map_err(err)?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .map_err(err)?;
        db::create_database_if_missing(&format!("{server}/postgres"), &name)
            .await
            .map_err(err)?;
        let url = SecretString::from(format!("{server}/{name}"));
        db::migrate(&url).await.map_err(err)?;
        Ok(BenchDb {
            url,
            name,
            server: server.to_string(),
        })
    }

    pub async fn drop_now(self) {
        if let Ok(admin) = db::connect_one(&format!("{}/postgres", self.server)).await {
            let _ = admin
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }

    /// The pid of the postmaster serving this database, when it runs on this machine: the
    /// parent of this connection's backend, looked up while the backend still lives.
    pub async fn postmaster_pid(&self) -> Option<u32> {
        let client = self.client().await.ok()?;
        let row = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .ok()?;
        let backend = u32::try_from(row.try_get::<_, i32>(0).ok()?).ok()?;
        let postmaster = super::cpu::postmaster_of(backend);
        drop(client);
        postmaster
    }

    pub async fn client(&self) -> Result<tokio_postgres::Client, String> {
        db::connect_one(self.url.expose_secret()).await.map_err(err)
    }

    /// `products` physical products with `stock` each, and `users` users with large balances,
    /// with the movements and ledger rows `souk check` expects.
    pub async fn seed(&self, products: i64, users: i64, stock: i64) -> Result<(), String> {
        let client = self.client().await?;
        let run = async {
            client
                .batch_execute("INSERT INTO categories (name) VALUES ('Bench')")
                .await?;
            client
                .execute(
                    "INSERT INTO products (category_id, name, kind, price_minor, stock_on_hand)
                     SELECT (SELECT min(id) FROM categories), 'Product ' || n, 'physical', $1, $2
                     FROM generate_series(1::bigint, $3::bigint) n",
                    &[&UNIT_PRICE, &stock, &products],
                )
                .await?;
            client
                .batch_execute(
                    "INSERT INTO stock_movements (product_id, delta, reason)
                     SELECT id, stock_on_hand, 'adjustment' FROM products",
                )
                .await?;
            client
                .execute(
                    "INSERT INTO users (balance_minor) SELECT $1 FROM generate_series(1::bigint, $2::bigint)",
                    &[&BALANCE, &users],
                )
                .await?;
            client
                .batch_execute(
                    "INSERT INTO wallet_transactions (user_id, kind, amount_minor, reason)
                     SELECT id, 'credit', balance_minor, 'bench' FROM users",
                )
                .await
        };
        run.await.map_err(|e| e.to_string())
    }

    /// Transactions committed in this database so far (`pg_stat_database`).
    pub async fn commits(&self) -> Result<i64, String> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1",
                &[&self.name],
            )
            .await
            .map_err(err)?;
        Ok(row.get(0))
    }

    /// Units sold beyond what each product had, plus every I1 violation `souk check` finds.
    pub async fn oversells(&self, stock: i64) -> Result<i64, String> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT coalesce(sum(greatest(sold - $1, 0)), 0)::bigint + count(*) FILTER (WHERE stock_on_hand < 0)
                 FROM (SELECT p.stock_on_hand,
                              (SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.product_id = p.id) AS sold
                       FROM products p) s",
                &[&stock],
            )
            .await
            .map_err(err)?;
        let violations = crate::check::violations(&client).await.map_err(err)?;
        Ok(row.get::<_, i64>(0) + violations.iter().filter(|v| v.starts_with("I1")).count() as i64)
    }

    pub async fn sold(&self) -> Result<i64, String> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT coalesce(sum(quantity), 0)::bigint FROM order_lines",
                &[],
            )
            .await
            .map_err(err)?;
        Ok(row.get(0))
    }

    /// The fsync ceiling: one client committing one-row INSERTs for `time`.
    pub async fn commit_ceiling(&self, time: Duration) -> Result<f64, String> {
        let client = self.client().await?;
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS bench_ceiling (at timestamptz)")
            .await
            .map_err(err)?;
        let stmt = client
            .prepare("INSERT INTO bench_ceiling (at) VALUES (now())")
            .await
            .map_err(err)?;
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < time {
            client.execute(&stmt, &[]).await.map_err(err)?;
            n += 1;
        }
        Ok(n as f64 / started.elapsed().as_secs_f64())
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Mean of a Prometheus histogram in the text format: its sum over its count.
pub fn histogram_mean(metrics: &str, family: &str) -> f64 {
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

/// The upper bound of the smallest bucket holding every observation: the largest value seen, rounded up.
pub fn histogram_max(metrics: &str, family: &str) -> f64 {
    let count_name = format!("{family}_count ");
    let count = metrics
        .lines()
        .find(|l| l.starts_with(&count_name))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    if count == 0.0 {
        return 0.0;
    }
    let bucket = format!("{family}_bucket");
    metrics
        .lines()
        .filter(|l| l.starts_with(&bucket))
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
        .map_or(0.0, |(le, _)| le)
}

pub fn rss_mb() -> f64 {
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
        .map_or(0.0, |kb| kb / 1024.0)
}

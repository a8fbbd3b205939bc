//! Postgres: where the database is, the pool, and the migrations of `sql/`, each applied
//! once (recorded in `schema_migrations`, under an advisory lock so two starting processes
//! never race).

use crate::config::Settings;
use crate::pgcluster::{ClusterError, PrivateCluster};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::str::FromStr;
use tokio_postgres::NoTls;

/// Every migration, in order. Names are recorded; a migration never changes once shipped.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../sql/0001_init.sql")),
    (
        "0002_order_shipping_address",
        include_str!("../sql/0002_order_shipping_address.sql"),
    ),
    (
        "0003_maintenance",
        include_str!("../sql/0003_maintenance.sql"),
    ),
    ("0004_commerce", include_str!("../sql/0004_commerce.sql")),
    ("0005_telegram", include_str!("../sql/0005_telegram.sql")),
    ("0006_dashboard", include_str!("../sql/0006_dashboard.sql")),
    ("0007_user_ids", include_str!("../sql/0007_user_ids.sql")),
    (
        "0008_order_money",
        include_str!("../sql/0008_order_money.sql"),
    ),
    ("0009_cluster", include_str!("../sql/0009_cluster.sql")),
    ("0010_events", include_str!("../sql/0010_events.sql")),
    (
        "0011_telegram_notifications",
        include_str!("../sql/0011_telegram_notifications.sql"),
    ),
    (
        "0012_broadcasts",
        include_str!("../sql/0012_broadcasts.sql"),
    ),
    (
        "0013_webhook_handoffs",
        include_str!("../sql/0013_webhook_handoffs.sql"),
    ),
    (
        "0014_product_stars",
        include_str!("../sql/0014_product_stars.sql"),
    ),
    (
        "0015_stars_orders",
        include_str!("../sql/0015_stars_orders.sql"),
    ),
    (
        "0016_user_language",
        include_str!("../sql/0016_user_language.sql"),
    ),
];

const PRIVATE_DATABASE: &str = "souk";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("database URL is not valid: {0}")]
    Url(String),
    #[error("PostgreSQL: {}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("connection pool: {0}")]
    Pool(String),
}

/// The server's own words where there are some ("db error" alone helps no one).
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Where Souk's database is and whether it is the private dev cluster.
pub struct Target {
    pub url: SecretString,
    pub private: bool,
}

/// The configured URL, or in dev the private cluster under `state_dir` (started if needed).
pub async fn locate(settings: &Settings, state_dir: &Path) -> Result<Target, DbError> {
    if let Some(url) = &settings.database.url {
        return Ok(Target {
            url: url.clone(),
            private: false,
        });
    }
    let root = state_dir.to_path_buf();
    let cluster = tokio::task::spawn_blocking(move || PrivateCluster::ensure_running(&root))
        .await
        .map_err(|e| ClusterError::Task(e.to_string()))??;
    create_database_if_missing(&cluster.url("postgres"), PRIVATE_DATABASE).await?;
    Ok(Target {
        url: SecretString::from(cluster.url(PRIVATE_DATABASE)),
        private: true,
    })
}

pub async fn connect_one(url: &str) -> Result<tokio_postgres::Client, DbError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "maintenance connection closed");
        }
    });
    Ok(client)
}

pub async fn create_database_if_missing(server_url: &str, name: &str) -> Result<(), DbError> {
    let client = connect_one(server_url).await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        // CREATE DATABASE takes no parameters; `name` is one of our constants or a test's
        // generated identifier, quoted as an identifier.
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await
        {
            Ok(()) => {}
            // Another process created it meanwhile.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

pub fn pool(url: &SecretString, settings: &Settings) -> Result<Pool, DbError> {
    pool_of(url, settings, settings.database.pool_size)
}

/// The group commit's own connections. It runs one batch at a time; the second connection
/// stands in for one closed after a failed COMMIT. A pooled connection is driven by the
/// thread that opened it, so connections the group commit opens itself are driven on its
/// own thread: a batch's statements never wait for an HTTP worker to read their answers.
pub fn write_pool(url: &SecretString, settings: &Settings) -> Result<Pool, DbError> {
    pool_of(url, settings, 2)
}

fn pool_of(url: &SecretString, settings: &Settings, size: usize) -> Result<Pool, DbError> {
    let timeout = settings.database_timeout();
    let mut config = tokio_postgres::Config::from_str(url.expose_secret())
        .map_err(|e| DbError::Url(e.to_string()))?;
    config
        .connect_timeout(timeout)
        .application_name("souk")
        .keepalives(true);
    if !settings.cluster.endpoints().is_empty() {
        // A node paused inside a group-commit transaction holds its shards' fencing rows
        // (share-locked by the batch's check), which keeps the shards' next owner waiting
        // until it wakes: its batch then commits first (it was decided under the token
        // that was current) and the new owner loads after it. Postgres ends a transaction
        // idle for two lease TTLs (rolling it back: nothing was acknowledged), so a
        // takeover waits at most that long for a node that does not wake.
        let ttl_ms = settings.cluster.lease_ttl_secs * 2000;
        let options = format!(
            "{} -c idle_in_transaction_session_timeout={ttl_ms}",
            config.get_options().unwrap_or("")
        );
        config.options(options.trim());
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// Applies every migration not yet recorded; returns the names applied now.
pub async fn migrate(url: &SecretString) -> Result<Vec<&'static str>, DbError> {
    let mut client = connect_one(url.expose_secret()).await?;
    let tx = client.transaction().await?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(hashtext('souk.migrations'));
         CREATE TABLE IF NOT EXISTS schema_migrations (
             name text PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );",
    )
    .await?;
    let mut applied = Vec::new();
    for (name, sql) in MIGRATIONS {
        if tx
            .query_opt("SELECT 1 FROM schema_migrations WHERE name = $1", &[name])
            .await?
            .is_some()
        {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_migrations (name) VALUES ($1)", &[name])
            .await?;
        applied.push(*name);
    }
    tx.commit().await?;
    Ok(applied)
}

//! The command line of API.md's "Running" section: `souk [serve]`, `souk migrate`,
//! `souk token --user ID --role ROLE [--ttl 1h]`, `souk check`.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "souk", version, about = "Actor-based commerce runtime")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print a signed access token for a user.
    Token {
        #[arg(long)]
        user: i64,
        #[arg(long, value_parser = ["customer", "staff", "admin"])]
        role: String,
        /// Lifetime, e.g. 30m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: std::time::Duration,
    },
    /// Write the whole database to FILE (pg_dump's custom format).
    Backup {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restore a backup into the configured database, which must be empty.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// The Telegram bot: register its webhook, or show what Telegram knows of it.
    Telegram {
        #[command(subcommand)]
        command: TelegramCommand,
    },
    /// Verify the invariants I1, I2, I5, I6 on the database; non-zero exit on a violation.
    Check,
    /// Load a freshly seeded Souk over HTTP and report throughput and latency.
    Bench {
        #[arg(long, value_enum, default_value = "hot")]
        workload: crate::bench::Workload,
        /// Souk's actors, the row-lock baseline, or both in one run.
        #[arg(long, value_enum, default_value = "both")]
        engine: crate::bench::EngineChoice,
        /// Measured seconds, after the warm-up.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Seconds of load before measuring (actors start, caches fill).
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// Clients; default 64, and 1,000 for `flash`.
        #[arg(long)]
        concurrency: Option<usize>,
        /// Products (and users) of the uniform and mixed workloads.
        #[arg(long, default_value_t = 10_000)]
        products: i64,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
        /// Souk's engine as a cluster of this many nodes (in this process, on an etcd
        /// member the bench starts; needs `etcd` on PATH or SOUK_ETCD_BIN).
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Subscribe a webhook receiver (in the load process) to these event types
        /// (comma-separated; every type when none is given) and report deliveries per
        /// second and their latency from commit to arrival.
        #[arg(long, num_args = 0..=1, default_missing_value = "all", value_name = "TYPES")]
        webhook: Option<String>,
    },
    /// The load generator `souk bench` runs as its own process (so the CPU it spends is
    /// told apart from Souk's); reads the JWT secret from SOUK_LOAD_SECRET and prints JSON
    /// lines.
    #[command(hide = true)]
    Load {
        #[arg(long, value_enum)]
        workload: crate::bench::Workload,
        /// Souk's ports on 127.0.0.1, comma-separated; connections take them in turn.
        #[arg(long, value_delimiter = ',', required = true)]
        ports: Vec<u16>,
        #[arg(long)]
        products: i64,
        #[arg(long)]
        users: i64,
        #[arg(long)]
        concurrency: usize,
        #[arg(long)]
        warmup_ms: u64,
        #[arg(long)]
        duration_ms: u64,
        #[arg(long)]
        webhook_port: Option<u16>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TelegramCommand {
    /// Register URL as the webhook, with the secret token and the update kinds used.
    SetWebhook {
        #[arg(long)]
        url: String,
    },
    /// Print getWebhookInfo.
    Info,
    /// Set the bot's menu button to open URL (the Mini App storefront) as a web app.
    SetMenuButton {
        #[arg(long)]
        url: String,
        /// The button's label.
        #[arg(long, default_value = "Shop")]
        text: String,
    },
}

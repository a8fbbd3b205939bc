//! `souk bench`: seeds a fresh database, starts Souk in-process, loads it over real HTTP
//! from a child process (`souk load`) and reports checkouts/s, latency percentiles, errors
//! by code, oversells, persistence batch sizes, Postgres commits/s, RSS and the CPU time
//! each process spent per checkout (Souk, Postgres, the load generator). With `--engine both` (the default) it runs the same
//! workload against Souk's actors and against the conventional row-lock design
//! (`souk_actors::baseline`): same HTTP layer, schema, Postgres and durability.

mod cluster;
mod cpu;
pub mod load;
mod memory;
mod receiver;
mod setup;

use crate::config::Settings;
use crate::startup::Background;
use load::{Event, LoadSpec, Summary, Target};
use secrecy::SecretString;
use serde_json::{json, Value};
use setup::BenchDb;
use souk_actors::baseline::Engine;
use souk_actors::domain::events::EventType;
use souk_actors::domain::ids::UserId;
use souk_http::auth::{JwtKeys, Role};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Every client buys one unit of the same product.
    Hot,
    /// Random user and product pairs over a large catalog.
    Uniform,
    /// 90 % catalog and cart reads, 10 % checkouts.
    Mixed,
    /// All clients race for 100 units at one signal.
    Flash,
    /// RSS per 1,000 live user and product actors (Souk only).
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    Souk,
    Baseline,
    Both,
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub workload: Workload,
    pub engine: EngineChoice,
    pub duration: Duration,
    pub warmup: Duration,
    pub concurrency: usize,
    /// Catalog size (and user count) of the uniform and mixed workloads.
    pub products: i64,
    pub json: Option<std::path::PathBuf>,
    /// Nodes of Souk's engine (1: a single node, no etcd).
    pub nodes: usize,
    /// The `souk` binary whose `souk load` generates the load (the running one, for the
    /// command line).
    pub load_bin: std::path::PathBuf,
    /// Subscribe a receiver in the load process to these event types and report how long
    /// deliveries take from commit to arrival.
    pub webhook: Option<Vec<EventType>>,
}

const FLASH_UNITS: i64 = 100;
/// Share of the mixed workload's iterations that are reads.
pub(crate) const READ_SHARE: f64 = 0.9;

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Hot => "hot",
            Workload::Uniform => "uniform",
            Workload::Mixed => "mixed",
            Workload::Flash => "flash",
            Workload::Memory => "memory",
        }
    }
}

/// Catalog size, user count and stock per product for a workload.
fn shape(options: &BenchOptions) -> (i64, i64, i64) {
    let clients = options.concurrency as i64;
    match options.workload {
        Workload::Hot => (1, clients, 1_000_000_000),
        Workload::Uniform | Workload::Mixed | Workload::Memory => {
            (options.products, options.products.max(clients), 1_000_000)
        }
        Workload::Flash => (1, clients, FLASH_UNITS),
    }
}

pub async fn run(settings: Settings, options: BenchOptions) -> Result<Value, String> {
    let state_dir = crate::startup::state_dir();
    let target = crate::db::locate(&settings, &state_dir)
        .await
        .map_err(|e| e.to_string())?;
    let engines: &[(Engine, &str)] = match options.engine {
        // Actor memory is Souk's alone; the baseline keeps no state in the process.
        _ if options.workload == Workload::Memory => &[(Engine::Actors, "souk")],
        EngineChoice::Souk => &[(Engine::Actors, "souk")],
        EngineChoice::Baseline => &[(Engine::RowLocks, "baseline")],
        EngineChoice::Both => &[(Engine::Actors, "souk"), (Engine::RowLocks, "baseline")],
    };
    let mut reports = serde_json::Map::new();
    let mut ceilings = json!({});
    for (i, (engine, label)) in engines.iter().enumerate() {
        let db = BenchDb::create(&target.url, label).await?;
        let result = run_engine(&settings, &options, *engine, &db, &state_dir, i == 0).await;
        db.drop_now().await;
        let (report, measured_ceilings) = result?;
        reports.insert(label.to_string(), report);
        if let Some(c) = measured_ceilings {
            ceilings = c;
        }
    }
    let rate = |label: &str| {
        reports
            .get(label)
            .and_then(|r| r["checkouts_per_s"].as_f64())
    };
    let ratio = match (rate("souk"), rate("baseline")) {
        (Some(s), Some(b)) if b > 0.0 => json!(s / b),
        _ => Value::Null,
    };
    let report = json!({
        "workload": options.workload.name(),
        "nodes": options.nodes,
        "concurrency": options.concurrency,
        "duration_s": options.duration.as_secs_f64(),
        "products": shape(&options).0,
        "engines": reports,
        "ratio_checkouts_per_s": ratio,
        "ceilings": ceilings,
    });
    if let Some(path) = &options.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(report)
}

/// One engine: seed, start, load, read the figures back. The first engine also measures
/// the machine's ceilings, after its load.
async fn run_engine(
    settings: &Settings,
    options: &BenchOptions,
    engine: Engine,
    db: &BenchDb,
    state_dir: &std::path::Path,
    measure_ceilings: bool,
) -> Result<(Value, Option<Value>), String> {
    let (products, users, stock) = shape(options);
    db.seed(products, users, stock).await?;
    let secret = SecretString::from("bench-secret-".repeat(4));
    let keys = JwtKeys::new(&secret);
    let app_settings = app_settings(settings, options, engine, db, &secret);
    // The baseline is one process by design; only Souk's engine runs as a cluster.
    let (app, nodes) = if options.nodes > 1 && engine == Engine::Actors {
        let nodes = cluster::start(&app_settings, options.nodes, &keys, state_dir).await?;
        (None, Some(nodes))
    } else {
        let app = Background::start(app_settings, state_dir.to_path_buf()).await?;
        (Some(app), None)
    };
    let ports: Vec<u16> = match (&app, &nodes) {
        (Some(app), _) => vec![app.port],
        (_, Some(cluster)) => cluster.nodes.iter().map(|n| n.port).collect(),
        _ => Vec::new(),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let t = Target::new(http, &ports, products);

    if options.workload == Workload::Memory {
        let token = |u: i64| {
            UserId::new(u)
                .and_then(|u| keys.mint(u, Role::Customer, 24 * 3600).ok())
                .unwrap_or_default()
        };
        let tokens: Vec<String> = (1..=users).map(token).collect();
        let report = memory::measure(&t, &tokens, products).await;
        drop((app, nodes));
        return Ok((report, None));
    }
    let webhook_port = match &options.webhook {
        Some(events) => Some(subscribe(&t, &keys, events).await?),
        None => None,
    };
    let spec = LoadSpec {
        workload: options.workload,
        ports,
        products,
        users,
        concurrency: options.concurrency,
        warmup: options.warmup,
        duration: options.duration,
        webhook_port,
    };
    let postmaster = db.postmaster_pid().await;
    let (seen, spent) = drive(&options.load_bin, &spec, &secret, db, postmaster).await?;
    let commits = spent.commits;
    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let metrics = metrics.text().await.map_err(|e| e.to_string())?;
    let ceilings = if measure_ceilings {
        // Short next to the load itself; a ceiling settles within a second.
        let time = Duration::from_secs(2).min(options.duration / 2);
        let http_rps = load::health_ceiling(&t, options.concurrency.min(64), time).await;
        let commit_rps = db.commit_ceiling(time).await?;
        Some(json!({ "http_rps": http_rps, "commit_rps": commit_rps }))
    } else {
        None
    };
    let rss = setup::rss_mb();
    drop((app, nodes));
    let report = engine_report(options, &seen, &spent, commits, &metrics, db, stock, rss).await?;
    Ok((report, ceilings))
}

/// `--webhook`'s value: `all`, or event types separated by commas.
pub fn webhook_events(raw: &str) -> Result<Vec<EventType>, String> {
    if raw == "all" {
        return Ok(EventType::ALL.to_vec());
    }
    raw.split(',')
        .map(|name| {
            EventType::parse(name.trim()).ok_or_else(|| {
                let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                format!(
                    "--webhook: unknown event type {name:?}; known: {}",
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// Subscribes a receiver on a free port to `events`; answers the port, where `souk load`
/// then listens.
async fn subscribe(t: &Target, keys: &JwtKeys, events: &[EventType]) -> Result<u16, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port for the webhook receiver: {e}"))?;
    let admin = UserId::new(1)
        .and_then(|u| keys.mint(u, Role::Admin, 24 * 3600).ok())
        .ok_or("no admin token")?;
    let events: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    let answer = t
        .http
        .post(format!("{}/v1/admin/webhooks", t.base))
        .bearer_auth(admin)
        .json(&json!({ "url": format!("http://127.0.0.1:{port}/hook"), "events": events }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!(
            "subscribing the receiver answered {}",
            answer.status()
        ));
    }
    Ok(port)
}

/// Souk's settings for one engine's run on the bench database.
fn app_settings(
    settings: &Settings,
    options: &BenchOptions,
    engine: Engine,
    db: &BenchDb,
    secret: &SecretString,
) -> Settings {
    let mut app_settings = settings.clone();
    app_settings.engine = engine;
    app_settings.database.url = Some(db.url.clone());
    app_settings.http.addr = "127.0.0.1:0".into();
    app_settings.auth.jwt_secret = Some(secret.clone());
    app_settings.shop.demo_seed = false;
    // The benchmark measures the engine, not the limits: its clients run closed loops.
    app_settings.rate_limits =
        souk_http::middleware::ratelimit::RateLimitSettings::uniform(1_000_000);
    app_settings.database.pool_size = app_settings
        .database
        .pool_size
        .max(options.concurrency.min(64));
    app_settings
}

/// CPU time each process spent over the measured window, and the database's commits.
#[derive(Debug, Default)]
struct Spent {
    souk: Option<Duration>,
    postgres: Option<Duration>,
    load: Option<Duration>,
    commits: i64,
}

/// Runs `souk load` as a child process and answers what its clients saw and the CPU each
/// process spent while it measured (this process: Souk's server, its own work is idle
/// waiting meanwhile; Postgres's processes; the child's own report), with the database's
/// commits over the same window.
async fn drive(
    load_bin: &std::path::Path,
    spec: &LoadSpec,
    secret: &SecretString,
    db: &BenchDb,
    postmaster: Option<u32>,
) -> Result<(Summary, Spent), String> {
    use secrecy::ExposeSecret;
    use tokio::io::AsyncBufReadExt;
    let ports: Vec<String> = spec.ports.iter().map(u16::to_string).collect();
    let mut child = tokio::process::Command::new(load_bin)
        .arg("load")
        .args(["--workload", spec.workload.name()])
        .args(["--ports", &ports.join(",")])
        .args(["--products", &spec.products.to_string()])
        .args(["--users", &spec.users.to_string()])
        .args(["--concurrency", &spec.concurrency.to_string()])
        .args(["--warmup-ms", &spec.warmup.as_millis().to_string()])
        .args(["--duration-ms", &spec.duration.as_millis().to_string()])
        .args(
            spec.webhook_port
                .map(|p| vec!["--webhook-port".to_string(), p.to_string()])
                .unwrap_or_default(),
        )
        .env(load::SECRET_ENV, secret.expose_secret())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{} load: {e}", load_bin.display()))?;
    let stdout = child.stdout.take().ok_or("souk load has no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut start = None;
    let mut done = None;
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        match serde_json::from_str::<Event>(&line) {
            Ok(Event::Measuring) => {
                let sample = (cpu::own(), postmaster.map(cpu::PostgresSample::take));
                start = Some((sample, db.commits().await?));
            }
            Ok(Event::Done(summary)) => {
                let sample = (cpu::own(), postmaster.map(cpu::PostgresSample::take));
                done = Some((*summary, sample, db.commits().await?));
            }
            // Anything else the child prints is passed on, not parsed.
            Err(_) => println!("{line}"),
        }
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    let (summary, (souk_end, pg_end), commits_end) =
        done.ok_or(format!("souk load ended ({status}) without its report"))?;
    let ((souk_start, pg_start), commits_start) = start.unwrap_or(((None, None), commits_end));
    let spent = Spent {
        souk: souk_end
            .zip(souk_start)
            .map(|(end, start)| end.saturating_sub(start)),
        postgres: pg_end.zip(pg_start).map(|(end, start)| end.since(&start)),
        load: summary
            .cpu_ms
            .map(|ms| Duration::from_secs_f64(ms / 1000.0)),
        commits: commits_end - commits_start,
    };
    Ok((summary, spent))
}

#[allow(clippy::too_many_arguments)]
async fn engine_report(
    options: &BenchOptions,
    seen: &Summary,
    spent: &Spent,
    commits: i64,
    metrics: &str,
    db: &BenchDb,
    stock: i64,
    rss_mb: f64,
) -> Result<Value, String> {
    let secs = seen.measured_s.max(1e-9);
    let c = &seen.checkouts;
    let per_checkout = |d: Option<Duration>| {
        d.filter(|_| c.count > 0)
            .map(|d| d.as_secs_f64() * 1000.0 / c.count as f64)
    };
    let mut report = json!({
        "checkouts_per_s": c.count as f64 / secs,
        "checkouts": c.count,
        "p50_ms": c.p50_ms, "p95_ms": c.p95_ms, "p99_ms": c.p99_ms, "max_ms": c.max_ms,
        "cpu_ms_per_checkout": {
            "souk": per_checkout(spent.souk),
            "postgres": per_checkout(spent.postgres),
            "load": per_checkout(spent.load),
        },
        "oversells": db.oversells(stock).await?,
        "errors": seen.errors,
        "mean_batch": setup::histogram_mean(metrics, "souk_persistence_batch_size"),
        "max_batch": setup::histogram_max(metrics, "souk_persistence_batch_size"),
        "mean_commit_ms": setup::histogram_mean(metrics, "souk_persistence_commit_seconds") * 1000.0,
        "pg_commits_per_s": commits as f64 / secs,
        "rss_mb": rss_mb,
    });
    if options.workload == Workload::Mixed {
        let r = &seen.reads;
        report["reads_per_s"] = json!(r.count as f64 / secs);
        report["read_p50_ms"] = json!(r.p50_ms);
        report["read_p99_ms"] = json!(r.p99_ms);
        let c = &seen.cart_reads;
        report["cart_reads_per_s"] = json!(c.count as f64 / secs);
        report["cart_read_p50_ms"] = json!(c.p50_ms);
        report["cart_read_p99_ms"] = json!(c.p99_ms);
    }
    if let Some(w) = &seen.webhook {
        report["webhook_deliveries_per_s"] = json!(w.count as f64 / secs);
        report["webhook_p50_ms"] = json!(w.p50_ms);
        report["webhook_p99_ms"] = json!(w.p99_ms);
    }
    if options.workload == Workload::Flash {
        report["sold"] = json!(db.sold().await?);
        report["sold_out_after_ms"] = json!(secs * 1000.0);
    }
    Ok(report)
}

pub fn print_table(report: &Value) {
    println!(
        "workload {} | {} clients | {} s | {} products | Souk on {} node(s)",
        report["workload"],
        report["concurrency"],
        report["duration_s"],
        report["products"],
        report["nodes"]
    );
    let Some(engines) = report["engines"].as_object() else {
        return;
    };
    if report["workload"] == "memory" {
        let m = &engines["souk"];
        let f = |k: &str| m[k].as_f64().unwrap_or(0.0);
        println!(
            "{} user actors: {:.0} KiB RSS per 1,000 (live gauge {})",
            m["user_actors_started"],
            f("rss_kb_per_1000_user_actors"),
            m["live_user_actors"]
        );
        println!(
            "{} product actors: {:.0} KiB RSS per 1,000 (live gauge {})",
            m["product_actors_started"],
            f("rss_kb_per_1000_product_actors"),
            m["live_product_actors"]
        );
        return;
    }
    println!(
        "{:<9}{:>12}{:>9}{:>9}{:>9}{:>9}{:>10}{:>8}{:>8}{:>10}{:>11}{:>8}{:>23}  errors",
        "engine",
        "checkouts/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "oversells",
        "batch",
        "max b.",
        "commit ms",
        "pg com./s",
        "rss MB",
        "cpu ms/co souk+pg+load"
    );
    for (name, e) in engines {
        let f = |k: &str| e[k].as_f64().unwrap_or(0.0);
        let cpu = |k: &str| {
            e["cpu_ms_per_checkout"][k]
                .as_f64()
                .map_or("?".to_string(), |ms| format!("{ms:.3}"))
        };
        let cpu = format!("{}+{}+{}", cpu("souk"), cpu("postgres"), cpu("load"));
        println!(
            "{:<9}{:>12.0}{:>9.2}{:>9.2}{:>9.2}{:>9.2}{:>10}{:>8.1}{:>8}{:>10.2}{:>11.0}{:>8.0}{:>23}  {}",
            name, f("checkouts_per_s"), f("p50_ms"), f("p95_ms"), f("p99_ms"), f("max_ms"), e["oversells"].as_i64().unwrap_or(-1),
            f("mean_batch"), f("max_batch"), f("mean_commit_ms"), f("pg_commits_per_s"), f("rss_mb"), cpu, e["errors"]
        );
        if e.get("read_p99_ms").is_some() {
            println!(
                "{:<9}product pages/s {:.0}, p50 {:.2} ms, p99 {:.2} ms; cart reads/s {:.0}, p50 {:.2} ms, p99 {:.2} ms",
                "",
                f("reads_per_s"),
                f("read_p50_ms"),
                f("read_p99_ms"),
                f("cart_reads_per_s"),
                f("cart_read_p50_ms"),
                f("cart_read_p99_ms")
            );
        }
        if e.get("webhook_p99_ms").is_some() {
            println!(
                "{:<9}webhook deliveries/s {:.0}, commit to arrival p50 {:.2} ms, p99 {:.2} ms",
                "",
                f("webhook_deliveries_per_s"),
                f("webhook_p50_ms"),
                f("webhook_p99_ms")
            );
        }
        if e.get("sold").is_some() {
            println!(
                "{:<9}sold {} of {FLASH_UNITS}, sold out after {:.0} ms",
                "",
                e["sold"],
                f("sold_out_after_ms")
            );
        }
    }
    if let Some(ratio) = report["ratio_checkouts_per_s"].as_f64() {
        println!("souk / baseline checkouts/s: {ratio:.2}");
    }
    let c = &report["ceilings"];
    if let (Some(h), Some(p)) = (c["http_rps"].as_f64(), c["commit_rps"].as_f64()) {
        println!(
            "ceilings: GET /v1/health {h:.0} req/s; one-row INSERT commits {p:.0}/s (one client)"
        );
    }
}

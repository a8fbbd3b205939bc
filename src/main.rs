//! The `souk` binary: parse the command line, load settings, run the command.

use clap::Parser;
use secrecy::ExposeSecret;
use souk::cli::{Cli, Command, TelegramCommand};
use souk::config::Settings;
use souk::startup::{state_dir, Application};
use souk_actors::domain::ids::UserId;
use souk_http::auth::{JwtKeys, Role};
use std::process::ExitCode;

/// Under load glibc's malloc and free were about an eighth of the server's CPU (`perf`
/// during `souk bench`), and the kernel's thread switches most of the rest of its overhead.
/// jemalloc's per-thread caches cost less, and its RSS per live actor is lower and as
/// steady as glibc's (`souk bench --workload memory`); mimalloc's was not.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    souk::logging::init();
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    let settings = Settings::load().map_err(|e| e.to_string())?;
    let dir = state_dir();
    match command {
        Command::Serve => actix_web::rt::System::new().block_on(serve(settings, dir)),
        Command::Migrate => actix_web::rt::System::new().block_on(async move {
            let target = souk::db::locate(&settings, &dir)
                .await
                .map_err(|e| e.to_string())?;
            let applied = souk::db::migrate(&target.url)
                .await
                .map_err(|e| e.to_string())?;
            println!("{} migration(s) applied: {applied:?}", applied.len());
            Ok(ExitCode::SUCCESS)
        }),
        Command::Token { user, role, ttl } => token(&settings, &dir, user, &role, ttl),
        Command::Bench {
            workload,
            engine,
            duration,
            warmup,
            concurrency,
            products,
            json,
            nodes,
            webhook,
        } => {
            let default_clients = if workload == souk::bench::Workload::Flash {
                1_000
            } else {
                64
            };
            let options = souk::bench::BenchOptions {
                workload,
                engine,
                duration: std::time::Duration::from_secs(duration.max(1)),
                warmup: std::time::Duration::from_secs(warmup),
                concurrency: concurrency.unwrap_or(default_clients).max(1),
                products: products.max(1),
                json,
                nodes: nodes.max(1),
                load_bin: std::env::current_exe().map_err(|e| e.to_string())?,
                webhook: webhook
                    .as_deref()
                    .map(souk::bench::webhook_events)
                    .transpose()?,
            };
            bench(settings, options)
        }
        Command::Load {
            workload,
            ports,
            products,
            users,
            concurrency,
            warmup_ms,
            duration_ms,
            webhook_port,
        } => {
            let spec = souk::bench::load::LoadSpec {
                workload,
                ports,
                products,
                users,
                concurrency,
                warmup: std::time::Duration::from_millis(warmup_ms),
                duration: std::time::Duration::from_millis(duration_ms),
                webhook_port,
            };
            // Two threads, as the machine's cores: on one, a client whose answer has arrived
            // waits behind every other client's, and that wait would count as Souk's latency.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(souk::bench::load::run(spec))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { to } => actix_web::rt::System::new().block_on(async move {
            let target = souk::db::locate(&settings, &dir)
                .await
                .map_err(|e| e.to_string())?;
            souk::backup::backup(target.url.expose_secret(), &to)?;
            println!("backed up to {}", to.display());
            Ok(ExitCode::SUCCESS)
        }),
        Command::Restore { from } => actix_web::rt::System::new().block_on(async move {
            let target = souk::db::locate(&settings, &dir)
                .await
                .map_err(|e| e.to_string())?;
            souk::backup::restore(target.url.expose_secret(), &from).await?;
            println!(
                "restored from {}; run `souk check` to verify it",
                from.display()
            );
            Ok(ExitCode::SUCCESS)
        }),
        Command::Telegram { command } => actix_web::rt::System::new().block_on(async move {
            let out = match command {
                TelegramCommand::SetWebhook { url } => {
                    souk::telegram_cli::set_webhook(&settings, &url).await?
                }
                TelegramCommand::Info => souk::telegram_cli::info(&settings).await?,
                TelegramCommand::SetMenuButton { url, text } => {
                    souk::telegram_cli::set_menu_button(&settings, &url, &text).await?
                }
            };
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }),
        Command::Check => actix_web::rt::System::new().block_on(check(settings, dir)),
    }
}

async fn serve(settings: Settings, dir: std::path::PathBuf) -> Result<ExitCode, String> {
    let host = settings.http.addr.clone();
    let app = Application::build(settings, dir)
        .await
        .map_err(|e| e.to_string())?;
    let base = format!(
        "http://{}",
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1")
    );
    println!("Souk is listening on {base}:{}", app.port());
    if app.private_database {
        println!("Database: the private PostgreSQL cluster under ./.souk/");
    }
    if let Some(seeded) = &app.seeded {
        println!(
            "Demo catalog seeded: admin is user {}, customer is user {} (wallet 100.00).",
            seeded.admin, seeded.customer
        );
    }
    println!("Get a token: cargo run --release -- token --user ID --role admin|staff|customer");
    app.run_until_stopped().await.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// `souk token`: mints a bearer token for a user and role.
fn token(
    settings: &Settings,
    dir: &std::path::Path,
    user: i64,
    role: &str,
    ttl: std::time::Duration,
) -> Result<ExitCode, String> {
    let user = UserId::new(user)
        .filter(|u| u.get() <= souk_http::auth::MAX_TOKEN_USER_ID)
        .ok_or("--user must be a positive id up to 2^53 - 1")?;
    let role = Role::parse(role).ok_or("--role must be customer, staff or admin")?;
    let secret = settings.jwt_secret(dir).map_err(|e| e.to_string())?;
    let ttl = i64::try_from(ttl.as_secs()).map_err(|_| "--ttl is too long")?;
    let token = JwtKeys::new(&secret)
        .mint(user, role, ttl)
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// `souk bench`: runs the workload on its own multi-threaded runtime and prints the table.
fn bench(settings: Settings, options: souk::bench::BenchOptions) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(souk::bench::run(settings, options))?;
    souk::bench::print_table(&report);
    Ok(ExitCode::SUCCESS)
}

/// `souk check`: every invariant's violations on the configured database; exit code 2 when
/// any is found.
async fn check(settings: Settings, dir: std::path::PathBuf) -> Result<ExitCode, String> {
    let target = souk::db::locate(&settings, &dir)
        .await
        .map_err(|e| e.to_string())?;
    let client = souk::db::connect_one(target.url.expose_secret())
        .await
        .map_err(|e| e.to_string())?;
    let found = souk::check::violations(&client)
        .await
        .map_err(|e| e.to_string())?;
    if found.is_empty() {
        println!("ok: I1, I2, I5 and I6 hold");
        return Ok(ExitCode::SUCCESS);
    }
    for violation in &found {
        println!("{violation}");
    }
    println!("{} violation(s)", found.len());
    Ok(ExitCode::from(2))
}

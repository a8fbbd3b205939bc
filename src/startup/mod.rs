//! Wiring: database, migrations, actors, HTTP. `Application::build` binds first (port 0
//! in tests) so callers know the address before serving; `run_until_stopped` serves until
//! SIGTERM/SIGINT (or the actix system stops), lets in-flight requests finish — they hold
//! their persistence replies, so every acknowledged write has committed — and returns.

mod server;

use crate::config::Settings;
use crate::db::{self, DbError};
use crate::seed;
use crate::shutdown::{Shutdown, LOOPS_FINISH_MAX};
use actix::prelude::*;
use secrecy::ExposeSecret;
use server::{app_state, serve, StateParts};
use souk_actors::entity::ownership::Ownership;
use souk_actors::entity::registry::{ActorConfig, Deps, Registry};
use souk_actors::metrics::ActorMetrics;
use souk_actors::store::group_commit::{PersistenceActor, PersistenceConfig};
use souk_http::metrics::HttpMetrics;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    /// The one shutdown signal of the background loops (payment expiry, rate-limit sweeps,
    /// Bot API retries): cancelled once the server has stopped and finished its requests.
    shutdown: Shutdown,
    /// Ids the demo seed created, when it ran.
    pub seeded: Option<seed::Seeded>,
    pub private_database: bool,
}

/// Where the process keeps its dev state (private cluster, generated secret).
pub fn state_dir() -> PathBuf {
    std::env::current_dir()
        .unwrap_or_else(|_| PathBuf::from("."))
        .join(".souk")
}

impl Application {
    pub async fn build(settings: Settings, state_dir: PathBuf) -> Result<Application, StartError> {
        souk_http::middleware::panics::install_hook();
        let secret = settings.jwt_secret(&state_dir)?;
        let target = db::locate(&settings, &state_dir).await?;
        let applied = db::migrate(&target.url).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let seeded = if target.private && settings.shop.demo_seed {
            let mut client = db::connect_one(target.url.expose_secret()).await?;
            seed::demo(&mut client).await?
        } else {
            None
        };
        let pool = db::pool(&target.url, &settings)?;
        let write_pool = db::write_pool(&target.url, &settings)?;

        let prometheus = prometheus::Registry::new();
        let actor_metrics = ActorMetrics::new(&prometheus)?;
        let http_metrics = HttpMetrics::new(&prometheus)?;
        let shutdown = Shutdown::default();
        let mut bot = souk_http::telegram::Bot::new(
            crate::telegram_cli::bot_config(&settings, &secret)?,
            &prometheus,
        )?;
        bot.api.stop_on(shutdown.token(), shutdown.tracker());
        let telegram = std::sync::Arc::new(bot);

        let ownership = ownership(&settings, &pool).await?;
        // Told by the group commit when events commit; the dispatcher sends them.
        let (handoffs, handed) = tokio::sync::mpsc::channel(HANDOFF_BATCHES);
        let outbox = souk_actors::store::events::Outbox {
            wake: Arc::new(tokio::sync::Notify::new()),
            handoffs,
        };
        let registry = start_actors(
            &settings,
            &pool,
            write_pool,
            actor_metrics,
            ownership,
            outbox.clone(),
        );
        spawn_background(&settings, &registry, &shutdown);
        let webhooks = start_webhooks(
            &settings,
            &pool,
            &prometheus,
            outbox.wake,
            handed,
            &shutdown,
        )?;
        // Buyers' notifications need a bot to send them; without one they stay queued (and
        // the metric shows none sent).
        let notifier = souk_http::telegram::notify::Notifier::new(
            pool.clone(),
            telegram.clone(),
            settings.shop.currency.clone(),
            &prometheus,
        )?;
        if telegram.config.api.token.is_some() {
            let sole = settings.cluster.endpoints().is_empty();
            shutdown.spawn_loop(notifier.run(sole, shutdown.token()));
        }
        let cluster_registry = registry.clone();
        let parts = StateParts {
            registry,
            pool,
            secret,
            metrics: http_metrics,
            prometheus,
            telegram,
            webhooks,
        };
        let state = app_state(&settings, parts).await?;
        let (port, server) = serve(&settings, state, &shutdown.token())?;
        crate::cluster::start(&settings, port, &cluster_registry, &shutdown);
        Ok(Application {
            port,
            server,
            shutdown,
            seeded,
            private_database: target.private,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from another thread (the actix system's stop does not end it).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server stops (SIGTERM or SIGINT: in-flight requests finish first),
    /// then stops every background loop and waits for the item each has in hand.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if !self.shutdown.stop(LOOPS_FINISH_MAX).await {
            tracing::warn!(
                waited = ?LOOPS_FINISH_MAX,
                "a background loop was still busy at shutdown; its item was cut"
            );
        }
        served
    }
}

pub(super) fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
}

/// The application running on its own thread and actix system, for tests and benchmarks;
/// dropping it stops the system.
pub struct Background {
    pub port: u16,
    system: actix::System,
    server: actix_web::dev::ServerHandle,
}

impl Drop for Background {
    /// Ends the server first, so the application thread leaves `block_on` and its runtime,
    /// tasks and pool (with every connection) are dropped; then the actor threads stop.
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; its future only awaits completion.
        drop(self.server.stop(false));
        self.system.stop();
    }
}

impl Background {
    pub async fn start(settings: Settings, state_dir: PathBuf) -> Result<Background, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                match Application::build(settings, state_dir).await {
                    Ok(app) => {
                        let started = (app.port(), actix::System::current(), app.server_handle());
                        let _ = tx.send(Ok(started));
                        if let Err(e) = app.run_until_stopped().await {
                            tracing::error!(error = %e, "server stopped with an error");
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
            // The server has stopped, but the actor threads (arbiters), whose actors hold the
            // pool, stop only when the system does, and its controller runs only while this
            // thread drives it: `block_on` may return before it saw `Drop`'s stop. So stop
            // it here and drive it until it has told every arbiter.
            actix::System::current().stop();
            if let Err(e) = system.run() {
                tracing::warn!(error = %e, "the application's actor threads did not stop cleanly");
            }
        });
        let (port, system, server) = rx
            .await
            .map_err(|_| "the application thread died".to_string())??;
        Ok(Background {
            port,
            system,
            server,
        })
    }
}

/// The engine behind the routes: Souk's actors, or the row-lock baseline for `souk bench`.
pub(super) fn shop(
    settings: &Settings,
    registry: &Arc<Registry>,
    pool: &deadpool_postgres::Pool,
) -> Arc<dyn souk_actors::flows::shop::Shop> {
    match settings.engine {
        souk_actors::baseline::Engine::Actors => {
            Arc::new(souk_actors::flows::shop::ActorShop::new(registry.clone()))
        }
        souk_actors::baseline::Engine::RowLocks => {
            Arc::new(souk_actors::baseline::RowLockShop::new(
                pool.clone(),
                settings.shop.currency.clone(),
                registry.deps.config.pricing,
                settings.database_timeout(),
            ))
        }
    }
}

/// Which shards this node serves: all of them on a single node; in a cluster, none until
/// the driver claims them, and only after Postgres agrees on the shard count.
async fn ownership(
    settings: &Settings,
    pool: &deadpool_postgres::Pool,
) -> Result<Arc<Ownership>, StartError> {
    if settings.cluster.endpoints().is_empty() {
        return Ok(Arc::new(Ownership::single()));
    }
    let wanted = settings.cluster.shards;
    let recorded = souk_actors::store::fencing::shard_count(pool, wanted)
        .await
        .map_err(|e| StartError::Db(DbError::Pool(e.to_string())))?;
    if recorded != wanted {
        return Err(StartError::Config(crate::config::ConfigError::Invalid(format!(
            "SOUK__CLUSTER__SHARDS is {wanted}, but this cluster was created with {recorded} shards; every node must use {recorded}"
        ))));
    }
    Ok(Arc::new(Ownership::cluster(wanted, settings.node_id())))
}

/// The actor threads, the group commit's own thread and the registry of owners.
fn start_actors(
    settings: &Settings,
    pool: &deadpool_postgres::Pool,
    write_pool: deadpool_postgres::Pool,
    actor_metrics: ActorMetrics,
    ownership: Arc<Ownership>,
    outbox: souk_actors::store::events::Outbox,
) -> Arc<Registry> {
    // In a cluster, owners on other nodes are reached over their internal API within the
    // same bound a local owner has to answer.
    let forwarder = settings
        .cluster
        .secret
        .clone()
        .filter(|_| ownership.node_id().is_some())
        .and_then(|secret| {
            souk_http::cluster::HttpForwarder::new(
                secret,
                Duration::from_millis(settings.actors.call_timeout_ms),
            )
        })
        .map(|f| Arc::new(f) as Arc<dyn souk_actors::entity::remote::Forwarder>);
    // An actor's turn is a few microseconds; the HTTP workers' parsing and answering is most
    // of a request's CPU. Every actor thread is one more thread to wake per message, so half
    // as many as cores: on two cores one actor thread instead of two gave `mixed` 5 % more
    // checkouts, 8 % less CPU per checkout and a product-page p99 of 2.7-2.9 ms instead of
    // 3.0-3.2 (`souk bench --workload mixed --warmup 30`), and `hot` no less.
    let threads = if settings.actors.threads == 0 {
        (num_cpus() / 2).max(1)
    } else {
        settings.actors.threads
    };
    let arbiters: Vec<ArbiterHandle> = (0..threads).map(|_| Arbiter::new().handle()).collect();
    let persistence_config = PersistenceConfig {
        batch_max: settings.persistence.batch_max,
        queue_max: settings.persistence.queue_max,
        write_timeout: Duration::from_millis(settings.persistence.write_timeout_ms),
        events: souk_actors::domain::events::EventRules {
            stock_low: settings.metrics.stock_low_threshold,
            hand_over: true,
        },
    };
    // Group commit gets its own thread so a busy HTTP or actor thread never delays a COMMIT.
    let persistence = {
        let (metrics, ownership) = (actor_metrics.clone(), ownership.clone());
        PersistenceActor::start_in_arbiter(&Arbiter::new().handle(), move |_| {
            PersistenceActor::new(write_pool, persistence_config, metrics, ownership)
                .with_outbox(outbox)
        })
    };
    Registry::new(Deps {
        pool: pool.clone(),
        persistence,
        config: ActorConfig {
            idle_timeout: Duration::from_secs(settings.actors.idle_timeout_secs),
            mailbox_max: settings.actors.mailbox_max,
            call_timeout: Duration::from_millis(settings.actors.call_timeout_ms),
            load_timeout: settings.database_timeout(),
            reservation_ttl: Duration::from_secs(settings.actors.reservation_ttl_secs),
            currency: settings.shop.currency.clone(),
            pricing: settings.pricing(),
            payment_window: Duration::from_secs(settings.checkout.reservation_ttl_secs),
            unpaid: settings.checkout.unpaid_limits(),
            return_window: Duration::from_secs(settings.returns.window_days * 86_400),
        },
        metrics: actor_metrics,
        arbiters,
        ownership,
        forwarder,
    })
}

/// Committed batches whose webhook deliveries wait for the dispatcher; past this (a
/// dispatcher far behind), hand-offs are dropped and polling sends them once their claim
/// runs out.
const HANDOFF_BATCHES: usize = 4096;

/// The webhook dispatcher, running until shutdown, and what the routes share with it.
fn start_webhooks(
    settings: &Settings,
    pool: &deadpool_postgres::Pool,
    prometheus: &prometheus::Registry,
    wake: Arc<tokio::sync::Notify>,
    handoffs: tokio::sync::mpsc::Receiver<Vec<souk_actors::store::events::Handoff>>,
    shutdown: &Shutdown,
) -> Result<souk_http::webhooks::WebhookState, StartError> {
    let production = settings.profile == crate::config::Profile::Production;
    let allow_private = settings.webhooks.allow_private || !production;
    let metrics = souk_http::webhooks::dispatch::WebhookMetrics::new(prometheus)?;
    let dispatcher = souk_http::webhooks::dispatch::Dispatcher {
        pool: pool.clone(),
        settings: settings.webhooks.clone(),
        public_only: !allow_private,
        metrics: metrics.clone(),
        wake: wake.clone(),
        handoffs,
        sole: settings.cluster.endpoints().is_empty(),
    };
    shutdown.spawn_loop(dispatcher.run(shutdown.token()));
    Ok(souk_http::webhooks::WebhookState {
        policy: souk_http::webhooks::target::UrlPolicy {
            https_only: production && !settings.webhooks.allow_private,
            allow_private,
        },
        metrics,
        wake,
    })
}

/// The loops that run beside the server: warming the catalog once, and the sweep of orders
/// whose payment window closed, until `shutdown` (which then waits for the sweep in hand).
fn spawn_background(settings: &Settings, registry: &Arc<Registry>, shutdown: &Shutdown) {
    // A cluster node caches only the pages of products it serves, as it takes them.
    if registry.deps.ownership.node_id().is_none() {
        let (registry, currency) = (registry.clone(), settings.shop.currency.clone());
        actix_web::rt::spawn(async move {
            match registry.catalog.warm(&registry.deps.pool, &currency).await {
                Ok(n) => tracing::info!(products = n, "catalog loaded into memory"),
                Err(e) => {
                    tracing::warn!(error = %e, "catalog not preloaded; pages load on first read")
                }
            }
        });
    }
    {
        // Orders whose external payment never came give their stock back (also those
        // that fell due while Souk was down: the sweep reads Postgres, not memory).
        let (registry, token) = (registry.clone(), shutdown.token());
        let every = Duration::from_millis(settings.checkout.expiry_sweep_ms);
        shutdown.spawn_loop(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                // Biased: once the signal is given no new sweep starts, even if a tick is due.
                tokio::select! {
                    biased;
                    _ = token.cancelled() => return,
                    _ = tick.tick() => {}
                }
                match souk_actors::flows::payments::expire_overdue(&registry).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(orders = n, "cancelled orders whose payment window closed")
                    }
                    Err(e) => tracing::warn!(error = %e, "could not look for overdue orders"),
                }
            }
        });
    }
}

//! The HTTP half of start-up: the handlers' shared state, and the server with its
//! middleware.

use super::shop;
use super::{num_cpus, StartError};
use crate::config::Settings;
use crate::db::DbError;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpServer};
use souk_actors::entity::registry::Registry;
use souk_http::auth::JwtKeys;
use souk_http::metrics::HttpMetrics;
use souk_http::middleware::ratelimit::RateLimits;
use souk_http::middleware::read_timeout::ReadTimeout;
use souk_http::AppState;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the handlers' shared state is made of, besides the settings.
pub(super) struct StateParts {
    pub(super) registry: Arc<Registry>,
    pub(super) pool: deadpool_postgres::Pool,
    pub(super) secret: secrecy::SecretString,
    pub(super) metrics: HttpMetrics,
    pub(super) prometheus: prometheus::Registry,
    pub(super) telegram: Arc<souk_http::telegram::Bot>,
    pub(super) webhooks: souk_http::webhooks::WebhookState,
}

/// The handlers' shared state, with maintenance mode as last set.
pub(super) async fn app_state(
    settings: &Settings,
    parts: StateParts,
) -> Result<web::Data<AppState>, StartError> {
    let StateParts {
        registry,
        pool,
        secret,
        metrics: http_metrics,
        prometheus,
        telegram,
        webhooks,
    } = parts;
    let maintenance = souk_http::state::MaintenanceSwitch::default();
    maintenance.set(
        &souk_actors::store::operations::maintenance(&pool)
            .await
            .map_err(|e| StartError::Db(DbError::Pool(e.to_string())))?,
    );
    http_metrics
        .maintenance
        .set(i64::from(maintenance.get().enabled));
    Ok(web::Data::new(AppState {
        shop: shop(settings, &registry, &pool),
        registry,
        pool,
        keys: JwtKeys::new(&secret),
        metrics: http_metrics,
        prometheus,
        currency: settings.shop.currency.clone(),
        payment_webhook_secret: settings.payments.webhook_secret.clone(),
        cluster_secret: settings
            .cluster
            .secret
            .clone()
            .filter(|_| !settings.cluster.endpoints().is_empty()),
        db_timeout: settings.database_timeout(),
        maintenance,
        known_users: Default::default(),
        user_creation: Default::default(),
        stock_low_threshold: settings.metrics.stock_low_threshold,
        dashboard: Default::default(),
        telegram,
        webhooks,
    }))
}

/// Binds the listener and starts the server with every middleware, outermost last.
pub(super) fn serve(
    settings: &Settings,
    state: web::Data<AppState>,
    shutdown: &CancellationToken,
) -> Result<(u16, actix_web::dev::Server), StartError> {
    let limits = RateLimits::new(&settings.rate_limits, state.metrics.rate_limited.clone())
        .ok_or_else(|| {
            crate::config::ConfigError::Invalid("rate limits must be positive".into())
        })?;
    limits.sweep_periodically(shutdown.clone());
    let limits = web::Data::from(limits);
    let cors_origins = souk_http::middleware::cors::parse_origins(&settings.http.cors_origins)
        .map_err(crate::config::ConfigError::Invalid)?;
    let test_routes = settings.test_routes;

    let addr = settings.http.addr.clone();
    let listener = TcpListener::bind(&addr).map_err(|source| StartError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let port = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?
        .port();
    let body_limit = settings.http.body_limit_bytes;
    let read_timeout = Duration::from_millis(settings.http.request_read_timeout_ms);
    let read_timeout_data = web::Data::new(ReadTimeout(read_timeout));
    let workers = if settings.http.workers == 0 {
        num_cpus()
    } else {
        settings.http.workers
    };
    let server = HttpServer::new(move || {
        // Outermost last: the request id and metrics see every answer, CORS preflights are
        // answered before any limit, and a refused request never reaches a handler. (A
        // panic's 500 leaves as an error past CORS, so a browser sees it as a CORS failure.)
        App::new()
            .app_data(state.clone())
            .app_data(limits.clone())
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(read_timeout_data.clone())
            .wrap(from_fn(souk_http::middleware::home::route))
            .wrap(from_fn(souk_http::middleware::read_timeout::bound))
            .wrap(from_fn(souk_http::middleware::ratelimit::limit))
            .wrap(from_fn(souk_http::middleware::panics::catch))
            .wrap(Condition::new(
                !cors_origins.is_empty(),
                souk_http::middleware::cors::middleware(&cors_origins),
            ))
            .wrap(from_fn(souk_http::middleware::request::observe))
            .configure(|cfg| {
                if let Some(mount) = test_routes {
                    mount(cfg);
                }
            })
            .configure(souk_http::configure)
    })
    .workers(workers)
    // The headers get the same bound as the body (`read_timeout::bound`).
    .client_request_timeout(read_timeout)
    .shutdown_timeout(30)
    .listen(listener)
    .map_err(|source| StartError::Bind {
        addr: settings.http.addr.clone(),
        source,
    })?
    .run();
    Ok((port, server))
}

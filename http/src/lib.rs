//! Souk's HTTP boundary: requests become typed commands and actor messages; every failure
//! leaves through the one error envelope of `error.rs`.

pub mod auth;
pub mod checkout_outcome;
pub mod cluster;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod idempotency;
pub mod metrics;
pub mod middleware;
pub mod mini_app;
pub mod openapi;
pub mod routes;
pub mod schema;
pub mod scrape;
pub mod signature;
pub mod state;
pub mod telegram;
pub mod webhooks;

use actix_web::web;

pub use state::AppState;

/// Mounts every route and the fallback that answers 405 or 404 for what they do not serve.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(routes::metrics::render))
        .configure(cluster::configure)
        .configure(mini_app::configure)
        .service(
            web::scope("/v1")
                .configure(routes::configure)
                .configure(telegram::configure)
                .configure(openapi::configure),
        )
        .default_service(web::to(openapi::unrouted));
}

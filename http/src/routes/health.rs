//! Liveness and readiness.

use crate::error::{ApiError, ApiResult};
use crate::i18n::Msg;
use crate::schema::Status;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use std::time::Duration;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready));
}

#[utoipa::path(
    get,
    path = "/v1/health",
    summary = "The process is up",
    tag = "health",
    responses((status = 200, body = crate::schema::Status))
)]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Ready when Postgres answers within a second (migrations ran before the server started)
/// and, in a cluster, this node holds a live etcd lease.
#[utoipa::path(
    get,
    path = "/v1/ready",
    tag = "health",
    responses((status = 200, body = crate::schema::Status))
)]
async fn ready(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    if !state.registry.deps.ownership.lease_alive() {
        return Err(ApiError::unavailable(Msg::new("error-no-lease")));
    }
    match tokio::time::timeout(
        Duration::from_secs(1),
        souk_actors::store::ping(&state.pool),
    )
    .await
    {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(Status { status: "ready" })),
        _ => Err(ApiError::unavailable(Msg::new("error-database-silent"))),
    }
}

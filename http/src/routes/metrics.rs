//! `GET /metrics`: Prometheus text exposition, with the gauges sampled at scrape time.

use crate::error::ApiError;
use crate::middleware::ratelimit::RateLimits;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use prometheus::TextEncoder;

/// Prometheus text exposition of every `souk_*` family.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((
        status = 200, description = "Prometheus text format",
        content_type = "text/plain", body = String
    )))]
pub async fn render(req: actix_web::HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    state.metrics.scrape.sample(&state.pool);
    state.metrics.scrape.sample_mailboxes(&state.registry);
    if let Some(limits) = req.app_data::<web::Data<RateLimits>>() {
        let keys = i64::try_from(limits.keys()).unwrap_or(i64::MAX);
        state.metrics.scrape.rate_limit_keys.set(keys);
    }
    let low =
        souk_actors::views::dashboard::low_stock_count(&state.pool, state.stock_low_threshold);
    match state.bounded(low).await {
        Ok(n) => state.metrics.scrape.stock_low.set(n),
        // The scrape still answers; the gauge keeps its last value and readiness reports the outage.
        Err(e) => tracing::debug!(error = %e, "low-stock count not sampled"),
    }
    state.webhooks.metrics.sample(&state.pool).await;
    let families = state.prometheus.gather();
    match TextEncoder::new().encode_to_string(&families) {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            ApiError::from(souk_actors::DomainError::Internal(e.to_string())).error_response_owned()
        }
    }
}

impl ApiError {
    fn error_response_owned(&self) -> HttpResponse {
        actix_web::ResponseError::error_response(self)
    }
}

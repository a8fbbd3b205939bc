//! HTTP metrics and the middleware that every request passes: it assigns the request id
//! (or keeps a sane one the client sent), fills it into error envelopes, and counts the
//! request by route template (never the raw path) and method (one of a closed set), so no
//! input can add a series.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use std::time::Instant;

#[derive(Clone)]
pub struct HttpMetrics {
    pub requests: IntCounterVec,
    pub duration: HistogramVec,
    pub checkouts: IntCounterVec,
    pub maintenance: prometheus::IntGauge,
    pub payment_events: IntCounterVec,
    /// Answers replayed for a repeated Idempotency-Key, on every route that takes one.
    pub idempotent_replays: prometheus::IntCounter,
    /// Checkout latency as the customer sees it, every outcome included.
    pub checkout_seconds: prometheus::Histogram,
    /// Requests refused with 429, by route class.
    pub rate_limited: IntCounterVec,
    /// Handler panics answered with 500 (each one is a bug).
    pub panics: prometheus::IntCounter,
    /// Pool, process and stock figures sampled at scrape time.
    pub scrape: crate::scrape::ScrapeGauges,
}

impl HttpMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<HttpMetrics> {
        let m = HttpMetrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "souk_http_requests_total",
                    "HTTP requests by route template, method and status",
                ),
                &["route", "method", "status"],
            )?,
            duration: HistogramVec::new(
                HistogramOpts::new(
                    "souk_http_request_duration_seconds",
                    "HTTP request latency by route template",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ]),
                &["route", "method"],
            )?,
            checkouts: IntCounterVec::new(
                Opts::new("souk_checkouts_total", "Checkouts by outcome"),
                &["outcome"],
            )?,
            maintenance: prometheus::IntGauge::new(
                "souk_maintenance_mode",
                "1 while maintenance mode is on",
            )?,
            idempotent_replays: prometheus::IntCounter::new(
                "souk_idempotent_replays_total",
                "Answers replayed for a repeated Idempotency-Key",
            )?,
            checkout_seconds: prometheus::Histogram::with_opts(
                HistogramOpts::new(
                    "souk_checkout_duration_seconds",
                    "Checkout latency, from request to answer, every outcome",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
            )?,
            payment_events: IntCounterVec::new(
                Opts::new(
                    "souk_payment_events_total",
                    "Payment provider events by type and outcome",
                ),
                &["type", "outcome"],
            )?,
            rate_limited: IntCounterVec::new(
                Opts::new(
                    "souk_rate_limited_total",
                    "Requests refused with 429, by route class",
                ),
                &["class"],
            )?,
            panics: prometheus::IntCounter::new(
                "souk_http_panics_total",
                "Handler panics answered with 500",
            )?,
            scrape: crate::scrape::ScrapeGauges::new(registry)?,
        };
        for kind in ["payment.succeeded", "payment.failed"] {
            for outcome in [
                "applied",
                "credited_wallet",
                "rejected",
                "noted",
                "duplicate",
            ] {
                m.payment_events.with_label_values(&[kind, outcome]);
            }
        }
        for outcome in [
            "ok",
            "idempotent_replay",
            "out_of_stock",
            "insufficient_funds",
            "cart_empty",
            "promo_invalid",
            "unpaid_limit",
            "unavailable",
            "overloaded",
            "maintenance",
            "idempotency_key_reused",
            "invalid",
            "error",
        ] {
            m.checkouts.with_label_values(&[outcome]);
        }
        registry.register(Box::new(m.requests.clone()))?;
        registry.register(Box::new(m.duration.clone()))?;
        registry.register(Box::new(m.checkouts.clone()))?;
        registry.register(Box::new(m.maintenance.clone()))?;
        registry.register(Box::new(m.payment_events.clone()))?;
        registry.register(Box::new(m.checkout_seconds.clone()))?;
        registry.register(Box::new(m.idempotent_replays.clone()))?;
        registry.register(Box::new(m.rate_limited.clone()))?;
        registry.register(Box::new(m.panics.clone()))?;
        Ok(m)
    }
}

/// The request's id, available to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let sane = !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic());
    sane.then(|| v.to_string())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = method_label(req.method());
    let authenticated = req
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION);
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // Only a caught panic (and actix-cors refusing a preflight) arrive here: the request
        // is gone, so the route is unknown; the error renders its own answer.
        Err(e) => {
            if let Some(metrics) = metrics {
                let status = e.as_response_error().status_code().as_u16().to_string();
                metrics
                    .requests
                    .with_label_values(&["unknown", method, &status])
                    .inc();
            }
            return Err(e);
        }
    };
    let res = enveloped(res);
    let error = res.response().extensions().get::<ApiError>().cloned();
    let mut res = match error {
        // Errors are rendered without the request; the envelope gets its id here.
        Some(error) => res.map_body(|_, _| BoxBody::new(error.body(&id).to_string())),
        None => res,
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    secure(res.headers_mut(), authenticated);
    if let Some(metrics) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        let status = res.status().as_u16().to_string();
        metrics
            .requests
            .with_label_values(&[&route, method, &status])
            .inc();
        metrics
            .duration
            .with_label_values(&[&route, method])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}

/// An error actix-web answered itself (plain text) is answered again in the envelope, so
/// every error leaves in one shape whichever layer raised it.
fn enveloped(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    if res.response().extensions().get::<ApiError>().is_some() {
        return res;
    }
    let Some(error) = res.response().error().map(ApiError::framework) else {
        return res;
    };
    res.into_response(actix_web::ResponseError::error_response(&error))
}

/// The `method` label: the standard methods by name, any other (a client may send any
/// token as a method) as `other`, so each one sent does not become a series of its own.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Prometheus text exposition of every `souk_*` family.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((
        status = 200, description = "Prometheus text format",
        content_type = "text/plain", body = String
    )))]
pub async fn render(req: actix_web::HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    state.metrics.scrape.sample(&state.pool);
    state.metrics.scrape.sample_mailboxes(&state.registry);
    if let Some(limits) = req.app_data::<web::Data<crate::ratelimit::RateLimits>>() {
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

/// Headers every response carries: no MIME sniffing, no referrer leaking ids to other
/// sites, and nothing personal kept in a shared cache.
pub(crate) fn secure(headers: &mut actix_web::http::header::HeaderMap, authenticated: bool) {
    use actix_web::http::header;
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

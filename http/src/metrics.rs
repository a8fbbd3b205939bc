//! The HTTP layer's metric families (requests, checkouts, payment events, replays, rate
//! limits, panics and the gauges sampled at scrape time). `middleware/request.rs` counts
//! requests; `routes/metrics.rs` serves them.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

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
    /// Every family, registered, with the labels a scrape should show from the start.
    pub fn new(registry: &Registry) -> prometheus::Result<HttpMetrics> {
        let m = HttpMetrics::families(registry)?;
        m.show_known_labels();
        m.register(registry)?;
        Ok(m)
    }

    fn families(registry: &Registry) -> prometheus::Result<HttpMetrics> {
        Ok(HttpMetrics {
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
        })
    }

    /// Outcomes known in advance read 0 before the first one happens.
    fn show_known_labels(&self) {
        let m = self;
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
        for outcome in crate::checkout_outcome::labels() {
            m.checkouts.with_label_values(&[outcome]);
        }
    }

    fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        let m = self;
        registry.register(Box::new(m.requests.clone()))?;
        registry.register(Box::new(m.duration.clone()))?;
        registry.register(Box::new(m.checkouts.clone()))?;
        registry.register(Box::new(m.maintenance.clone()))?;
        registry.register(Box::new(m.payment_events.clone()))?;
        registry.register(Box::new(m.checkout_seconds.clone()))?;
        registry.register(Box::new(m.idempotent_replays.clone()))?;
        registry.register(Box::new(m.rate_limited.clone()))?;
        registry.register(Box::new(m.panics.clone()))?;
        Ok(())
    }
}

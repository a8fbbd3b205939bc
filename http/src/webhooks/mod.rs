//! Webhooks out: subscriptions' targets (`target`), and the dispatcher that sends what the
//! outbox recorded (`dispatch`). The admin routes are in `routes/webhooks.rs`.

pub mod dispatch;
pub mod target;

use serde::Deserialize;
use std::time::Duration;

/// `[webhooks]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Lets subscriptions target loopback, private and link-local addresses (and plain
    /// http) in production; dev always allows them.
    pub allow_private: bool,
    /// Bound on one delivery attempt, connection to answer.
    pub timeout_ms: u64,
    /// The first retry's wait; each next one doubles, with jitter, up to `retry_cap_secs`.
    pub retry_base_ms: u64,
    pub retry_cap_secs: u64,
    /// A delivery gives up (and its subscription is marked failing) once its event is older.
    pub retry_horizon_secs: u64,
    /// Attempts in flight to one subscription at most, so a slow receiver holds only its own.
    pub concurrency: usize,
    /// Events whose deliveries are all done are deleted after this many days.
    pub retention_days: u64,
}

/// What the admin routes and `/metrics` share with the dispatcher.
pub struct WebhookState {
    pub policy: target::UrlPolicy,
    pub metrics: dispatch::WebhookMetrics,
    /// Wakes the dispatcher: a retry asked for, or a batch with events committed.
    pub wake: std::sync::Arc<tokio::sync::Notify>,
}

impl WebhookSettings {
    pub fn backoff(&self) -> souk_actors::domain::backoff::Backoff {
        souk_actors::domain::backoff::Backoff {
            base: Duration::from_millis(self.retry_base_ms.max(1)),
            cap: Duration::from_secs(self.retry_cap_secs.max(1)),
            horizon: Duration::from_secs(self.retry_horizon_secs),
        }
    }

    pub fn invalid(&self) -> Option<&'static str> {
        if self.timeout_ms == 0 || self.concurrency == 0 || self.retry_base_ms == 0 {
            return Some(
                "SOUK__WEBHOOKS__TIMEOUT_MS, __CONCURRENCY and __RETRY_BASE_MS must be positive",
            );
        }
        None
    }
}

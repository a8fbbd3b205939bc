//! What every handler shares: the actor registry, the pool for reads, token keys, metrics.

use crate::auth::JwtKeys;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Msg;
use crate::metrics::HttpMetrics;
use dashmap::DashSet;
use deadpool_postgres::Pool;
use souk_actors::domain::ids::UserId;
use souk_actors::entity::registry::Registry;
use souk_actors::DomainResult;
use std::sync::Arc;

pub struct AppState {
    pub registry: Arc<Registry>,
    pub pool: Pool,
    pub keys: JwtKeys,
    pub metrics: HttpMetrics,
    pub prometheus: prometheus::Registry,
    pub currency: String,
    /// Bound on each database read a request makes; past it, 503 `unavailable`.
    pub db_timeout: std::time::Duration,
    /// Who serves carts, balances, product pages and checkouts: the actors, or (only for
    /// `souk bench`) the row-lock baseline, chosen at start-up.
    pub shop: Arc<dyn souk_actors::flows::shop::Shop>,
    /// Maintenance mode as last set (loaded at start, changed only through its endpoint).
    pub maintenance: MaintenanceSwitch,
    /// Users known to exist, so a token's first request creates its user once.
    pub known_users: DashSet<UserId>,
    /// One first-time user is created at a time (see the `Caller` extractor).
    pub user_creation: tokio::sync::Mutex<()>,
    /// Signs the messages of a cluster's nodes; `None` on a single node.
    pub cluster_secret: Option<secrecy::SecretString>,
    /// Signs payment provider events; `None` refuses every event.
    pub payment_webhook_secret: Option<secrecy::SecretString>,
    /// A product with at most this many units left counts in `souk_stock_low_products`.
    pub stock_low_threshold: i64,
    /// The admin dashboard's snapshot of committed figures.
    pub dashboard: souk_actors::views::dashboard::DashboardView,
    /// The Telegram bot: its settings, Bot API client and metrics.
    pub telegram: Arc<crate::telegram::bot::Bot>,
    /// Webhook subscriptions' URL policy, the dispatcher's metrics and its wake-up.
    pub webhooks: crate::webhooks::WebhookState,
}

impl AppState {
    /// Runs a database read within `db_timeout`: a stalled connection answers 503 in time
    /// instead of holding the request until the network comes back.
    pub async fn bounded<T>(
        &self,
        read: impl std::future::Future<Output = DomainResult<T>>,
    ) -> ApiResult<T> {
        match tokio::time::timeout(self.db_timeout, read).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(ApiError::unavailable(Msg::new("error-database-slow"))),
        }
    }
}

/// The in-process copy of maintenance mode: read on every order-creating request, so it is
/// an atomic flag; the message beside it changes only when an operator sets it.
#[derive(Default)]
pub struct MaintenanceSwitch {
    enabled: std::sync::atomic::AtomicBool,
    message: std::sync::RwLock<Option<String>>,
}

/// Seconds a client should wait before retrying during maintenance.
const MAINTENANCE_RETRY_AFTER: u32 = 60;

impl MaintenanceSwitch {
    pub fn set(&self, to: &souk_actors::domain::maintenance::Maintenance) {
        if let Ok(mut message) = self.message.write() {
            message.clone_from(&to.message);
        }
        self.enabled
            .store(to.enabled, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn get(&self) -> souk_actors::domain::maintenance::Maintenance {
        souk_actors::domain::maintenance::Maintenance {
            enabled: self.enabled.load(std::sync::atomic::Ordering::SeqCst),
            message: self.message.read().ok().and_then(|m| m.clone()),
        }
    }

    /// Refuses a write that creates an order or moves money, unless an admin sends it.
    pub fn guard(&self, caller: &crate::auth::Caller) -> ApiResult<()> {
        if !self.enabled.load(std::sync::atomic::Ordering::SeqCst)
            || caller.role == crate::auth::Role::Admin
        {
            return Ok(());
        }
        // An operator's own note is shown as written, in every language.
        let message = match self.get().message {
            Some(note) => Msg::new("error-maintenance-note").arg("note", note),
            None => Msg::new("error-maintenance"),
        };
        let mut error = ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "maintenance",
            message,
        );
        error.retry_after = Some(MAINTENANCE_RETRY_AFTER);
        Err(error)
    }
}

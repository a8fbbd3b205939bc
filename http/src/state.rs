//! What every handler shares: the actor registry, the pool for reads, token keys, metrics.

use crate::auth::JwtKeys;
use crate::error::{ApiError, ApiResult};
use crate::metrics::HttpMetrics;
use dashmap::DashSet;
use deadpool_postgres::Pool;
use souk_actors::baseline::Engine;
use souk_actors::ids::UserId;
use souk_actors::registry::Registry;
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
    /// Who serves carts and checkouts; `RowLocks` exists only for `souk bench`'s baseline.
    pub engine: Engine,
    /// Users known to exist, so a token's first request creates its user once.
    pub known_users: DashSet<UserId>,
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
            Err(_) => Err(ApiError::unavailable(
                "the database did not answer in time; retry shortly",
            )),
        }
    }
}

//! What every handler shares: the actor registry, the pool for reads, token keys, metrics.

use crate::auth::JwtKeys;
use crate::metrics::HttpMetrics;
use dashmap::DashSet;
use deadpool_postgres::Pool;
use souk_actors::baseline::Engine;
use souk_actors::ids::UserId;
use souk_actors::registry::Registry;
use std::sync::Arc;

pub struct AppState {
    pub registry: Arc<Registry>,
    pub pool: Pool,
    pub keys: JwtKeys,
    pub metrics: HttpMetrics,
    pub prometheus: prometheus::Registry,
    pub currency: String,
    /// Who serves carts and checkouts; `RowLocks` exists only for `souk bench`'s baseline.
    pub engine: Engine,
    /// Users known to exist, so a token's first request creates its user once.
    pub known_users: DashSet<UserId>,
}

//! `[database]` and `[persistence]`: where Postgres is, and the group commit's bounds.

use secrecy::SecretString;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Unset in dev: Souk runs its private cluster under `./.souk/`.
    pub url: Option<SecretString>,
    pub pool_size: usize,
    /// How long a request waits for a connection or a statement before answering 503.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistenceSettings {
    pub batch_max: usize,
    pub queue_max: usize,
    pub write_timeout_ms: u64,
}

impl super::Settings {
    pub fn database_timeout(&self) -> Duration {
        Duration::from_millis(self.database.timeout_ms)
    }
}

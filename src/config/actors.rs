//! `[actors]`: the entity actors' threads, mailboxes and timeouts.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSettings {
    pub idle_timeout_secs: u64,
    pub mailbox_max: usize,
    pub call_timeout_ms: u64,
    pub reservation_ttl_secs: u64,
    /// Threads that run product and user actors; 0 means one per two cores (at least one).
    pub threads: usize,
}

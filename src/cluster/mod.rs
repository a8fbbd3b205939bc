//! Souk as one node of several, on etcd: this node's lease and membership (`lease.rs`) and
//! the shards it claims and hands over (`shards.rs`). etcd says who should own what and
//! hands out the tokens (a claim's revision, which only grows); Postgres records each new
//! owner's token before it loads anything and checks it in every group-commit batch
//! (`souk_actors::store::fencing`). With no etcd configured none of this runs: the node
//! owns every shard, unfenced.

mod lease;
mod members;
mod shards;

use crate::config::Settings;
use crate::shutdown::Shutdown;
use futures_util::FutureExt;
use souk_actors::entity::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

/// etcd keys, under the configured prefix.
#[derive(Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    fn members(&self) -> String {
        format!("{}/members/", self.prefix)
    }
    fn member(&self, node: &str) -> String {
        format!("{}/members/{node}", self.prefix)
    }
    fn shards(&self) -> String {
        format!("{}/shards/", self.prefix)
    }
    fn shard(&self, shard: u32) -> String {
        format!("{}/shards/{shard:05}", self.prefix)
    }
    fn all(&self) -> String {
        format!("{}/", self.prefix)
    }
}

/// What the driver needs to know about this node.
#[derive(Clone)]
pub(crate) struct Node {
    id: String,
    url: String,
    endpoints: Vec<String>,
    ttl: Duration,
    keys: Keys,
}

impl Node {
    /// Stop serving this long before the lease could expire: a keep-alive's answer may
    /// arrive late, and clocks on two machines never tick quite alike.
    fn margin(&self) -> Duration {
        (self.ttl / 5).max(Duration::from_secs(1))
    }
}

/// Starts the driver if the settings name etcd: it joins, keeps its lease, claims and
/// hands over shards until `shutdown`, then leaves gracefully (hands every shard over,
/// waits for the group commit, releases its keys and its lease). On SIGTERM it starts
/// leaving at once, while the HTTP server drains.
pub fn start(settings: &Settings, port: u16, registry: &Arc<Registry>, shutdown: &Shutdown) {
    let endpoints = settings.cluster.endpoints();
    if endpoints.is_empty() {
        return;
    }
    let node = Node {
        id: settings.node_id(),
        url: settings.advertise_url(port),
        endpoints,
        ttl: Duration::from_secs(settings.cluster.lease_ttl_secs),
        keys: Keys {
            prefix: settings.cluster.prefix.trim_end_matches('/').to_string(),
        },
    };
    tracing::info!(node = %node.id, url = %node.url, etcd = ?node.endpoints, "joining the cluster");
    let registry = registry.clone();
    let token = shutdown.token();
    shutdown.spawn_loop(async move {
        // A panic in the driver would leave a node that serves nothing and never rejoins
        // (its session, and so its lease, end with it): it starts over instead, loudly.
        loop {
            let run = shards::run(node.clone(), registry.clone(), token.clone());
            match std::panic::AssertUnwindSafe(run).catch_unwind().await {
                Ok(()) => return,
                Err(_) => {
                    tracing::error!("the cluster driver panicked; it starts over and rejoins");
                    // Its lease ends with it: nothing held under it may be served.
                    let ownership = &registry.deps.ownership;
                    ownership.lease_until(None);
                    shards::stop_serving(&registry, shards::all_held(&registry));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
}

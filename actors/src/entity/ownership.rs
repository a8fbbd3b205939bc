//! Which shards this node may serve, and under which fencing token. A single node owns
//! every shard and fences nothing (no token, no check: today's behaviour). In a cluster
//! the driver (`src/cluster/`) records each shard it takes here only after Postgres holds
//! its token, and takes it away before it hands the shard over; the registry starts no
//! owner and the group commit accepts no write for a shard this node does not hold. A
//! node also stops serving by itself once its etcd lease may have expired, whatever the
//! driver last heard, so a paused node that wakes up never acts on a lease it lost.

use crate::domain::error::DomainError;
use crate::domain::shards::{shard_of, EntityKey, Fence, ShardId};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Instant;
use tokio::sync::Notify;

pub struct Ownership {
    /// `None` on a single node: every shard is this node's, unfenced.
    cluster: Option<Cluster>,
}

struct Cluster {
    /// This node's name among the members.
    node_id: String,
    /// Each shard's token while this node holds it; 0 when it does not.
    epochs: Vec<AtomicI64>,
    /// Milliseconds after `origin` until which the lease is surely alive; 0: no lease.
    lease_until_ms: AtomicU64,
    origin: Instant,
    /// Wakes the driver when the group commit found a shard fenced.
    changed: Notify,
    /// What the driver last saw of the cluster, for the admin view.
    members: RwLock<Vec<Member>>,
    /// Where each shard's claim holder is reached, as the driver last saw the claims.
    routes: RwLock<Vec<Option<String>>>,
}

/// A live node as the driver last saw it in etcd.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    pub node_id: String,
    /// How other nodes reach it.
    pub url: String,
    /// Shards whose claim it holds in etcd.
    pub shards: u32,
}

impl Ownership {
    pub fn single() -> Ownership {
        Ownership { cluster: None }
    }

    pub fn cluster(shards: u32, node_id: String) -> Ownership {
        Ownership {
            cluster: Some(Cluster {
                node_id,
                epochs: (0..shards).map(|_| AtomicI64::new(0)).collect(),
                lease_until_ms: AtomicU64::new(0),
                origin: Instant::now(),
                changed: Notify::new(),
                members: RwLock::new(Vec::new()),
                routes: RwLock::new(vec![None; shards as usize]),
            }),
        }
    }

    /// Whether this node is one of several (and so fences its writes).
    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// This node's name in the cluster; `None` on a single node.
    pub fn node_id(&self) -> Option<&str> {
        self.cluster.as_ref().map(|c| c.node_id.as_str())
    }

    pub fn shard_count(&self) -> u32 {
        self.cluster.as_ref().map_or(1, |c| c.epochs.len() as u32)
    }

    pub fn shard_of(&self, key: &EntityKey) -> ShardId {
        shard_of(key, self.shard_count())
    }

    /// The token under which this node may act for `key` now: `None` on a single node, an
    /// error when the shard is not this node's or its lease may have run out.
    pub fn fence(&self, key: &EntityKey) -> Result<Option<Fence>, DomainError> {
        let Some(cluster) = &self.cluster else {
            return Ok(None);
        };
        let shard = self.shard_of(key);
        let epoch = cluster.epochs[shard.get() as usize].load(Ordering::Acquire);
        if epoch == 0 || !self.lease_alive() {
            return Err(DomainError::NotOwner { shard: shard.get() });
        }
        Ok(Some(Fence { shard, epoch }))
    }

    /// Whether this node may serve `key` now.
    pub fn owns(&self, key: &EntityKey) -> bool {
        self.fence(key).is_ok()
    }

    /// Whether the lease is surely alive (always, on a single node).
    pub fn lease_alive(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| {
            let until = c.lease_until_ms.load(Ordering::Acquire);
            until != 0 && (c.origin.elapsed().as_millis() as u64) < until
        })
    }

    /// The driver heard the lease is alive until `until` (a keep-alive's send time plus the
    /// TTL minus a margin); `None`: the lease is gone.
    pub fn lease_until(&self, until: Option<Instant>) {
        if let Some(c) = &self.cluster {
            // A deadline already behind the start reads as no lease at all.
            let ms = until
                .and_then(|t| t.checked_duration_since(c.origin))
                .map_or(0, |d| d.as_millis().max(1) as u64);
            c.lease_until_ms.store(ms, Ordering::Release);
        }
    }

    /// This node now holds `shard` under `epoch` (already recorded in Postgres).
    pub fn take(&self, shard: ShardId, epoch: i64) {
        if let Some(c) = &self.cluster {
            c.epochs[shard.get() as usize].store(epoch, Ordering::Release);
        }
    }

    /// This node no longer serves `shard`; returns whether it did.
    pub fn release(&self, shard: ShardId) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.epochs[shard.get() as usize].swap(0, Ordering::AcqRel) != 0)
    }

    /// Postgres holds a newer token for `shard` than ours: it is somebody else's now.
    /// Releases it (only if still under `epoch`) and wakes the driver.
    pub fn fenced(&self, fence: Fence) {
        if let Some(c) = &self.cluster {
            let _ = c.epochs[fence.shard.get() as usize].compare_exchange(
                fence.epoch,
                0,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            c.changed.notify_one();
        }
    }

    /// Resolves when the group commit found a shard fenced (the driver's wake-up).
    pub async fn changed(&self) {
        match &self.cluster {
            Some(c) => c.changed.notified().await,
            None => std::future::pending().await,
        }
    }

    /// The driver's latest view of the members.
    pub fn set_members(&self, members: Vec<Member>) {
        if let Some(c) = &self.cluster {
            *c.members.write().unwrap_or_else(|e| e.into_inner()) = members;
        }
    }

    /// The driver's latest view of who holds each shard's claim (their URLs, by shard).
    pub fn set_routes(&self, routes: Vec<Option<String>>) {
        if let Some(c) = &self.cluster {
            *c.routes.write().unwrap_or_else(|e| e.into_inner()) = routes;
        }
    }

    /// Where the node holding `shard`'s claim is reached, if another node holds it.
    pub fn route(&self, shard: ShardId) -> Option<String> {
        let c = self.cluster.as_ref()?;
        let routes = c.routes.read().unwrap_or_else(|e| e.into_inner());
        routes.get(shard.get() as usize).cloned().flatten()
    }

    pub fn members(&self) -> Vec<Member> {
        self.cluster.as_ref().map_or_else(Vec::new, |c| {
            c.members.read().unwrap_or_else(|e| e.into_inner()).clone()
        })
    }

    /// The shards this node holds, with their tokens.
    pub fn held(&self) -> Vec<Fence> {
        self.cluster.as_ref().map_or_else(Vec::new, |c| {
            c.epochs
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let epoch = e.load(Ordering::Acquire);
                    (epoch != 0).then_some(Fence {
                        shard: ShardId::new(i as u32),
                        epoch,
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use std::time::Duration;

    #[test]
    fn single_node_owns_everything_unfenced() {
        let o = Ownership::single();
        let key = EntityKey::User(UserId::new(5).unwrap());
        assert_eq!(o.fence(&key).unwrap(), None);
        assert!(o.lease_alive());
    }

    #[test]
    fn a_cluster_node_serves_only_held_shards_while_its_lease_lives() {
        let o = Ownership::cluster(4, "a".into());
        let key = EntityKey::User(UserId::new(5).unwrap());
        let shard = o.shard_of(&key);
        assert!(o.fence(&key).is_err(), "nothing held yet");
        o.take(shard, 7);
        assert!(o.fence(&key).is_err(), "no lease yet");
        o.lease_until(Some(Instant::now() + Duration::from_secs(5)));
        assert_eq!(o.fence(&key).unwrap(), Some(Fence { shard, epoch: 7 }));
        o.lease_until(Some(Instant::now() - Duration::from_millis(1)));
        assert!(o.fence(&key).is_err(), "lease may have expired");
        o.lease_until(Some(Instant::now() + Duration::from_secs(5)));
        // A fence for an older token does not release a newer one.
        o.fenced(Fence { shard, epoch: 3 });
        assert!(o.owns(&key));
        o.fenced(Fence { shard, epoch: 7 });
        assert!(!o.owns(&key));
        assert!(o.held().is_empty());
    }
}

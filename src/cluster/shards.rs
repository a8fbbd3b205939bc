//! Claiming and handing over shards. Every node computes the same assignment from the live
//! members (`domain::shards::assign`) and moves towards it: it hands over what is no longer
//! its own (stop serving, drain the group commit, delete the claim) and claims what is,
//! once the previous owner's claim is gone (released, or expired with its lease). A claim
//! is an etcd transaction bound to the lease; its revision is the shard's new token, which
//! Postgres records before the shard serves anything.

use super::lease::Session;
use super::Node;
use etcd_client::{Compare, CompareOp, GetOptions, Txn, TxnOp, WatchOptions};
use futures_util::StreamExt;
use souk_actors::domain::shards::{assign, Fence, ShardId};
use souk_actors::entity::ownership::Member;
use souk_actors::entity::registry::Registry;
use souk_actors::store::fencing;
use souk_actors::store::group_commit::Flush;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Reconciling also runs this often without any etcd event, as a safety net.
const RESYNC: Duration = Duration::from_millis(500);
/// How long a hand-over waits for the group commit to drain.
const FLUSH_MAX: Duration = Duration::from_secs(10);
/// Claims made at once when many shards are free (a node's first join).
const CLAIMS_IN_FLIGHT: usize = 16;

/// A shard's claim as etcd holds it.
struct Claim {
    node: String,
    lease: i64,
}

pub(super) async fn run(node: Node, registry: Arc<Registry>, shutdown: CancellationToken) {
    let leaving = leave_signal(shutdown);
    tokio::pin!(leaving);
    let ownership = registry.deps.ownership.clone();
    loop {
        let mut session = tokio::select! {
            biased;
            _ = &mut leaving => return,
            opened = Session::open(&node, &ownership) => match opened {
                Ok(session) => session,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach etcd; this node serves nothing until it can");
                    tokio::select! {
                        _ = &mut leaving => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    continue;
                }
            },
        };
        let mut watch = None;
        loop {
            if session.is_lost() {
                let held = all_held(&registry);
                hand_over(&node, &registry, &mut session, held, "lease_lost").await;
                break;
            }
            if watch.is_none() {
                watch = match session.members.client().await {
                    Ok(mut client) => client
                        .watch(node.keys.all(), Some(WatchOptions::new().with_prefix()))
                        .await
                        .ok(),
                    Err(_) => None,
                };
            }
            if let Err(e) = reconcile(&node, &registry, &mut session).await {
                tracing::warn!(error = %e, "cluster reconcile failed; trying the next etcd member");
                session.members.failed();
                watch = None;
            }
            let mut lost = session.lost.clone();
            let event = async {
                match watch.as_mut() {
                    Some((_, stream)) => matches!(stream.message().await, Ok(Some(_))),
                    None => std::future::pending().await,
                }
            };
            let mut watch_ended = false;
            tokio::select! {
                biased;
                _ = &mut leaving => {
                    let held = all_held(&registry);
                    hand_over(&node, &registry, &mut session, held, "released").await;
                    session.close().await;
                    tracing::info!(node = %node.id, "left the cluster");
                    return;
                }
                _ = lost.changed() => {}
                _ = ownership.changed() => {}
                alive = event => watch_ended = !alive,
                _ = tokio::time::sleep(RESYNC) => {}
            }
            if watch_ended {
                watch = None;
            }
        }
    }
}

/// Resolves on the process's shutdown signal or on SIGTERM, whichever comes first: a
/// node starts handing its shards over while its HTTP server still drains.
async fn leave_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => shutdown.cancelled().await,
    }
}

pub(super) fn all_held(registry: &Registry) -> Vec<ShardId> {
    registry
        .deps
        .ownership
        .held()
        .into_iter()
        .map(|f| f.shard)
        .collect()
}

/// One step towards the assignment the live members imply.
async fn reconcile(
    node: &Node,
    registry: &Arc<Registry>,
    session: &mut Session,
) -> Result<(), etcd_client::Error> {
    let ownership = &registry.deps.ownership;
    let metrics = &registry.deps.metrics.cluster;
    let prefix = Some(GetOptions::new().with_prefix());
    let mut client = session.members.client().await?;
    let members = client.get(node.keys.members(), prefix.clone()).await?;
    let mut live: Vec<(String, String)> = members
        .kvs()
        .iter()
        .filter_map(|kv| {
            let id = kv.key_str().ok()?.strip_prefix(&node.keys.members())?;
            let url = serde_json::from_slice::<serde_json::Value>(kv.value())
                .ok()?
                .get("url")?
                .as_str()?
                .to_string();
            Some((id.to_string(), url))
        })
        .collect();
    live.sort();
    let claims = claims(node, &mut client).await?;
    let ids: Vec<&str> = live.iter().map(|(id, _)| id.as_str()).collect();
    let count = ownership.shard_count();
    let owners = assign(count, &ids);
    let me = ids.iter().position(|id| *id == node.id);

    let give: Vec<ShardId> = ownership
        .held()
        .into_iter()
        .map(|f| f.shard)
        .filter(|s| me.is_none() || owners[s.get() as usize] != me)
        .collect();
    if !give.is_empty() {
        hand_over(node, registry, session, give, "released").await;
    }

    if me.is_some() {
        let held: Vec<ShardId> = all_held(registry);
        let mut wanted = Vec::new();
        for shard in (0..count).map(ShardId::new) {
            if owners[shard.get() as usize] != me || held.contains(&shard) {
                continue;
            }
            match claims.get(&shard.get()) {
                None => wanted.push(shard),
                // Our own claim, but not served: Postgres refused its token or fenced it.
                // Dropping it lets the next pass claim anew, with a newer revision.
                Some(c) if c.node == node.id && c.lease == session.lease => {
                    drop_claim(node, &mut client, session.lease, shard).await?;
                }
                // Another node's, or ours from an expired lease: it goes when that node
                // hands it over or its lease runs out.
                Some(_) => {}
            }
        }
        let lease = session.lease;
        futures_util::stream::iter(wanted)
            .map(|shard| claim(node, registry, client.clone(), lease, shard))
            .buffer_unordered(CLAIMS_IN_FLIGHT)
            .collect::<Vec<()>>()
            .await;
    }

    // The view for `GET /v1/admin/cluster`, with the claims as they now stand.
    let claims = self::claims(node, &mut client).await?;
    let view = live
        .into_iter()
        .map(|(id, url)| Member {
            shards: claims.values().filter(|c| c.node == id).count() as u32,
            node_id: id,
            url,
        })
        .collect::<Vec<_>>();
    // Where each shard's holder is reached, for forwarding; this node's own shards route
    // nowhere (they are served here, or refused while this node takes them).
    let urls: HashMap<&str, &str> = view
        .iter()
        .map(|m| (m.node_id.as_str(), m.url.as_str()))
        .collect();
    let routes = (0..count)
        .map(|s| {
            claims
                .get(&s)
                .filter(|c| c.node != node.id)
                .and_then(|c| urls.get(c.node.as_str()))
                .map(|url| url.to_string())
        })
        .collect();
    ownership.set_routes(routes);
    metrics.members.set(view.len() as i64);
    metrics.shards_owned.set(ownership.held().len() as i64);
    ownership.set_members(view);
    Ok(())
}

async fn claims(
    node: &Node,
    client: &mut etcd_client::Client,
) -> Result<HashMap<u32, Claim>, etcd_client::Error> {
    let found = client
        .get(node.keys.shards(), Some(GetOptions::new().with_prefix()))
        .await?;
    Ok(found
        .kvs()
        .iter()
        .filter_map(|kv| {
            let shard = kv
                .key_str()
                .ok()?
                .strip_prefix(&node.keys.shards())?
                .parse()
                .ok()?;
            let claim = Claim {
                node: kv.value_str().ok()?.to_string(),
                lease: kv.lease(),
            };
            Some((shard, claim))
        })
        .collect())
}

/// Claims a free shard: an etcd transaction that creates the claim only if none exists,
/// bound to this node's lease. Its revision is the token, recorded in Postgres before the
/// shard serves; a token Postgres refuses (it holds a newer one) gives the claim back.
async fn claim(
    node: &Node,
    registry: &Arc<Registry>,
    mut client: etcd_client::Client,
    lease: i64,
    shard: ShardId,
) {
    let key = node.keys.shard(shard.get());
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
        .and_then([TxnOp::put(
            key.clone(),
            node.id.clone(),
            Some(etcd_client::PutOptions::new().with_lease(lease)),
        )]);
    let epoch = match client.txn(txn).await {
        Ok(answer) if answer.succeeded() => match answer.header() {
            Some(header) => header.revision(),
            None => return,
        },
        Ok(_) => return,
        Err(e) => {
            tracing::debug!(error = %e, %shard, "claim failed");
            return;
        }
    };
    let fence = Fence { shard, epoch };
    match fencing::take_shard(&registry.deps.pool, fence, &node.id).await {
        Ok(true) => {
            // Anything left from an earlier time this node served the shard (cached pages,
            // an owner still stopping after a fence) goes before the shard serves again.
            registry.drop_shard(shard);
            registry.deps.ownership.take(shard, epoch);
            registry
                .deps
                .metrics
                .cluster
                .handoffs
                .with_label_values(&["taken"])
                .inc();
            tracing::debug!(%shard, epoch, "took shard");
        }
        Ok(false) | Err(_) => {
            tracing::warn!(%shard, epoch, "Postgres did not record this claim's token; giving the claim back");
            let _ = client
                .txn(
                    Txn::new()
                        .when([Compare::value(
                            key.clone(),
                            CompareOp::Equal,
                            node.id.clone(),
                        )])
                        .and_then([TxnOp::delete(key, None)]),
                )
                .await;
        }
    }
}

async fn drop_claim(
    node: &Node,
    client: &mut etcd_client::Client,
    lease: i64,
    shard: ShardId,
) -> Result<(), etcd_client::Error> {
    let key = node.keys.shard(shard.get());
    client
        .txn(
            Txn::new()
                .when([Compare::lease(key.clone(), CompareOp::Equal, lease)])
                .and_then([TxnOp::delete(key, None)]),
        )
        .await?;
    Ok(())
}

/// This node stops serving `shards` at once: no new message reaches their owners (which
/// stop at their next tick) and their cached pages go. Returns the shards it did serve, and
/// how many owners it dropped.
pub(super) fn stop_serving(registry: &Registry, shards: Vec<ShardId>) -> (Vec<ShardId>, usize) {
    let released: Vec<ShardId> = shards
        .into_iter()
        .filter(|s| registry.deps.ownership.release(*s))
        .collect();
    let dropped = released.iter().map(|s| registry.drop_shard(*s)).sum();
    (released, dropped)
}

/// Hands `shards` over: this node stops serving them at once (new messages are refused
/// with a retryable 503 and its owners stop), waits until the group commit has committed
/// or refused everything already submitted for them, then deletes its claims so the next
/// owner can take them and load committed state.
async fn hand_over(
    node: &Node,
    registry: &Arc<Registry>,
    session: &mut Session,
    shards: Vec<ShardId>,
    reason: &'static str,
) {
    let ownership = &registry.deps.ownership;
    let (released, dropped) = stop_serving(registry, shards);
    if released.is_empty() {
        return;
    }
    let (done, flushed) = tokio::sync::oneshot::channel();
    registry.deps.persistence.do_send(Flush(done));
    if tokio::time::timeout(FLUSH_MAX, flushed).await.is_err() {
        tracing::warn!("the group commit did not drain in time; handing over anyway (fencing keeps late writes out)");
    }
    if reason != "lease_lost" {
        for shard in &released {
            let dropped = match session.members.client().await {
                Ok(mut client) => drop_claim(node, &mut client, session.lease, *shard).await,
                Err(e) => Err(e),
            };
            if let Err(e) = dropped {
                session.members.failed();
                tracing::warn!(error = %e, %shard, "could not delete a claim; it expires with the lease");
            }
        }
    }
    registry
        .deps
        .metrics
        .cluster
        .handoffs
        .with_label_values(&[reason])
        .inc_by(released.len() as u64);
    registry
        .deps
        .metrics
        .cluster
        .shards_owned
        .set(ownership.held().len() as i64);
    tracing::info!(
        shards = released.len(),
        actors = dropped,
        reason,
        "handed shards over"
    );
}

//! This node's etcd session: one lease, the member key registered under it, and the
//! keep-alive that tells `Ownership` until when the lease is surely alive. A keep-alive
//! answered with TTL 0 means etcd expired the lease (the node was paused or cut off for
//! longer than the TTL): everything held under it is gone and the session is over.

use super::members::Members;
use super::Node;
use etcd_client::{LeaseKeepAliveStream, LeaseKeeper, PutOptions};
use souk_actors::entity::ownership::Ownership;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub(super) struct Session {
    pub(super) members: Members,
    pub(super) lease: i64,
    /// Becomes true when etcd says the lease expired.
    pub(super) lost: watch::Receiver<bool>,
    /// Stops the keep-alive task.
    stop: CancellationToken,
}

impl Session {
    /// Connects, takes a lease and registers this node under it.
    pub(super) async fn open(
        node: &Node,
        ownership: &Arc<Ownership>,
    ) -> Result<Session, etcd_client::Error> {
        let mut members = Members::new(node.endpoints.clone(), node.ttl / 3);
        let mut client = members.client().await?;
        let sent = Instant::now();
        let lease = match client.lease_grant(node.ttl.as_secs() as i64, None).await {
            Ok(granted) => granted.id(),
            Err(e) => {
                members.failed();
                return Err(e);
            }
        };
        ownership.lease_until(Some(sent + node.ttl - node.margin()));
        let member = serde_json::json!({ "url": node.url }).to_string();
        client
            .put(
                node.keys.member(&node.id),
                member,
                Some(PutOptions::new().with_lease(lease)),
            )
            .await?;
        let (lost_tx, lost) = watch::channel(false);
        let stop = CancellationToken::new();
        tokio::spawn(keep_alive(
            Members::new(node.endpoints.clone(), node.ttl / 3),
            lease,
            node.clone(),
            ownership.clone(),
            lost_tx,
            stop.clone(),
        ));
        tracing::info!(node = %node.id, lease, "joined the cluster");
        Ok(Session {
            members,
            lease,
            lost,
            stop,
        })
    }

    pub(super) fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Ends the session: revoking the lease deletes the member key and every shard claim
    /// made under it at once, so the other nodes may take them immediately.
    pub(super) async fn close(mut self) {
        self.stop.cancel();
        let revoked = match self.members.client().await {
            Ok(mut client) => client.lease_revoke(self.lease).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = revoked {
            tracing::warn!(error = %e, "could not revoke the lease; it expires by itself");
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Renews the lease every third of its TTL. Each answer moves the "surely alive" deadline to
/// the time the request was sent plus the TTL minus the margin: measured from the send, so
/// a slow answer never stretches it.
async fn keep_alive(
    mut members: Members,
    lease: i64,
    node: Node,
    ownership: Arc<Ownership>,
    lost: watch::Sender<bool>,
    stop: CancellationToken,
) {
    let every = node.ttl / 3;
    let mut stream: Option<(LeaseKeeper, LeaseKeepAliveStream)> = None;
    loop {
        let sent = Instant::now();
        if stream.is_none() {
            stream = match members.client().await {
                Ok(mut client) => client.lease_keep_alive(lease).await.ok(),
                Err(_) => None,
            };
        }
        if let Some((keeper, answers)) = &mut stream {
            let answer = tokio::time::timeout(every, async {
                keeper.keep_alive().await?;
                answers.message().await
            })
            .await;
            match answer {
                Ok(Ok(Some(answer))) if answer.ttl() > 0 => {
                    let ttl = Duration::from_secs(answer.ttl() as u64);
                    ownership.lease_until(Some(sent + ttl.saturating_sub(node.margin())));
                }
                Ok(Ok(Some(_))) => {
                    tracing::warn!(lease, "etcd expired this node's lease");
                    ownership.lease_until(None);
                    let _ = lost.send(true);
                    return;
                }
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => {
                    tracing::warn!(
                        lease,
                        "lease keep-alive failed; retrying (this node stops serving if it cannot renew in time)"
                    );
                    stream = None;
                    members.failed();
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until((sent + every).into()) => {}
        }
    }
}

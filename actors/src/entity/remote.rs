//! Messages for owners on other nodes. A message that may cross nodes is `Remote`: it has a
//! name on the wire and its fields and answer travel as JSON. The registry sends it to the
//! local owner when this node serves the key's shard, and otherwise hands it to the
//! `Forwarder` (the http crate's internal client), which delivers it to the node holding
//! the shard; that node runs it through its own registry, local owners only, so a message
//! is never forwarded twice.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ProductId, PromoCode};
use crate::domain::shards::{EntityKey, Fence, ShardId};
use crate::entity::product::ProductActor;
use crate::entity::promo::PromoActor;
use crate::entity::registry::Registry;
use actix::dev::ToEnvelope;
use actix::{Actor, Handler};
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Which kind of owner a forwarded message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Product,
    Promo,
}

impl Kind {
    /// The `kind` label of `souk_cluster_forwarded_total`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::Promo => "promo",
        }
    }
}

/// A message as it crosses to another node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub kind: Kind,
    /// The owner's key: a product id or a promo code, as text.
    pub key: String,
    /// The message's `Remote::NAME`.
    pub message: String,
    pub body: serde_json::Value,
}

/// A message an owner on another node can be sent.
pub trait Remote:
    actix::Message<Result = DomainResult<Self::Answer>>
    + Serialize
    + DeserializeOwned
    + Clone
    + Send
    + 'static
{
    type Answer: Serialize + DeserializeOwned + Send + 'static;
    const NAME: &'static str;
}

/// An owner's answer from another node, with the token of the shard it answered under.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answered {
    pub value: serde_json::Value,
    pub fence: Option<Fence>,
}

/// Delivers an envelope to the node at `url` and returns its owner's answer. Implemented
/// over HTTP by the http crate; the registry holds one in a cluster.
pub trait Forwarder: Send + Sync {
    fn forward(
        &self,
        url: String,
        envelope: Envelope,
    ) -> BoxFuture<'static, DomainResult<Answered>>;
}

/// Packs `msg` for the wire.
pub fn envelope<M: Remote>(kind: Kind, key: String, msg: &M) -> DomainResult<Envelope> {
    Ok(Envelope {
        kind,
        key,
        message: M::NAME.to_string(),
        body: serde_json::to_value(msg)
            .map_err(|e| DomainError::Internal(format!("encoding {}: {e}", M::NAME)))?,
    })
}

/// Reads the answer a remote owner sent for `M`.
pub fn answer<M: Remote>(value: serde_json::Value) -> DomainResult<M::Answer> {
    serde_json::from_value(value)
        .map_err(|e| DomainError::Internal(format!("decoding the answer to {}: {e}", M::NAME)))
}

/// The routing: an owner here is asked directly; one on another node through the
/// forwarder.
impl Registry {
    /// Like `product`, with the token of the shard the answer was decided under (`None`
    /// on a single node), for a write that depends on the answer to carry.
    pub async fn product_fenced<M: Remote>(
        self: &Arc<Self>,
        id: ProductId,
        msg: M,
    ) -> DomainResult<(M::Answer, Option<Fence>)>
    where
        ProductActor: Handler<M>,
        <ProductActor as Actor>::Context: ToEnvelope<ProductActor, M>,
    {
        match self.deps.ownership.fence(&EntityKey::Product(id)) {
            Err(DomainError::NotOwner { shard }) => {
                self.forward(Kind::Product, id.to_string(), shard, msg)
                    .await
            }
            Err(e) => Err(e),
            Ok(fence) => Ok((self.product_here(id, msg).await?, fence)),
        }
    }

    /// Like `promo`, with the token of the shard the answer was decided under.
    pub async fn promo_fenced<M: Remote>(
        self: &Arc<Self>,
        code: &PromoCode,
        msg: M,
    ) -> DomainResult<(M::Answer, Option<Fence>)>
    where
        PromoActor: Handler<M>,
        <PromoActor as Actor>::Context: ToEnvelope<PromoActor, M>,
    {
        match self.deps.ownership.fence(&EntityKey::Promo(code.clone())) {
            Err(DomainError::NotOwner { shard }) => {
                self.forward(Kind::Promo, code.to_string(), shard, msg)
                    .await
            }
            Err(e) => Err(e),
            Ok(fence) => Ok((self.promo_here(code, msg).await?, fence)),
        }
    }

    /// Sends `msg` to the node holding `shard`'s claim; `NotOwner` when none is known
    /// (the shard is between owners), which the caller answers with a retryable 503.
    async fn forward<M: Remote>(
        &self,
        kind: Kind,
        key: String,
        shard: u32,
        msg: M,
    ) -> DomainResult<(M::Answer, Option<Fence>)> {
        let not_owner = DomainError::NotOwner { shard };
        let (Some(forwarder), Some(url)) = (
            self.deps.forwarder.as_ref(),
            self.deps.ownership.route(ShardId::new(shard)),
        ) else {
            return Err(not_owner);
        };
        let envelope = envelope(kind, key, &msg)?;
        self.deps
            .metrics
            .cluster
            .forwarded
            .with_label_values(&[kind.label()])
            .inc();
        let answered = forwarder.forward(url, envelope).await?;
        Ok((answer::<M>(answered.value)?, answered.fence))
    }

    /// A committed change for an owner on another node. Lost only if that node is gone,
    /// and then its successor loads committed state, which already counts the change.
    pub(crate) fn tell_remote<M: Remote>(
        self: &Arc<Self>,
        kind: Kind,
        key: String,
        shard: u32,
        msg: M,
    ) {
        let registry = self.clone();
        tokio::spawn(async move {
            if let Err(e) = registry.forward(kind, key, shard, msg).await {
                tracing::debug!(error = %e, "a committed change was not delivered to its remote owner; it loads committed state");
            }
        });
    }
}

/// Declares messages `Remote` under their type's name.
macro_rules! remote {
    ($($message:ty => $answer:ty),* $(,)?) => {
        $(impl Remote for $message {
            type Answer = $answer;
            const NAME: &'static str = stringify!($message);
        })*
    };
}

use crate::domain::pricing::Discount;
use crate::domain::promo::Promo;
use crate::domain::reservations::{Reserved, Snapshot};
use crate::entity::product::{Commit, GetSnapshot, MarkStale, Release, Reserve, Restock};
use crate::entity::promo::{CheckPromo, GetPromo, RedemptionReleased, SettleClaim};

remote! {
    Reserve => Reserved,
    Commit => (),
    Release => (),
    Restock => (),
    MarkStale => (),
    GetSnapshot => (String, Snapshot),
    CheckPromo => Discount,
    SettleClaim => (),
    RedemptionReleased => (),
    GetPromo => Promo,
}

//! Messages for owners on other nodes. A message that may cross nodes is `Remote`: it has a
//! name on the wire and its fields and answer travel as JSON. The registry sends it to the
//! local owner when this node serves the key's shard, and otherwise hands it to the
//! `Forwarder` (the http crate's internal client), which delivers it to the node holding
//! the shard; that node runs it through its own registry, local owners only, so a message
//! is never forwarded twice.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::shards::Fence;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

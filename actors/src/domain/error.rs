//! The one error type of the domain crate. The HTTP crate maps each variant to a status
//! and a stable code in exactly one place; nothing here knows about HTTP.

use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::money::Money;
use crate::domain::status::OrderStatus;

/// A fixed name (an entity, a field). An alias, so serde does not borrow it from the input
/// (it would for a literal `&str`), which keeps `DomainError` owned when deserialized.
pub type Name = &'static str;

/// Serializable, so a node can answer another node's message with it (`entity::remote`).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DomainError {
    #[error("{entity} {id} not found")]
    NotFound {
        #[serde(deserialize_with = "interned")]
        entity: Name,
        id: i64,
    },
    #[error("product {0} is not for sale")]
    ProductInactive(ProductId),
    #[error("only {available} left of '{name}'")]
    OutOfStock {
        product_id: ProductId,
        name: String,
        requested: i64,
        available: i64,
    },
    #[error("insufficient funds: {required} needed, {balance} available")]
    InsufficientFunds { required: Money, balance: Money },
    #[error("the cart is empty")]
    CartEmpty,
    /// A checkout awaiting an external payment would take its buyer past a bound on what
    /// one buyer may hold unpaid (`unpaid.rs`).
    #[error("{}", limit.explain(*max, *held, *requested))]
    UnpaidLimit {
        limit: crate::domain::unpaid::HoldLimit,
        max: i64,
        held: i64,
        requested: i64,
        product_id: Option<ProductId>,
    },
    /// `message` is language-neutral (`Msg`): the HTTP crate renders it for the reader.
    #[error("{field}: {message}")]
    Invalid {
        #[serde(deserialize_with = "interned")]
        field: Name,
        message: crate::domain::msg::Msg,
    },
    #[error("stock cannot go below zero: {available} on hand and free, change of {delta} asked")]
    StockWouldGoNegative { available: i64, delta: i64 },
    #[error("{kind} product stock is changed with {expected}")]
    WrongStockKind {
        #[serde(deserialize_with = "interned")]
        kind: Name,
        #[serde(deserialize_with = "interned")]
        expected: Name,
    },
    #[error("promo code {code}: {}", reason.explain())]
    PromoInvalid {
        code: crate::domain::ids::PromoCode,
        reason: crate::domain::promo::PromoRefusal,
    },
    /// The cart cannot be paid in Telegram Stars (`stars.rs` says why).
    #[error("{}", reason.explain())]
    NotInStars {
        reason: crate::domain::stars::StarsRefusal,
        product_id: Option<ProductId>,
    },
    #[error("there is no promo code {0}")]
    UnknownPromo(crate::domain::ids::PromoCode),
    #[error("an order cannot move from {from} to {to}")]
    InvalidTransition {
        from: OrderStatus,
        to: OrderStatus,
        allowed: Vec<OrderStatus>,
    },
    #[error("moving an order to {to} has its own endpoint")]
    NeedsItsOwnFlow { to: OrderStatus },
    #[error("a refund of {requested} is more than the {remaining} left to refund")]
    RefundExceedsPaid { requested: Money, remaining: Money },
    #[error("every item of order {order} was delivered, so there is nothing to cancel; the shop can refund it instead")]
    AlreadyDelivered { order: OrderId },
    #[error("the order's status changed meanwhile; read it again")]
    StatusChanged,
    /// The Idempotency-Key already holds an answer: the caller replays it instead.
    #[error("this Idempotency-Key already has an answer")]
    KeyTaken,
    #[error("the database refused the write ({constraint})")]
    Rejected { constraint: String },
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("too many requests in flight; retry shortly")]
    Overloaded,
    /// Another node serves this shard (or this node's lease may have expired): nothing was
    /// done, and a retry reaches the shard's current owner.
    #[error("shard {shard} is not served by this node right now; retry shortly")]
    NotOwner { shard: u32 },
    /// Postgres holds a newer owner's token for this shard: the write was rolled back.
    #[error("shard {shard} was taken over by another node; nothing was written, retry shortly")]
    Fenced { shard: u32 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn not_found_user(id: UserId) -> Self {
        DomainError::NotFound {
            entity: "user",
            id: id.get(),
        }
    }
    pub fn not_found_product(id: ProductId) -> Self {
        DomainError::NotFound {
            entity: "product",
            id: id.get(),
        }
    }
    pub fn not_found_order(id: OrderId) -> Self {
        DomainError::NotFound {
            entity: "order",
            id: id.get(),
        }
    }
    pub fn invalid(field: &'static str, message: crate::domain::msg::Msg) -> Self {
        DomainError::Invalid { field, message }
    }

    /// Postgres class 22 (data exception): a value the request carried that the database
    /// cannot hold (a NUL in text, a number past bigint). The caller's input, not an outage,
    /// and its SQLSTATE is no business of the caller's.
    pub fn data_exception(code: &str) -> Self {
        tracing::debug!(code, "a request's value was refused by Postgres");
        DomainError::invalid(
            "request",
            crate::domain::msg::Msg::new("error-value-unstorable"),
        )
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Reads a name that is a `&'static str` in the error (an entity, a field): each distinct
/// name is kept once for the life of the process. Names come only from Souk's own nodes
/// and are a few dozen fixed words; past a bound, unknown ones read as "unknown".
pub(crate) fn interned<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    const MAX: usize = 1024;
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let name = <String as serde::Deserialize>::deserialize(d)?;
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.get(name.as_str()) {
        return Ok(known);
    }
    if names.len() >= MAX {
        return Ok("unknown");
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    Ok(leaked)
}

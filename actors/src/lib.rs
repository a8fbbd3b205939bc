//! Souk's domain and its actors, in floors that data flows down through:
//! `flows` (multi-actor protocols: checkout, cancel, refunds, payments, returns) →
//! `entity` (the registry and the one actor that owns each product, user, promo) →
//! `store` (every SQL statement and the group commit) → Postgres, all over the pure
//! `domain` (money, ids, statuses, pricing, the entities' state machines, the change
//! records). `views` are read models. Nothing here knows about HTTP.

pub mod baseline;
pub mod domain;
pub mod entity;
pub mod flows;
pub mod metrics;
pub mod store;
pub mod views;

pub use domain::error::{DomainError, DomainResult};

//! Souk's domain and its actors. Money, ids, statuses and pricing are plain types; the
//! actors own stock (`ProductActor`), carts and wallets (`UserActor`) and durability
//! (`PersistenceActor`). Nothing here knows about HTTP.

pub mod address;
pub mod baseline;
pub mod catalog;
pub mod checkout;
pub mod conversation;
pub mod dashboard;
pub mod error;
pub mod ids;
mod lifecycle;
pub mod metrics;
pub mod model;
pub mod money;
pub mod operations;
pub mod orders;
pub mod payments;
pub mod persistence;
pub mod pricing;
pub mod product;
pub mod promo;
pub mod quantity;
pub mod refunds;
pub mod registry;
pub mod returns;
pub mod settlement;
pub mod status;
pub mod stock;
pub mod store;
pub mod unpaid;
pub mod user;
pub mod writes;

pub use error::{DomainError, DomainResult};

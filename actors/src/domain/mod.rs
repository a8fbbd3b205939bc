//! The pure floor: values, rules and state machines. No actix, no tokio, no Postgres and no
//! HTTP status here (`tests/it/architecture.rs` keeps it so); everything above builds on it.

pub mod address;
pub mod backoff;
pub mod broadcast;
pub mod cart;
pub mod changes;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod maintenance;
pub mod model;
pub mod money;
pub mod msg;
pub mod payment;
pub mod pricing;
pub mod promo;
pub mod quantity;
pub mod reservations;
pub mod returns;
pub mod settlement;
pub mod shards;
pub mod stars;
pub mod status;
pub mod stock;
pub mod unpaid;

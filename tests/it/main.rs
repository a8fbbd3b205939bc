//! Integration tests: one binary (one link), one module per area.

mod actors;
mod admin_products;
mod auth;
mod bad_input;
mod bench;
mod cart;
mod catalog;
mod check;
mod client;
mod common;
mod concurrency;
mod durability;
mod external;
mod idempotency;
mod lifecycle;
mod load;
mod operations;
mod ops;
mod orders;
mod outage;
mod proxy;
mod shutdown;
mod smoke;
mod stock;
mod users;
mod wallet;

//! Integration tests: one binary (one link), one module per area.

mod common;
mod concurrency;
mod durability;
mod idempotency;
mod outage;
mod smoke;
mod client;
mod scratch;

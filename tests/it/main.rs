//! Integration tests: one binary (one link), one module per area.

mod common;
mod concurrency;
mod idempotency;
mod smoke;

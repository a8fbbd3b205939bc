//! The middleware every request passes through, outermost first as `src/startup.rs` wraps
//! them: the request's id, metrics and envelope (`request.rs`), panics caught into a 500,
//! CORS, rate limits by route class, and the bound on reading a body.

pub mod cors;
pub mod panics;
pub mod ratelimit;
pub mod read_timeout;
pub mod request;

//! The middleware every request passes through, outermost first as `src/startup.rs` wraps
//! them: the request's id, metrics and envelope (`request.rs`), panics caught into a 500,
//! CORS, rate limits by route class, the bound on reading a body, and (in a cluster) the
//! hand-off of a request to the node that serves its owner.

pub mod cors;
pub mod home;
pub mod panics;
pub mod ratelimit;
pub mod read_timeout;
pub mod request;

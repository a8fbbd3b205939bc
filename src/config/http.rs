//! `[http]` and `[metrics]`: how the server listens, reads requests and what it exports.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub addr: String,
    /// Worker threads for HTTP; 0 means one per core.
    pub workers: usize,
    pub body_limit_bytes: usize,
    /// Bound on reading a request: its headers within this, then its whole body within this
    /// again, so a client trickling bytes cannot hold a connection open.
    pub request_read_timeout_ms: u64,
    /// Comma-separated origins allowed to call from a browser (`https://shop.example`); none by default.
    pub cors_origins: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A product with at most this many units left counts in `souk_stock_low_products`.
    pub stock_low_threshold: i64,
}

//! Idempotency-Key records (P3): the key a request came with, and the answer stored under
//! it in the same transaction as the request's effect. The answer's status and body are the
//! boundary's: it chooses them (`AnswerOf`), the store keeps them, and a replay returns them
//! byte for byte; nothing on this floor makes or reads one.

use serde_json::Value;

/// A request's answer as first sent: replayed byte for byte to a repeated request.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: Value,
}

/// A key's answer and the hash of the request that produced it. A duplicate compares its
/// own hash with this, never with whichever request happens to hold the key in flight: the
/// request in flight may be refused itself (its body differs from the stored answer's).
#[derive(Debug, Clone)]
pub struct KeyAnswer {
    pub request_hash: Vec<u8>,
    pub answer: StoredAnswer,
}

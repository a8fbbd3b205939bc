//! Idempotency-Key handling for ⚑ endpoints. The user's actor gates a key in memory (a
//! duplicate that arrives while the first runs waits for its answer; a different body is
//! refused); the stored answer rides in the same group-commit write as the effect, so after
//! a restart the database replays it. Refusals (4xx) are stored too, so a retry sees the
//! same answer; 5xx answers are not, so a retry after an outage runs again.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::IdempotencyKey;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::Value;
use souk_actors::persistence::persist;
use souk_actors::product::WriteMeta;
use souk_actors::store;
use souk_actors::user::{BeginKey, FinishKey, GateEntry, StoredAnswer};
use souk_actors::writes::{IdempotencyDraft, WriteOp};
use souk_actors::DomainError;
use std::future::Future;

/// A response as JSON: what is stored and replayed.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn new(status: StatusCode, body: impl serde::Serialize) -> ApiResult<Answer> {
        let body = serde_json::to_value(body)
            .map_err(|e| ApiError::from(souk_actors::DomainError::Internal(e.to_string())))?;
        Ok(Answer { status, body })
    }
}

/// How the request ended, so callers can count outcomes (e.g. checkout metrics).
pub enum Served {
    Fresh,
    Replayed,
}

/// Runs `effect` at most once per (caller, key). `effect` must put the draft it is given
/// into its write, so the answer is stored in the same transaction as the change. Every
/// replayed answer is counted in `souk_idempotent_replays_total`.
pub async fn once<F, Fut>(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    request_hash: Vec<u8>,
    request_id: &str,
    effect: F,
) -> ApiResult<(HttpResponse, Served)>
where
    F: FnOnce(IdempotencyDraft) -> Fut,
    Fut: Future<Output = ApiResult<Answer>>,
{
    let result = gate(state, caller, key, request_hash, request_id, effect).await;
    if let Ok((_, Served::Replayed)) = &result {
        state.metrics.idempotent_replays.inc();
    }
    result
}

async fn gate<F, Fut>(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    request_hash: Vec<u8>,
    request_id: &str,
    effect: F,
) -> ApiResult<(HttpResponse, Served)>
where
    F: FnOnce(IdempotencyDraft) -> Fut,
    Fut: Future<Output = ApiResult<Answer>>,
{
    let registry = &state.registry;
    let key = key.0;
    let begin = BeginKey {
        key: key.clone(),
        request_hash: request_hash.clone(),
    };
    // A waiter whose leader failed without an answer (5xx) takes the lead itself; bounded.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match registry.user(caller.user, begin.clone()).await? {
            GateEntry::Mismatch => return Err(reused()),
            GateEntry::Wait(rx) => match rx.await {
                Ok(Some(answer)) => {
                    return Ok((replay(answer.status, answer.body), Served::Replayed))
                }
                _ if attempts < 3 => continue,
                _ => {
                    return Err(ApiError::unavailable(
                        "an earlier request with this Idempotency-Key failed; retry",
                    ))
                }
            },
            GateEntry::Proceed => break,
        }
    }
    let mut held = HeldKey {
        registry: registry.clone(),
        user: caller.user,
        key: Some(key.clone()),
    };
    let result = lead(state, caller, &key, request_hash, request_id, effect).await;
    let answer = match &result {
        Ok((status, body, _)) => Some(StoredAnswer {
            status: *status,
            body: body.clone(),
        }),
        Err(_) => None,
    };
    held.key = None;
    // Told, not asked: the gate lives only in a running actor, and one that stopped (after
    // a write of unknown outcome) has nothing to release; starting a new one would only wait
    // on the database.
    registry.tell_user(caller.user, FinishKey { key, answer });
    let (status, body, served) = result?;
    let response = match served {
        Served::Fresh => HttpResponse::build(status_of(status)).json(body),
        Served::Replayed => replay(status, body),
    };
    Ok((response, served))
}

/// A key this request leads. If the request is dropped before it finishes (the client went
/// away, or the request timed out), the key is released without an answer, so duplicates
/// waiting on it take the lead and find the stored answer, if any, in Postgres.
struct HeldKey {
    registry: std::sync::Arc<souk_actors::registry::Registry>,
    user: souk_actors::ids::UserId,
    key: Option<String>,
}

impl Drop for HeldKey {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.registry
                .tell_user(self.user, FinishKey { key, answer: None });
        }
    }
}

/// The key's owner runs the effect optimistically: the effect's write stores its answer
/// under the key, and if the key already holds one (a retry, or a restart since), the
/// write is refused as a whole and the stored answer is replayed. So a first request costs
/// no extra read, and a retry never applies its effect twice.
async fn lead<F, Fut>(
    state: &AppState,
    caller: Caller,
    key: &str,
    request_hash: Vec<u8>,
    request_id: &str,
    effect: F,
) -> ApiResult<(u16, Value, Served)>
where
    F: FnOnce(IdempotencyDraft) -> Fut,
    Fut: Future<Output = ApiResult<Answer>>,
{
    let draft = IdempotencyDraft {
        user: caller.user,
        key: key.to_string(),
        request_hash,
    };
    let error = match effect(draft.clone()).await {
        Ok(answer) => return Ok((answer.status.as_u16(), answer.body, Served::Fresh)),
        Err(error) if error.code == KEY_TAKEN => return stored(state, &draft).await,
        Err(error) => error,
    };
    if !error.status.is_client_error() {
        // 5xx is not an answer: a retry with this key runs again.
        return Err(error);
    }
    // The refusal is this key's answer from now on; store it so a retry agrees.
    let body = error.body(request_id);
    let status = error.status.as_u16();
    let meta = WriteMeta {
        idempotency: Some(draft.clone()),
        audit: None,
    };
    match persist(
        &state.registry.deps.persistence,
        meta.write(WriteOp::StoredResponse { status, body }),
    )
    .await
    {
        Ok(_) => Err(error),
        Err(DomainError::KeyTaken) => stored(state, &draft).await,
        // The database refused the record itself (e.g. the message quotes input with a NUL,
        // which jsonb cannot hold): the refusal still stands, unrecorded.
        Err(DomainError::Rejected { constraint }) => {
            tracing::warn!(%constraint, "a refusal could not be stored for its key");
            Err(error)
        }
        Err(e) => Err(e.into()),
    }
}

/// The code `DomainError::KeyTaken` maps to.
const KEY_TAKEN: &str = "idempotency_key_in_use";

/// The answer already stored under the key, if the request is the same one.
async fn stored(state: &AppState, draft: &IdempotencyDraft) -> ApiResult<(u16, Value, Served)> {
    match state
        .bounded(store::find_idempotency_key(
            &state.pool,
            draft.user,
            &draft.key,
        ))
        .await?
    {
        Some(stored) if stored.request_hash == draft.request_hash => {
            Ok((stored.status, stored.body, Served::Replayed))
        }
        Some(_) => Err(reused()),
        // Stored, yet not found: the answer outlived its 24 h window meanwhile; retry.
        None => Err(ApiError::unavailable(
            "the Idempotency-Key's answer could not be read; retry",
        )),
    }
}

fn reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was used with a different request; use a new key",
    )
    .with_details(serde_json::json!({ "field": "Idempotency-Key" }))
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A stored answer, sent again with the same status and body.
fn replay(status: u16, body: Value) -> HttpResponse {
    let mut response = HttpResponse::build(status_of(status));
    response.insert_header(("idempotent-replayed", "true"));
    if body.is_null() {
        response.finish()
    } else {
        response.json(body)
    }
}

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
/// into its write, so the answer is stored in the same transaction as the change.
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
    let result = lead(state, caller, &key, request_hash, request_id, effect).await;
    let answer = match &result {
        Ok((status, body, _)) => Some(StoredAnswer {
            status: *status,
            body: body.clone(),
        }),
        Err(_) => None,
    };
    registry
        .user(caller.user, FinishKey { key, answer })
        .await?;
    let (status, body, served) = result?;
    let response = match served {
        Served::Fresh => HttpResponse::build(status_of(status)).json(body),
        Served::Replayed => replay(status, body),
    };
    Ok((response, served))
}

/// The key's owner: replays a stored answer, or runs the effect and stores its answer.
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
    if let Some(stored) = store::find_idempotency_key(&state.pool, caller.user, key).await? {
        if stored.request_hash != request_hash {
            return Err(reused());
        }
        return Ok((stored.status, stored.body, Served::Replayed));
    }
    let draft = IdempotencyDraft {
        user: caller.user,
        key: key.to_string(),
        request_hash,
    };
    match effect(draft.clone()).await {
        Ok(answer) => Ok((answer.status.as_u16(), answer.body, Served::Fresh)),
        Err(error) if error.status.is_client_error() => {
            // The refusal is the answer to this key from now on; store it so a retry agrees.
            let body = error.body(request_id);
            let status = error.status.as_u16();
            let meta = WriteMeta {
                idempotency: Some(draft),
                audit: None,
            };
            persist(
                &state.registry.deps.persistence,
                meta.write(WriteOp::StoredResponse { status, body }),
            )
            .await?;
            Err(error)
        }
        Err(error) => Err(error),
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

//! Idempotency-Key handling for ⚑ endpoints. The user's actor gates a key in memory (a
//! duplicate that arrives while another request holds the key waits for the key's answer,
//! and gets it only if its body is the one that produced it; else it is refused as a
//! reuse); the stored answer rides in the same group-commit write as the effect, so after
//! a restart the database replays it. Refusals (4xx) are stored too, so a retry sees the
//! same answer; 5xx answers are not, so a retry after an outage runs again.
//! HTTP handlers take the answer as a response (`once`); the bot takes it typed (`keyed`):
//! its own effect's value when it ran now, else the stored answer, decoded once (`decode`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::IdempotencyKey;
use crate::i18n::{Lang, Msg};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use souk_actors::domain::changes::IdempotencyDraft;
use souk_actors::domain::changes::Outcome;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::changes::WriteOp;
use souk_actors::domain::idempotency::{KeyAnswer, StoredAnswer};
use souk_actors::entity::gate::{BeginKey, FinishKey, GateEntry};
use souk_actors::store;
use souk_actors::store::group_commit::persist;
use souk_actors::DomainError;
use std::future::Future;

/// An effect's answer: its value, and that value as the JSON that is sent, stored and
/// replayed (made once, here, so what is sent now and what is replayed agree).
pub struct Answer<T> {
    pub status: StatusCode,
    pub body: Value,
    pub value: T,
}

impl<T: serde::Serialize> Answer<T> {
    pub fn new(status: StatusCode, value: T) -> ApiResult<Answer<T>> {
        let body = serde_json::to_value(&value)
            .map_err(|e| ApiError::from(souk_actors::DomainError::Internal(e.to_string())))?;
        Ok(Answer {
            status,
            body,
            value,
        })
    }
}

/// How the request ended, so callers can count outcomes (e.g. checkout metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Fresh,
    Replayed,
}

/// A keyed request's answer before it becomes a response: the value its own effect
/// returned now, or the answer the key already held (status and JSON, as stored).
pub enum Keyed<T> {
    Fresh(Answer<T>),
    Replayed(StoredAnswer),
}

impl<T> Keyed<T> {
    pub fn served(&self) -> Served {
        match self {
            Keyed::Fresh(_) => Served::Fresh,
            Keyed::Replayed(_) => Served::Replayed,
        }
    }

    /// The status and JSON the answer is given with, fresh or stored.
    pub fn into_answer(self) -> (StatusCode, Value) {
        match self {
            Keyed::Fresh(answer) => (answer.status, answer.body),
            Keyed::Replayed(stored) => (status_of(stored.status), stored.body),
        }
    }
}

/// A refusal read back from a stored answer: what it was first answered with.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredRefusal {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub details: Value,
}

/// The envelope of `ApiError::body`, as stored under a key.
#[derive(Deserialize)]
struct StoredEnvelope {
    error: StoredRefusal,
}

/// A replayed answer read back once: `Ok` the value `T` a success was, `Err` the refusal
/// (only 2xx and 4xx answers are ever stored). A body that is neither is this server's
/// error, never a default value.
pub fn decode<T: DeserializeOwned>(stored: &StoredAnswer) -> ApiResult<Result<T, StoredRefusal>> {
    let unreadable = |e: serde_json::Error| {
        ApiError::from(DomainError::Internal(format!(
            "a stored {} answer could not be read: {e}",
            stored.status
        )))
    };
    if (200..300).contains(&stored.status) {
        let value = serde_json::from_value(stored.body.clone()).map_err(unreadable)?;
        return Ok(Ok(value));
    }
    let envelope: StoredEnvelope =
        serde_json::from_value(stored.body.clone()).map_err(unreadable)?;
    Ok(Err(envelope.error))
}

/// Runs `effect` at most once per (caller, key), answering as HTTP: see `keyed`.
pub async fn once<T, F, Fut>(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    request_hash: Vec<u8>,
    request_id: &str,
    lang: Lang,
    effect: F,
) -> ApiResult<(HttpResponse, Served)>
where
    F: FnOnce(IdempotencyDraft) -> Fut,
    Fut: Future<Output = ApiResult<Answer<T>>>,
{
    let keyed = keyed(state, caller, key, request_hash, request_id, lang, effect).await?;
    let served = keyed.served();
    let (status, body) = keyed.into_answer();
    Ok((respond(status, body, served), served))
}

/// Runs `effect` at most once per (caller, key). `effect` must put the draft it is given
/// into its write, so the answer is stored in the same transaction as the change. Every
/// replayed answer is counted in `souk_idempotent_replays_total`.
pub async fn keyed<T, F, Fut>(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    request_hash: Vec<u8>,
    request_id: &str,
    lang: Lang,
    effect: F,
) -> ApiResult<Keyed<T>>
where
    F: FnOnce(IdempotencyDraft) -> Fut,
    Fut: Future<Output = ApiResult<Answer<T>>>,
{
    let result = gate(state, caller, key, request_hash, request_id, lang, effect).await;
    if let Ok(Keyed::Replayed(_)) = &result {
        state.metrics.idempotent_replays.inc();
    }
    result
}

async fn gate<T, F, Fut>(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    request_hash: Vec<u8>,
    request_id: &str,
    lang: Lang,
    effect: F,
) -> ApiResult<Keyed<T>>
where
    F: FnOnce(IdempotencyDraft) -> Fut,
    Fut: Future<Output = ApiResult<Answer<T>>>,
{
    let registry = &state.registry;
    let key = key.0;
    let begin = BeginKey { key: key.clone() };
    // Every duplicate waits, whatever its body: the request holding the key may not be the
    // one whose answer is (or becomes) stored, so only the key's answer can say whether a
    // body is the same request. A waiter whose leader ended without an answer (5xx) takes
    // the lead itself; bounded.
    let mut attempts = 0;
    let mut gated = true;
    loop {
        attempts += 1;
        let entry = match registry.user(caller.user, begin.clone()).await {
            // In a cluster the caller (an admin acting on another owner's node) may be
            // served elsewhere: no gate here, and Postgres still keeps the key to one
            // effect (the stored answer is unique per key and commits with the effect; a
            // concurrent duplicate's write is refused as `KeyTaken` and replays it).
            Err(DomainError::NotOwner { .. }) => {
                gated = false;
                break;
            }
            entry => entry?,
        };
        match entry {
            GateEntry::Wait(rx) => match rx.await {
                Ok(Some(known)) => return replayed_to(&known, &request_hash).map(Keyed::Replayed),
                _ if attempts < 3 => continue,
                _ => {
                    return Err(ApiError::unavailable(Msg::new(
                        "error-idempotency-earlier-failed",
                    )))
                }
            },
            GateEntry::Proceed => break,
        }
    }
    let mut held = HeldKey {
        registry: registry.clone(),
        user: caller.user,
        key: gated.then(|| key.clone()),
    };
    let Led { own, key_answer } =
        lead(state, caller, &key, request_hash, request_id, lang, effect).await;
    held.key = None;
    if !gated {
        return own;
    }
    // Told, not asked: the gate lives only in a running actor, and one that stopped (after
    // a write of unknown outcome) has nothing to release; starting a new one would only wait
    // on the database.
    registry.tell_user(
        caller.user,
        FinishKey {
            key,
            answer: key_answer,
        },
    );
    own
}

/// A key's answer, as given to a request that hashes to `request_hash`: the answer itself
/// if it is the request that produced it, else the refusal of a reused key. This is the
/// only comparison of bodies.
fn replayed_to(known: &KeyAnswer, request_hash: &[u8]) -> ApiResult<StoredAnswer> {
    if known.request_hash != request_hash {
        return Err(reused());
    }
    Ok(known.answer.clone())
}

/// A key this request leads. If the request is dropped before it finishes (the client went
/// away, or the request timed out), the key is released without an answer, so duplicates
/// waiting on it take the lead and find the stored answer, if any, in Postgres.
struct HeldKey {
    registry: std::sync::Arc<souk_actors::entity::registry::Registry>,
    user: souk_actors::domain::ids::UserId,
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

/// What the key's leader ends with: its own answer, and the key's answer (with the hash of
/// the request that produced it) for the duplicates that waited; `None` when the key still
/// has no stored answer (a 5xx, or a refusal the database could not record).
struct Led<T> {
    own: ApiResult<Keyed<T>>,
    key_answer: Option<KeyAnswer>,
}

impl<T> Led<T> {
    /// This request's own answer became the key's answer.
    fn fresh(request_hash: Vec<u8>, answer: Answer<T>) -> Led<T> {
        let status = answer.status.as_u16();
        Led {
            key_answer: Some(known(request_hash, status, answer.body.clone())),
            own: Ok(Keyed::Fresh(answer)),
        }
    }

    /// The key has no answer yet; `error` is this request's alone.
    fn unanswered(error: ApiError) -> Led<T> {
        Led {
            own: Err(error),
            key_answer: None,
        }
    }
}

/// The key's owner runs the effect optimistically: the effect's write stores its answer
/// under the key, and if the key already holds one (a retry, or a restart since), the
/// write is refused as a whole and the stored answer is replayed. So a first request costs
/// no extra read, and a retry never applies its effect twice.
async fn lead<T, F, Fut>(
    state: &AppState,
    caller: Caller,
    key: &str,
    request_hash: Vec<u8>,
    request_id: &str,
    lang: Lang,
    effect: F,
) -> Led<T>
where
    F: FnOnce(IdempotencyDraft) -> Fut,
    Fut: Future<Output = ApiResult<Answer<T>>>,
{
    let draft = IdempotencyDraft {
        user: caller.user,
        key: key.to_string(),
        request_hash,
        answer: stored_answer,
    };
    let error = match effect(draft.clone()).await {
        Ok(answer) => return Led::fresh(draft.request_hash, answer),
        Err(error) if error.code == KEY_TAKEN => return stored(state, &draft).await,
        Err(error) => error,
    };
    if !error.status.is_client_error() {
        // 5xx is not an answer: a retry with this key runs again.
        return Led::unanswered(error);
    }
    // The refusal is this key's answer from now on, as it is sent now (in the request's
    // language); store it so a retry agrees.
    let body = error.body(request_id, lang);
    let status = error.status.as_u16();
    let meta = WriteMeta {
        idempotency: Some(draft.clone()),
        audit: None,
    };
    let write = meta.write(WriteOp::StoredAnswer(StoredAnswer {
        status,
        body: body.clone(),
    }));
    match persist(&state.registry.deps.persistence, write).await {
        // Its own answer leaves as the error it is (so it is counted and logged as one).
        Ok(_) => Led {
            own: Err(error),
            key_answer: Some(known(draft.request_hash, status, body)),
        },
        Err(DomainError::KeyTaken) => stored(state, &draft).await,
        // The database refused the record itself (e.g. the message quotes input with a NUL,
        // which jsonb cannot hold): the refusal still stands, unrecorded.
        Err(DomainError::Rejected { constraint }) => {
            tracing::warn!(%constraint, "a refusal could not be stored for its key");
            Led::unanswered(error)
        }
        Err(e) => Led::unanswered(e.into()),
    }
}

/// The code `DomainError::KeyTaken` maps to.
const KEY_TAKEN: &str = "idempotency_key_in_use";

/// The answer already stored under the key: replayed if the request is the same one, and in
/// any case handed to the duplicates that waited, so each compares its own body with it.
async fn stored<T>(state: &AppState, draft: &IdempotencyDraft) -> Led<T> {
    let found = state
        .bounded(store::idempotency::find(
            &state.pool,
            draft.user,
            &draft.key,
        ))
        .await;
    let key_answer = match found {
        Ok(Some(stored)) => stored,
        // Stored, yet not found: the answer outlived its 24 h window meanwhile; retry.
        Ok(None) => {
            return Led::unanswered(ApiError::unavailable(Msg::new(
                "error-idempotency-answer-unreadable",
            )))
        }
        Err(e) => return Led::unanswered(e),
    };
    Led {
        own: replayed_to(&key_answer, &draft.request_hash).map(Keyed::Replayed),
        key_answer: Some(key_answer),
    }
}

fn known(request_hash: Vec<u8>, status: u16, body: Value) -> KeyAnswer {
    KeyAnswer {
        request_hash,
        answer: StoredAnswer { status, body },
    }
}

/// The answer stored under a key for a committed outcome, in the effect's own transaction:
/// the same status and body the handler answers with (`Answer::new` of the same value).
fn stored_answer(outcome: &Outcome) -> StoredAnswer {
    let json = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    let (status, body) = match outcome {
        Outcome::Order(order) => (StatusCode::CREATED, json(serde_json::to_value(order))),
        Outcome::Stock { report, .. } => (StatusCode::OK, json(serde_json::to_value(report))),
        Outcome::Credit(tx) => (StatusCode::CREATED, json(serde_json::to_value(tx))),
        Outcome::Promo(promo) => (StatusCode::OK, json(serde_json::to_value(promo))),
        Outcome::Id(id) => (StatusCode::CREATED, Value::from(*id)),
        Outcome::Done | Outcome::Restocked(_) | Outcome::Cancelled { .. } => {
            (StatusCode::NO_CONTENT, Value::Null)
        }
        Outcome::Stored(stored) => return stored.clone(),
    };
    StoredAnswer {
        status: status.as_u16(),
        body,
    }
}

fn reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        Msg::new("error-idempotency-key-reused"),
    )
    .with_details(serde_json::json!({ "field": "Idempotency-Key" }))
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A stored answer, sent again with the same status and body.
/// A keyed request's response: a replay says so in a header (and has no body when the
/// stored answer had none).
pub fn respond(status: StatusCode, body: Value, served: Served) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if served == Served::Fresh {
        return response.json(body);
    }
    response.insert_header(("idempotent-replayed", "true"));
    if body.is_null() {
        response.finish()
    } else {
        response.json(body)
    }
}

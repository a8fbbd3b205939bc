//! The nodes' internal API: one node asks another's owner (a product's, a promo code's) with
//! `POST /internal/v1/actor`, signed with `SOUK__CLUSTER__SECRET` in the `Souk-Signature`
//! scheme. The receiver runs the message on its own owners only, so a message never hops
//! twice, and answers `{"ok": …}` or `{"err": <DomainError>}`.

use crate::error::{ApiError, ApiResult};
use crate::extract::signed_body;
use crate::i18n::Msg;
use crate::signature::{sign, SIGNATURE_HEADER};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use souk_actors::domain::error::{DomainError, DomainResult};
use souk_actors::domain::ids::{ProductId, PromoCode};
use souk_actors::domain::shards::{EntityKey, Fence};
use souk_actors::entity::product::{Commit, GetSnapshot, MarkStale, Release, Reserve, Restock};
use souk_actors::entity::promo::{CheckPromo, GetPromo, RedemptionReleased, SettleClaim};
use souk_actors::entity::registry::Registry;
use souk_actors::entity::remote::{Answered, Envelope, Forwarder, Kind, Remote};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const ACTOR_PATH: &str = "/internal/v1/actor";

/// What a node answers another: the owner's answer, or its refusal.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Ok(Answered),
    Err(DomainError),
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(ACTOR_PATH, web::post().to(actor));
}

/// The one HTTP client a node talks to the others with: owner messages (`HttpForwarder`)
/// and forwarded requests (`middleware::home`) share its connections. Each request sets
/// its own timeout; redirects are not followed (a node never sends one).
pub(crate) fn peers() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .ok()
        })
        .as_ref()
}

/// Delivers messages to other nodes over HTTP.
pub struct HttpForwarder {
    client: reqwest::Client,
    secret: SecretString,
    timeout: Duration,
}

impl HttpForwarder {
    /// `timeout` bounds one message's round trip: past it the caller's owner call fails as
    /// unavailable (and a reservation it may have made expires by itself).
    pub fn new(secret: SecretString, timeout: Duration) -> Option<HttpForwarder> {
        Some(HttpForwarder {
            client: peers()?.clone(),
            secret,
            timeout,
        })
    }
}

impl Forwarder for HttpForwarder {
    fn forward(
        &self,
        url: String,
        envelope: Envelope,
    ) -> BoxFuture<'static, DomainResult<Answered>> {
        let client = self.client.clone();
        let timeout = self.timeout;
        let body = serde_json::to_vec(&envelope);
        let secret = self.secret.expose_secret().as_bytes().to_vec();
        Box::pin(async move {
            let body = body.map_err(|e| DomainError::Internal(e.to_string()))?;
            let signature = sign(&secret, &body, chrono::Utc::now().timestamp());
            let unavailable = |e: String| {
                DomainError::Unavailable(format!("the node at {url} did not answer: {e}"))
            };
            let answer = client
                .post(format!("{url}{ACTOR_PATH}"))
                .timeout(timeout)
                .header(SIGNATURE_HEADER, signature)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            if !answer.status().is_success() {
                return Err(unavailable(format!("status {}", answer.status())));
            }
            match answer.json::<Reply>().await {
                Ok(Reply::Ok(answered)) => Ok(answered),
                Ok(Reply::Err(error)) => Err(error),
                Err(e) => Err(unavailable(e.to_string())),
            }
        })
    }
}

/// Another node's message for an owner here, once its signature holds.
async fn actor(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let secret = state
        .cluster_secret
        .as_ref()
        .ok_or_else(|| ApiError::unauthorized(Msg::new("error-not-in-cluster")))?;
    let secret = secret.expose_secret().as_bytes();
    let body = signed_body(&req, &mut payload.into_inner(), secret).await?;
    let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(
            "body",
            Msg::new("error-not-actor-message").arg("reason", e.to_string()),
        )
    })?;
    let reply = match dispatch(&state.registry, envelope).await {
        Ok(answered) => Reply::Ok(answered),
        Err(error) => Reply::Err(error),
    };
    Ok(HttpResponse::Ok().json(reply))
}

async fn dispatch(registry: &Arc<Registry>, e: Envelope) -> DomainResult<Answered> {
    let bad = |what: &str| DomainError::Invalid {
        field: "key",
        message: Msg::new("error-cluster-bad-key").arg("key", what),
    };
    match e.kind {
        Kind::Product => {
            let id: ProductId = e.key.parse().map_err(|_| bad(&e.key))?;
            match e.message.as_str() {
                Reserve::NAME => product::<Reserve>(registry, id, e.body).await,
                Commit::NAME => product::<Commit>(registry, id, e.body).await,
                Release::NAME => product::<Release>(registry, id, e.body).await,
                Restock::NAME => product::<Restock>(registry, id, e.body).await,
                MarkStale::NAME => product::<MarkStale>(registry, id, e.body).await,
                GetSnapshot::NAME => product::<GetSnapshot>(registry, id, e.body).await,
                other => Err(unknown(other)),
            }
        }
        Kind::Promo => {
            let code = PromoCode::parse(&e.key)?;
            match e.message.as_str() {
                CheckPromo::NAME => promo::<CheckPromo>(registry, &code, e.body).await,
                SettleClaim::NAME => promo::<SettleClaim>(registry, &code, e.body).await,
                RedemptionReleased::NAME => {
                    promo::<RedemptionReleased>(registry, &code, e.body).await
                }
                GetPromo::NAME => promo::<GetPromo>(registry, &code, e.body).await,
                other => Err(unknown(other)),
            }
        }
    }
}

fn unknown(message: &str) -> DomainError {
    DomainError::Invalid {
        field: "message",
        message: Msg::new("error-cluster-unknown-message").arg("message", message),
    }
}

fn decode<M: Remote>(body: serde_json::Value) -> DomainResult<M> {
    serde_json::from_value(body).map_err(|e| DomainError::Invalid {
        field: "body",
        message: Msg::new("error-not-actor-message").arg("reason", format!("{}: {e}", M::NAME)),
    })
}

/// The answer, with the token of the shard it was decided under (taken before the owner
/// ran the message: a shard lost meanwhile fails the caller's fence check, never passes it).
fn encode<T: Serialize>(answer: T, fence: Option<Fence>) -> DomainResult<Answered> {
    let value = serde_json::to_value(answer).map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(Answered { value, fence })
}

async fn product<M>(
    registry: &Arc<Registry>,
    id: ProductId,
    body: serde_json::Value,
) -> DomainResult<Answered>
where
    M: Remote,
    souk_actors::entity::product::ProductActor: actix::Handler<M>,
    <souk_actors::entity::product::ProductActor as actix::Actor>::Context:
        actix::dev::ToEnvelope<souk_actors::entity::product::ProductActor, M>,
{
    let fence = registry.deps.ownership.fence(&EntityKey::Product(id))?;
    encode(registry.product_here(id, decode::<M>(body)?).await?, fence)
}

async fn promo<M>(
    registry: &Arc<Registry>,
    code: &PromoCode,
    body: serde_json::Value,
) -> DomainResult<Answered>
where
    M: Remote,
    souk_actors::entity::promo::PromoActor: actix::Handler<M>,
    <souk_actors::entity::promo::PromoActor as actix::Actor>::Context:
        actix::dev::ToEnvelope<souk_actors::entity::promo::PromoActor, M>,
{
    let fence = registry
        .deps
        .ownership
        .fence(&EntityKey::Promo(code.clone()))?;
    encode(registry.promo_here(code, decode::<M>(body)?).await?, fence)
}

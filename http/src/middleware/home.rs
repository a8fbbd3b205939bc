//! In a cluster, a request that acts for one owner is served by the node that serves that
//! owner's shard: a buyer's own requests (`/v1/me/…`, their cart, wallet, checkouts and
//! orders, whose Idempotency-Keys their user actor gates), an admin's requests on one
//! user, order, return, product or promo code, a payment provider's event (its order's
//! buyer, or the user it tops up) and a Telegram update (its sender). Any node accepts
//! them and, when the owner lives elsewhere, sends the request on as it came and the
//! answer back as it went. Every
//! other request (catalog reads, listings) is served where it lands; the owners those ask
//! are reached message by message (`entity::remote`).

use crate::error::ApiError;
use crate::extract::read_body;
use crate::i18n::Msg;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use souk_actors::domain::ids::{OrderId, ProductId, PromoCode, UserId};
use souk_actors::domain::shards::EntityKey;
use std::time::Duration;

/// Marks a request another node sent on: it is served here or refused, never sent again,
/// so two nodes that briefly disagree about a shard cannot pass a request back and forth.
pub const HOP_HEADER: &str = "souk-cluster-hop";

/// Bound on a forwarded request's round trip: the owner's own bounds (actor calls,
/// database) end well before it.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn route(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let pass = |req: ServiceRequest| async move {
        next.call(req).await.map(|res| res.map_into_boxed_body())
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return pass(req).await;
    };
    if !forwardable(&req, &state) {
        return pass(req).await;
    }
    // A webhook names its owner in its body: it is read here and handed on as read.
    let (req, body, key) = if is_webhook(&req) {
        let (http, mut payload) = req.into_parts();
        let body = match read_body(&http, &mut payload).await {
            Ok(body) => body,
            Err(e) => return Ok(ServiceResponse::new(http, e.error_response())),
        };
        let key = webhook_home(&http, &body, &state).await;
        let req = ServiceRequest::from_parts(http, Payload::from(body.clone()));
        (req, Some(body), key)
    } else {
        let key = home(&req, &state).await;
        (req, None, key)
    };
    let Some(url) = key.and_then(|key| elsewhere(&state, &key)) else {
        return pass(req).await;
    };
    let (http, mut payload) = req.into_parts();
    let body = match body {
        Some(body) => Ok(body),
        None => read_body(&http, &mut payload).await,
    };
    let response = match body {
        Ok(body) => match forward(&state, &url, &http, body).await {
            Ok(response) => response,
            Err(e) => e.error_response(),
        },
        Err(e) => e.error_response(),
    };
    Ok(ServiceResponse::new(http, response))
}

/// Where the node serving `key` is reached, if that is not this node.
fn elsewhere(state: &AppState, key: &EntityKey) -> Option<String> {
    let ownership = &state.registry.deps.ownership;
    match ownership.fence(key) {
        Ok(_) => None,
        Err(_) => ownership.route(ownership.shard_of(key)),
    }
}

const PAYMENT_WEBHOOK: &str = "/v1/payments/webhook";
const TELEGRAM_WEBHOOK: &str = "/v1/telegram/webhook";

fn is_webhook(req: &ServiceRequest) -> bool {
    req.method() == Method::POST && matches!(req.path(), PAYMENT_WEBHOOK | TELEGRAM_WEBHOOK)
}

/// The owner a webhook's body acts for: a payment event's order's buyer or topped-up user,
/// a Telegram update's sender. Unreadable bodies are the handler's to refuse, here.
async fn webhook_home(req: &HttpRequest, body: &[u8], state: &AppState) -> Option<EntityKey> {
    if req.path() == TELEGRAM_WEBHOOK {
        let user = crate::telegram::webhook::sender(state, req, body).await?;
        return Some(EntityKey::User(user));
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(user) = value["wallet_topup"]["user_id"].as_i64() {
        return Some(EntityKey::User(UserId::new(user)?));
    }
    let order = OrderId::new(value["order_id"].as_i64()?)?;
    let buyer = souk_actors::store::order_buyer(&state.pool, order);
    Some(EntityKey::User(state.bounded(buyer).await.ok()??))
}

fn forwardable(req: &ServiceRequest, state: &AppState) -> bool {
    state.registry.deps.ownership.node_id().is_some() && !req.headers().contains_key(HOP_HEADER)
}

/// The owner a request acts for, if it acts for one.
async fn home(req: &ServiceRequest, state: &AppState) -> Option<EntityKey> {
    let path = req.path().strip_prefix("/v1/")?;
    let parts: Vec<&str> = path.split('/').collect();
    let writes = req.method() != Method::GET && req.method() != Method::HEAD;
    match parts.as_slice() {
        ["me", ..] => {
            let token = req
                .headers()
                .get(header::AUTHORIZATION)?
                .to_str()
                .ok()?
                .strip_prefix("Bearer ")?;
            let caller = state.keys.verify(token.trim()).ok()?;
            Some(EntityKey::User(caller.user))
        }
        ["admin", "users", id, _, ..] => Some(EntityKey::User(id.parse::<UserId>().ok()?)),
        ["admin", "products", id, ..] if writes => {
            Some(EntityKey::Product(id.parse::<ProductId>().ok()?))
        }
        ["admin", "promos", code] if writes => Some(EntityKey::Promo(PromoCode::parse(code).ok()?)),
        ["admin", "orders", id, _, ..] if writes => {
            let order = id.parse::<OrderId>().ok()?;
            let buyer = souk_actors::store::order_buyer(&state.pool, order);
            Some(EntityKey::User(state.bounded(buyer).await.ok()??))
        }
        ["admin", "returns", id, _, ..] if writes => {
            let id = id.parse::<i64>().ok()?;
            let buyer = souk_actors::store::return_buyer(&state.pool, id);
            Some(EntityKey::User(state.bounded(buyer).await.ok()??))
        }
        _ => None,
    }
}

/// Headers that belong to one connection, not to the request or answer they carry.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// Sends the request to the node at `url` and its answer back unchanged. An owner node that
/// cannot be reached is a retryable 503: its shards move once its lease runs out.
async fn forward(
    state: &AppState,
    url: &str,
    req: &HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let unreachable = |e: &dyn std::fmt::Display| {
        tracing::warn!(%url, error = %e, "the node serving this request did not answer");
        ApiError::unavailable(Msg::new("error-node-unreachable"))
    };
    let client = crate::cluster::peers().ok_or_else(|| unreachable(&"no HTTP client"))?;
    let target = format!(
        "{url}{}",
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|e| unreachable(&e))?;
    let mut outgoing = client
        .request(method, target)
        .timeout(FORWARD_TIMEOUT)
        .body(body);
    for (name, value) in req.headers() {
        if !hop_by_hop(name.as_str()) {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
    }
    let node = state.registry.deps.ownership.node_id().unwrap_or_default();
    outgoing = outgoing.header(HOP_HEADER, node);
    if let Some(peer) = req.peer_addr() {
        outgoing = outgoing.header("x-forwarded-for", peer.ip().to_string());
    }
    state
        .registry
        .deps
        .metrics
        .cluster
        .forwarded
        .with_label_values(&["request"])
        .inc();
    let answer = outgoing.send().await.map_err(|e| unreachable(&e))?;
    let status = actix_web::http::StatusCode::from_u16(answer.status().as_u16())
        .map_err(|e| unreachable(&e))?;
    let mut response = HttpResponse::build(status);
    for (name, value) in answer.headers() {
        if !hop_by_hop(name.as_str()) {
            response.append_header((name.as_str(), value.as_bytes()));
        }
    }
    let bytes = answer.bytes().await.map_err(|e| unreachable(&e))?;
    Ok(response.body(bytes))
}

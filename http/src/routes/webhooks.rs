//! Admin webhook subscriptions: create (the signing secret is shown once), list, read,
//! change, delete; each one's deliveries with their attempts, and a retry. What is sent
//! and when is the dispatcher's (`webhooks/dispatch.rs`).

use super::ListBody;
use crate::error::{ApiError, ApiResult};
use crate::extract::{page_query, path_id, Admin, Json};
use crate::i18n::Msg;
use crate::state::AppState;
use crate::webhooks::target;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use souk_actors::domain::events::{EventId, EventType};
use souk_actors::store::webhooks::{self, NewSubscription, Subscription, SubscriptionPatch};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/webhooks", web::post().to(create))
        .route("/admin/webhooks", web::get().to(list))
        .route("/admin/webhooks/{webhook_id}", web::get().to(get))
        .route("/admin/webhooks/{webhook_id}", web::patch().to(update))
        .route("/admin/webhooks/{webhook_id}", web::delete().to(delete))
        .route(
            "/admin/webhooks/{webhook_id}/deliveries",
            web::get().to(deliveries),
        )
        .route(
            "/admin/webhooks/{webhook_id}/deliveries/{event_id}/retry",
            web::post().to(retry),
        );
}

const DESCRIPTION_MAX: usize = 500;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewWebhookBody {
    #[schema(schema_with = crate::schema::field::webhook_url)]
    url: String,
    #[schema(schema_with = crate::schema::field::webhook_events)]
    events: Vec<String>,
    #[schema(schema_with = crate::schema::field::line_0_500_or_null)]
    description: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchWebhookBody {
    /// `null` or absent leaves it.
    #[schema(schema_with = crate::schema::field::webhook_url_or_null)]
    url: Option<String>,
    /// `null` or absent leaves them.
    #[schema(schema_with = crate::schema::field::webhook_events_or_null)]
    events: Option<Vec<String>>,
    /// `null` clears it; absent leaves it.
    #[serde(default, deserialize_with = "crate::schema::present")]
    #[schema(schema_with = crate::schema::field::line_0_500_or_null)]
    description: Option<Option<String>>,
    /// `false` pauses deliveries: events committed meanwhile are not queued for it.
    active: Option<bool>,
}

/// A new subscription, with its signing secret: the only time the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
struct CreatedWebhook {
    #[serde(flatten)]
    subscription: Subscription,
    /// Verifies `Souk-Signature` on every delivery; store it now, it is not shown again.
    secret: String,
}

fn url(state: &AppState, raw: &str) -> ApiResult<String> {
    target::check(raw, state.webhooks.policy).map_err(|m| ApiError::invalid("url", m))
}

fn events(raw: &[String]) -> ApiResult<Vec<String>> {
    if raw.is_empty() {
        return Err(ApiError::invalid("events", Msg::new("error-events-empty")));
    }
    let mut kinds = Vec::with_capacity(raw.len());
    for name in raw {
        let kind = EventType::parse(name).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::invalid(
                "events",
                Msg::new("error-event-type-unknown")
                    .arg("name", name.as_str())
                    .arg("known", known.join(", ")),
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds.iter().map(|k| k.as_str().to_string()).collect())
}

fn description(raw: Option<String>) -> ApiResult<Option<String>> {
    raw.map(|d| super::text("description", &d, 0, DESCRIPTION_MAX))
        .transpose()
}

fn webhook_id(req: &HttpRequest) -> ApiResult<i64> {
    let id: i64 = path_id(req, "webhook_id")?;
    if id < 1 {
        return Err(ApiError::invalid_id("webhook_id"));
    }
    Ok(id)
}

/// 32 random bytes, hex: the subscription's HMAC key.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", hex::encode(bytes))
}

#[utoipa::path(
    post,
    path = "/v1/admin/webhooks",
    summary = "Subscribe a URL to events (admin); answers the signing secret once",
    tag = "webhooks",
    operation_id = "create_webhook",
    request_body = NewWebhookBody,
    responses((status = 201, body = CreatedWebhook)),
    security(("bearer" = []))
)]
async fn create(
    Admin(_): Admin,
    state: web::Data<AppState>,
    body: Json<NewWebhookBody>,
) -> ApiResult<HttpResponse> {
    let b = body.value;
    let url = url(&state, &b.url)?;
    let events = events(&b.events)?;
    let description = description(b.description)?;
    let secret = new_secret();
    let new = NewSubscription {
        url: &url,
        events: &events,
        description: description.as_deref(),
        secret: &secret,
    };
    let subscription = state.bounded(webhooks::create(&state.pool, &new)).await?;
    tracing::info!(webhook = subscription.id, "webhook subscription created");
    Ok(HttpResponse::Created().json(CreatedWebhook {
        subscription,
        secret,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/admin/webhooks",
    summary = "List webhook subscriptions (admin)",
    tag = "webhooks",
    operation_id = "list_webhooks",
    params(crate::schema::PageParams),
    responses((status = 200, body = ListBody<Subscription>)),
    security(("bearer" = []))
)]
async fn list(
    req: HttpRequest,
    Admin(_): Admin,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (_, page) = page_query(&req)?;
    let page = state.bounded(webhooks::list(&state.pool, page)).await?;
    Ok(HttpResponse::Ok().json(ListBody::from(page)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/webhooks/{webhook_id}",
    summary = "One webhook subscription (admin)",
    tag = "webhooks",
    operation_id = "get_webhook",
    params(("webhook_id" = i64, Path, minimum = 1)),
    responses((status = 200, body = Subscription)),
    security(("bearer" = []))
)]
async fn get(
    req: HttpRequest,
    Admin(_): Admin,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let id = webhook_id(&req)?;
    let subscription = state.bounded(webhooks::get(&state.pool, id)).await?;
    Ok(HttpResponse::Ok().json(subscription))
}

#[utoipa::path(
    patch,
    path = "/v1/admin/webhooks/{webhook_id}",
    summary = "Change a webhook subscription (admin)",
    tag = "webhooks",
    operation_id = "update_webhook",
    params(("webhook_id" = i64, Path, minimum = 1)),
    request_body = PatchWebhookBody,
    responses((status = 200, body = Subscription)),
    security(("bearer" = []))
)]
async fn update(
    req: HttpRequest,
    Admin(_): Admin,
    state: web::Data<AppState>,
    body: Json<PatchWebhookBody>,
) -> ApiResult<HttpResponse> {
    let id = webhook_id(&req)?;
    let b = body.value;
    let patch = SubscriptionPatch {
        url: b.url.as_deref().map(|u| url(&state, u)).transpose()?,
        events: b.events.as_deref().map(events).transpose()?,
        description: b.description.map(description).transpose()?,
        active: b.active,
    };
    let subscription = state
        .bounded(webhooks::update(&state.pool, id, &patch))
        .await?;
    Ok(HttpResponse::Ok().json(subscription))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/webhooks/{webhook_id}",
    summary = "Delete a webhook subscription and its delivery log (admin)",
    tag = "webhooks",
    operation_id = "delete_webhook",
    params(("webhook_id" = i64, Path, minimum = 1)),
    responses((status = 204)),
    security(("bearer" = []))
)]
async fn delete(
    req: HttpRequest,
    Admin(_): Admin,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let id = webhook_id(&req)?;
    state.bounded(webhooks::delete(&state.pool, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/v1/admin/webhooks/{webhook_id}/deliveries",
    summary = "A subscription's deliveries, newest first, with every attempt (admin)",
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("webhook_id" = i64, Path, minimum = 1), crate::schema::PageParams),
    responses((status = 200, body = ListBody<webhooks::Delivery>)),
    security(("bearer" = []))
)]
async fn deliveries(
    req: HttpRequest,
    Admin(_): Admin,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let id = webhook_id(&req)?;
    let (_, page) = page_query(&req)?;
    let page = state
        .bounded(webhooks::deliveries(&state.pool, id, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(page)))
}

#[utoipa::path(
    post,
    path = "/v1/admin/webhooks/{webhook_id}/deliveries/{event_id}/retry",
    summary = "Send one delivery again now, whatever became of it (admin)",
    tag = "webhooks",
    operation_id = "retry_webhook_delivery",
    params(("webhook_id" = i64, Path, minimum = 1), ("event_id" = String, Path, pattern = "^evt_[1-9][0-9]{0,17}$")),
    responses((status = 202)),
    security(("bearer" = []))
)]
async fn retry(
    req: HttpRequest,
    Admin(_): Admin,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let id = webhook_id(&req)?;
    let raw = req.match_info().get("event_id").unwrap_or_default();
    let event = EventId::parse(raw).ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_id",
            Msg::new("error-event-id-pattern"),
        )
        .with_details(serde_json::json!({ "field": "event_id" }))
    })?;
    if !state
        .bounded(webhooks::retry(&state.pool, id, event))
        .await?
    {
        return Err(ApiError::not_found(
            Msg::new("error-webhook-no-delivery")
                .arg("webhook", id)
                .arg("event", event.to_string()),
        ));
    }
    state.webhooks.wake.notify_one();
    Ok(HttpResponse::Accepted().finish())
}

//! `POST /v1/payments/webhook`: a payment provider's events, signed the way Stripe signs
//! webhooks (`Souk-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`).
//! A missing, malformed or stale signature is 401 before the body is read, a MAC that does
//! not match is 401 after, and either is charged to the sender's address, never to the
//! provider's quota. A well-signed event is answered 200 with what became of it (also when
//! rejected), so the provider stops retrying, and an event id is applied once however often
//! it is delivered (I4).

use super::request_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;
use crate::i18n::Msg;
use crate::middleware::ratelimit::{charge_webhook, Webhook};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;
use souk_actors::domain::changes::AuditEntry;
use souk_actors::domain::ids::{OrderId, UserId};
use souk_actors::domain::money::Money;
use souk_actors::domain::payment::EventType;
use souk_actors::domain::payment::PaymentEvent;
use souk_actors::domain::payment::PaymentTarget;
use souk_actors::flows::payments::{self};

use crate::extract::signed_body;
pub use crate::signature::{sign, SIGNATURE_HEADER};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/payments/webhook", web::post().to(webhook));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EventBody {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    amount_minor: i64,
    currency: String,
    order_id: Option<i64>,
    wallet_topup: Option<TopupBody>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TopupBody {
    user_id: i64,
}

#[utoipa::path(
    post,
    path = "/v1/payments/webhook",
    summary = "A payment provider event, HMAC-signed",
    tag = "payments",
    operation_id = "payment_webhook",
    params((
        "Souk-Signature" = String, Header,
        description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">`"
    )),
    request_body = EventBody,
    responses((status = 200, body = souk_actors::domain::payment::Receipt))
)]
async fn webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = authentic_body(&req, &state, &mut payload.into_inner()).await;
    // Only a verified event spends the provider's quota; junk spends its sender's.
    charge_webhook(&req, Webhook::Payments, body.is_ok())?;
    let body = body?;
    let event = parse(parse_json::<EventBody>(&body)?)?;
    let kind = event.kind.as_str();
    let audit = AuditEntry {
        actor: "payment-provider".into(),
        action: "payment.event",
        target: match event.target {
            PaymentTarget::Order(o) => format!("order:{o}"),
            PaymentTarget::WalletTopup(u) => format!("user:{u}"),
        },
        before: None,
        after: None,
        request_id: Some(request_id(&req)),
    };
    let receipt = payments::receive(&state.registry, event, audit).await?;
    let outcome = if receipt.duplicate {
        "duplicate"
    } else {
        receipt.outcome.as_str()
    };
    state
        .metrics
        .payment_events
        .with_label_values(&[kind, outcome])
        .inc();
    Ok(HttpResponse::Ok().json(receipt))
}

/// The body, once the signature proves the provider sent it.
async fn authentic_body(
    req: &HttpRequest,
    state: &AppState,
    payload: &mut actix_web::dev::Payload,
) -> ApiResult<web::Bytes> {
    let secret = state
        .payment_webhook_secret
        .as_ref()
        .ok_or_else(|| ApiError::unauthorized(Msg::new("error-payments-no-secret")))?;
    signed_body(req, payload, secret.expose_secret().as_bytes()).await
}

fn parse(b: EventBody) -> ApiResult<PaymentEvent> {
    let id_ok =
        (1..=255).contains(&b.event_id.len()) && b.event_id.chars().all(|c| c.is_ascii_graphic());
    if !id_ok {
        return Err(ApiError::invalid(
            "event_id",
            Msg::new("error-event-id-shape"),
        ));
    }
    let kind = EventType::parse(&b.kind).ok_or_else(|| {
        ApiError::invalid(
            "type",
            Msg::new("error-field-one-of")
                .arg("field", "type")
                .arg("allowed", "payment.succeeded, payment.failed"),
        )
    })?;
    if b.currency.len() != 3 || !b.currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(
            "currency",
            Msg::new("error-currency-code"),
        ));
    }
    let target = match (b.order_id, b.wallet_topup) {
        (Some(order), None) => PaymentTarget::Order(
            OrderId::new(order)
                .ok_or_else(|| ApiError::invalid("order_id", super::positive_id("order_id")))?,
        ),
        (None, Some(topup)) => PaymentTarget::WalletTopup(
            UserId::new(topup.user_id)
                .ok_or_else(|| ApiError::invalid_id("wallet_topup.user_id"))?,
        ),
        _ => {
            return Err(ApiError::invalid(
                "order_id",
                Msg::new("error-payment-target"),
            ))
        }
    };
    Ok(PaymentEvent {
        event_id: b.event_id,
        kind,
        amount: Money::bounded(b.amount_minor).ok_or_else(|| {
            ApiError::invalid(
                "amount_minor",
                Msg::new("error-amount-within").arg("max", Money::AMOUNT_MAX_MINOR),
            )
        })?,
        currency: b.currency.to_ascii_uppercase(),
        target,
    })
}

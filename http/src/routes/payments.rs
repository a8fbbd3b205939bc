//! `POST /v1/payments/webhook`: a payment provider's events, signed the way Stripe signs
//! webhooks (`Souk-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`).
//! A missing, malformed or stale signature is 401 before the body is read, a MAC that does
//! not match is 401 after, and either is charged to the sender's address, never to the
//! provider's quota. A well-signed event is answered 200 with what became of it (also when
//! rejected), so the provider stops retrying, and an event id is applied once however often
//! it is delivered (I4).

use super::request_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_json, read_body};
use crate::middleware::ratelimit::{charge_webhook, Webhook};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::Sha256;
use souk_actors::domain::changes::AuditEntry;
use souk_actors::domain::ids::{OrderId, UserId};
use souk_actors::domain::money::Money;
use souk_actors::domain::payment::EventType;
use souk_actors::domain::payment::PaymentEvent;
use souk_actors::domain::payment::PaymentTarget;
use souk_actors::flows::payments::{self};

/// How far a signature's timestamp may be from now: a replayed old request is refused.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;
pub const SIGNATURE_HEADER: &str = "Souk-Signature";

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

/// The body, once the signature proves the provider sent it. The header is checked before
/// the body is read, so junk without a fresh, well-formed signature costs no read and no MAC.
async fn authentic_body(
    req: &HttpRequest,
    state: &AppState,
    payload: &mut actix_web::dev::Payload,
) -> ApiResult<web::Bytes> {
    let secret = state.payment_webhook_secret.as_ref().ok_or_else(|| {
        ApiError::unauthorized("payment events are refused: no webhook secret is configured")
    })?;
    let header = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("the Souk-Signature header is missing"))?;
    let signature =
        Signature::parse(header, chrono::Utc::now().timestamp()).map_err(ApiError::unauthorized)?;
    let body = read_body(req, payload).await?;
    if signature.matches(secret.expose_secret().as_bytes(), &body) {
        Ok(body)
    } else {
        Err(ApiError::unauthorized("the signature does not match"))
    }
}

fn parse(b: EventBody) -> ApiResult<PaymentEvent> {
    let id_ok =
        (1..=255).contains(&b.event_id.len()) && b.event_id.chars().all(|c| c.is_ascii_graphic());
    if !id_ok {
        return Err(ApiError::invalid(
            "event_id",
            "event_id must be 1..=255 printable ASCII characters",
        ));
    }
    let kind = EventType::parse(&b.kind).ok_or_else(|| {
        ApiError::invalid(
            "type",
            "type must be \"payment.succeeded\" or \"payment.failed\"",
        )
    })?;
    if b.currency.len() != 3 || !b.currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(
            "currency",
            "currency must be a three-letter code",
        ));
    }
    let target = match (b.order_id, b.wallet_topup) {
        (Some(order), None) => PaymentTarget::Order(
            OrderId::new(order)
                .ok_or_else(|| ApiError::invalid("order_id", "order_id must be a positive id"))?,
        ),
        (None, Some(topup)) => PaymentTarget::WalletTopup(
            UserId::new(topup.user_id)
                .ok_or_else(|| ApiError::invalid_id("wallet_topup.user_id"))?,
        ),
        _ => {
            return Err(ApiError::invalid(
                "order_id",
                "an event names exactly one of order_id and wallet_topup",
            ))
        }
    };
    Ok(PaymentEvent {
        event_id: b.event_id,
        kind,
        amount: Money::bounded(b.amount_minor).ok_or_else(|| {
            ApiError::invalid(
                "amount_minor",
                format!(
                    "amount_minor must be within {} of zero",
                    Money::AMOUNT_MAX_MINOR
                ),
            )
        })?,
        currency: b.currency.to_ascii_uppercase(),
        target,
    })
}

/// A `Souk-Signature` header, `t=<unix>,v1=<hex>[,v1=<hex>...]`, whose timestamp is within
/// the tolerance of now. Any `v1` may match, so a provider rotating its secret can sign with
/// the old and the new one at once.
pub struct Signature {
    t: i64,
    v1: Vec<Vec<u8>>,
}

impl Signature {
    pub fn parse(header: &str, now: i64) -> Result<Signature, &'static str> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                Some(("v1", hex_sig)) => {
                    if let Ok(sig) = hex::decode(hex_sig) {
                        v1.push(sig);
                    }
                }
                _ => {}
            }
        }
        let t = timestamp.ok_or("the signature has no valid timestamp")?;
        // `abs_diff` cannot overflow, so no `t` however far off wraps into the tolerance.
        if t.abs_diff(now) > SIGNATURE_TOLERANCE_SECS.unsigned_abs() {
            return Err("the signature's timestamp is outside the 5-minute tolerance");
        }
        if v1.is_empty() {
            return Err("the signature has no v1 value");
        }
        Ok(Signature { t, v1 })
    }

    /// Whether any `v1` is the MAC of `body` under `secret`; compared in constant time
    /// (`verify_slice`).
    pub fn matches(&self, secret: &[u8], body: &[u8]) -> bool {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(self.t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        self.v1
            .iter()
            .any(|sig| mac.clone().verify_slice(sig).is_ok())
    }
}

/// Checks a whole signature header against the raw body.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> Result<(), &'static str> {
    if Signature::parse(header, now)?.matches(secret, body) {
        Ok(())
    } else {
        Err("the signature does not match")
    }
}

/// The header a provider would send for `body` at `t`; for tests and tools.
pub fn sign(secret: &[u8], body: &[u8], t: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_until_it_is_stale_and_any_v1_may_match() {
        let body = br#"{"a":1}"#;
        let good = sign(b"secret", body, 1_000);
        assert_eq!(verify(b"secret", &good, body, 1_000), Ok(()));
        assert_eq!(verify(b"secret", &good, body, 1_300), Ok(()));
        assert!(verify(b"secret", &good, body, 1_301).is_err());
        assert!(verify(b"other", &good, body, 1_000).is_err());
        assert!(verify(b"secret", &good, br#"{"a":2}"#, 1_000).is_err());
        let old = sign(b"old-secret", body, 1_000);
        let rotated = format!(
            "{good},{}",
            old.split_once(',').map(|(_, v)| v).unwrap_or("")
        );
        assert_eq!(verify(b"old-secret", &rotated, body, 1_000), Ok(()));
        assert_eq!(verify(b"secret", &rotated, body, 1_000), Ok(()));
        for bad in ["", "t=abc,v1=00", "v1=00", "t=1000", "t=1000,v1=zz"] {
            assert!(verify(b"secret", bad, body, 1_000).is_err(), "{bad}");
        }
        for t in [i64::MIN, i64::MIN + 1_000, i64::MAX, 1_000 - i64::MAX] {
            let far = sign(b"secret", body, t);
            assert!(verify(b"secret", &far, body, 1_000).is_err(), "t={t}");
        }
    }
}

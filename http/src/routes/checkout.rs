//! `POST /v1/me/checkout` ⚑: wallet payment through the user's actor (DESIGN.md's protocol),
//! or an order that waits for its payment: from a provider (`external`) or in Telegram
//! Stars (`stars`, answered with a link to its invoice).

use super::request_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdempotencyKey, Json};
use crate::i18n::Msg;
use crate::idempotency::{keyed, respond, Answer, Served};
use crate::state::AppState;
use crate::telegram::stars;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use souk_actors::domain::address::ShippingAddress;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::ids::PromoCode;
use souk_actors::domain::model::PaymentMethod;
use souk_actors::domain::status::OrderStatus;
use souk_actors::flows::checkout::Checkout;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/checkout", web::post().to(checkout));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CheckoutBody {
    #[schema(schema_with = crate::schema::field::promo_code_or_null)]
    promo_code: Option<String>,
    #[schema(value_type = souk_actors::domain::model::PaymentMethod)]
    payment: String,
    shipping_address: Option<AddressBody>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AddressBody {
    #[schema(schema_with = crate::schema::field::line_1_200)]
    name: String,
    #[schema(schema_with = crate::schema::field::line_1_200)]
    line1: String,
    #[schema(schema_with = crate::schema::field::line_1_200_or_null)]
    line2: Option<String>,
    #[schema(schema_with = crate::schema::field::line_1_100)]
    city: String,
    #[schema(schema_with = crate::schema::field::line_1_20)]
    postal_code: String,
    #[schema(schema_with = crate::schema::field::country)]
    country: String,
}

/// The order, and for one paid in Stars a link that opens its invoice in Telegram
/// (`Telegram.WebApp.openInvoice`). The link is made per answer, so a replay of the key
/// answers the same order with a fresh link.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Placed {
    #[serde(flatten)]
    order: souk_actors::domain::model::Order,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_link: Option<String>,
}

impl AddressBody {
    fn parse(&self) -> ApiResult<ShippingAddress> {
        let a = self;
        Ok(ShippingAddress::parse(
            &a.name,
            &a.line1,
            a.line2.as_deref(),
            &a.city,
            &a.postal_code,
            &a.country,
        )?)
    }
}

#[utoipa::path(
    post,
    path = "/v1/me/checkout",
    summary = "Turn the cart into an order, paid from the wallet or externally",
    tag = "checkout",
    params(crate::schema::IdempotencyKeyHeader),
    request_body = CheckoutBody,
    responses((status = 201, body = Placed)),
    security(("bearer" = []))
)]
async fn checkout(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<CheckoutBody>,
) -> ApiResult<HttpResponse> {
    let started = std::time::Instant::now();
    let result = run(&req, caller, &state, key, body).await;
    state
        .metrics
        .checkout_seconds
        .observe(started.elapsed().as_secs_f64());
    let ended = result.as_ref().map(|(_, served)| *served);
    crate::checkout_outcome::count(&state.metrics.checkouts, ended);
    result.map(|(response, _)| response)
}

async fn run(
    req: &HttpRequest,
    caller: Caller,
    state: &AppState,
    key: IdempotencyKey,
    body: Json<CheckoutBody>,
) -> ApiResult<(HttpResponse, Served)> {
    state.maintenance.guard(&caller)?;
    let rid = request_id(req);
    let actor = caller.audit_name();
    let audit = super::audit(
        req,
        &caller,
        "order.checkout",
        format!("user:{}", caller.user),
    );
    let shop = state.shop.clone();
    let bot = state.telegram.clone();
    let (hash, body) = (body.hash, body.value);
    // Validation runs under the key: a reused key is refused before anything else is said.
    let keyed = keyed(
        state,
        caller,
        key,
        hash,
        &rid,
        crate::i18n::Lang::of_request(req.headers()),
        |draft| async move {
            let payment = validate(&body)?;
            if payment == PaymentMethod::Stars {
                stars::require_enabled(&bot)?;
            }
            let promo = body
                .promo_code
                .as_deref()
                .map(PromoCode::parse)
                .transpose()
                .map_err(|_| promo_error("malformed"))?;
            let shipping_address = body
                .shipping_address
                .as_ref()
                .map(AddressBody::parse)
                .transpose()?;
            let meta = WriteMeta {
                idempotency: Some(draft),
                audit: Some(audit),
            };
            if promo.is_some() && !shop.takes_promos() {
                return Err(promo_error("unsupported"));
            }
            let checkout = Checkout {
                meta,
                actor,
                shipping_address,
                promo,
                payment,
            };
            let order = shop.checkout(caller.user, checkout).await?;
            Answer::new(StatusCode::CREATED, order)
        },
    )
    .await?;
    let served = keyed.served();
    let (status, mut body) = keyed.into_answer();
    if status == StatusCode::CREATED {
        let lang = crate::i18n::Lang::of_request(req.headers());
        if let Some(link) = stars_link(state, &body, lang).await? {
            body["invoice_link"] = Value::String(link);
        }
    }
    Ok((respond(status, body, served), served))
}

/// A fresh invoice link for an order placed to be paid in Stars and not paid yet.
async fn stars_link(
    state: &AppState,
    body: &Value,
    lang: crate::i18n::Lang,
) -> ApiResult<Option<String>> {
    let waits_for_stars = body["payment"] == PaymentMethod::Stars.as_str()
        && body["status"] == OrderStatus::PendingPayment.as_str();
    if !waits_for_stars {
        return Ok(None);
    }
    let order: stars::Invoiced = serde_json::from_value(body.clone()).map_err(|e| {
        ApiError::from(souk_actors::DomainError::Internal(format!(
            "a stored order could not be read: {e}"
        )))
    })?;
    stars::invoice_link(state, &order, lang).await.map(Some)
}

fn validate(body: &CheckoutBody) -> ApiResult<PaymentMethod> {
    PaymentMethod::parse(&body.payment).ok_or_else(|| {
        ApiError::invalid(
            "payment",
            Msg::new("error-field-one-of")
                .arg("field", "payment")
                .arg("allowed", "wallet, external, stars"),
        )
    })
}

/// A code that cannot even be a code, said in the same shape as any other refusal.
fn promo_error(reason: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "promo_invalid",
        Msg::new("error-promo-code-unusable"),
    )
    .with_details(json!({ "field": "promo_code", "reason": reason }))
}

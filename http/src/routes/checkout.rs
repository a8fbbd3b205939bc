//! `POST /v1/me/checkout` ⚑: wallet payment through the user's actor (DESIGN.md's protocol).

use super::request_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdempotencyKey, Json};
use crate::idempotency::{once, Answer, Served};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use souk_actors::domain::address::ShippingAddress;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::ids::PromoCode;
use souk_actors::domain::model::PaymentMethod;
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
    responses((status = 201, body = souk_actors::domain::model::Order)),
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
    let (hash, body) = (body.hash, body.value);
    // Validation runs under the key: a reused key is refused before anything else is said.
    once(state, caller, key, hash, &rid, |draft| async move {
        let payment = validate(&body)?;
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
    })
    .await
}

fn validate(body: &CheckoutBody) -> ApiResult<PaymentMethod> {
    PaymentMethod::parse(&body.payment)
        .ok_or_else(|| ApiError::invalid("payment", "payment must be \"wallet\" or \"external\""))
}

/// A code that cannot even be a code, said in the same shape as any other refusal.
fn promo_error(reason: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "promo_invalid",
        "promo_code is not a usable promo code",
    )
    .with_details(json!({ "field": "promo_code", "reason": reason }))
}

//! The caller's cart, priced by the same function as checkout.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{path_id, Json};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use souk_actors::domain::error::DomainError;
use souk_actors::domain::ids::PromoCode;
use souk_actors::domain::ids::{ProductId, UserId};
use souk_actors::domain::money::Money;
use souk_actors::domain::pricing::{line_total, price, subtotal, Discount, PricedLine};
use souk_actors::domain::promo::PromoRefusal;
use souk_actors::domain::quantity::Quantity;
use souk_actors::entity::promo::CheckPromo;
use souk_actors::entity::user::{ClearCart, SetCartPromo};
use souk_actors::flows::cart::cart_view;
use souk_actors::flows::cart::CartLineView;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/cart", web::get().to(get_cart))
        .route("/me/cart", web::delete().to(clear_cart))
        .route("/me/cart/items/{product_id}", web::put().to(set_line))
        .route("/me/cart/items/{product_id}", web::delete().to(remove_line))
        .route("/me/cart/promo", web::post().to(apply_promo))
        .route("/me/cart/promo", web::delete().to(remove_promo));
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CartLineBody {
    pub product_id: ProductId,
    pub name: String,
    pub quantity: i64,
    pub unit_price_minor: Money,
    pub line_total_minor: Money,
    pub available: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CartBody {
    pub lines: Vec<CartLineBody>,
    pub subtotal_minor: Money,
    pub discount_minor: Money,
    pub shipping_minor: Money,
    pub tax_minor: Money,
    pub total_minor: Money,
    pub tax_included_minor: Money,
    pub currency: String,
    pub promo_code: Option<PromoCode>,
    /// Why the cart's code gives no discount right now (it is kept: it may apply again,
    /// e.g. once the cart reaches the minimum); checkout refuses it while this is set.
    pub promo_refusal: Option<Refusal>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Refusal {
    reason: PromoRefusal,
    message: &'static str,
}

pub async fn render(state: &AppState, user: UserId) -> ApiResult<CartBody> {
    let (view, promo) = state.shop.cart(user).await?;
    let mut lines = Vec::with_capacity(view.len());
    let mut priced = Vec::with_capacity(view.len());
    for line in view {
        let p = line.priced();
        priced.push(p);
        lines.push(CartLineBody {
            product_id: line.product,
            name: line.name,
            quantity: line.quantity.get(),
            unit_price_minor: line.snapshot.price,
            line_total_minor: line_total(p)?,
            available: line.snapshot.available,
        });
    }
    let (discount, promo_refusal) = match &promo {
        Some(code) => match check(state, user, code, subtotal(&priced)?).await {
            Ok(d) => (Some(d), None),
            Err(DomainError::PromoInvalid { reason, .. }) => (
                None,
                Some(Refusal {
                    reason,
                    message: reason.explain(),
                }),
            ),
            Err(e) => return Err(e.into()),
        },
        None => (None, None),
    };
    let totals = price(&priced, &state.registry.deps.config.pricing, discount)?;
    Ok(CartBody {
        lines,
        subtotal_minor: totals.subtotal_minor,
        discount_minor: totals.discount_minor,
        shipping_minor: totals.shipping_minor,
        tax_minor: totals.tax_minor,
        total_minor: totals.total_minor,
        tax_included_minor: totals.tax_included_minor,
        currency: state.currency.clone(),
        promo_code: promo,
        promo_refusal,
    })
}

/// Whether `code` applies to this user's cart now, without claiming a redemption.
async fn check(
    state: &AppState,
    user: UserId,
    code: &PromoCode,
    subtotal: Money,
) -> Result<Discount, DomainError> {
    let check = CheckPromo {
        user,
        subtotal,
        now: chrono::Utc::now(),
        claim: None,
    };
    check.ask(&state.registry, code).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PromoBody {
    #[schema(schema_with = crate::openapi::field::promo_code)]
    code: String,
}

/// Puts a code on the cart only if it applies to the cart as it is; otherwise 422
/// `promo_invalid` says why, and the cart keeps what it had.
#[utoipa::path(
    post,
    path = "/v1/me/cart/promo",
    tag = "cart",
    request_body = PromoBody,
    responses((status = 200, body = CartBody)),
    security(("bearer" = []))
)]
async fn apply_promo(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<PromoBody>,
) -> ApiResult<HttpResponse> {
    if !state.shop.takes_promos() {
        return Err(ApiError::invalid(
            "code",
            "promo codes need the actors engine",
        ));
    }
    let code = PromoCode::parse(&body.value.code)?;
    let (view, _) = cart_view(&state.registry, caller.user).await?;
    let priced: Vec<PricedLine> = view.iter().map(CartLineView::priced).collect();
    check(&state, caller.user, &code, subtotal(&priced)?).await?;
    let set = SetCartPromo { code: Some(code) };
    state.registry.user(caller.user, set).await?;
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

#[utoipa::path(
    delete,
    path = "/v1/me/cart/promo",
    summary = "Take the promo code off the cart",
    tag = "cart",
    responses((status = 200, body = CartBody)),
    security(("bearer" = []))
)]
async fn remove_promo(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let set = SetCartPromo { code: None };
    state.registry.user(caller.user, set).await?;
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

#[utoipa::path(
    get,
    path = "/v1/me/cart",
    summary = "The caller's cart, priced as checkout would price it",
    tag = "cart",
    responses((status = 200, body = CartBody)),
    security(("bearer" = []))
)]
async fn get_cart(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LineBody {
    #[schema(minimum = 1, maximum = 100)]
    quantity: i64,
}

#[utoipa::path(
    put,
    path = "/v1/me/cart/items/{product_id}",
    summary = "Set a cart line's quantity",
    tag = "cart",
    params(("product_id" = i64, Path, minimum = 1)),
    request_body = LineBody,
    responses((status = 200, body = CartBody)),
    security(("bearer" = []))
)]
async fn set_line(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<LineBody>,
) -> ApiResult<HttpResponse> {
    let product: ProductId = path_id(&req, "product_id")?;
    let quantity = Quantity::new(body.value.quantity).ok_or_else(|| {
        ApiError::invalid(
            "quantity",
            format!("quantity must be 1..={}", Quantity::MAX),
        )
    })?;
    set(&state, caller.user, product, Some(quantity)).await?;
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

#[utoipa::path(
    delete,
    path = "/v1/me/cart/items/{product_id}",
    summary = "Remove a cart line",
    tag = "cart",
    params(("product_id" = i64, Path, minimum = 1)),
    responses((status = 200, body = CartBody)),
    security(("bearer" = []))
)]
async fn remove_line(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let product: ProductId = path_id(&req, "product_id")?;
    set(&state, caller.user, product, None).await?;
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

async fn set(
    state: &AppState,
    user: UserId,
    product: ProductId,
    quantity: Option<Quantity>,
) -> ApiResult<()> {
    state.shop.set_cart_line(user, product, quantity).await?;
    Ok(())
}

#[utoipa::path(
    delete,
    path = "/v1/me/cart",
    summary = "Empty the cart",
    tag = "cart",
    responses((status = 200, body = CartBody)),
    security(("bearer" = []))
)]
async fn clear_cart(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.registry.user(caller.user, ClearCart).await?;
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

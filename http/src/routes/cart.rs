//! The caller's cart, priced by the same function as checkout.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{path_id, Json};
use crate::i18n::Msg;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use souk_actors::domain::ids::PromoCode;
use souk_actors::domain::ids::{ProductId, UserId};
use souk_actors::domain::pricing::{subtotal, PricedLine};
use souk_actors::domain::quantity::Quantity;
use souk_actors::entity::user::{ClearCart, SetCartPromo};
use souk_actors::flows::cart::cart_view;
use souk_actors::flows::cart::{self, CartLineView, PricedCart};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/cart", web::get().to(get_cart))
        .route("/me/cart", web::delete().to(clear_cart))
        .route("/me/cart/items/{product_id}", web::put().to(set_line))
        .route("/me/cart/items/{product_id}", web::delete().to(remove_line))
        .route("/me/cart/promo", web::post().to(apply_promo))
        .route("/me/cart/promo", web::delete().to(remove_promo));
}

/// The caller's cart priced as checkout would price it now.
pub async fn render(state: &AppState, user: UserId) -> ApiResult<PricedCart> {
    let view = state.shop.cart(user).await?;
    Ok(cart::priced(&state.registry, user, view).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PromoBody {
    #[schema(schema_with = crate::schema::field::promo_code)]
    code: String,
}

/// Puts a code on the cart only if it applies to the cart as it is; otherwise 422
/// `promo_invalid` says why, and the cart keeps what it had.
#[utoipa::path(
    post,
    path = "/v1/me/cart/promo",
    tag = "cart",
    request_body = PromoBody,
    responses((status = 200, body = PricedCart)),
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
            Msg::new("error-promo-needs-actors"),
        ));
    }
    let code = PromoCode::parse(&body.value.code)?;
    let (view, _) = cart_view(&state.registry, caller.user).await?;
    let priced: Vec<PricedLine> = view.iter().map(CartLineView::priced).collect();
    cart::check_code(&state.registry, caller.user, &code, subtotal(&priced)?).await?;
    let set = SetCartPromo { code: Some(code) };
    state.registry.user(caller.user, set).await?;
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

#[utoipa::path(
    delete,
    path = "/v1/me/cart/promo",
    summary = "Take the promo code off the cart",
    tag = "cart",
    responses((status = 200, body = PricedCart)),
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
    responses((status = 200, body = PricedCart)),
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
    responses((status = 200, body = PricedCart)),
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
            Msg::new("error-field-range")
                .arg("field", "quantity")
                .arg("min", 1)
                .arg("max", Quantity::MAX),
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
    responses((status = 200, body = PricedCart)),
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
    responses((status = 200, body = PricedCart)),
    security(("bearer" = []))
)]
async fn clear_cart(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.registry.user(caller.user, ClearCart).await?;
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

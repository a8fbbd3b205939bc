//! The caller's cart, priced by the same function as checkout.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{path_id, Json};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use souk_actors::baseline::{self, Engine};
use souk_actors::ids::{ProductId, UserId};
use souk_actors::money::Money;
use souk_actors::pricing::{line_total, price, PricedLine};
use souk_actors::quantity::Quantity;
use souk_actors::user::{cart_view, ClearCart, SetCartLine};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/cart", web::get().to(get_cart))
        .route("/me/cart", web::delete().to(clear_cart))
        .route("/me/cart/items/{product_id}", web::put().to(set_line))
        .route("/me/cart/items/{product_id}", web::delete().to(remove_line));
}

#[derive(Serialize)]
pub struct CartLineBody {
    product_id: ProductId,
    name: String,
    quantity: i64,
    unit_price_minor: Money,
    line_total_minor: Money,
    available: i64,
}

#[derive(Serialize)]
pub struct CartBody {
    lines: Vec<CartLineBody>,
    subtotal_minor: Money,
    discount_minor: Money,
    shipping_minor: Money,
    tax_minor: Money,
    total_minor: Money,
    currency: String,
    promo_code: Option<String>,
}

pub async fn render(state: &AppState, user: UserId) -> ApiResult<CartBody> {
    let view = match state.engine {
        Engine::Actors => cart_view(&state.registry, user).await?,
        Engine::RowLocks => {
            state
                .bounded(baseline::cart_view(&state.pool, user))
                .await?
        }
    };
    let mut lines = Vec::with_capacity(view.len());
    let mut priced = Vec::with_capacity(view.len());
    for line in view {
        let p = PricedLine {
            unit_price: line.snapshot.price,
            quantity: line.quantity.get(),
        };
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
    let totals = price(&priced)?;
    Ok(CartBody {
        lines,
        subtotal_minor: totals.subtotal_minor,
        discount_minor: totals.discount_minor,
        shipping_minor: totals.shipping_minor,
        tax_minor: totals.tax_minor,
        total_minor: totals.total_minor,
        currency: state.currency.clone(),
        promo_code: None,
    })
}

async fn get_cart(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineBody {
    quantity: i64,
}

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
    match state.engine {
        Engine::Actors => {
            state
                .registry
                .user(user, SetCartLine { product, quantity })
                .await?;
        }
        Engine::RowLocks => {
            state
                .bounded(baseline::set_cart_line(
                    &state.pool,
                    user,
                    product,
                    quantity,
                ))
                .await?
        }
    }
    Ok(())
}

async fn clear_cart(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.registry.user(caller.user, ClearCart).await?;
    Ok(HttpResponse::Ok().json(render(&state, caller.user).await?))
}

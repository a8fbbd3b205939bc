//! Orders: the caller's own (someone else's order is 404), and the staff list.

use super::ListBody;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::extract::{page_query, path_id, Staff};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use souk_actors::ids::OrderId;
use souk_actors::status::OrderStatus;
use souk_actors::store::{self, ShowItems};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/orders", web::get().to(my_orders))
        .route("/me/orders/{order_id}", web::get().to(my_order))
        .route("/admin/orders", web::get().to(all_orders))
        .route("/admin/orders/{order_id}", web::get().to(any_order));
}

/// Delivered license keys are shown to their owner and to admins, not to staff.
fn show_items(caller: &Caller) -> ShowItems {
    if caller.role == Role::Admin {
        ShowItems::Yes
    } else {
        ShowItems::No
    }
}

async fn my_orders(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (_, page) = page_query(&req)?;
    let list = state
        .bounded(store::list_orders(
            &state.pool,
            Some(caller.user),
            None,
            page,
            ShowItems::Yes,
        ))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(list)))
}

async fn my_order(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let id: OrderId = path_id(&req, "order_id")?;
    let order = state
        .bounded(store::get_order(
            &state.pool,
            id,
            Some(caller.user),
            ShowItems::Yes,
        ))
        .await?;
    Ok(HttpResponse::Ok().json(order))
}

async fn all_orders(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (q, page) = page_query(&req)?;
    let status = match q.get("status").map(String::as_str) {
        None | Some("") => None,
        Some(raw) => Some(OrderStatus::parse(raw).ok_or_else(|| {
            let allowed: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::invalid(
                "status",
                format!("status must be one of {}", allowed.join(", ")),
            )
        })?),
    };
    let list = state
        .bounded(store::list_orders(
            &state.pool,
            None,
            status,
            page,
            show_items(&caller),
        ))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(list)))
}

async fn any_order(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let id: OrderId = path_id(&req, "order_id")?;
    let order = state
        .bounded(store::get_order(&state.pool, id, None, show_items(&caller)))
        .await?;
    Ok(HttpResponse::Ok().json(order))
}

//! Orders: the caller's own (someone else's order is 404), and the staff list.

use super::ListBody;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::extract::{page_query, path_id, Admin, IdempotencyKey, Json, Staff};
use crate::i18n::Msg;
use crate::idempotency::{once, Answer};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use souk_actors::domain::ids::OrderId;
use souk_actors::domain::money::Money;
use souk_actors::domain::status::OrderStatus;
use souk_actors::flows::orders::{self, CancelOrder};
use souk_actors::flows::refunds::RefundOrder;
use souk_actors::store::{self, ShowItems};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/orders", web::get().to(my_orders))
        .route("/me/orders/{order_id}", web::get().to(my_order))
        .route("/admin/orders", web::get().to(all_orders))
        .route("/admin/orders/{order_id}", web::get().to(any_order))
        .route(
            "/admin/orders/{order_id}/transitions",
            web::post().to(transition),
        )
        .route("/admin/orders/{order_id}/refunds", web::post().to(refund))
        .route(
            "/admin/orders/{order_id}/stars-refund",
            web::post().to(refund_stars),
        )
        .route("/me/orders/{order_id}/cancel", web::post().to(cancel_mine));
}

/// Delivered license keys are shown to their owner and to admins, not to staff.
fn show_items(caller: &Caller) -> ShowItems {
    if caller.role == Role::Admin {
        ShowItems::Yes
    } else {
        ShowItems::No
    }
}

#[utoipa::path(
    get,
    path = "/v1/me/orders",
    summary = "The caller's orders",
    tag = "orders",
    params(crate::schema::PageParams),
    responses((status = 200, body = ListBody<souk_actors::domain::model::Order>)),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/orders/{order_id}",
    summary = "One of the caller's orders",
    tag = "orders",
    params(("order_id" = i64, Path, minimum = 1)),
    responses((status = 200, body = souk_actors::domain::model::Order)),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/v1/admin/orders",
    summary = "All orders, optionally by status (staff)",
    tag = "orders",
    params(crate::schema::PageParams, ("status" = Option<OrderStatus>, Query)),
    responses((status = 200, body = ListBody<souk_actors::domain::model::Order>)),
    security(("bearer" = []))
)]
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
                Msg::new("error-field-one-of")
                    .arg("field", "status")
                    .arg("allowed", allowed.join(", ")),
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

#[utoipa::path(
    get,
    path = "/v1/admin/orders/{order_id}",
    summary = "Any order (staff)",
    tag = "orders",
    params(("order_id" = i64, Path, minimum = 1)),
    responses((status = 200, body = souk_actors::domain::model::Order)),
    security(("bearer" = []))
)]
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

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    #[schema(value_type = souk_actors::domain::status::OrderStatus)]
    to: String,
    #[schema(schema_with = crate::schema::field::line_1_500_or_null)]
    note: Option<String>,
}

/// Staff move an order along the transition table; cancelling refunds and restocks.
#[utoipa::path(
    post,
    path = "/v1/admin/orders/{order_id}/transitions",
    tag = "orders",
    operation_id = "transition_order",
    params(("order_id" = i64, Path, minimum = 1)),
    request_body = TransitionBody,
    responses((status = 200, body = souk_actors::domain::model::Order)),
    security(("bearer" = []))
)]
async fn transition(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
    body: Json<TransitionBody>,
) -> ApiResult<HttpResponse> {
    let id: OrderId = path_id(&req, "order_id")?;
    let to = OrderStatus::parse(&body.value.to).ok_or_else(|| {
        let allowed: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::invalid(
            "to",
            Msg::new("error-field-one-of")
                .arg("field", "to")
                .arg("allowed", allowed.join(", ")),
        )
    })?;
    let note = body
        .value
        .note
        .as_deref()
        .map(|n| super::text("note", n, 1, 500))
        .transpose()?;
    let mut meta = super::audited(&req, &caller, "order.transition", format!("order:{id}"));
    if let Some(entry) = meta.audit.as_mut() {
        entry.after = Some(serde_json::json!({ "to": to }));
    }
    let order = if to == OrderStatus::Cancelled {
        let owner = state
            .bounded(store::get_order(&state.pool, id, None, ShowItems::No))
            .await?
            .user_id;
        let cancel = CancelOrder {
            order: id,
            by_owner: false,
            actor: caller.audit_name(),
            note,
            meta,
            expiry: false,
        };
        state.registry.user(owner, cancel).await?
    } else {
        orders::transition(&state.registry, id, to, caller.audit_name(), note, meta).await?
    };
    let order = match show_items(&caller) {
        ShowItems::Yes => order,
        ShowItems::No => {
            state
                .bounded(store::get_order(&state.pool, id, None, ShowItems::No))
                .await?
        }
    };
    Ok(HttpResponse::Ok().json(order))
}

/// A customer cancels their own order before it ships: money back to the wallet, stock back.
#[utoipa::path(
    post,
    path = "/v1/me/orders/{order_id}/cancel",
    tag = "orders",
    operation_id = "cancel_my_order",
    params(("order_id" = i64, Path, minimum = 1)),
    responses((status = 200, body = souk_actors::domain::model::Order)),
    security(("bearer" = []))
)]
async fn cancel_mine(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let id: OrderId = path_id(&req, "order_id")?;
    state.maintenance.guard(&caller)?;
    let meta = super::audited(&req, &caller, "order.cancel", format!("order:{id}"));
    let cancel = CancelOrder {
        order: id,
        by_owner: true,
        actor: caller.audit_name(),
        note: None,
        meta,
        expiry: false,
    };
    let order = state.registry.user(caller.user, cancel).await?;
    Ok(HttpResponse::Ok().json(order))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    #[schema(minimum = 1)]
    amount_minor: Option<i64>,
    #[schema(schema_with = crate::schema::field::line_1_500)]
    reason: String,
}

/// Admin refunds to the customer's wallet ⚑: all that is left, or part of it; 201 with the ledger row.
#[utoipa::path(
    post,
    path = "/v1/admin/orders/{order_id}/refunds",
    tag = "orders",
    operation_id = "refund_order",
    params(("order_id" = i64, Path, minimum = 1), crate::schema::IdempotencyKeyHeader),
    request_body = RefundBody,
    responses((status = 201, body = souk_actors::domain::model::WalletTransaction)),
    security(("bearer" = []))
)]
async fn refund(
    req: HttpRequest,
    Admin(caller): Admin,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<RefundBody>,
) -> ApiResult<HttpResponse> {
    let id: OrderId = path_id(&req, "order_id")?;
    let amount = match body.value.amount_minor {
        Some(a) if a >= 1 => Some(Money::from_minor(a)),
        Some(_) => {
            return Err(ApiError::invalid(
                "amount_minor",
                Msg::new("error-field-positive").arg("field", "amount_minor"),
            ))
        }
        None => None,
    };
    let reason = super::text("reason", &body.value.reason, 1, 500)?;
    let owner = state
        .bounded(store::get_order(&state.pool, id, None, ShowItems::No))
        .await?
        .user_id;
    let rid = super::request_id(&req);
    let mut meta = super::audited(&req, &caller, "order.refund", format!("order:{id}"));
    if let Some(entry) = meta.audit.as_mut() {
        entry.after = Some(serde_json::json!({ "amount_minor": amount, "reason": reason }));
    }
    let registry = state.registry.clone();
    let (response, _) = once(
        &state,
        caller,
        key,
        body.hash,
        &rid,
        crate::i18n::Lang::of_request(req.headers()),
        |draft| async move {
            meta.idempotency = Some(draft);
            let refund = RefundOrder {
                order: id,
                amount,
                reason,
                actor: caller.audit_name(),
                meta,
            };
            let transaction = registry.user(owner, refund).await?;
            Answer::new(StatusCode::CREATED, transaction)
        },
    )
    .await?;
    Ok(response)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StarsRefundBody {
    #[schema(schema_with = crate::schema::field::line_1_500)]
    reason: String,
}

/// Admin gives back the Telegram Stars an order was paid with (`refundStarPayment`, whole):
/// 200 with the order, now `refunded`. Called once however many ask at once; a refusal by
/// Telegram is answered 502 `refund_refused` and recorded, and asking again calls again.
#[utoipa::path(
    post,
    path = "/v1/admin/orders/{order_id}/stars-refund",
    tag = "orders",
    operation_id = "refund_order_stars",
    params(("order_id" = i64, Path, minimum = 1)),
    request_body = StarsRefundBody,
    responses((status = 200, body = souk_actors::domain::model::Order)),
    security(("bearer" = []))
)]
async fn refund_stars(
    req: HttpRequest,
    Admin(caller): Admin,
    state: web::Data<AppState>,
    body: Json<StarsRefundBody>,
) -> ApiResult<HttpResponse> {
    let id: OrderId = path_id(&req, "order_id")?;
    let reason = super::text("reason", &body.value.reason, 1, 500)?;
    let mut audit = super::audit(&req, &caller, "order.stars_refund", format!("order:{id}"));
    audit.after = Some(serde_json::json!({ "reason": reason }));
    let order = crate::telegram::stars::refund(&state, &caller, id, reason, audit).await?;
    Ok(HttpResponse::Ok().json(order))
}

//! Returns and exchanges: a customer asks to return units of a delivered order (optionally
//! for another size or colour); staff approve or reject, then mark the goods received.
//! Refunds for returned goods go through the order's refunds endpoint.

use super::{multiline_text, ListBody};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{page_query, path_id, Json, Staff};
use crate::i18n::Msg;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use souk_actors::domain::ids::{OrderId, ProductId};
use souk_actors::domain::quantity::Quantity;
use souk_actors::domain::returns::ReturnStatus;
use souk_actors::flows::returns::{RequestReturn, ReturnStep, Step};
use souk_actors::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/orders/{order_id}/returns", web::post().to(request))
        .route("/me/orders/{order_id}/returns", web::get().to(mine))
        .route("/admin/returns", web::get().to(all))
        .route(
            "/admin/returns/{return_id}/approve",
            web::post().to(approve),
        )
        .route("/admin/returns/{return_id}/reject", web::post().to(reject))
        .route(
            "/admin/returns/{return_id}/receive",
            web::post().to(receive),
        );
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    #[schema(min_items = 1)]
    lines: Vec<LineBody>,
    #[schema(schema_with = crate::schema::field::lines_1_1000)]
    reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReturnLineBody)]
struct LineBody {
    #[schema(minimum = 1)]
    product_id: i64,
    #[schema(minimum = 1, maximum = 100)]
    quantity: i64,
    #[schema(minimum = 1)]
    exchange_product_id: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StepBody {
    #[schema(schema_with = crate::schema::field::lines_1_1000_or_null)]
    note: Option<String>,
}

fn product(field: &str, raw: i64) -> ApiResult<ProductId> {
    ProductId::new(raw).ok_or_else(|| ApiError::invalid(field, super::positive_id(field)))
}

#[utoipa::path(
    post,
    path = "/v1/me/orders/{order_id}/returns",
    summary = "Return delivered goods, or exchange them for another SKU of their group",
    tag = "returns",
    operation_id = "request_return",
    params(("order_id" = i64, Path, minimum = 1)),
    request_body = ReturnBody,
    responses((status = 201, body = souk_actors::domain::returns::Return)),
    security(("bearer" = []))
)]
async fn request(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<ReturnBody>,
) -> ApiResult<HttpResponse> {
    let order: OrderId = path_id(&req, "order_id")?;
    let b = body.value;
    let reason = multiline_text("reason", &b.reason, 1, 1000)?;
    let lines = b
        .lines
        .iter()
        .map(|l| {
            let quantity = Quantity::new(l.quantity).ok_or_else(|| {
                ApiError::invalid(
                    "lines.quantity",
                    Msg::new("error-field-range")
                        .arg("field", "quantity")
                        .arg("min", 1)
                        .arg("max", Quantity::MAX),
                )
            })?;
            let exchange = l
                .exchange_product_id
                .map(|p| product("lines.exchange_product_id", p))
                .transpose()?;
            Ok((
                product("lines.product_id", l.product_id)?,
                quantity,
                exchange,
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let msg = RequestReturn {
        order,
        lines,
        reason,
        actor: caller.audit_name(),
        meta: super::audited(&req, &caller, "return.request", format!("order:{order}")),
    };
    let created = state.registry.user(caller.user, msg).await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(
    get,
    path = "/v1/me/orders/{order_id}/returns",
    summary = "The returns of one of the caller's orders",
    tag = "returns",
    operation_id = "my_returns",
    params(("order_id" = i64, Path, minimum = 1), crate::schema::PageParams),
    responses((status = 200, body = ListBody<souk_actors::domain::returns::Return>)),
    security(("bearer" = []))
)]
async fn mine(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let order: OrderId = path_id(&req, "order_id")?;
    let (_, page) = page_query(&req)?;
    // Someone else's order is "not found", as everywhere.
    if state
        .bounded(store::order_owner(&state.pool, order))
        .await?
        != Some(caller.user)
    {
        return Err(souk_actors::DomainError::not_found_order(order).into());
    }
    let list = state
        .bounded(store::returns::list(&state.pool, Some(order), None, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(list)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/returns",
    summary = "All returns, optionally by status (staff)",
    tag = "returns",
    operation_id = "list_returns",
    params(
        crate::schema::PageParams,
        ("status" = Option<souk_actors::domain::returns::ReturnStatus>, Query)
    ),
    responses((status = 200, body = ListBody<souk_actors::domain::returns::Return>)),
    security(("bearer" = []))
)]
async fn all(
    req: HttpRequest,
    Staff(_): Staff,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (q, page) = page_query(&req)?;
    let status = match q.get("status").map(String::as_str) {
        None | Some("") => None,
        Some(raw) => Some(ReturnStatus::parse(raw).ok_or_else(|| {
            ApiError::invalid(
                "status",
                Msg::new("error-field-one-of")
                    .arg("field", "status")
                    .arg("allowed", "requested, approved, rejected, received"),
            )
        })?),
    };
    let list = state
        .bounded(store::returns::list(&state.pool, None, status, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(list)))
}

async fn step(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<StepBody>,
    step: Step,
    action: &'static str,
) -> ApiResult<HttpResponse> {
    let id: i64 = req
        .match_info()
        .get("return_id")
        .and_then(|raw| raw.parse().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid_id("return_id"))?;
    let note = body
        .value
        .note
        .map(|n| multiline_text("note", &n, 1, 1000))
        .transpose()?;
    // The return's owner runs the step, serialized with their cancels, refunds and payments.
    let current = state.bounded(store::returns::get(&state.pool, id)).await?;
    let msg = ReturnStep {
        id,
        step,
        note,
        actor: caller.audit_name(),
        meta: super::audited(&req, &caller, action, format!("return:{id}")),
    };
    let after = state.registry.user(current.user_id, msg).await?;
    Ok(HttpResponse::Ok().json(after))
}

#[utoipa::path(
    post,
    path = "/v1/admin/returns/{return_id}/approve",
    summary = "Approve a return (staff)",
    tag = "returns",
    operation_id = "approve_return",
    params(("return_id" = i64, Path, minimum = 1)),
    request_body = StepBody,
    responses((status = 200, body = souk_actors::domain::returns::Return)),
    security(("bearer" = []))
)]
async fn approve(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
    body: Json<StepBody>,
) -> ApiResult<HttpResponse> {
    step(req, caller, state, body, Step::Approve, "return.approve").await
}

#[utoipa::path(
    post,
    path = "/v1/admin/returns/{return_id}/reject",
    summary = "Reject a return (staff)",
    tag = "returns",
    operation_id = "reject_return",
    params(("return_id" = i64, Path, minimum = 1)),
    request_body = StepBody,
    responses((status = 200, body = souk_actors::domain::returns::Return)),
    security(("bearer" = []))
)]
async fn reject(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
    body: Json<StepBody>,
) -> ApiResult<HttpResponse> {
    step(req, caller, state, body, Step::Reject, "return.reject").await
}

#[utoipa::path(
    post,
    path = "/v1/admin/returns/{return_id}/receive",
    summary = "Mark a return received: units back on the shelf, the order returned (staff)",
    tag = "returns",
    operation_id = "receive_return",
    params(("return_id" = i64, Path, minimum = 1)),
    request_body = StepBody,
    responses((status = 200, body = souk_actors::domain::returns::Return)),
    security(("bearer" = []))
)]
async fn receive(
    req: HttpRequest,
    Staff(caller): Staff,
    state: web::Data<AppState>,
    body: Json<StepBody>,
) -> ApiResult<HttpResponse> {
    step(req, caller, state, body, Step::Receive, "return.receive").await
}

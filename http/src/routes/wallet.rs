//! Wallets: the caller's balance and ledger, and admin credits (⚑, audited).

use super::{request_id, text, ListBody};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{page_query, path_id, Admin, IdempotencyKey, Json};
use crate::i18n::Msg;
use crate::idempotency::{once, Answer};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::ids::UserId;
use souk_actors::domain::money::Money;
use souk_actors::entity::user::Credit;
use souk_actors::store;

/// One credit is at most this much; larger amounts are split on purpose, not by a typo.
pub const CREDIT_MAX_MINOR: i64 = 1_000_000_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/wallet", web::get().to(balance))
        .route("/me/wallet/transactions", web::get().to(transactions))
        .route(
            "/admin/users/{user_id}/wallet/credits",
            web::post().to(credit),
        );
}

#[utoipa::path(
    get,
    path = "/v1/me/wallet",
    summary = "The caller's wallet balance",
    tag = "wallet",
    operation_id = "get_balance",
    responses((status = 200, body = crate::schema::Balance)),
    security(("bearer" = []))
)]
async fn balance(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let balance = state.shop.balance(caller.user).await?;
    Ok(HttpResponse::Ok().json(crate::schema::Balance {
        balance_minor: balance,
        currency: &state.currency,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/me/wallet/transactions",
    summary = "The caller's wallet transactions, newest first",
    tag = "wallet",
    operation_id = "list_wallet_transactions",
    params(crate::schema::PageParams),
    responses((status = 200, body = ListBody<souk_actors::domain::model::WalletTransaction>)),
    security(("bearer" = []))
)]
async fn transactions(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (_, page) = page_query(&req)?;
    let list = state
        .bounded(store::list_wallet_transactions(
            &state.pool,
            caller.user,
            page,
        ))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(list)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreditBody {
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    amount_minor: i64,
    #[schema(schema_with = crate::schema::field::line_1_500)]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/v1/admin/users/{user_id}/wallet/credits",
    summary = "Credit a user's wallet (admin)",
    tag = "wallet",
    operation_id = "credit_wallet",
    params(("user_id" = i64, Path, minimum = 1), crate::schema::IdempotencyKeyHeader),
    request_body = CreditBody,
    responses((status = 201, body = souk_actors::domain::model::WalletTransaction)),
    security(("bearer" = []))
)]
async fn credit(
    req: HttpRequest,
    Admin(caller): Admin,
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: Json<CreditBody>,
) -> ApiResult<HttpResponse> {
    let user: UserId = path_id(&req, "user_id")?;
    let amount = body.value.amount_minor;
    if !(1..=CREDIT_MAX_MINOR).contains(&amount) {
        return Err(ApiError::invalid(
            "amount_minor",
            Msg::new("error-field-range")
                .arg("field", "amount_minor")
                .arg("min", 1)
                .arg("max", CREDIT_MAX_MINOR),
        ));
    }
    let reason = text("reason", &body.value.reason, 1, 500)?;
    let rid = request_id(&req);
    let mut audit = super::audit(&req, &caller, "wallet.credit", format!("user:{user}"));
    audit.after = Some(json!({ "amount_minor": amount, "reason": reason }));
    let registry = state.registry.clone();
    let (response, _) = once(
        &state,
        caller,
        key,
        body.hash,
        &rid,
        crate::i18n::Lang::of_request(req.headers()),
        |draft| async move {
            let meta = WriteMeta {
                idempotency: Some(draft),
                audit: Some(audit),
            };
            let tx = registry
                .user(
                    user,
                    Credit {
                        amount: Money::from_minor(amount),
                        reason,
                        meta,
                    },
                )
                .await?;
            Answer::new(StatusCode::CREATED, tx)
        },
    )
    .await?;
    Ok(response)
}

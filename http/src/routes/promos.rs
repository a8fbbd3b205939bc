//! Admin promo codes: create, list, read, change. Changes go through the code's owner
//! (`PromoActor`), so the rules it checks redemptions against are the ones just saved; every
//! change is audited in the transaction that makes it.

use super::ListBody;
use crate::error::{ApiError, ApiResult};
use crate::extract::{page_query, Admin, Json};
use crate::i18n::Msg;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use souk_actors::domain::changes::Outcome;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::changes::WriteOp;
use souk_actors::domain::error::DomainError;
use souk_actors::domain::ids::PromoCode;
use souk_actors::domain::model::Timestamp;
use souk_actors::domain::money::Money;
use souk_actors::domain::promo::PromoKind;
use souk_actors::domain::promo::PromoPatch;
use souk_actors::domain::promo::PromoRules;
use souk_actors::entity::promo::{GetPromo, UpdatePromo};
use souk_actors::store::group_commit::persist;
use souk_actors::store::promos;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/promos", web::post().to(create))
        .route("/admin/promos", web::get().to(list))
        .route("/admin/promos/{code}", web::get().to(get))
        .route("/admin/promos/{code}", web::patch().to(update));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPromoBody {
    #[schema(schema_with = crate::schema::field::promo_code)]
    code: String,
    #[schema(value_type = souk_actors::domain::promo::PromoKind)]
    kind: String,
    #[schema(minimum = 1, maximum = 100_000_000)]
    value: i64,
    #[schema(minimum = 0, maximum = 1e10)]
    min_subtotal_minor: Option<i64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    starts_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    ends_at: Option<Timestamp>,
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    max_redemptions: Option<i32>,
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    max_per_user: Option<i32>,
    active: Option<bool>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchPromoBody {
    #[schema(value_type = Option<souk_actors::domain::promo::PromoKind>)]
    kind: Option<String>,
    #[schema(minimum = 1, maximum = 100_000_000)]
    value: Option<i64>,
    #[schema(minimum = 0, maximum = 1e10)]
    min_subtotal_minor: Option<i64>,
    /// `null` clears the limit or date; absent leaves it.
    #[serde(default, deserialize_with = "crate::schema::present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    starts_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "crate::schema::present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    ends_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "crate::schema::present")]
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    max_redemptions: Option<Option<i32>>,
    #[serde(default, deserialize_with = "crate::schema::present")]
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    max_per_user: Option<Option<i32>>,
    active: Option<bool>,
}

fn kind(raw: &str) -> ApiResult<PromoKind> {
    PromoKind::parse(raw).ok_or_else(|| {
        ApiError::invalid(
            "kind",
            Msg::new("error-field-one-of")
                .arg("field", "kind")
                .arg("allowed", "percent, fixed"),
        )
    })
}

#[utoipa::path(
    post,
    path = "/v1/admin/promos",
    summary = "Create a promo code (admin)",
    tag = "promos",
    operation_id = "create_promo",
    request_body = NewPromoBody,
    responses((status = 201, body = souk_actors::domain::promo::Promo)),
    security(("bearer" = []))
)]
async fn create(
    req: HttpRequest,
    Admin(caller): Admin,
    state: web::Data<AppState>,
    body: Json<NewPromoBody>,
) -> ApiResult<HttpResponse> {
    let b = body.value;
    let code = PromoCode::parse(&b.code)?;
    let rules = PromoRules {
        kind: kind(&b.kind)?,
        value: b.value,
        min_subtotal_minor: Money::from_minor(b.min_subtotal_minor.unwrap_or(0)),
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        max_redemptions: b.max_redemptions,
        max_per_user: b.max_per_user,
        active: b.active.unwrap_or(true),
    };
    rules.validate()?;
    let mut entry = super::audit(&req, &caller, "promo.create", format!("promo:{code}"));
    entry.after = serde_json::to_value(&rules).ok();
    let meta = WriteMeta {
        idempotency: None,
        audit: Some(entry),
    };
    let op = WriteOp::PromoCreate {
        code: code.clone(),
        rules,
    };
    match persist(&state.registry.deps.persistence, meta.write(op)).await {
        Ok(Outcome::Promo(promo)) => Ok(HttpResponse::Created().json(promo)),
        Ok(other) => Err(DomainError::Internal(format!("unexpected outcome {other:?}")).into()),
        Err(DomainError::Rejected { constraint }) if constraint == "promos_pkey" => {
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "promo_exists",
                Msg::new("error-promo-exists").arg("code", code.as_str()),
            )
            .with_details(json!({ "field": "code", "code": code })))
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/admin/promos",
    summary = "List promo codes (admin)",
    tag = "promos",
    operation_id = "list_promos",
    params(crate::schema::PageParams),
    responses((status = 200, body = ListBody<souk_actors::domain::promo::Promo>)),
    security(("bearer" = []))
)]
async fn list(
    req: HttpRequest,
    Admin(_): Admin,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (_, page) = page_query(&req)?;
    let page = state.bounded(promos::list(&state.pool, page)).await?;
    Ok(HttpResponse::Ok().json(ListBody::from(page)))
}

fn path_code(req: &HttpRequest) -> ApiResult<PromoCode> {
    let raw = req.match_info().get("code").unwrap_or_default();
    PromoCode::parse(raw)
        .map_err(|_| ApiError::not_found(Msg::new("error-no-such-promo").arg("code", raw)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/promos/{code}",
    summary = "One promo code (admin)",
    tag = "promos",
    operation_id = "get_promo",
    params(("code" = String, Path, pattern = "^[A-Za-z0-9_-]{3,32}$")),
    responses((status = 200, body = souk_actors::domain::promo::Promo)),
    security(("bearer" = []))
)]
async fn get(
    req: HttpRequest,
    Admin(_): Admin,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let code = path_code(&req)?;
    let promo = state.registry.promo(&code, GetPromo).await?;
    Ok(HttpResponse::Ok().json(promo))
}

#[utoipa::path(
    patch,
    path = "/v1/admin/promos/{code}",
    summary = "Change a promo code's rules (admin)",
    tag = "promos",
    operation_id = "update_promo",
    params(("code" = String, Path, pattern = "^[A-Za-z0-9_-]{3,32}$")),
    request_body = PatchPromoBody,
    responses((status = 200, body = souk_actors::domain::promo::Promo)),
    security(("bearer" = []))
)]
async fn update(
    req: HttpRequest,
    Admin(caller): Admin,
    state: web::Data<AppState>,
    body: Json<PatchPromoBody>,
) -> ApiResult<HttpResponse> {
    let code = path_code(&req)?;
    let b = body.value;
    let patch = PromoPatch {
        kind: b.kind.as_deref().map(kind).transpose()?,
        value: b.value,
        min_subtotal_minor: b.min_subtotal_minor.map(Money::from_minor),
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        max_redemptions: b.max_redemptions,
        max_per_user: b.max_per_user,
        active: b.active,
    };
    let before = state.registry.promo(&code, GetPromo).await?;
    let mut entry = super::audit(&req, &caller, "promo.update", format!("promo:{code}"));
    entry.before = serde_json::to_value(&before.rules).ok();
    entry.after = serde_json::to_value(patch.apply(&before.rules)).ok();
    let meta = WriteMeta {
        idempotency: None,
        audit: Some(entry),
    };
    let promo = state
        .registry
        .promo_here(&code, UpdatePromo { patch, meta })
        .await?;
    Ok(HttpResponse::Ok().json(promo))
}

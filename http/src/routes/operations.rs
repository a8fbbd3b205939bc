//! Operators: maintenance mode and the audit log.

use super::ListBody;
use crate::error::ApiResult;
use crate::extract::{page_query, Admin, Json};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use souk_actors::domain::maintenance::Maintenance;
use souk_actors::store::operations::{self, AuditFilter};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/maintenance", web::get().to(get_maintenance))
        .route("/admin/maintenance", web::put().to(set_maintenance))
        .route("/admin/audit", web::get().to(audit));
}

#[utoipa::path(
    get,
    path = "/v1/maintenance",
    summary = "Whether maintenance mode is on",
    tag = "operations",
    responses((status = 200, body = souk_actors::domain::maintenance::Maintenance))
)]
async fn get_maintenance(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.maintenance.get())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MaintenanceBody {
    enabled: bool,
    #[schema(schema_with = crate::schema::field::line_1_500_or_null)]
    message: Option<String>,
}

#[utoipa::path(
    put,
    path = "/v1/admin/maintenance",
    summary = "Switch maintenance mode (admin)",
    tag = "operations",
    request_body = MaintenanceBody,
    responses((status = 200, body = souk_actors::domain::maintenance::Maintenance)),
    security(("bearer" = []))
)]
async fn set_maintenance(
    req: HttpRequest,
    Admin(caller): Admin,
    state: web::Data<AppState>,
    body: Json<MaintenanceBody>,
) -> ApiResult<HttpResponse> {
    let to = Maintenance::new(body.value.enabled, body.value.message.as_deref())?;
    let audit = super::audit(&req, &caller, "maintenance.set", "shop".into());
    let set = state
        .bounded(operations::set_maintenance(&state.pool, &to, audit))
        .await?;
    state.maintenance.set(&set);
    state.metrics.maintenance.set(i64::from(set.enabled));
    Ok(HttpResponse::Ok().json(set))
}

#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    summary = "The audit log, newest first (admin)",
    tag = "operations",
    operation_id = "list_audit",
    params(
        crate::schema::PageParams,
        ("actor" = Option<String>, Query, pattern = "^[^\\u0000]*$"),
        ("target" = Option<String>, Query, pattern = "^[^\\u0000]*$"),
        ("action" = Option<String>, Query, pattern = "^[^\\u0000]*$")
    ),
    responses((status = 200, body = ListBody<souk_actors::store::operations::AuditRow>)),
    security(("bearer" = []))
)]
async fn audit(
    req: HttpRequest,
    _admin: Admin,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (q, page) = page_query(&req)?;
    let pick = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let filter = AuditFilter {
        actor: pick("actor"),
        target: pick("target"),
        action: pick("action"),
    };
    let list = state
        .bounded(operations::audit_log(&state.pool, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListBody::from(list)))
}

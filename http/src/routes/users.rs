//! Admin user creation. Users named by a token are also created on their first request.

use super::text;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, Json};
use crate::i18n::Msg;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use souk_actors::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::post().to(create_user));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    #[schema(schema_with = crate::schema::field::line_1_200_or_null)]
    display_name: Option<String>,
    #[schema(minimum = 1)]
    telegram_id: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/v1/admin/users",
    summary = "Create a user (admin)",
    tag = "users",
    request_body = NewUserBody,
    responses((status = 201, body = souk_actors::domain::model::User)),
    security(("bearer" = []))
)]
async fn create_user(
    req: actix_web::HttpRequest,
    Admin(caller): Admin,
    state: web::Data<AppState>,
    body: Json<NewUserBody>,
) -> ApiResult<HttpResponse> {
    let name = body
        .value
        .display_name
        .as_deref()
        .map(|n| text("display_name", n, 1, 200))
        .transpose()?;
    if let Some(id) = body.value.telegram_id {
        if id <= 0 {
            return Err(ApiError::invalid(
                "telegram_id",
                Msg::new("error-field-positive-integer").arg("field", "telegram_id"),
            ));
        }
    }
    let user = state
        .bounded(store::create_user(
            &state.pool,
            name.as_deref(),
            body.value.telegram_id,
            &super::audit(&req, &caller, "user.create", "user:new".into()),
        ))
        .await?;
    Ok(HttpResponse::Created().json(user))
}

//! One module per resource; `configure` mounts them all (under `/v1`, see `lib.rs`).

pub mod admin_catalog;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod cluster;
pub mod dashboard;
pub mod health;
pub mod metrics;
pub mod operations;
pub mod orders;
pub mod payments;
pub mod promos;
pub mod returns;
pub mod users;
pub mod wallet;
pub mod webhooks;

use crate::error::ApiError;
use crate::i18n::Msg;
use crate::middleware::request::RequestId;
use actix_web::{web, HttpMessage, HttpRequest};
use serde::Serialize;
use souk_actors::store::Page;

/// Mounts every resource's routes; `lib.rs` puts them under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(health::configure)
        .configure(catalog::configure)
        .configure(admin_catalog::configure)
        .configure(cart::configure)
        .configure(wallet::configure)
        .configure(checkout::configure)
        .configure(orders::configure)
        .configure(users::configure)
        .configure(operations::configure)
        .configure(cluster::configure)
        .configure(promos::configure)
        .configure(payments::configure)
        .configure(returns::configure)
        .configure(dashboard::configure)
        .configure(webhooks::configure);
}

/// The one list shape: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListBody<T: Serialize> {
    items: Vec<T>,
    /// `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

impl<T: Serialize> From<Page<T>> for ListBody<T> {
    fn from(page: Page<T>) -> Self {
        ListBody {
            items: page.items,
            next_cursor: page.next_cursor.map(|c| c.to_string()),
        }
    }
}

/// The audit row of an action the caller of this request takes on `target`.
pub fn audit(
    req: &HttpRequest,
    caller: &crate::auth::Caller,
    action: &'static str,
    target: String,
) -> souk_actors::domain::changes::AuditEntry {
    souk_actors::domain::changes::AuditEntry {
        actor: caller.audit_name(),
        action,
        target,
        before: None,
        after: None,
        request_id: Some(request_id(req)),
    }
}

/// The same audit row as the metadata of a write that carries no Idempotency-Key.
pub fn audited(
    req: &HttpRequest,
    caller: &crate::auth::Caller,
    action: &'static str,
    target: String,
) -> souk_actors::domain::changes::WriteMeta {
    souk_actors::domain::changes::WriteMeta {
        idempotency: None,
        audit: Some(audit(req, caller, action, target)),
    }
}

pub fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// Checks a one-line text field: trimmed length within bounds and no control characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    bounded_text(field, value, min, max, |c| c.is_control())
}

/// Like `text`, but line breaks and tabs are allowed (descriptions).
pub fn multiline_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, ApiError> {
    bounded_text(field, value, min, max, |c| {
        c.is_control() && !matches!(c, '\n' | '\r' | '\t')
    })
}

/// The message for an id field that is not a positive id.
pub(crate) fn positive_id(field: &str) -> Msg {
    Msg::new("error-field-positive-id").arg("field", field)
}

fn bounded_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    forbidden: impl Fn(char) -> bool,
) -> Result<String, ApiError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min || len > max {
        return Err(ApiError::invalid(
            field,
            Msg::new("error-field-length")
                .arg("field", field)
                .arg("min", min)
                .arg("max", max),
        ));
    }
    if trimmed.chars().any(forbidden) {
        return Err(ApiError::invalid(
            field,
            Msg::new("error-field-control-chars").arg("field", field),
        ));
    }
    Ok(trimmed.to_string())
}

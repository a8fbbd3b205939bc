//! The one error envelope and the one place where a failure becomes an HTTP status:
//! `{"error": {"code", "message", "details", "request_id"}}`. Codes are stable snake_case
//! identifiers clients can switch on; messages are for people; nothing leaks internals.

use actix_web::error::PayloadError;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};
use souk_actors::DomainError;
use std::fmt;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds a client should wait before retrying (503, 429).
    pub retry_after: Option<u32>,
    /// The methods a path serves, sent as `Allow` with a 405 (RFC 9110 requires it there).
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
            allow: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
        self
    }

    /// 422: a value that parsed but is not allowed; `field` names it.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
            .with_details(json!({ "field": field }))
    }

    pub fn malformed_json(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    pub fn invalid_id(field: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("{field} must be a positive 64-bit integer"),
        )
        .with_details(json!({ "field": field }))
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(needed: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this needs the {needed} role"),
        )
        .with_details(json!({ "required_role": needed }))
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405: the path exists but does not serve `method`; `allowed` is what it does serve.
    pub fn method_not_allowed(method: &Method, allowed: &[Method]) -> ApiError {
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        let mut e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed here; use {}", names.join(" or ")),
        )
        .with_details(json!({ "allowed": names }));
        e.allow = Some(names.join(", "));
        e
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        e.retry_after = Some(1);
        e
    }

    /// 429: the caller's `class` quota is spent; `retry_after_secs` is at least 1.
    pub fn rate_limited(class: &str, retry_after_secs: u32) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many {class} requests; retry in {retry_after_secs} s"),
        )
        .with_details(json!({ "class": class }));
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 500 for a failure the caller can do nothing about; the cause is logged where it happened.
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }

    /// A body that could not be read: past the size limit (413), not arrived within the read
    /// timeout (408), or broken off or garbled on the way (400).
    pub fn payload(e: &PayloadError) -> ApiError {
        match e {
            PayloadError::Overflow => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than this server accepts",
            ),
            PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                ApiError::request_timeout()
            }
            _ => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the body could not be read: it ended early or its encoding is broken",
            ),
        }
    }

    /// 408: the request did not arrive within the read timeout.
    pub fn request_timeout() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request did not arrive in time",
        )
    }

    /// An error actix-web raised itself (an extractor, a body read) as the envelope, with its
    /// status and a code for it, never its plain text.
    pub fn framework(e: &actix_web::Error) -> ApiError {
        if let Some(payload) = e.as_error::<PayloadError>() {
            return ApiError::payload(payload);
        }
        let status = e.as_response_error().status_code();
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload(&PayloadError::Overflow),
            StatusCode::REQUEST_TIMEOUT => ApiError::request_timeout(),
            StatusCode::NOT_FOUND => ApiError::not_found("no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
                status,
                "method_not_allowed",
                "this method is not allowed here",
            ),
            s if s.is_client_error() => ApiError::new(
                status,
                "bad_request",
                "the request is not one this server reads",
            ),
            _ => {
                tracing::error!(error = %e, "internal error");
                ApiError::internal()
            }
        }
    }

    /// The JSON body, with the request id it was first answered under.
    pub fn body(&self, request_id: &str) -> Value {
        json!({ "error": {
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "request_id": request_id,
        }})
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The request id is filled in by the request-id middleware, which sees every response;
    /// here the envelope carries a placeholder it replaces.
    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(allow) = &self.allow {
            builder.insert_header((header::ALLOW, allow.as_str()));
        }
        builder.extensions_mut().insert(self.clone());
        builder.json(self.body(""))
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        use DomainError as D;
        let message = e.to_string();
        match e {
            D::NotFound { entity, id } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
                    .with_details(json!({ "entity": entity, "id": id }))
            }
            D::ProductInactive(id) => {
                ApiError::new(StatusCode::CONFLICT, "product_inactive", message)
                    .with_details(json!({ "product_id": id }))
            }
            D::OutOfStock {
                product_id,
                requested,
                available,
                ..
            } => ApiError::new(StatusCode::CONFLICT, "out_of_stock", message).with_details(
                json!({ "product_id": product_id, "requested": requested, "available": available }),
            ),
            D::InsufficientFunds { required, balance } => {
                ApiError::new(StatusCode::PAYMENT_REQUIRED, "insufficient_funds", message)
                    .with_details(json!({ "required_minor": required, "balance_minor": balance }))
            }
            D::CartEmpty => ApiError::new(StatusCode::CONFLICT, "cart_empty", message),
            D::UnpaidLimit {
                limit,
                max,
                held,
                requested,
                product_id,
            } => {
                let mut details = json!({ "limit": unpaid_setting(limit), "max": max,
                                          "held": held, "requested": requested });
                if let Some(product) = product_id {
                    details["product_id"] = json!(product);
                }
                ApiError::new(StatusCode::CONFLICT, "unpaid_limit", message).with_details(details)
            }
            D::Invalid { field, .. } => ApiError::invalid(field, message),
            D::StockWouldGoNegative { available, delta } => {
                ApiError::new(StatusCode::CONFLICT, "stock_would_go_negative", message)
                    .with_details(json!({ "available": available, "quantity_delta": delta }))
            }
            D::WrongStockKind { expected, .. } => ApiError::invalid(expected, message),
            D::PromoInvalid { code, reason } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "promo_invalid", message)
                    .with_details(json!({ "field": "promo_code", "code": code, "reason": reason }))
            }
            D::NotInStars { reason, product_id } => {
                let mut details = json!({ "field": "payment", "reason": reason });
                if let Some(product) = product_id {
                    details["product_id"] = json!(product);
                }
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "stars_unavailable", message)
                    .with_details(details)
            }
            D::UnknownPromo(code) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
                .with_details(json!({ "entity": "promo", "code": code })),
            D::InvalidTransition { from, to, allowed } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", message)
                    .with_details(json!({ "from": from, "to": to, "allowed": allowed }))
            }
            D::NeedsItsOwnFlow { to } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", message)
                    .with_details(json!({ "to": to, "reason": "needs_its_own_endpoint" }))
            }
            D::RefundExceedsPaid { requested, remaining } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refund_exceeds_paid", message)
                    .with_details(json!({ "field": "amount_minor", "requested_minor": requested, "remaining_minor": remaining }))
            }
            D::AlreadyDelivered { order } => {
                ApiError::new(StatusCode::CONFLICT, "already_delivered", message)
                    .with_details(json!({ "order_id": order }))
            }
            D::StatusChanged => ApiError::new(StatusCode::CONFLICT, "status_changed", message),
            D::KeyTaken => ApiError::new(StatusCode::CONFLICT, "idempotency_key_in_use", message),
            D::Rejected { constraint } => ApiError::new(StatusCode::CONFLICT, "conflict", message)
                .with_details(json!({ "constraint": constraint })),
            D::Unavailable(_) => {
                tracing::warn!(error = %message, "answering 503 unavailable");
                ApiError::unavailable(
                    "the database is unavailable; retry shortly with the same Idempotency-Key, which is never applied twice",
                )
            }
            D::NotOwner { shard } | D::Fenced { shard } => {
                tracing::info!(shard, error = %message, "answering 503: shard not served here");
                ApiError::unavailable(
                    "this part of the shop is moving to another node; retry shortly with the same Idempotency-Key, which is never applied twice",
                )
            }
            D::Overloaded => {
                let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", message);
                e.retry_after = Some(1);
                e
            }
            D::Internal(_) => {
                tracing::error!(error = %message, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
            }
        }
    }
}

/// The setting that sets an unpaid bound, so a refusal names what an operator would change.
fn unpaid_setting(limit: souk_actors::domain::unpaid::HoldLimit) -> &'static str {
    use souk_actors::domain::unpaid::HoldLimit;
    match limit {
        HoldLimit::Orders => "SOUK__CHECKOUT__UNPAID_ORDERS_MAX",
        HoldLimit::Units => "SOUK__CHECKOUT__UNPAID_UNITS_MAX",
        HoldLimit::ProductShare => "SOUK__CHECKOUT__UNPAID_PRODUCT_SHARE_PCT",
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

//! The one error envelope and the one place where a failure becomes an HTTP status:
//! `{"error": {"code", "message", "details", "request_id"}}`. Codes are stable snake_case
//! identifiers clients can switch on; messages are for people, in their language; nothing
//! leaks internals. An error carries its message as a `Msg` (an id and arguments); the
//! request middleware renders it in the request's language (`i18n`), so nothing else here
//! or at a call site knows about languages.

use crate::i18n::{self, Lang, Msg};
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
    /// Said to the caller in the request's language; `code` and `details` never change.
    pub message: Msg,
    pub details: Value,
    /// Seconds a client should wait before retrying (503, 429).
    pub retry_after: Option<u32>,
    /// The methods a path serves, sent as `Allow` with a 405 (RFC 9110 requires it there).
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: Msg) -> ApiError {
        ApiError {
            status,
            code,
            message,
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
    pub fn invalid(field: &str, message: Msg) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
            .with_details(json!({ "field": field }))
    }

    /// 400: a body that is not JSON; `reason` is the parser's own (technical) account.
    pub fn malformed_json(reason: impl fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            Msg::new("error-malformed-json").arg("reason", reason.to_string()),
        )
    }

    pub fn invalid_id(field: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            Msg::new("error-invalid-id").arg("field", field),
        )
        .with_details(json!({ "field": field }))
    }

    pub fn unauthorized(message: Msg) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(needed: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            Msg::new("error-forbidden").arg("role", needed),
        )
        .with_details(json!({ "required_role": needed }))
    }

    pub fn not_found(message: Msg) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405: the path exists but does not serve `method`; `allowed` is what it does serve.
    pub fn method_not_allowed(method: &Method, allowed: &[Method]) -> ApiError {
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        let mut e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            Msg::new("error-method-not-allowed-here")
                .arg("method", method.as_str())
                .arg("allowed", names.join(", ")),
        )
        .with_details(json!({ "allowed": names }));
        e.allow = Some(names.join(", "));
        e
    }

    pub fn unavailable(message: Msg) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        e.retry_after = Some(1);
        e
    }

    /// 429: the caller's `class` quota is spent; `retry_after_secs` is at least 1.
    pub fn rate_limited(class: &str, retry_after_secs: u32) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            Msg::new("error-rate-limited")
                .arg("class", class)
                .arg("seconds", retry_after_secs),
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
            Msg::new("error-internal"),
        )
    }

    /// A body that could not be read: past the size limit (413), not arrived within the read
    /// timeout (408), or broken off or garbled on the way (400).
    pub fn payload(e: &PayloadError) -> ApiError {
        match e {
            PayloadError::Overflow => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                Msg::new("error-payload-too-large"),
            ),
            PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                ApiError::request_timeout()
            }
            _ => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                Msg::new("error-invalid-body"),
            ),
        }
    }

    /// 408: the request did not arrive within the read timeout.
    pub fn request_timeout() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            Msg::new("error-request-timeout"),
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
            StatusCode::NOT_FOUND => ApiError::not_found(Msg::new("error-no-such-resource")),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
                status,
                "method_not_allowed",
                Msg::new("error-method-not-allowed"),
            ),
            s if s.is_client_error() => {
                ApiError::new(status, "bad_request", Msg::new("error-bad-request"))
            }
            _ => {
                tracing::error!(error = %e, "internal error");
                ApiError::internal()
            }
        }
    }

    /// The message in `lang`.
    pub fn message_in(&self, lang: Lang) -> String {
        i18n::render(lang, &self.message)
    }

    /// The JSON body in `lang`, with the request id it was first answered under.
    pub fn body(&self, request_id: &str, lang: Lang) -> Value {
        json!({ "error": {
            "code": self.code,
            "message": self.message_in(lang),
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
            self.message_in(Lang::En)
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The request id and the request's language are filled in by the request middleware,
    /// which sees every response; here the envelope is a placeholder it replaces.
    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(allow) = &self.allow {
            builder.insert_header((header::ALLOW, allow.as_str()));
        }
        builder.extensions_mut().insert(self.clone());
        builder.json(self.body("", Lang::En))
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        use DomainError as D;
        let logged = e.to_string();
        match e {
            D::NotFound { entity, id } => ApiError::not_found(
                Msg::new("error-entity-not-found")
                    .arg("entity", entity)
                    .arg("id", id),
            )
            .with_details(json!({ "entity": entity, "id": id })),
            D::ProductInactive(id) => ApiError::new(
                StatusCode::CONFLICT,
                "product_inactive",
                Msg::new("error-product-inactive").arg("product", id.get()),
            )
            .with_details(json!({ "product_id": id })),
            D::OutOfStock {
                product_id,
                name,
                requested,
                available,
            } => ApiError::new(
                StatusCode::CONFLICT,
                "out_of_stock",
                Msg::new("error-out-of-stock")
                    .arg("available", available)
                    .arg("name", name),
            )
            .with_details(
                json!({ "product_id": product_id, "requested": requested, "available": available }),
            ),
            D::InsufficientFunds { required, balance } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_funds",
                Msg::new("error-insufficient-funds")
                    .arg("required", required.minor())
                    .arg("balance", balance.minor()),
            )
            .with_details(json!({ "required_minor": required, "balance_minor": balance })),
            D::CartEmpty => ApiError::new(
                StatusCode::CONFLICT,
                "cart_empty",
                Msg::new("error-cart-empty"),
            ),
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
                let message = Msg::new(unpaid_message(limit))
                    .arg("max", max)
                    .arg("held", held)
                    .arg("requested", requested);
                ApiError::new(StatusCode::CONFLICT, "unpaid_limit", message).with_details(details)
            }
            D::Invalid { field, message } => ApiError::invalid(field, message),
            D::StockWouldGoNegative { available, delta } => ApiError::new(
                StatusCode::CONFLICT,
                "stock_would_go_negative",
                Msg::new("error-stock-would-go-negative")
                    .arg("available", available)
                    .arg("delta", delta),
            )
            .with_details(json!({ "available": available, "quantity_delta": delta })),
            D::WrongStockKind { kind, expected } => ApiError::invalid(
                expected,
                Msg::new("error-wrong-stock-kind")
                    .arg("kind", kind)
                    .arg("expected", expected),
            ),
            D::PromoInvalid { code, reason } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "promo_invalid",
                Msg::new(promo_message(reason)).arg("code", code.as_str()),
            )
            .with_details(json!({ "field": "promo_code", "code": code, "reason": reason })),
            D::NotInStars { reason, product_id } => {
                let mut details = json!({ "field": "payment", "reason": reason });
                if let Some(product) = product_id {
                    details["product_id"] = json!(product);
                }
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "stars_unavailable",
                    Msg::new(stars_message(reason)),
                )
                .with_details(details)
            }
            D::UnknownPromo(code) => {
                ApiError::not_found(Msg::new("error-no-such-promo").arg("code", code.as_str()))
                    .with_details(json!({ "entity": "promo", "code": code }))
            }
            D::InvalidTransition { from, to, allowed } => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_transition",
                Msg::new("error-invalid-transition")
                    .arg("from", from.as_str())
                    .arg("to", to.as_str()),
            )
            .with_details(json!({ "from": from, "to": to, "allowed": allowed })),
            D::NeedsItsOwnFlow { to } => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_transition",
                Msg::new("error-transition-own-endpoint").arg("to", to.as_str()),
            )
            .with_details(json!({ "to": to, "reason": "needs_its_own_endpoint" })),
            D::RefundExceedsPaid {
                requested,
                remaining,
            } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refund_exceeds_paid",
                Msg::new("error-refund-exceeds-paid")
                    .arg("requested", requested.minor())
                    .arg("remaining", remaining.minor()),
            )
            .with_details(json!({ "field": "amount_minor", "requested_minor": requested, "remaining_minor": remaining })),
            D::AlreadyDelivered { order } => ApiError::new(
                StatusCode::CONFLICT,
                "already_delivered",
                Msg::new("error-already-delivered").arg("order", order.get()),
            )
            .with_details(json!({ "order_id": order })),
            D::StatusChanged => ApiError::new(
                StatusCode::CONFLICT,
                "status_changed",
                Msg::new("error-status-changed"),
            ),
            D::KeyTaken => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                Msg::new("error-idempotency-key-in-use"),
            ),
            D::Rejected { constraint } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                Msg::new("error-write-refused").arg("constraint", constraint.as_str()),
            )
            .with_details(json!({ "constraint": constraint })),
            D::Unavailable(_) => {
                tracing::warn!(error = %logged, "answering 503 unavailable");
                ApiError::unavailable(Msg::new("error-database-unavailable"))
            }
            D::NotOwner { shard } | D::Fenced { shard } => {
                tracing::info!(shard, error = %logged, "answering 503: shard not served here");
                ApiError::unavailable(Msg::new("error-shard-moving"))
            }
            D::Overloaded => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    Msg::new("error-overloaded"),
                );
                e.retry_after = Some(1);
                e
            }
            D::Internal(_) => {
                tracing::error!(error = %logged, "internal error");
                ApiError::internal()
            }
        }
    }
}

/// The message for each reason a promo code is refused (`details.reason` names it too).
fn promo_message(reason: souk_actors::domain::promo::PromoRefusal) -> &'static str {
    use souk_actors::domain::promo::PromoRefusal as R;
    match reason {
        R::Unknown => "error-promo-unknown",
        R::Inactive => "error-promo-inactive",
        R::NotStarted => "error-promo-not-started",
        R::Expired => "error-promo-expired",
        R::BelowMinimum => "error-promo-below-minimum",
        R::Exhausted => "error-promo-exhausted",
        R::PerUserLimit => "error-promo-per-user-limit",
    }
}

/// The message for each reason a cart cannot be paid in Telegram Stars.
fn stars_message(reason: souk_actors::domain::stars::StarsRefusal) -> &'static str {
    use souk_actors::domain::stars::StarsRefusal as R;
    match reason {
        R::Disabled => "error-stars-disabled",
        R::NoStarsPrice => "error-stars-no-price",
        R::Physical => "error-stars-physical",
        R::Free => "error-stars-free",
    }
}

/// The message for each bound on what one buyer may hold unpaid.
fn unpaid_message(limit: souk_actors::domain::unpaid::HoldLimit) -> &'static str {
    use souk_actors::domain::unpaid::HoldLimit;
    match limit {
        HoldLimit::Orders => "error-unpaid-orders",
        HoldLimit::Units => "error-unpaid-units",
        HoldLimit::ProductShare => "error-unpaid-product-units",
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

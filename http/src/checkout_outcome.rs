//! How a checkout ended, classified once for both front-ends: `POST /v1/me/checkout` and
//! the bot's "Pay from wallet" count the same `souk_checkouts_total` label for the same
//! end. A replay counts as a replay whatever answer it repeats (an order or a refusal); a
//! refusal the shop names keeps its code; any other 4xx is "invalid", anything else "error".

use crate::error::ApiError;
use crate::idempotency::Served;
use prometheus::IntCounterVec;

/// Refusal and failure codes counted under their own label; every label this module can
/// give (`labels`) is pre-registered in `metrics.rs`, so a scrape shows zeros before the first one.
const NAMED: [&str; 9] = [
    "out_of_stock",
    "insufficient_funds",
    "cart_empty",
    "promo_invalid",
    "unpaid_limit",
    "unavailable",
    "overloaded",
    "maintenance",
    "idempotency_key_reused",
];

/// The label of a checkout that was answered (`Ok`, fresh or replayed) or refused or failed
/// now (`Err`).
pub fn label(ended: Result<Served, &ApiError>) -> &'static str {
    match ended {
        Ok(Served::Fresh) => "ok",
        Ok(Served::Replayed) => "idempotent_replay",
        Err(e) => match NAMED.iter().find(|code| **code == e.code) {
            Some(code) => code,
            None if e.status.is_client_error() => "invalid",
            None => "error",
        },
    }
}

/// Every label `label` can give, in the order a scrape lists them.
pub fn labels() -> impl Iterator<Item = &'static str> {
    ["ok", "idempotent_replay"]
        .into_iter()
        .chain(NAMED)
        .chain(["invalid", "error"])
}

/// Counts one checkout under its label in `souk_checkouts_total`.
pub fn count(checkouts: &IntCounterVec, ended: Result<Served, &ApiError>) {
    checkouts.with_label_values(&[label(ended)]).inc();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Msg;
    use actix_web::http::StatusCode;

    fn refused(status: StatusCode, code: &'static str) -> ApiError {
        ApiError::new(status, code, Msg::new("error-internal"))
    }

    #[test]
    fn replays_count_as_replays_and_unnamed_refusals_as_invalid() {
        assert_eq!(label(Ok(Served::Fresh)), "ok");
        assert_eq!(label(Ok(Served::Replayed)), "idempotent_replay");
        let stock = refused(StatusCode::CONFLICT, "out_of_stock");
        assert_eq!(label(Err(&stock)), "out_of_stock");
        let promo = refused(StatusCode::UNPROCESSABLE_ENTITY, "promo_invalid");
        assert_eq!(label(Err(&promo)), "promo_invalid");
        let field = ApiError::invalid("payment", Msg::new("error-internal"));
        assert_eq!(label(Err(&field)), "invalid");
        assert_eq!(
            label(Err(&ApiError::unavailable(Msg::new("error-internal")))),
            "unavailable"
        );
        assert_eq!(label(Err(&ApiError::internal())), "error");
    }
}

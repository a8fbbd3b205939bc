//! The shapes the handlers read and write that are not a domain type of their own: the error
//! envelope, the list and idempotency parameters, and a few small bodies. `openapi.rs`
//! assembles the served document from these and the handlers' annotations; the handlers
//! use them directly, so what is documented is what is sent.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub mod field;

/// For `#[serde(default, deserialize_with = "crate::schema::present")]` on a PATCH body's
/// `Option<Option<T>>`: tells "field absent" (`None`: leave it) from "field null"
/// (`Some(None)`: clear it).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The error envelope of `error.rs`: `{"error": {"code", "message", "details", "request_id"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case identifier, e.g. `not_found`, `invalid_input`, `out_of_stock`.
    code: String,
    /// For people; never parsed.
    message: String,
    /// Machine-readable context, e.g. `{"field": "quantity"}`; `{}` when there is none.
    #[schema(value_type = Object)]
    details: serde_json::Value,
    request_id: String,
}

/// `?limit=&cursor=` of every list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Opaque: send back the `next_cursor` of the previous page unchanged (empty or absent:
    /// the first page). A client must not build or change one; the pattern is only the
    /// shape this server hands out, and a value off it is refused with 422.
    #[param(
        pattern = "^(?:[1-9][0-9]{0,17}|[1-8][0-9]{18}|9[01][0-9]{17}|92[01][0-9]{16}|922[0-2][0-9]{15}|9223[0-2][0-9]{14}|92233[0-6][0-9]{13}|922337[01][0-9]{12}|92233720[0-2][0-9]{10}|922337203[0-5][0-9]{9}|9223372036[0-7][0-9]{8}|92233720368[0-4][0-9]{7}|922337203685[0-3][0-9]{6}|9223372036854[0-6][0-9]{5}|92233720368547[0-6][0-9]{4}|922337203685477[0-4][0-9]{3}|9223372036854775[0-7][0-9]{2}|922337203685477580[0-6]|9223372036854775807)?$"
    )]
    pub cursor: Option<String>,
}

/// The header of every write that moves money or stock (the `IdempotencyKey` extractor).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1..=255 printable ASCII characters. A retry with the same key and body answers exactly
    /// what the first call answered; the same key with another body is refused.
    #[param(rename = "Idempotency-Key", pattern = "^[ -~]{1,255}$")]
    pub idempotency_key: String,
}

/// `{"status": "ok"}` and `{"status": "ready"}`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: &'static str,
}

/// `GET /v1/me/wallet`.
#[derive(Serialize, ToSchema)]
pub struct Balance<'a> {
    pub balance_minor: souk_actors::domain::money::Money,
    pub currency: &'a str,
}

/// `GET /v1/admin/dashboard`, as `routes/dashboard.rs` assembles it.
#[derive(Serialize, ToSchema)]
pub struct Dashboard<'a> {
    pub currency: &'a str,
    pub today: &'a souk_actors::views::dashboard::Window,
    pub last_7_days: &'a souk_actors::views::dashboard::Window,
    /// Checkouts counted since the process started, by outcome.
    pub checkouts_by_outcome_since_start: std::collections::BTreeMap<String, u64>,
    pub low_stock: LowStock<'a>,
    pub top_products_7_days: &'a [souk_actors::views::dashboard::TopProduct],
    #[schema(value_type = String, format = DateTime)]
    pub computed_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct LowStock<'a> {
    pub threshold: i64,
    pub items: &'a [souk_actors::views::dashboard::StockLow],
}

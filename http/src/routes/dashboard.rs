//! `GET /v1/admin/dashboard`: sales today and over 7 days, checkouts by outcome, low-stock
//! and top products. Committed figures come from the in-process snapshot of
//! `souk_actors::views::dashboard` (fresh for every write answered before the request); checkout
//! outcomes come from the live counters, since the process started.

use crate::error::ApiResult;
use crate::extract::Admin;
use crate::schema::{Dashboard, LowStock};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use prometheus::core::Collector;
use std::collections::BTreeMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/dashboard", web::get().to(dashboard));
}

#[utoipa::path(
    get,
    path = "/v1/admin/dashboard",
    summary = "Sales, checkouts, low stock and top products (admin)",
    tag = "operations",
    responses((status = 200, body = crate::schema::Dashboard)),
    security(("bearer" = []))
)]
async fn dashboard(_admin: Admin, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let threshold = state.stock_low_threshold;
    let figures = state
        .bounded(state.dashboard.read(&state.pool, threshold))
        .await?;
    Ok(HttpResponse::Ok().json(Dashboard {
        currency: &state.currency,
        today: &figures.today,
        last_7_days: &figures.last_7_days,
        checkouts_by_outcome_since_start: checkout_outcomes(&state),
        low_stock: LowStock {
            threshold,
            items: &figures.low_stock,
        },
        top_products_7_days: &figures.top_products_7_days,
        computed_at: figures.computed_at,
    }))
}

/// `{"ok": 3, "out_of_stock": 1, ...}` from `souk_checkouts_total`.
fn checkout_outcomes(state: &AppState) -> BTreeMap<String, u64> {
    let mut outcomes = BTreeMap::new();
    for family in state.metrics.checkouts.collect() {
        for metric in family.get_metric() {
            let outcome = metric
                .get_label()
                .iter()
                .find(|l| l.name() == "outcome")
                .map(|l| l.value().to_string());
            if let Some(outcome) = outcome {
                // A counter holds whole increments; as u64 it loses nothing below 2^53.
                outcomes.insert(outcome, metric.get_counter().get_value() as u64);
            }
        }
    }
    outcomes
}

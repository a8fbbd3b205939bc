//! The dashboard's figures, read in one read-only snapshot, and the low-stock count that
//! `/metrics` samples.

use crate::domain::error::DomainResult;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;

/// Active products with at most `threshold` units left to sell.
pub async fn low_stock_count(pool: &Pool, threshold: i64) -> DomainResult<i64> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            concat!(
                "SELECT count(*) FROM products p WHERE p.active AND (",
                crate::stock_available_sql!(),
                ") <= $1"
            ),
            &[&threshold],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Orders and money over one window. Cancelled orders and orders awaiting payment are not
/// sales; refunds are counted when they were made.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Window {
    pub orders: i64,
    pub gross_minor: i64,
    pub refunded_minor: i64,
    pub net_minor: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockLow {
    pub product_id: i64,
    pub name: String,
    pub stock_available: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TopProduct {
    pub product_id: i64,
    pub name: String,
    pub units: i64,
    pub gross_minor: i64,
}

/// The committed part of the dashboard (checkout outcomes come from the live counters).
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub today: Window,
    pub last_7_days: Window,
    pub low_stock: Vec<StockLow>,
    pub top_products_7_days: Vec<TopProduct>,
    pub computed_at: DateTime<Utc>,
}

/// Bounds on the dashboard's lists.
pub const LOW_STOCK_MAX: i64 = 20;

pub const TOP_PRODUCTS_MAX: i64 = 10;

const WINDOW: &str = "
    WITH sales AS (
        SELECT count(*) AS orders, coalesce(sum(total_minor), 0)::bigint AS gross
        FROM orders WHERE created_at >= $1 AND status NOT IN ('cancelled', 'pending_payment')),
    refunds AS (
        SELECT coalesce(sum(amount_minor), 0)::bigint AS refunded
        FROM wallet_transactions WHERE kind = 'refund' AND created_at >= $1)
    SELECT sales.orders, sales.gross, refunds.refunded FROM sales, refunds";

const LOW_STOCK: &str = concat!(
    "SELECT id, name, available FROM (SELECT p.id, p.name, ",
    crate::stock_available_sql!(),
    " AS available FROM products p WHERE p.active) s
    WHERE available <= $1 ORDER BY available, id LIMIT $2"
);

const TOP_PRODUCTS: &str = "
    SELECT l.product_id, min(l.name) AS name, sum(l.quantity)::bigint AS units,
           sum(l.quantity::bigint * l.unit_price_minor)::bigint AS gross
    FROM order_lines l JOIN orders o ON o.id = l.order_id
    WHERE o.created_at >= $1 AND o.status NOT IN ('cancelled', 'pending_payment')
    GROUP BY l.product_id ORDER BY units DESC, l.product_id LIMIT $2";

/// Which transactions are visible now: equal texts mean identical committed state.
const VISIBILITY: &str = "SELECT pg_current_snapshot()::text";

pub(crate) async fn visibility(pool: &Pool) -> DomainResult<String> {
    let client = pool.get().await?;
    Ok(client.query_one(VISIBILITY, &[]).await?.try_get(0)?)
}

/// Computes every figure in one read-only snapshot, so they agree with each other; returns
/// that snapshot's visibility with them.
pub(crate) async fn compute(
    pool: &Pool,
    stock_low_threshold: i64,
) -> DomainResult<(String, Figures)> {
    let now = Utc::now();
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let week = now - chrono::Duration::days(7);
    let mut client = pool.get().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    // The first statement fixes the transaction's snapshot; this names it.
    let seen: String = tx.query_one(VISIBILITY, &[]).await?.try_get(0)?;
    let mut windows = Vec::with_capacity(2);
    for since in [midnight, week] {
        let row = tx.query_one(WINDOW, &[&since]).await?;
        let (gross, refunded): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
        windows.push(Window {
            orders: row.try_get(0)?,
            gross_minor: gross,
            refunded_minor: refunded,
            net_minor: gross.saturating_sub(refunded),
        });
    }
    let low_stock = tx
        .query(LOW_STOCK, &[&stock_low_threshold, &LOW_STOCK_MAX])
        .await?
        .iter()
        .map(|r| {
            Ok(StockLow {
                product_id: r.try_get(0)?,
                name: r.try_get(1)?,
                stock_available: r.try_get(2)?,
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    let top = tx
        .query(TOP_PRODUCTS, &[&week, &TOP_PRODUCTS_MAX])
        .await?
        .iter()
        .map(|r| {
            Ok(TopProduct {
                product_id: r.try_get(0)?,
                name: r.try_get(1)?,
                units: r.try_get(2)?,
                gross_minor: r.try_get(3)?,
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    tx.commit().await?;
    let last_7_days = windows.pop().unwrap_or_else(empty);
    let today = windows.pop().unwrap_or_else(empty);
    let figures = Figures {
        today,
        last_7_days,
        low_stock,
        top_products_7_days: top,
        computed_at: now,
    };
    Ok((seen, figures))
}

fn empty() -> Window {
    Window {
        orders: 0,
        gross_minor: 0,
        refunded_minor: 0,
        net_minor: 0,
    }
}

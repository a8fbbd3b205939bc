//! Operators' figures read from committed state: what `/metrics` samples at scrape time.
//! Counts only, never one series per product, so the scrape stays small however large the
//! catalog grows.

use crate::error::DomainResult;
use deadpool_postgres::Pool;

/// Active products with at most `threshold` units left to sell.
pub async fn low_stock_count(pool: &Pool, threshold: i64) -> DomainResult<i64> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT count(*) FROM products p
             WHERE p.active AND (CASE WHEN p.kind = 'physical' THEN p.stock_on_hand
                 ELSE (SELECT count(*) FROM digital_items d
                       WHERE d.product_id = p.id AND d.order_id IS NULL) END) <= $1",
            &[&threshold],
        )
        .await?;
    Ok(row.try_get(0)?)
}

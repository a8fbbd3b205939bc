//! Physical stock's one statement: units on hand move only together with their movement
//! row, so `stock_on_hand` always equals the sum of the movements (`souk check` I3). The
//! checkout's sales are part of the checkout's own single statement (`checkout.rs`).

use super::{ApplyError, Db};
use crate::domain::error::DomainError;
use crate::domain::ids::{OrderId, ProductId};

/// Why units moved, as `stock_movements.reason` records it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Movement {
    /// An admin's correction.
    Adjustment,
    /// Units back on the shelf (a cancel or a return) or taken for an exchange.
    Order(OrderId),
}

/// Moves `delta` units of a physical product with its movement row and answers the
/// movement's id; `NotFound` when there is no such physical product. The table's check
/// refuses stock below zero.
pub(super) async fn move_stock(
    tx: &Db,
    product: ProductId,
    delta: i64,
    why: Movement,
) -> Result<i64, ApplyError> {
    let (reason, order) = match why {
        Movement::Adjustment => ("adjustment", None),
        Movement::Order(order) if delta > 0 => ("release", Some(order.get())),
        Movement::Order(order) => ("sale", Some(order.get())),
    };
    let sql = "WITH p AS (
                   UPDATE products SET stock_on_hand = stock_on_hand + $2, updated_at = now()
                   WHERE id = $1 AND kind = 'physical' RETURNING id
               )
               INSERT INTO stock_movements (product_id, delta, reason, order_id)
               SELECT id, $2, $3, $4 FROM p RETURNING id";
    let stmt = tx.prepare_cached(sql).await?;
    let row = tx
        .query_opt(&stmt, &[&product.get(), &delta, &reason, &order])
        .await?
        .ok_or(ApplyError::Job(DomainError::not_found_product(product)))?;
    Ok(row.try_get(0)?)
}

//! Physical stock's one statement: units on hand move only together with their movement
//! row, so `stock_on_hand` always equals the sum of the movements (`souk check` I3). One
//! statement serves one movement or a whole batch's: each product's row is updated once
//! with the sum of its movements. The checkout's sales are part of the checkout's own
//! statement (`checkout.rs`).

use super::{ApplyError, Db};
use crate::domain::error::DomainError;
use crate::domain::ids::{OrderId, ProductId};
use std::collections::HashMap;

/// Why units moved, as `stock_movements.reason` records it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Movement {
    /// An admin's correction.
    Adjustment,
    /// Units back on the shelf (a cancel or a return) or taken for an exchange.
    Order(OrderId),
}

/// `delta` units of one physical product, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Move {
    pub product: ProductId,
    pub delta: i64,
    pub why: Movement,
}

/// Each movement's id is drawn first, so an answer maps back to its entry exactly, whatever
/// the order Postgres inserts in.
const MOVE_SQL: &str = "
WITH i AS (
    SELECT i.*, nextval('stock_movements_id_seq') AS id
    FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])
        WITH ORDINALITY AS i(product_id, delta, reason, order_id, n)
), p AS (
    UPDATE products SET stock_on_hand = stock_on_hand + s.delta, updated_at = now()
    FROM (SELECT product_id, sum(delta)::bigint AS delta FROM i GROUP BY product_id) s
    WHERE products.id = s.product_id AND products.kind = 'physical'
    RETURNING products.id
), moved AS (
    INSERT INTO stock_movements (id, product_id, delta, reason, order_id)
    SELECT i.id, i.product_id, i.delta, i.reason, i.order_id FROM i JOIN p ON p.id = i.product_id
    RETURNING id
)
SELECT i.n, i.id FROM i JOIN moved USING (id)";

/// Moves each entry's units with its movement row; answers each movement's id, or
/// `NotFound` for an entry whose physical product does not exist. The table's check
/// refuses stock below zero.
pub(crate) async fn move_all(
    tx: &Db,
    moves: &[Move],
) -> Result<Vec<Result<i64, DomainError>>, ApplyError> {
    let products: Vec<i64> = moves.iter().map(|m| m.product.get()).collect();
    let deltas: Vec<i64> = moves.iter().map(|m| m.delta).collect();
    let (reasons, orders): (Vec<&str>, Vec<Option<i64>>) = moves
        .iter()
        .map(|m| match m.why {
            Movement::Adjustment => ("adjustment", None),
            Movement::Order(order) if m.delta > 0 => ("release", Some(order.get())),
            Movement::Order(order) => ("sale", Some(order.get())),
        })
        .unzip();
    let stmt = tx.prepare_cached(MOVE_SQL).await?;
    let rows = tx
        .query(&stmt, &[&products, &deltas, &reasons, &orders])
        .await?;
    let mut written = HashMap::with_capacity(rows.len());
    for row in &rows {
        written.insert(row.try_get::<_, i64>(0)?, row.try_get::<_, i64>(1)?);
    }
    Ok((1..)
        .zip(moves)
        .map(|(n, m)| {
            written
                .get(&n)
                .copied()
                .ok_or(DomainError::not_found_product(m.product))
        })
        .collect())
}

/// Moves `delta` units of a physical product with its movement row and answers the
/// movement's id; `NotFound` when there is no such physical product.
pub(super) async fn move_stock(
    tx: &Db,
    product: ProductId,
    delta: i64,
    why: Movement,
) -> Result<i64, ApplyError> {
    let one = Move {
        product,
        delta,
        why,
    };
    super::one(move_all(tx, &[one]).await?)
}

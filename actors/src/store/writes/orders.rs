//! Order status moves and cancellations as the group commit applies them, and stock put back
//! on the shelf.

use crate::domain::changes::Cancellation;
use crate::domain::changes::Outcome;
use crate::domain::ids::OrderId;
use crate::domain::ids::ProductId;
use crate::domain::money::Money;
use crate::store::tx::ApplyError;
use crate::store::tx::Db;
use crate::store::writes::status::change_status;

pub(super) async fn apply_cancel(tx: &Db, c: &Cancellation) -> Result<Outcome, ApplyError> {
    change_status(tx, &c.change).await?;
    if c.refund > Money::ZERO {
        super::refunds::give_back(tx, c.user, c.change.order, c.refund, "order cancelled").await?;
    }
    // Keys held for an order never paid were never delivered: they go back on sale.
    let stmt = tx
        .prepare_cached(
            "UPDATE digital_items SET order_id = NULL WHERE order_id = $1 AND delivered_at IS NULL",
        )
        .await?;
    tx.execute(&stmt, &[&c.change.order.get()]).await?;
    let promo = crate::store::writes::promos::release_redemption(tx, c.change.order).await?;
    let restocked = restock(tx, &c.restock, c.change.order).await?;
    Ok(Outcome::Cancelled { restocked, promo })
}

/// Puts physical units back on the shelf (`release` movements) for an order; answers each
/// product's movement, which tells its owner whether its loaded state already counts it.
pub(super) async fn restock(
    tx: &Db,
    lines: &[(ProductId, i64)],
    order: OrderId,
) -> Result<Vec<(ProductId, i64, i64)>, ApplyError> {
    let moves: Vec<super::stock::Move> = lines
        .iter()
        .map(|(product, quantity)| super::stock::Move {
            product: *product,
            delta: *quantity,
            why: super::stock::Movement::Order(order),
        })
        .collect();
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    // One statement for all the order's products (its lines name each product once).
    let written = super::stock::move_all(tx, &moves).await?;
    lines
        .iter()
        .zip(written)
        .map(|((product, quantity), movement)| {
            Ok((*product, *quantity, movement.map_err(ApplyError::Job)?))
        })
        .collect()
}

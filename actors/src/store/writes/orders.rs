//! Order status moves and cancellations as the group commit applies them, and stock put back
//! on the shelf.

use crate::domain::changes::Cancellation;
use crate::domain::changes::Outcome;
use crate::domain::changes::StatusChange;
use crate::domain::error::DomainError;
use crate::domain::ids::OrderId;
use crate::domain::ids::ProductId;
use crate::domain::money::Money;
use crate::store::writes::ApplyError;
use crate::store::writes::Db;
pub(super) async fn change_status(tx: &Db, c: &StatusChange) -> Result<(), ApplyError> {
    let sql = "WITH o AS (
                   UPDATE orders SET status = $3, updated_at = now() WHERE id = $1 AND status = $2 RETURNING id
               )
               INSERT INTO order_status_history (order_id, from_status, to_status, actor, note)
               SELECT id, $2, $3, $4, $5 FROM o";
    let stmt = tx.prepare_cached(sql).await?;
    let n = tx
        .execute(
            &stmt,
            &[
                &c.order.get(),
                &c.from.as_str(),
                &c.to.as_str(),
                &c.actor,
                &c.note,
            ],
        )
        .await?;
    if n != 1 {
        // Someone moved it first; the caller reads it again and sees where it is now.
        return Err(ApplyError::Job(DomainError::StatusChanged));
    }
    Ok(())
}

pub(super) async fn apply_status(tx: &Db, c: &StatusChange) -> Result<Outcome, ApplyError> {
    change_status(tx, c).await?;
    Ok(Outcome::Done)
}

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
    let mut movements = Vec::with_capacity(lines.len());
    for (product, quantity) in lines {
        let movement = super::stock::move_stock(
            tx,
            *product,
            *quantity,
            super::stock::Movement::Order(order),
        )
        .await?;
        movements.push((*product, *quantity, movement));
    }
    Ok(movements)
}

//! An order's status move with its history row: every flow that moves an order comes here.

use crate::domain::changes::Outcome;
use crate::domain::error::DomainError;
use crate::domain::status::StatusChange;
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

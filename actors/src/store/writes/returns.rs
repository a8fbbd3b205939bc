//! Returns as the group commit applies them: each step's status, lines, and stock moved with
//! its movement.

use super::status::change_status;
use super::stock::{move_stock, Movement};
use crate::domain::changes::Outcome;
use crate::domain::error::DomainError;
use crate::domain::ids::ProductId;
use crate::domain::returns::ReturnWrite;
use crate::store::tx::ApplyError;
use crate::store::tx::Db;
use crate::store::writes::orders::restock;

pub(super) async fn apply(tx: &Db, w: &ReturnWrite) -> Result<Outcome, ApplyError> {
    match w {
        ReturnWrite::Request {
            order,
            user,
            reason,
            lines,
        } => {
            change_status(tx, order).await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO returns (order_id, user_id, status, reason) VALUES ($1, $2, 'requested', $3) RETURNING id",
                )
                .await?;
            let id: i64 = tx
                .query_one(&stmt, &[&order.order.get(), &user.get(), reason])
                .await?
                .try_get(0)?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO return_lines (return_id, product_id, quantity, exchange_product_id) VALUES ($1, $2, $3, $4)",
                )
                .await?;
            for l in lines {
                let exchange = l.exchange_product_id.map(ProductId::get);
                tx.execute(
                    &stmt,
                    &[&id, &l.product_id.get(), &(l.quantity as i32), &exchange],
                )
                .await?;
                if let Some(other) = l.exchange_product_id {
                    move_stock(tx, other, -l.quantity, Movement::Order(order.order)).await?;
                }
            }
            Ok(Outcome::Id(id))
        }
        ReturnWrite::Decide {
            id,
            approve,
            note,
            order,
            restock: back,
        } => {
            let to = if *approve { "approved" } else { "rejected" };
            set_status(tx, *id, "requested", to, note).await?;
            match order {
                Some(change) => {
                    change_status(tx, change).await?;
                    restock(tx, back, change.order)
                        .await
                        .map(Outcome::Restocked)
                }
                None => Ok(Outcome::Done),
            }
        }
        ReturnWrite::Receive {
            id,
            note,
            order,
            restock: back,
        } => {
            set_status(tx, *id, "approved", "received", note).await?;
            change_status(tx, order).await?;
            restock(tx, back, order.order).await.map(Outcome::Restocked)
        }
    }
}

async fn set_status(
    tx: &Db,
    id: i64,
    from: &str,
    to: &str,
    note: &Option<String>,
) -> Result<(), ApplyError> {
    let stmt = tx
        .prepare_cached(
            "UPDATE returns SET status = $3, note = coalesce($4, note), updated_at = now() WHERE id = $1 AND status = $2",
        )
        .await?;
    if tx.execute(&stmt, &[&id, &from, &to, note]).await? != 1 {
        return Err(ApplyError::Job(DomainError::StatusChanged));
    }
    Ok(())
}

//! The committed orders that count against a buyer's unpaid limits (`unpaid.rs`).

use crate::domain::error::DomainResult;
use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::model::Timestamp;
use crate::domain::unpaid::UnpaidLine;
use deadpool_postgres::Pool;

/// The lines of `user`'s external orders still awaiting payment, and of those that ended
/// unpaid (cancelled, never paid) whose payment was due after `counted_since`. Read by the
/// buyer's own actor, which serializes its checkouts and cancellations, so nothing of this
/// buyer changes between this read and the checkout's commit except a payment, which only
/// lowers what counts.
pub async fn unpaid_lines(
    pool: &Pool,
    user: UserId,
    counted_since: Timestamp,
) -> DomainResult<Vec<UnpaidLine>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT o.id, l.product_id, l.quantity, o.status = 'pending_payment'
             FROM orders o JOIN order_lines l ON l.order_id = o.id
             WHERE o.user_id = $1 AND o.payment IN ('external', 'stars')
               AND (o.status = 'pending_payment'
                    OR (o.status = 'cancelled' AND o.payment_due_at > $2 AND o.paid_minor = 0))",
            &[&user.get(), &counted_since],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(UnpaidLine {
                order: OrderId::from_db(r.try_get(0)?),
                product: ProductId::from_db(r.try_get(1)?),
                quantity: i64::from(r.try_get::<_, i32>(2)?),
                holding: r.try_get(3)?,
            })
        })
        .collect()
}

//! Money given back to a wallet for an order: refunds and cancellations.

use crate::domain::changes::Outcome;
use crate::domain::changes::RefundWrite;
use crate::domain::error::DomainError;
use crate::domain::ids::OrderId;
use crate::domain::model::WalletTransaction;
use crate::domain::model::WalletTxKind;
use crate::domain::money::Money;
use crate::domain::status::StatusChange;
use crate::store::tx::ApplyError;
use crate::store::tx::Db;
use crate::store::UserId;

pub(super) async fn apply(tx: &Db, r: &RefundWrite) -> Result<Outcome, ApplyError> {
    let refund = give_back(tx, r.user, r.order, r.amount, &r.reason).await?;
    if let Some(change) = &r.completes {
        super::status::apply_status(tx, change).await?;
    }
    Ok(Outcome::Credit(refund))
}

/// Telegram refunded the Stars of `change.order`: its refund is done and the order moves
/// to `refunded` (only from the status it was read in, like any staff move).
pub(super) async fn stars_refunded(tx: &Db, change: &StatusChange) -> Result<Outcome, ApplyError> {
    let stmt = tx
        .prepare_cached(
            "UPDATE star_refunds SET state = 'done', error = NULL, settled_at = now()
             WHERE order_id = $1",
        )
        .await?;
    if tx.execute(&stmt, &[&change.order.get()]).await? != 1 {
        return Err(ApplyError::Job(DomainError::not_found_order(change.order)));
    }
    super::status::apply_status(tx, change).await
}

/// Gives `amount` of an order's money back to its owner's wallet: the order's refunded
/// total first, then the balance and its ledger row. Every flow that gives money back
/// (refunds, cancellations) comes through here, so the order's check
/// (`refunded_minor <= paid_minor`) bounds them all, whatever the actors believed.
pub(super) async fn give_back(
    tx: &Db,
    user: UserId,
    order: OrderId,
    amount: Money,
    reason: &str,
) -> Result<WalletTransaction, ApplyError> {
    let sql = "UPDATE orders SET refunded_minor = refunded_minor + $3, updated_at = now()
               WHERE id = $2 AND user_id = $1";
    let stmt = tx.prepare_cached(sql).await?;
    match tx
        .execute(&stmt, &[&user.get(), &order.get(), &amount.minor()])
        .await
    {
        Ok(1) => {}
        Ok(_) => return Err(ApplyError::Job(DomainError::not_found_order(order))),
        Err(e) => {
            return Err(match ApplyError::from(e) {
                ApplyError::Job(DomainError::Rejected { constraint })
                    if constraint == REFUND_BOUND =>
                {
                    ApplyError::Job(DomainError::RefundExceedsPaid {
                        requested: amount,
                        remaining: Money::ZERO,
                    })
                }
                other => other,
            })
        }
    }
    super::ledger::credit(tx, user, WalletTxKind::Refund, amount, Some(order), reason).await
}

/// The database's own bound on what an order gives back.
const REFUND_BOUND: &str = "orders_refunds_within_paid";

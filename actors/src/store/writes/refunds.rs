//! Money given back to a wallet for an order: refunds and cancellations.

use crate::domain::changes::RefundWrite;
use crate::domain::error::DomainError;
use crate::domain::ids::OrderId;
use crate::domain::model::WalletTransaction;
use crate::domain::model::WalletTxKind;
use crate::domain::money::Money;
use crate::store::writes::ApplyError;
use crate::store::writes::Db;
use crate::store::writes::Outcome;
use crate::store::UserId;
pub(super) async fn apply(tx: &Db, r: &RefundWrite) -> Result<Outcome, ApplyError> {
    let (id, created_at) = give_back(tx, r.user, r.order, r.amount, &r.reason).await?;
    if let Some(change) = &r.completes {
        super::orders::apply_status(tx, change).await?;
    }
    Ok(Outcome::Credit(WalletTransaction {
        id,
        kind: WalletTxKind::Refund,
        amount_minor: r.amount,
        order_id: Some(r.order),
        reason: r.reason.clone(),
        created_at,
    }))
}

/// Gives `amount` of an order's money back to its owner's wallet: the order's refunded
/// total, the balance and the ledger row in one statement. Every flow that gives money
/// back (refunds, cancellations) comes through here, so the order's check
/// (`refunded_minor <= paid_minor`) bounds them all, whatever the actors believed.
pub(super) async fn give_back(
    tx: &Db,
    user: UserId,
    order: OrderId,
    amount: Money,
    reason: &str,
) -> Result<(i64, crate::domain::model::Timestamp), ApplyError> {
    let sql = "WITH o AS (
                   UPDATE orders SET refunded_minor = refunded_minor + $3, updated_at = now()
                   WHERE id = $2 AND user_id = $1 RETURNING user_id
               ), u AS (
                   UPDATE users SET balance_minor = balance_minor + $3
                   WHERE id = (SELECT user_id FROM o) RETURNING id
               )
               INSERT INTO wallet_transactions (user_id, kind, amount_minor, order_id, reason)
               SELECT id, 'refund', $3, $2, $4 FROM u RETURNING id, created_at";
    let stmt = tx.prepare_cached(sql).await?;
    let exceeds = || {
        ApplyError::Job(DomainError::RefundExceedsPaid {
            requested: amount,
            remaining: Money::ZERO,
        })
    };
    let row = match tx
        .query_opt(
            &stmt,
            &[&user.get(), &order.get(), &amount.minor(), &reason],
        )
        .await
    {
        Ok(Some(row)) => row,
        Ok(None) => return Err(ApplyError::Job(DomainError::not_found_order(order))),
        Err(e) => {
            return Err(match ApplyError::from(e) {
                ApplyError::Job(DomainError::Rejected { constraint })
                    if constraint == REFUND_BOUND =>
                {
                    exceeds()
                }
                other => other,
            })
        }
    };
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The database's own bound on what an order gives back.
const REFUND_BOUND: &str = "orders_refunds_within_paid";

//! Refunds to the wallet, full or partial, never more than was paid in total. The user's
//! actor owns the balance, so it runs the refund: it reads what was already refunded,
//! bounds the new one, and writes ledger row, balance and (when the order is now fully
//! refunded) the status change with its history in one transaction.

use crate::error::{DomainError, DomainResult};
use crate::ids::{OrderId, UserId};
use crate::model::{WalletTransaction, WalletTxKind};
use crate::money::Money;
use crate::orders::StatusChange;
use crate::persistence::persist;
use crate::product::WriteMeta;
use crate::status::OrderStatus;
use crate::store::{self, ShowItems};
use crate::user::UserActor;
use crate::writes::Db;
use crate::writes::{ApplyError, Outcome, WriteOp};
use actix::prelude::*;

#[derive(Debug, Clone)]
pub struct RefundWrite {
    pub user: UserId,
    pub order: OrderId,
    pub amount: Money,
    pub reason: String,
    /// Set when this refund completes the order's: it moves to `refunded`.
    pub completes: Option<StatusChange>,
}

/// Refunds `amount` (or all that is left) of an order of this user to their wallet; the
/// answer is the refund's ledger row, the same bytes a replay of its key returns.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<WalletTransaction>")]
pub struct RefundOrder {
    pub order: OrderId,
    pub amount: Option<Money>,
    pub reason: String,
    pub actor: String,
    pub meta: WriteMeta,
}

impl Handler<RefundOrder> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<WalletTransaction>>;

    fn handle(&mut self, msg: RefundOrder, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let registry = self.registry.clone();
        let work = async move {
            let pool = &registry.deps.pool;
            let order = store::get_order(pool, msg.order, Some(user), ShowItems::No).await?;
            if !order.status.can_move_to(OrderStatus::Refunded) {
                return Err(crate::orders::refused(order.status, OrderStatus::Refunded));
            }
            let refunded = store::refunded_total(pool, msg.order).await?;
            let remaining = order
                .total_minor
                .checked_sub(refunded)
                .filter(|r| !r.is_negative())
                .unwrap_or(Money::ZERO);
            let amount = msg.amount.unwrap_or(remaining);
            if amount <= Money::ZERO || amount > remaining {
                return Err(DomainError::RefundExceedsPaid {
                    requested: amount,
                    remaining,
                });
            }
            let completes = (amount == remaining).then(|| StatusChange {
                order: msg.order,
                from: order.status,
                to: OrderStatus::Refunded,
                actor: msg.actor.clone(),
                note: Some(msg.reason.clone()),
            });
            let write = RefundWrite {
                user,
                order: msg.order,
                amount,
                reason: msg.reason,
                completes,
            };
            match persist(
                &registry.deps.persistence,
                msg.meta.write(WriteOp::Refund(Box::new(write))),
            )
            .await?
            {
                Outcome::Credit(tx) => Ok((tx, amount)),
                other => Err(DomainError::Internal(format!(
                    "unexpected outcome {other:?}"
                ))),
            }
        };
        self.serially(work, |act, (tx, amount)| {
            let s = act.ready()?;
            s.balance = s
                .balance
                .checked_add(amount)
                .ok_or_else(|| DomainError::Internal("balance overflow".into()))?;
            Ok(tx)
        })
    }
}

pub(crate) async fn apply(tx: &Db, r: &RefundWrite) -> Result<Outcome, ApplyError> {
    // The bound is checked again here, under the write, against what Postgres holds.
    let sql = "WITH paid AS (
                   SELECT o.total_minor - coalesce((SELECT sum(amount_minor) FROM wallet_transactions
                                                    WHERE order_id = o.id AND kind = 'refund'), 0)::bigint AS remaining
                   FROM orders o WHERE o.id = $2 AND o.user_id = $1
               ), u AS (
                   UPDATE users SET balance_minor = balance_minor + $3::bigint
                   WHERE id = $1 AND (SELECT remaining FROM paid) >= $3::bigint RETURNING id
               )
               INSERT INTO wallet_transactions (user_id, kind, amount_minor, order_id, reason)
               SELECT id, 'refund', $3, $2, $4 FROM u RETURNING id, created_at";
    let stmt = tx.prepare_cached(sql).await?;
    let refused = || {
        ApplyError::Job(DomainError::RefundExceedsPaid {
            requested: r.amount,
            remaining: Money::ZERO,
        })
    };
    let row = tx
        .query_opt(
            &stmt,
            &[&r.user.get(), &r.order.get(), &r.amount.minor(), &r.reason],
        )
        .await?
        .ok_or_else(refused)?;
    if let Some(change) = &r.completes {
        crate::orders::apply_status(tx, change).await?;
    }
    Ok(Outcome::Credit(WalletTransaction {
        id: row.try_get(0)?,
        kind: WalletTxKind::Refund,
        amount_minor: r.amount,
        order_id: Some(r.order),
        reason: r.reason.clone(),
        created_at: row.try_get(1)?,
    }))
}

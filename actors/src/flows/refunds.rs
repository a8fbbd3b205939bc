//! Refunds to the wallet, full or partial, never more than was paid in total. The user's
//! actor owns the balance, so it runs the refund: it reads what was already refunded,
//! bounds the new one, and writes ledger row, balance and (when the order is now fully
//! refunded) the status change with its history in one transaction.

use crate::domain::changes::Outcome;
use crate::domain::changes::RefundWrite;
use crate::domain::changes::StatusChange;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{OrderId, UserId};
use crate::domain::model::{WalletTransaction, WalletTxKind};
use crate::domain::money::Money;
use crate::domain::settlement::OrderMoney;
use crate::domain::status::OrderStatus;
use crate::entity::user::UserActor;
use crate::store::group_commit::persist;
use crate::store::writes::ApplyError;
use crate::store::writes::Db;
use crate::store::{self, ShowItems};
use actix::prelude::*;

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
                return Err(crate::flows::orders::refused(
                    order.status,
                    OrderStatus::Refunded,
                ));
            }
            let money = OrderMoney::of(&order);
            let amount = money.refund(msg.amount)?;
            let completes = (amount == money.refundable()).then(|| StatusChange {
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
    let (id, created_at) = give_back(tx, r.user, r.order, r.amount, &r.reason).await?;
    if let Some(change) = &r.completes {
        crate::flows::orders::apply_status(tx, change).await?;
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
pub(crate) async fn give_back(
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

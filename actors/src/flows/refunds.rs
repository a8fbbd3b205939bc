//! Refunds to the wallet, full or partial, never more than was paid in total. The user's
//! actor owns the balance, so it runs the refund: it reads what was already refunded,
//! bounds the new one, and writes ledger row, balance and (when the order is now fully
//! refunded) the status change with its history in one transaction.

use crate::domain::changes::Outcome;
use crate::domain::changes::RefundWrite;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{OrderId, UserId};
use crate::domain::model::{Order, PaymentMethod, WalletTransaction};
use crate::domain::money::Money;
use crate::domain::msg::Msg;
use crate::domain::settlement::OrderMoney;
use crate::domain::status::OrderStatus;
use crate::domain::status::StatusChange;
use crate::entity::user::UserActor;
use crate::store::group_commit::persist;
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

/// This user's order, if it may still move to `refunded`: read inside the user's serial
/// section, so no cancel or return of theirs moves it meanwhile.
async fn refundable(
    pool: &deadpool_postgres::Pool,
    order: OrderId,
    user: UserId,
) -> DomainResult<Order> {
    let order = store::get_order(pool, order, Some(user), ShowItems::No).await?;
    if !order.status.can_move_to(OrderStatus::Refunded) {
        return Err(crate::flows::orders::refused(
            order.status,
            OrderStatus::Refunded,
        ));
    }
    Ok(order)
}

impl Handler<RefundOrder> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<WalletTransaction>>;

    fn handle(&mut self, msg: RefundOrder, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let registry = self.registry.clone();
        let work = async move {
            let pool = &registry.deps.pool;
            let order = refundable(pool, msg.order, user).await?;
            // Stars cannot go to a wallet kept in the shop currency: they go back through
            // Telegram, whole (`RefundedInStars`).
            if order.payment == PaymentMethod::Stars {
                return Err(DomainError::invalid(
                    "order",
                    Msg::new("error-refund-stars-order"),
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
            act.ready()?.credit(amount)?;
            Ok(tx)
        })
    }
}

/// Telegram refunded the Stars an order of this user was paid with: the order moves to
/// `refunded` and its refund's row to `done`, in one write. Run by the user's actor, so the
/// move is serialized with the buyer's own cancels and returns.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Order>")]
pub struct RefundedInStars {
    pub order: OrderId,
    pub stars: i64,
    pub reason: String,
    pub actor: String,
    pub meta: WriteMeta,
}

impl Handler<RefundedInStars> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<Order>>;

    fn handle(&mut self, msg: RefundedInStars, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let registry = self.registry.clone();
        let work = async move {
            let pool = &registry.deps.pool;
            let order = refundable(pool, msg.order, user).await?;
            let change = StatusChange {
                order: msg.order,
                from: order.status,
                to: OrderStatus::Refunded,
                actor: msg.actor,
                note: Some(msg.reason),
            };
            let op = WriteOp::StarsRefunded {
                change,
                stars: msg.stars,
            };
            persist(&registry.deps.persistence, msg.meta.write(op)).await?;
            store::get_order(pool, msg.order, Some(user), ShowItems::Yes).await
        };
        self.serially(work, |_, order| Ok(order))
    }
}

//! An order's life after checkout. Every status change goes through the one transition
//! table (`OrderStatus::can_move_to`), is conditional on the status it was read in (so two
//! staff moving one order at once cannot both win), and appends to the order's history in
//! the same transaction. Cancelling also gives the money back to the wallet and the
//! physical stock back to the product, in that same transaction; its owner, the user's
//! actor, applies the refund to its balance after the commit, and tells each product.

use crate::domain::changes::Cancellation;
use crate::domain::changes::Outcome;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::model::{Order, ProductKind};
use crate::domain::promo::RedemptionRelease;
use crate::domain::settlement::{self, OrderMoney};
use crate::domain::status::OrderStatus;
use crate::domain::status::StatusChange;
use crate::entity::product::{MarkStale, Restock};
use crate::entity::promo::RedemptionReleased;
use crate::entity::registry::Registry;
use crate::entity::user::UserActor;
use crate::store::group_commit::persist;
use crate::store::{self, ShowItems};
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

pub fn refused(from: OrderStatus, to: OrderStatus) -> DomainError {
    DomainError::InvalidTransition {
        from,
        to,
        allowed: from.allowed_next().to_vec(),
    }
}

/// Moves an order that has no money or stock riding on the move (processing, shipped,
/// delivered, …). Cancelling goes through the owner's actor (`CancelOrder`), refunds and
/// returns through their own flows.
pub async fn transition(
    registry: &Arc<Registry>,
    order: OrderId,
    to: OrderStatus,
    actor: String,
    note: Option<String>,
    meta: WriteMeta,
) -> DomainResult<Order> {
    let current = store::get_order(&registry.deps.pool, order, None, ShowItems::Yes).await?;
    if !current.status.can_move_to(to) {
        return Err(refused(current.status, to));
    }
    // Paid means money arrived: only the payment flow may say so (I2); a return exists only
    // as the customer's request, and while one is open only the returns flow moves its
    // order (a bare move back to `delivered` would strand the return, never received).
    if current.status == OrderStatus::ReturnRequested
        || matches!(
            to,
            OrderStatus::Paid
                | OrderStatus::ReturnRequested
                | OrderStatus::Cancelled
                | OrderStatus::Refunded
                | OrderStatus::Returned
        )
    {
        return Err(DomainError::NeedsItsOwnFlow { to });
    }
    let change = StatusChange {
        order,
        from: current.status,
        to,
        actor,
        note,
    };
    persist(
        &registry.deps.persistence,
        meta.write(WriteOp::OrderStatus(change)),
    )
    .await?;
    store::get_order(&registry.deps.pool, order, None, ShowItems::Yes).await
}

/// Cancels an order of this user: by its owner (`by_owner`, only before it ships) or by staff.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Order>")]
pub struct CancelOrder {
    pub order: OrderId,
    pub by_owner: bool,
    pub actor: String,
    pub note: Option<String>,
    pub meta: WriteMeta,
    /// The payment window closed: cancel only if the order is still unpaid and overdue
    /// (a payment may have been applied since the order was found overdue).
    pub expiry: bool,
}

impl Handler<CancelOrder> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<Order>>;

    fn handle(&mut self, msg: CancelOrder, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let registry = self.registry.clone();
        // Atomic: this user's balance does not move until the cancellation has committed.
        let work = async move {
            let pool = &registry.deps.pool;
            let order = store::get_order(pool, msg.order, Some(user), ShowItems::Yes).await?;
            if !may_cancel(&order, &msg) {
                return Err(refused(order.status, OrderStatus::Cancelled));
            }
            let kinds =
                store::product_kinds(pool, order.lines.iter().map(|l| l.product_id).collect())
                    .await?;
            settlement::check_cancellable(&order, &kinds)?;
            let meta = msg.meta.clone();
            let id = msg.order;
            let cancellation = cancellation_of(&order, &kinds, user, msg);
            let refund = cancellation.refund;
            let outcome = persist(
                &registry.deps.persistence,
                meta.write(WriteOp::Cancel(Box::new(cancellation))),
            )
            .await?;
            let Outcome::Cancelled { restocked, promo } = outcome else {
                return Err(DomainError::Internal(format!(
                    "unexpected outcome {outcome:?}"
                )));
            };
            announce_cancel(&registry, &order, &kinds, restocked, promo);
            let order = store::get_order(pool, id, Some(user), ShowItems::Yes).await?;
            Ok((order, refund))
        };
        self.serially(work, |act, (order, refund)| {
            act.ready()?.credit(refund)?;
            Ok(order)
        })
    }
}

/// Who may cancel what: a customer their order until it ships, staff anything the
/// transition table allows, the expiry sweep only an order still unpaid past its window.
fn may_cancel(order: &Order, msg: &CancelOrder) -> bool {
    if msg.expiry {
        order.status == OrderStatus::PendingPayment
            && order
                .payment_due_at
                .is_some_and(|due| due <= chrono::Utc::now())
    } else if msg.by_owner {
        matches!(
            order.status,
            OrderStatus::PendingPayment | OrderStatus::Paid
        )
    } else {
        order.status.can_move_to(OrderStatus::Cancelled)
    }
}

/// The cancellation as written: physical units back on the shelf, and what was paid and not
/// yet given back, less the delivered keys, which stay paid (an order awaiting payment has
/// taken nothing, and a partial refund already made is not paid out twice).
fn cancellation_of(
    order: &Order,
    kinds: &HashMap<ProductId, ProductKind>,
    user: UserId,
    msg: CancelOrder,
) -> Cancellation {
    let restock = order
        .lines
        .iter()
        .filter(|l| kinds.get(&l.product_id) == Some(&ProductKind::Physical))
        .map(|l| (l.product_id, l.quantity))
        .collect();
    let refund = OrderMoney::of(order).on_cancel(settlement::delivered_value(order));
    let change = StatusChange {
        order: msg.order,
        from: order.status,
        to: OrderStatus::Cancelled,
        actor: msg.actor,
        note: msg.note,
    };
    Cancellation {
        change,
        user,
        refund,
        restock,
    }
}

/// After a cancel commits: the owners take back the stock and the promo redemption, and
/// keys held for an unpaid order, which went back on sale in the same transaction, are
/// offered again once their products reload.
fn announce_cancel(
    registry: &Arc<Registry>,
    order: &Order,
    kinds: &HashMap<ProductId, ProductKind>,
    restocked: Vec<(ProductId, i64, i64)>,
    promo: Option<RedemptionRelease>,
) {
    announce_restock(registry, restocked);
    if let Some(released) = promo {
        registry.tell_promo(&released.code.clone(), RedemptionReleased(released));
    }
    if order.status == OrderStatus::PendingPayment {
        for line in &order.lines {
            if kinds.get(&line.product_id) == Some(&ProductKind::Digital) {
                registry.tell_product(line.product_id, MarkStale);
                registry.catalog.changed(line.product_id);
            }
        }
    }
}

/// After a commit that moved stock back: each live owner adds it, and the page refreshes
/// even when no owner is live to say so.
pub(crate) fn announce_restock(registry: &Arc<Registry>, movements: Vec<(ProductId, i64, i64)>) {
    for (product, delta, movement) in movements {
        registry.tell_product(product, Restock { delta, movement });
        registry.catalog.changed(product);
    }
}

//! External payments (I4, P4). A provider's event is applied once per `event_id`, by the
//! actor of the user it concerns, so it is serialized with that user's cancellations and
//! the expiry of their orders: a payment never lands on an order that is being cancelled
//! at the same moment. Money is never lost: a payment for an order that is already
//! cancelled (or already paid) is credited to the wallet instead.

use crate::domain::changes::AuditEntry;
use crate::domain::changes::Outcome;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::UserId;
use crate::domain::model::PaymentMethod;
use crate::domain::money::Money;
use crate::domain::payment::EventOutcome;
use crate::domain::payment::EventType;
use crate::domain::payment::PaymentEvent;
use crate::domain::payment::PaymentTarget;
use crate::domain::payment::PaymentWrite;
use crate::domain::payment::Receipt;
use crate::domain::stars::XTR;
use crate::domain::status::OrderStatus;
use crate::entity::registry::Registry;
use crate::entity::user::UserActor;
use crate::flows::orders::CancelOrder;
use crate::store::group_commit::persist;
use crate::store::payments::recorded;
use crate::store::{self, ShowItems};
use actix::prelude::*;
use std::sync::Arc;

/// Applies one event: once per event id, through the actor of the user it concerns.
pub async fn receive(
    registry: &Arc<Registry>,
    event: PaymentEvent,
    audit: AuditEntry,
) -> DomainResult<Receipt> {
    let pool = &registry.deps.pool;
    if let Some(receipt) = recorded(pool, &event.event_id).await? {
        return Ok(receipt);
    }
    let user = match event.target {
        PaymentTarget::WalletTopup(user) => store::user_exists(pool, user).await?.then_some(user),
        PaymentTarget::Order(order) => store::order_owner(pool, order).await?,
    };
    let Some(user) = user else {
        let reason = match event.target {
            PaymentTarget::Order(_) => "unknown_order",
            PaymentTarget::WalletTopup(_) => "unknown_user",
        };
        return record_only(registry, event, EventOutcome::Rejected, Some(reason), audit).await;
    };
    let apply = ApplyPayment { event, audit };
    match registry.user(user, apply.clone()).await {
        // Two deliveries raced past the first look; the loser's insert met the winner's row.
        Err(DomainError::Rejected { constraint }) if constraint == "payment_events_pkey" => {
            recorded(pool, &apply.event.event_id)
                .await?
                .ok_or_else(|| DomainError::Internal("a recorded event vanished".into()))
        }
        other => other,
    }
}

/// Records an event its front-end already found does not match what the shop asked for
/// (a Telegram payment whose invoice says otherwise): nothing moves, the event is kept
/// as `rejected` with `reason` and audited, once per event id like any other.
pub async fn reject(
    registry: &Arc<Registry>,
    event: PaymentEvent,
    reason: &str,
    audit: AuditEntry,
) -> DomainResult<Receipt> {
    let pool = &registry.deps.pool;
    if let Some(receipt) = recorded(pool, &event.event_id).await? {
        return Ok(receipt);
    }
    let event_id = event.event_id.clone();
    match record_only(registry, event, EventOutcome::Rejected, Some(reason), audit).await {
        Err(DomainError::Rejected { constraint }) if constraint == "payment_events_pkey" => {
            recorded(pool, &event_id)
                .await?
                .ok_or_else(|| DomainError::Internal("a recorded event vanished".into()))
        }
        other => other,
    }
}

async fn record_only(
    registry: &Arc<Registry>,
    event: PaymentEvent,
    outcome: EventOutcome,
    reason: Option<&str>,
    audit: AuditEntry,
) -> DomainResult<Receipt> {
    let write = PaymentWrite {
        event,
        user: None,
        outcome,
        reason: reason.map(str::to_string),
        pays: None,
        credit: None,
    };
    let receipt = receipt_of(&write);
    persist_payment(registry, write, audit).await?;
    Ok(receipt)
}

fn receipt_of(w: &PaymentWrite) -> Receipt {
    Receipt {
        event_id: w.event.event_id.clone(),
        outcome: w.outcome,
        reason: w.reason.clone(),
        duplicate: false,
    }
}

async fn persist_payment(
    registry: &Arc<Registry>,
    write: PaymentWrite,
    mut audit: AuditEntry,
) -> DomainResult<Outcome> {
    audit.after = Some(serde_json::json!({
        "event_id": write.event.event_id,
        "type": write.event.kind,
        "amount_minor": write.event.amount,
        "currency": write.event.currency,
        "outcome": write.outcome,
        "reason": write.reason,
    }));
    let meta = WriteMeta {
        idempotency: None,
        audit: Some(audit),
    };
    persist(
        &registry.deps.persistence,
        meta.write(WriteOp::Payment(Box::new(write))),
    )
    .await
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Receipt>")]
struct ApplyPayment {
    event: PaymentEvent,
    audit: AuditEntry,
}

/// Decides what an event does, from committed state read inside the user's serial section.
async fn decide(
    registry: &Arc<Registry>,
    user: UserId,
    event: PaymentEvent,
) -> DomainResult<PaymentWrite> {
    let shop_currency = &registry.deps.config.currency;
    let mut w = PaymentWrite {
        event,
        user: Some(user),
        outcome: EventOutcome::Rejected,
        reason: None,
        pays: None,
        credit: None,
    };
    let e = &w.event;
    if e.kind == EventType::Failed {
        w.outcome = EventOutcome::Noted;
        return Ok(w);
    }
    if e.amount <= Money::ZERO {
        w.reason = Some("amount_minor must be positive".into());
        return Ok(w);
    }
    let order = match e.target {
        PaymentTarget::WalletTopup(_) => {
            if !e.currency.eq_ignore_ascii_case(shop_currency) {
                w.reason = Some(not_the_shops(&e.currency, shop_currency));
                return Ok(w);
            }
            w.outcome = EventOutcome::Applied;
            w.credit = Some(e.amount);
            return Ok(w);
        }
        PaymentTarget::Order(id) => {
            store::get_order(&registry.deps.pool, id, Some(user), ShowItems::No).await?
        }
    };
    // An order paid in Stars takes Stars (and counts them in `amount`); any other order,
    // or the wallet standing in for one, takes the shop currency.
    let in_stars = order.payment == PaymentMethod::Stars && e.currency == XTR;
    if !in_stars && !e.currency.eq_ignore_ascii_case(shop_currency) {
        w.reason = Some(not_the_shops(&e.currency, shop_currency));
        return Ok(w);
    }
    match order.status {
        OrderStatus::PendingPayment if order.payment.paid_later() => {
            // What the order takes in the event's currency: a Stars order only Stars.
            let due = match (order.payment, in_stars) {
                (PaymentMethod::Stars, true) => order.total_stars.map(Money::from_minor),
                (PaymentMethod::Stars, false) => None,
                (PaymentMethod::Wallet | PaymentMethod::External, _) => Some(order.total_minor),
            };
            if Some(e.amount) == due {
                w.outcome = EventOutcome::Applied;
                w.pays = Some(order.id);
            } else {
                w.reason = Some(format!(
                    "amount {} {} does not match the order's total",
                    e.amount, e.currency
                ));
            }
        }
        status => {
            w.outcome = EventOutcome::CreditedWallet;
            w.reason = Some(format!(
                "order {} is {status}; the money went to the wallet",
                order.id
            ));
            // Stars cannot sit in a wallet kept in the shop currency: what they bought,
            // the order's total, is credited instead.
            w.credit = Some(match in_stars {
                true => order.total_minor,
                false => e.amount,
            });
        }
    }
    Ok(w)
}

fn not_the_shops(currency: &str, shop_currency: &str) -> String {
    format!("currency {currency} is not the shop's {shop_currency}")
}

impl Handler<ApplyPayment> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<Receipt>>;

    fn handle(&mut self, msg: ApplyPayment, _: &mut Context<Self>) -> Self::Result {
        let (user, registry) = (self.id, self.registry.clone());
        let work = async move {
            if let Some(receipt) = recorded(&registry.deps.pool, &msg.event.event_id).await? {
                return Ok((receipt, Money::ZERO));
            }
            let write = decide(&registry, user, msg.event).await?;
            let (receipt, credit) = (receipt_of(&write), write.credit.unwrap_or(Money::ZERO));
            persist_payment(&registry, write, msg.audit).await?;
            Ok((receipt, credit))
        };
        self.serially(work, |act, (receipt, credit)| {
            act.ready()?.credit(credit)?;
            Ok(receipt)
        })
    }
}

/// Cancels every order whose external payment is overdue, through its owner's actor (the
/// same path as a customer's cancel, so stock and held keys go back in one transaction).
pub async fn expire_overdue(registry: &Arc<Registry>) -> DomainResult<usize> {
    let overdue = store::overdue_orders(&registry.deps.pool, 100).await?;
    let mut cancelled = 0;
    // Each node expires its own buyers' orders (all of them on a single node).
    let ownership = &registry.deps.ownership;
    let mine = overdue
        .into_iter()
        .filter(|(_, user)| ownership.owns(&crate::domain::shards::EntityKey::User(*user)));
    for (order, user) in mine {
        let cancel = CancelOrder {
            order,
            by_owner: false,
            actor: "system".into(),
            note: Some("payment window expired".into()),
            meta: WriteMeta {
                idempotency: None,
                audit: Some(AuditEntry {
                    actor: "system".into(),
                    action: "order.expire",
                    target: format!("order:{order}"),
                    before: Some(serde_json::json!({ "status": "pending_payment" })),
                    after: Some(serde_json::json!({ "status": "cancelled" })),
                    request_id: None,
                }),
            },
            expiry: true,
        };
        match registry.user(user, cancel).await {
            Ok(_) => cancelled += 1,
            // Paid or cancelled meanwhile: nothing to expire.
            Err(DomainError::InvalidTransition { .. } | DomainError::StatusChanged) => {}
            Err(e) => tracing::warn!(%order, error = %e, "could not expire an overdue order"),
        }
    }
    Ok(cancelled)
}

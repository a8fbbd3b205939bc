//! Checkout with wallet payment, the protocol of DESIGN.md: the user's actor snapshots the
//! cart, reserves each product in id order, prices the order with the one pricing function,
//! checks the balance, and sends one write (order, lines, stock, codes, debit, idempotency
//! record, audit) to the group commit. Only after COMMIT are reservations committed and the
//! answer sent; on any failure every reservation is released and nothing has changed.
//! An order that will await an external payment is first bounded by what its buyer already
//! holds unpaid (`unpaid.rs`), before anything is reserved.

use crate::domain::address::ShippingAddress;
use crate::domain::cart::{cover, CheckoutHold};
use crate::domain::changes::AuditEntry;
use crate::domain::changes::CheckoutLine;
use crate::domain::changes::CheckoutWrite;
use crate::domain::changes::Outcome;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::PromoCode;
use crate::domain::ids::{ProductId, ReservationId, UserId};
use crate::domain::model::{Order, PaymentMethod, ProductKind, Timestamp};
use crate::domain::money::Money;
use crate::domain::msg::Msg;
use crate::domain::pricing::{price, subtotal, PricedLine};
use crate::domain::promo::ClaimId;
use crate::domain::quantity::Quantity;
use crate::domain::shards::Fence;
use crate::domain::stars::{self, StarsLine};
use crate::domain::unpaid::UnpaidHolds;
use crate::entity::product::{Commit, MarkStale, Release, Reserve, Reserved};
use crate::entity::promo::{CheckPromo, SettleClaim};
use crate::entity::registry::Registry;
use crate::entity::user::UserActor;
use crate::store;
use crate::store::group_commit::persist;
use actix::prelude::*;
use std::sync::Arc;

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Order>")]
pub struct Checkout {
    pub meta: WriteMeta,
    /// Who asked, for the status history and the audit log (e.g. "user:7").
    pub actor: String,
    pub shipping_address: Option<ShippingAddress>,
    /// A code given at checkout; without one, the code on the cart (if any) applies.
    pub promo: Option<PromoCode>,
    pub payment: PaymentMethod,
}

struct Held {
    product: ProductId,
    quantity: Quantity,
    rid: ReservationId,
    reserved: Reserved,
    /// The token of the product's shard when its owner reserved (`None` on a single node).
    fence: Option<Fence>,
}

impl Handler<Checkout> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<Order>>;

    fn handle(&mut self, msg: Checkout, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let registry = self.registry.clone();
        // Atomic: no other message of this user runs until this one ends, so the balance
        // and cart read here stay true until the commit (they are this checkout's hold).
        let hold = self.ready().map(|s| s.checkout_hold(msg.promo.clone()));
        let work = async move {
            let CheckoutHold {
                balance,
                cart,
                promo,
            } = hold?;
            if cart.is_empty() {
                return Err(DomainError::CartEmpty);
            }
            let unpaid = match msg.payment.paid_later() {
                true => Some(unpaid_holds(&registry, user, &cart).await?),
                false => None,
            };
            let held = reserve_all(&registry, &cart, unpaid.as_ref()).await?;
            let claim = ClaimId::next();
            let pending = Pending {
                user,
                balance,
                promo: promo.clone().map(|code| (code, claim)),
            };
            let result = pay(&registry, pending, &held, msg).await;
            if let Some(code) = &promo {
                let committed = result.is_ok();
                let settle = SettleClaim { claim, committed };
                if let Err(e) = registry.promo(code, settle).await {
                    tracing::error!(%code, error = %e, "could not settle a promo claim; it will expire");
                }
            }
            match &result {
                Ok(order) => {
                    let at = Some(order.created_at);
                    settle(&registry, &held, |rid| Commit { rid, at }).await
                }
                Err(e) => {
                    settle(&registry, &held, Release).await;
                    if matches!(e, DomainError::Unavailable(_)) {
                        // The order may have committed after all; the products reload.
                        settle(&registry, &held, |_| MarkStale).await;
                    }
                }
            }
            result
        };
        self.serially(work, |act, order| {
            act.ready()?.checkout_committed(&order)?;
            Ok(order)
        })
    }
}

/// What the buyer already holds unpaid, once its order and unit caps admit `cart`. Read
/// from committed orders inside the buyer's serial section: its earlier checkouts have
/// committed and no other one runs, so concurrent checkouts cannot both fit under a cap.
async fn unpaid_holds(
    registry: &Arc<Registry>,
    user: UserId,
    cart: &[(ProductId, Quantity)],
) -> DomainResult<UnpaidHolds> {
    let limits = registry.deps.config.unpaid;
    let since = chrono::Utc::now()
        - chrono::Duration::from_std(limits.cooldown)
            .map_err(|_| DomainError::Internal("unpaid cooldown out of range".into()))?;
    let lines = store::unpaid_lines(&registry.deps.pool, user, since).await?;
    let holds = UnpaidHolds::from_lines(lines);
    holds.admit(cart, &limits)?;
    Ok(holds)
}

/// Reserves every line in product-id order (the cart is a BTreeMap); on the first refusal
/// releases what it took and returns the refusal. For an unpaid order, each product also
/// bounds the buyer's share of it.
async fn reserve_all(
    registry: &Arc<Registry>,
    cart: &[(ProductId, Quantity)],
    unpaid: Option<&UnpaidHolds>,
) -> DomainResult<Vec<Held>> {
    let limits = &registry.deps.config.unpaid;
    let mut held: Vec<Held> = Vec::with_capacity(cart.len());
    for &(product, quantity) in cart {
        let rid = ReservationId::next();
        let unpaid = unpaid.map(|holds| holds.share(product, limits));
        let reserve = Reserve {
            rid,
            quantity,
            unpaid,
        };
        match registry.product_fenced(product, reserve).await {
            Ok((reserved, fence)) => held.push(Held {
                product,
                quantity,
                rid,
                reserved,
                fence,
            }),
            Err(e) => {
                settle(registry, &held, Release).await;
                return Err(e);
            }
        }
    }
    Ok(held)
}

/// What the checkout knows once its stock is reserved.
struct Pending {
    user: UserId,
    balance: Money,
    promo: Option<(PromoCode, ClaimId)>,
}

async fn pay(
    registry: &Arc<Registry>,
    pending: Pending,
    held: &[Held],
    msg: Checkout,
) -> DomainResult<Order> {
    let Pending {
        user,
        balance,
        promo,
    } = pending;
    let priced: Vec<PricedLine> = held.iter().map(Held::priced).collect();
    // Whether the cart can be paid in Stars at all is said first: for a cart with physical
    // goods that is the answer, not the missing address.
    let stars_goods = match msg.payment {
        PaymentMethod::Stars => {
            let lines: Vec<StarsLine> = held.iter().map(Held::in_stars).collect();
            Some(stars::goods(&lines)?)
        }
        PaymentMethod::Wallet | PaymentMethod::External => None,
    };
    if msg.shipping_address.is_none() && priced.iter().any(|l| l.physical) {
        return Err(DomainError::invalid(
            "shipping_address",
            Msg::new("error-shipping-address-needed"),
        ));
    }
    // The owners' tokens this checkout was decided under: its products' and its code's.
    let mut fences: Vec<Fence> = held.iter().filter_map(|h| h.fence).collect();
    let discount = match &promo {
        Some((code, claim)) => {
            let check = CheckPromo {
                user,
                subtotal: subtotal(&priced)?,
                now: chrono::Utc::now(),
                claim: Some(*claim),
            };
            let (discount, fence) = check.ask_fenced(registry, code).await?;
            fences.extend(fence);
            Some(discount)
        }
        None => None,
    };
    let totals = price(&priced, &registry.deps.config.pricing, discount)?;
    let total_stars = stars_goods
        .map(|goods| stars::discounted(goods, totals.subtotal_minor, totals.discount_minor))
        .transpose()?;
    // A payment that comes later must be for something: no provider pays zero, so an order
    // a promo made free is placed from the wallet, at once.
    if msg.payment == PaymentMethod::External && totals.total_minor == Money::ZERO {
        return Err(DomainError::invalid(
            "payment",
            Msg::new("error-checkout-nothing-to-pay"),
        ));
    }
    let payment_due = due_at(msg.payment, registry.deps.config.payment_window)?;
    if payment_due.is_none() {
        cover(balance, totals.total_minor)?;
    }
    let write = CheckoutWrite {
        user,
        currency: registry.deps.config.currency.clone(),
        totals,
        lines: held.iter().map(Held::line).collect(),
        actor: msg.actor.clone(),
        shipping_address: msg.shipping_address.clone(),
        promo: promo.map(|(code, _)| code),
        payment: msg.payment,
        total_stars,
        payment_due,
    };
    let total = totals.total_minor;
    let meta = audited(msg.meta, msg.actor, user, balance, total);
    let mut write = meta.write(WriteOp::Checkout(Box::new(write)));
    write.fences = fences;
    match persist(&registry.deps.persistence, write).await? {
        Outcome::Order(order) => Ok(*order),
        other => Err(DomainError::Internal(format!(
            "unexpected outcome {other:?}"
        ))),
    }
}

impl Held {
    /// The line as the one pricing function takes it.
    fn priced(&self) -> PricedLine {
        PricedLine {
            unit_price: self.reserved.unit_price,
            quantity: self.quantity.get(),
            physical: self.reserved.kind == ProductKind::Physical,
        }
    }

    /// The line as a total in Stars takes it.
    fn in_stars(&self) -> StarsLine {
        StarsLine {
            product: self.product,
            unit: self.reserved.unit_stars,
            quantity: self.quantity.get(),
            physical: self.reserved.kind == ProductKind::Physical,
        }
    }

    /// The line as the order records it.
    fn line(&self) -> CheckoutLine {
        CheckoutLine {
            product: self.product,
            name: self.reserved.name.clone(),
            kind: self.reserved.kind,
            quantity: self.quantity,
            unit_price: self.reserved.unit_price,
            items: self.reserved.items.clone(),
            available_after: Some(self.reserved.available),
        }
    }
}

/// When an order paid later (externally or in Stars) stops holding its stock; a wallet
/// order is paid at once.
fn due_at(payment: PaymentMethod, window: std::time::Duration) -> DomainResult<Option<Timestamp>> {
    match payment {
        PaymentMethod::Wallet => Ok(None),
        PaymentMethod::External | PaymentMethod::Stars => {
            let window = chrono::Duration::from_std(window)
                .map_err(|_| DomainError::Internal("payment window out of range".into()))?;
            Ok(Some(chrono::Utc::now() + window))
        }
    }
}

/// The checkout's audit row (the caller's, or the actor's own) with the balance before and
/// after.
fn audited(
    mut meta: WriteMeta,
    actor: String,
    user: UserId,
    balance: Money,
    total: Money,
) -> WriteMeta {
    let audit = meta.audit.get_or_insert_with(|| AuditEntry {
        actor,
        action: "order.checkout",
        target: format!("user:{user}"),
        before: None,
        after: None,
        request_id: None,
    });
    audit.before = Some(serde_json::json!({ "balance_minor": balance }));
    audit.after = Some(serde_json::json!({
        "total_minor": total,
        "balance_minor": balance.minor() - total.minor(),
    }));
    meta
}

/// Commits or releases every reservation. Delivery is awaited so a reservation never
/// outlives its checkout; an error here only means the owner restarted from committed state.
async fn settle<M>(registry: &Arc<Registry>, held: &[Held], make: impl Fn(ReservationId) -> M)
where
    M: crate::entity::remote::Remote<Answer = ()>,
    crate::entity::product::ProductActor: Handler<M>,
{
    for h in held {
        if let Err(e) = registry.product(h.product, make(h.rid)).await {
            tracing::error!(product = %h.product, error = %e, "could not settle a reservation; it will expire");
        }
    }
}

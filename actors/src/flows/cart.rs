//! The priced cart that the HTTP API and the bot both show: the user's lines with each
//! product's current name, price and availability from its owner.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::ProductId;
use crate::domain::ids::PromoCode;
use crate::domain::ids::UserId;
use crate::domain::model::ProductKind;
use crate::domain::money::Money;
use crate::domain::pricing::PricedLine;
use crate::domain::pricing::{line_total, price, subtotal, Discount};
use crate::domain::promo::PromoRefusal;
use crate::domain::quantity::Quantity;
use crate::domain::stars::{order_total, Stars, StarsLine};
use crate::entity::product::GetSnapshot;
use crate::entity::product::Snapshot;
use crate::entity::promo::CheckPromo;
use crate::entity::registry::Registry;
use crate::entity::user::GetCart;
use std::sync::Arc;

/// A cart line as the preview shows it, priced from the product's owner.
#[derive(Debug, Clone)]
pub struct CartLineView {
    pub product: ProductId,
    pub name: String,
    pub quantity: Quantity,
    pub snapshot: Snapshot,
}

impl CartLineView {
    /// The line as the one pricing function takes it.
    pub fn priced(&self) -> PricedLine {
        PricedLine {
            unit_price: self.snapshot.price,
            quantity: self.quantity.get(),
            physical: self.snapshot.kind == ProductKind::Physical,
        }
    }
}

/// The caller's cart with each product's current name, price and availability, and the
/// promo code on it.
pub async fn cart_view(
    registry: &Arc<Registry>,
    user: UserId,
) -> DomainResult<(Vec<CartLineView>, Option<PromoCode>)> {
    let cart = registry.user(user, GetCart).await?;
    let snapshots = futures_util::future::join_all(
        cart.lines
            .iter()
            .map(|(product, _)| registry.product(*product, GetSnapshot)),
    )
    .await;
    let lines = cart
        .lines
        .into_iter()
        .zip(snapshots)
        .map(|((product, quantity), snapshot)| {
            let (name, snapshot) = snapshot?;
            Ok(CartLineView {
                product,
                name,
                quantity,
                snapshot,
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    Ok((lines, cart.promo))
}

/// One line of the priced cart: `GET /v1/me/cart`'s line, and the bot's.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CartLineBody)]
pub struct PricedLineView {
    pub product_id: ProductId,
    pub name: String,
    /// Physical goods ship, so a cart with any needs a shipping address at checkout.
    pub kind: ProductKind,
    pub quantity: i64,
    pub unit_price_minor: Money,
    /// The product's price in Telegram Stars, when it has one.
    pub unit_price_stars: Option<Stars>,
    pub line_total_minor: Money,
    pub available: i64,
}

/// The cart priced by the one pricing function, with the code on it and, when that code
/// gives nothing now, why.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CartBody)]
pub struct PricedCart {
    pub lines: Vec<PricedLineView>,
    pub subtotal_minor: Money,
    pub discount_minor: Money,
    pub shipping_minor: Money,
    pub tax_minor: Money,
    pub total_minor: Money,
    pub tax_included_minor: Money,
    pub currency: String,
    pub promo_code: Option<PromoCode>,
    /// Why the cart's code gives no discount right now (it is kept: it may apply again,
    /// e.g. once the cart reaches the minimum); checkout refuses it while this is set.
    pub promo_refusal: Option<Refusal>,
    /// What the cart costs in Telegram Stars (`stars::order_total`, as a checkout with
    /// `"payment": "stars"` prices it), when it can be paid in Stars: every line digital,
    /// with a price in Stars.
    pub total_stars: Option<i64>,
}

/// A code on the cart that does not apply now.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Refusal {
    pub reason: PromoRefusal,
    pub message: &'static str,
}

/// Prices a cart as shown: each line at its product's current price, the cart's code
/// checked (without claiming a redemption) against the subtotal.
pub async fn priced(
    registry: &Arc<Registry>,
    user: UserId,
    (view, promo): (Vec<CartLineView>, Option<PromoCode>),
) -> DomainResult<PricedCart> {
    let mut lines = Vec::with_capacity(view.len());
    let mut priced = Vec::with_capacity(view.len());
    let mut in_stars = Vec::with_capacity(view.len());
    for line in view {
        let p = line.priced();
        priced.push(p);
        in_stars.push(StarsLine {
            product: line.product,
            unit: line.snapshot.price_stars,
            quantity: p.quantity,
            physical: p.physical,
        });
        lines.push(PricedLineView {
            product_id: line.product,
            name: line.name,
            kind: line.snapshot.kind,
            quantity: line.quantity.get(),
            unit_price_minor: line.snapshot.price,
            unit_price_stars: line.snapshot.price_stars,
            line_total_minor: line_total(p)?,
            available: line.snapshot.available,
        });
    }
    let (discount, promo_refusal) = match &promo {
        Some(code) => match check_code(registry, user, code, subtotal(&priced)?).await {
            Ok(d) => (Some(d), None),
            Err(DomainError::PromoInvalid { reason, .. }) => (
                None,
                Some(Refusal {
                    reason,
                    message: reason.explain(),
                }),
            ),
            Err(e) => return Err(e),
        },
        None => (None, None),
    };
    let config = &registry.deps.config;
    let totals = price(&priced, &config.pricing, discount)?;
    let total_stars = match in_stars.is_empty() {
        true => None,
        false => order_total(&in_stars, totals.subtotal_minor, totals.discount_minor).ok(),
    };
    Ok(PricedCart {
        total_stars,
        lines,
        subtotal_minor: totals.subtotal_minor,
        discount_minor: totals.discount_minor,
        shipping_minor: totals.shipping_minor,
        tax_minor: totals.tax_minor,
        total_minor: totals.total_minor,
        tax_included_minor: totals.tax_included_minor,
        currency: config.currency.clone(),
        promo_code: promo,
        promo_refusal,
    })
}

/// Whether `code` applies to this user's cart now, without claiming a redemption.
pub async fn check_code(
    registry: &Arc<Registry>,
    user: UserId,
    code: &PromoCode,
    subtotal: Money,
) -> DomainResult<Discount> {
    let check = CheckPromo {
        user,
        subtotal,
        now: chrono::Utc::now(),
        claim: None,
    };
    check.ask(registry, code).await
}

//! The priced cart that the HTTP API and the bot both show: the user's lines with each
//! product's current name, price and availability from its owner.

use crate::domain::error::DomainResult;
use crate::domain::ids::ProductId;
use crate::domain::ids::PromoCode;
use crate::domain::ids::UserId;
use crate::domain::model::ProductKind;
use crate::domain::pricing::PricedLine;
use crate::domain::quantity::Quantity;
use crate::entity::product::GetSnapshot;
use crate::entity::product::Snapshot;
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

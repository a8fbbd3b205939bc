//! What the HTTP routes need from a shop: the priced cart, its lines, the wallet balance, a
//! product page and a checkout. Souk's own design (`ActorShop`: the owners and the group
//! commit) serves it in production; the row-lock baseline (`baseline::RowLockShop`) is a
//! second implementation, chosen at start-up only by `souk bench`, so no handler names it.

use crate::domain::error::DomainResult;
use crate::domain::ids::{ProductId, PromoCode, UserId};
use crate::domain::model::{Order, Product};
use crate::domain::money::Money;
use crate::domain::quantity::Quantity;
use crate::domain::shards::EntityKey;
use crate::entity::registry::Registry;
use crate::entity::user::{GetBalance, SetCartLine};
use crate::flows::cart::cart_view;
use crate::flows::cart::CartLineView;
use crate::flows::checkout::Checkout;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::sync::Arc;

/// A cart as shown: each line with its product's current name, price and availability, and
/// the promo code on the cart.
pub type CartView = (Vec<CartLineView>, Option<PromoCode>);

/// One shop operation's answer.
pub type ShopFuture<'a, T> = BoxFuture<'a, DomainResult<T>>;

pub trait Shop: Send + Sync {
    fn cart(&self, user: UserId) -> ShopFuture<'_, CartView>;
    /// Sets a line's quantity; `None` removes the line.
    fn set_cart_line(
        &self,
        user: UserId,
        product: ProductId,
        quantity: Option<Quantity>,
    ) -> ShopFuture<'_, ()>;
    fn balance(&self, user: UserId) -> ShopFuture<'_, Money>;
    /// A product as committed.
    fn product(&self, id: ProductId) -> ShopFuture<'_, Arc<Product>>;
    fn checkout(&self, user: UserId, checkout: Checkout) -> ShopFuture<'_, Order>;
    /// Whether a cart or a checkout can carry a promo code.
    fn takes_promos(&self) -> bool;
}

/// Souk's design: every call goes to the entity that owns it.
pub struct ActorShop {
    registry: Arc<Registry>,
}

impl ActorShop {
    pub fn new(registry: Arc<Registry>) -> ActorShop {
        ActorShop { registry }
    }
}

impl Shop for ActorShop {
    fn cart(&self, user: UserId) -> ShopFuture<'_, CartView> {
        cart_view(&self.registry, user).boxed()
    }

    fn set_cart_line(
        &self,
        user: UserId,
        product: ProductId,
        quantity: Option<Quantity>,
    ) -> ShopFuture<'_, ()> {
        self.registry
            .user(user, SetCartLine { product, quantity })
            .map(|r| r.map(|_| ()))
            .boxed()
    }

    fn balance(&self, user: UserId) -> ShopFuture<'_, Money> {
        self.registry.user(user, GetBalance).boxed()
    }

    /// From memory when this node serves the product (its owner keeps the page fresh);
    /// in a cluster, another node's product is read from Postgres as committed.
    fn product(&self, id: ProductId) -> ShopFuture<'_, Arc<Product>> {
        let registry = &self.registry;
        let (pool, currency) = (&registry.deps.pool, &registry.deps.config.currency);
        if registry.deps.ownership.owns(&EntityKey::Product(id)) {
            registry.catalog.get(pool, id, currency).boxed()
        } else {
            async move {
                Ok(Arc::new(
                    crate::store::get_product(pool, id, currency).await?,
                ))
            }
            .boxed()
        }
    }

    fn checkout(&self, user: UserId, checkout: Checkout) -> ShopFuture<'_, Order> {
        self.registry.user(user, checkout).boxed()
    }

    fn takes_promos(&self) -> bool {
        true
    }
}

//! The conventional design, kept only so `souk bench` can measure Souk against it: carts
//! live in Postgres, and a checkout is one transaction that locks the product rows
//! (SELECT … FOR UPDATE, in id order) and the user's row, checks stock and balance, and
//! writes the order with the very statements the actors use (`writes::apply`). Same
//! schema, same durability; only the concurrency control differs.

use crate::domain::address::ShippingAddress;
use crate::domain::changes::CheckoutLine;
use crate::domain::changes::CheckoutWrite;
use crate::domain::changes::Outcome;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ProductId, UserId};
use crate::domain::model::{Order, ProductKind};
use crate::domain::model::{PaymentMethod, Product};
use crate::domain::money::Money;
use crate::domain::msg::Msg;
use crate::domain::pricing::PricingRules;
use crate::domain::pricing::{price, PricedLine};
use crate::domain::quantity::Quantity;
use crate::entity::product::Snapshot;
use crate::flows::cart::CartLineView;
use crate::flows::checkout::Checkout;
use crate::flows::shop::{CartView, Shop, ShopFuture};
use crate::store;
use crate::store::writes::{apply, ApplyError, Db, OpenTx};
use deadpool_postgres::Pool;
use futures_util::FutureExt;
use serde::Deserialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Which design serves carts and checkouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Souk's design: actors and group commit.
    #[default]
    Actors,
    /// One row-locking transaction per request; for benchmarks only.
    RowLocks,
}

/// The row-lock design behind the routes' one interface, for `souk bench` only: carts and
/// balances are read and written in Postgres, each bounded like any database call.
pub struct RowLockShop {
    pool: Pool,
    currency: String,
    rules: PricingRules,
    /// Bound on each call; past it the outcome is unknown, as with the group commit.
    timeout: Duration,
}

impl RowLockShop {
    pub fn new(pool: Pool, currency: String, rules: PricingRules, timeout: Duration) -> Self {
        RowLockShop {
            pool,
            currency,
            rules,
            timeout,
        }
    }

    async fn bounded<T>(&self, work: impl Future<Output = DomainResult<T>>) -> DomainResult<T> {
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(DomainError::Unavailable(
                    "the database did not answer in time; retry shortly".into(),
                ))
            })
    }
}

impl Shop for RowLockShop {
    fn cart(&self, user: UserId) -> ShopFuture<'_, CartView> {
        async move { Ok((self.bounded(cart_view(&self.pool, user)).await?, None)) }.boxed()
    }

    fn set_cart_line(
        &self,
        user: UserId,
        product: ProductId,
        quantity: Option<Quantity>,
    ) -> ShopFuture<'_, ()> {
        self.bounded(set_cart_line(&self.pool, user, product, quantity))
            .boxed()
    }

    fn balance(&self, user: UserId) -> ShopFuture<'_, Money> {
        self.bounded(balance(&self.pool, user)).boxed()
    }

    /// Read from Postgres: this design changes rows behind the actors' cached pages.
    fn product(&self, id: ProductId) -> ShopFuture<'_, Arc<Product>> {
        async move {
            let product = store::get_product(&self.pool, id, &self.currency).await?;
            Ok(Arc::new(product))
        }
        .boxed()
    }

    fn checkout(&self, user: UserId, c: Checkout) -> ShopFuture<'_, Order> {
        async move {
            if c.promo.is_some() {
                return Err(DomainError::invalid(
                    "promo_code",
                    Msg::new("error-baseline-no-promo"),
                ));
            }
            if c.payment != PaymentMethod::Wallet {
                return Err(DomainError::invalid(
                    "payment",
                    Msg::new("error-baseline-wallet-only"),
                ));
            }
            let order = checkout(
                &self.pool,
                user,
                &self.currency,
                c.actor,
                c.meta,
                c.shipping_address,
                &self.rules,
            );
            self.bounded(order).await
        }
        .boxed()
    }

    fn takes_promos(&self) -> bool {
        false
    }
}

fn from_apply(e: ApplyError) -> DomainError {
    match e {
        ApplyError::Job(e) => e,
        ApplyError::Aborted => DomainError::Unavailable("transaction aborted".into()),
        ApplyError::Batch(e) => DomainError::Unavailable(e.to_string()),
    }
}

async fn set_cart_line(
    pool: &Pool,
    user: UserId,
    product: ProductId,
    quantity: Option<Quantity>,
) -> DomainResult<()> {
    let client = pool.get().await?;
    match quantity {
        Some(q) => {
            let active: Option<bool> = client
                .query_opt(
                    "SELECT active FROM products WHERE id = $1",
                    &[&product.get()],
                )
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            match active {
                None => return Err(DomainError::not_found_product(product)),
                Some(false) => return Err(DomainError::ProductInactive(product)),
                Some(true) => {}
            }
            let sql = "INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
                       ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()";
            client
                .execute(sql, &[&user.get(), &product.get(), &(q.get() as i32)])
                .await?;
        }
        None => {
            let sql = "DELETE FROM cart_items WHERE user_id = $1 AND product_id = $2";
            client.execute(sql, &[&user.get(), &product.get()]).await?;
        }
    }
    Ok(())
}

/// The cart as stored, with each product's committed price and stock.
async fn cart_view(pool: &Pool, user: UserId) -> DomainResult<Vec<CartLineView>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            concat!(
                "SELECT c.product_id, c.quantity, p.name, p.kind, p.price_minor, p.active, ",
                crate::stock_available_sql!(),
                " FROM cart_items c JOIN products p ON p.id = c.product_id WHERE c.user_id = $1 ORDER BY c.product_id"
            ),
            &[&user.get()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(3)?;
            Ok(CartLineView {
                product: r
                    .try_get::<_, i64>(0)
                    .ok()
                    .and_then(ProductId::new)
                    .ok_or_else(|| bad("product id"))?,
                quantity: Quantity::new(i64::from(r.try_get::<_, i32>(1)?))
                    .ok_or_else(|| bad("quantity"))?,
                name: r.try_get(2)?,
                snapshot: Snapshot {
                    kind: ProductKind::parse(&kind).ok_or_else(|| bad("kind"))?,
                    price: Money::from_minor(r.try_get(4)?),
                    // The baseline takes wallet payments only.
                    price_stars: None,
                    active: r.try_get(5)?,
                    available: r.try_get(6)?,
                },
            })
        })
        .collect()
}

async fn balance(pool: &Pool, user: UserId) -> DomainResult<Money> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT balance_minor FROM users WHERE id = $1",
            &[&user.get()],
        )
        .await?
        .ok_or_else(|| DomainError::not_found_user(user))?;
    Ok(Money::from_minor(row.try_get(0)?))
}

fn bad(what: &str) -> DomainError {
    DomainError::Internal(format!("unexpected {what} in the database"))
}

async fn checkout(
    pool: &Pool,
    user: UserId,
    currency: &str,
    actor: String,
    meta: WriteMeta,
    shipping_address: Option<ShippingAddress>,
    rules: &crate::domain::pricing::PricingRules,
) -> DomainResult<Order> {
    let tx = OpenTx::new(pool.get().await?);
    let db = tx
        .db()
        .ok_or_else(|| DomainError::Unavailable("no connection".into()))?;
    db.batch_execute("BEGIN").await?;
    let checkout = locked_checkout(db, user, currency, actor, meta, shipping_address, rules);
    match checkout.await {
        Ok(order) => {
            tx.finish(true).await?;
            Ok(order)
        }
        Err(e) => {
            // A connection that cannot roll back is closed by `finish`; the refusal stands.
            let _ = tx.finish(false).await;
            Err(e)
        }
    }
}

/// The transaction's statements, the conventional way: lock, check, write.
async fn locked_checkout(
    tx: &Db,
    user: UserId,
    currency: &str,
    actor: String,
    meta: WriteMeta,
    shipping_address: Option<ShippingAddress>,
    rules: &crate::domain::pricing::PricingRules,
) -> DomainResult<Order> {
    let cart = tx
        .query(
            "SELECT product_id, quantity FROM cart_items WHERE user_id = $1 ORDER BY product_id",
            &[&user.get()],
        )
        .await?;
    if cart.is_empty() {
        return Err(DomainError::CartEmpty);
    }
    let ids: Vec<i64> = cart
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    // Products first, in id order, then the user: one global lock order, so no deadlocks.
    let products = tx
        .query(
            "SELECT id, kind, name, price_minor, active, stock_on_hand FROM products
             WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&ids],
        )
        .await?;
    let balance: i64 = tx
        .query_opt(
            "SELECT balance_minor FROM users WHERE id = $1 FOR UPDATE",
            &[&user.get()],
        )
        .await?
        .ok_or_else(|| DomainError::not_found_user(user))?
        .try_get(0)?;
    let mut lines = Vec::with_capacity(cart.len());
    for (item, product) in cart.iter().zip(&products) {
        lines.push(locked_line(tx, item, product).await?);
    }
    let priced: Vec<PricedLine> = lines.iter().map(priced).collect();
    if shipping_address.is_none() && priced.iter().any(|l| l.physical) {
        return Err(DomainError::invalid(
            "shipping_address",
            Msg::new("error-shipping-address-needed"),
        ));
    }
    let totals = price(&priced, rules, None)?;
    let balance = Money::from_minor(balance);
    if totals.total_minor > balance {
        return Err(DomainError::InsufficientFunds {
            required: totals.total_minor,
            balance,
        });
    }
    let write = CheckoutWrite {
        user,
        currency: currency.to_string(),
        totals,
        lines,
        actor,
        shipping_address,
        promo: None,
        payment: PaymentMethod::Wallet,
        total_stars: None,
        payment_due: None,
    };
    // The same events as the actors' checkout, so both engines pay for the outbox.
    let rules = crate::domain::events::EventRules::default();
    let (outcome, _) = apply(tx, &meta.write(WriteOp::Checkout(Box::new(write))), &rules)
        .await
        .map_err(from_apply)?;
    match outcome {
        Outcome::Order(order) => Ok(*order),
        other => Err(DomainError::Internal(format!(
            "unexpected outcome {other:?}"
        ))),
    }
}

/// One cart line against its locked product row: active, in stock, its keys taken.
async fn locked_line(
    tx: &Db,
    item: &tokio_postgres::Row,
    product: &tokio_postgres::Row,
) -> DomainResult<CheckoutLine> {
    let id = ProductId::new(product.try_get(0)?).ok_or_else(|| bad("product id"))?;
    let quantity =
        Quantity::new(i64::from(item.try_get::<_, i32>(1)?)).ok_or_else(|| bad("quantity"))?;
    let kind = ProductKind::parse(product.try_get(1)?).ok_or_else(|| bad("kind"))?;
    let name: String = product.try_get(2)?;
    if !product.try_get::<_, bool>(4)? {
        return Err(DomainError::ProductInactive(id));
    }
    let items: Vec<i64> = match kind {
        ProductKind::Physical => Vec::new(),
        ProductKind::Digital => tx
            .query(
                "SELECT id FROM digital_items WHERE product_id = $1 AND order_id IS NULL ORDER BY id LIMIT $2",
                &[&id.get(), &quantity.get()],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?,
    };
    let available = match kind {
        ProductKind::Physical => product.try_get(5)?,
        ProductKind::Digital => items.len() as i64,
    };
    if available < quantity.get() {
        return Err(DomainError::OutOfStock {
            product_id: id,
            name,
            requested: quantity.get(),
            available,
        });
    }
    Ok(CheckoutLine {
        product: id,
        name,
        kind,
        quantity,
        unit_price: Money::from_minor(product.try_get(3)?),
        items,
        available_after: Some(available - quantity.get()),
    })
}

/// The line as the one pricing function takes it.
fn priced(l: &CheckoutLine) -> PricedLine {
    PricedLine {
        unit_price: l.unit_price,
        quantity: l.quantity.get(),
        physical: l.kind == ProductKind::Physical,
    }
}

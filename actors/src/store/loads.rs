//! What an owner starts from when the registry creates it: the committed state of one
//! product or one user, returned as the domain state the actor then holds.

use crate::domain::cart::UserState;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ProductId, PromoCode, UserId};
use crate::domain::model::ProductKind;
use crate::domain::money::Money;
use crate::domain::quantity::Quantity;
use crate::domain::reservations::{CommittedProduct, ProductState};
use crate::domain::stars::Stars;
use deadpool_postgres::Pool;
use std::collections::{BTreeMap, VecDeque};

/// A product's committed state; `NotFound` if there is no such product.
pub async fn product(pool: &Pool, id: ProductId) -> DomainResult<ProductState> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT kind, name, price_minor, active, stock_on_hand,
                    (SELECT coalesce(max(id), 0) FROM stock_movements WHERE product_id = $1),
                    price_stars
             FROM products WHERE id = $1",
            &[&id.get()],
        )
        .await?
        .ok_or_else(|| DomainError::not_found_product(id))?;
    let kind_text: String = row.try_get(0)?;
    let kind = ProductKind::parse(&kind_text)
        .ok_or_else(|| DomainError::Internal(format!("bad kind {kind_text}")))?;
    let items = match kind {
        ProductKind::Digital => client
            .query("SELECT id FROM digital_items WHERE product_id = $1 AND order_id IS NULL ORDER BY id", &[&id.get()])
            .await?
            .iter()
            .map(|r| r.try_get::<_, i64>(0))
            .collect::<Result<VecDeque<_>, _>>()?,
        ProductKind::Physical => VecDeque::new(),
    };
    Ok(ProductState::loaded(CommittedProduct {
        id,
        kind,
        name: row.try_get(1)?,
        price: Money::from_minor(row.try_get(2)?),
        price_stars: row
            .try_get::<_, Option<i32>>(6)?
            .and_then(|stars| Stars::new(stars.into())),
        active: row.try_get(3)?,
        on_hand: row.try_get(4)?,
        items,
        movements_loaded: row.try_get(5)?,
    }))
}

/// A user's committed cart and wallet; `NotFound` if there is no such user.
pub async fn user(pool: &Pool, id: UserId) -> DomainResult<UserState> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT balance_minor, cart_promo FROM users WHERE id = $1",
            &[&id.get()],
        )
        .await?
        .ok_or_else(|| DomainError::not_found_user(id))?;
    let mut cart = BTreeMap::new();
    for line in client
        .query(
            "SELECT product_id, quantity FROM cart_items WHERE user_id = $1",
            &[&id.get()],
        )
        .await?
    {
        let product = ProductId::from_db(line.try_get(0)?);
        let quantity: i32 = line.try_get(1)?;
        let quantity = Quantity::new(i64::from(quantity)).ok_or_else(|| {
            DomainError::Internal(format!("cart quantity {quantity} out of range"))
        })?;
        cart.insert(product, quantity);
    }
    Ok(UserState::loaded(
        Money::from_minor(row.try_get(0)?),
        cart,
        row.try_get::<_, Option<String>>(1)?.map(PromoCode::from_db),
    ))
}

//! One user's cart and wallet as the user's owner holds them in memory. Pure state: the
//! owner serializes that user's messages and persists each change through the group commit
//! before it calls the step here that brings memory in line, so these methods never see a
//! change that did not commit. Tests drive them with no actor and no database.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ProductId, PromoCode};
use crate::domain::model::{Order, PaymentMethod};
use crate::domain::money::Money;
use crate::domain::msg::Msg;
use crate::domain::quantity::Quantity;
use std::collections::BTreeMap;

/// A cart's lines, ordered by product id.
pub type CartLines = Vec<(ProductId, Quantity)>;

/// What a checkout reads from the user's state at its start. The owner runs no other
/// message of this user until the checkout ends, so these stay true until its commit: they
/// are the checkout's hold on the balance and the cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutHold {
    pub balance: Money,
    pub cart: CartLines,
    /// The code given at checkout, or else the one on the cart.
    pub promo: Option<PromoCode>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserState {
    balance: Money,
    /// Ordered by product id: checkout reserves in this order, so two checkouts can never
    /// wait on each other's products in opposite orders.
    cart: BTreeMap<ProductId, Quantity>,
    /// The promo code the customer put on the cart; checkout re-checks it.
    promo: Option<PromoCode>,
}

/// Refuses a wallet payment of `required` that `balance` does not cover.
pub fn cover(balance: Money, required: Money) -> DomainResult<()> {
    if required > balance {
        return Err(DomainError::InsufficientFunds { required, balance });
    }
    Ok(())
}

impl UserState {
    /// The committed state as loaded.
    pub fn loaded(
        balance: Money,
        cart: BTreeMap<ProductId, Quantity>,
        promo: Option<PromoCode>,
    ) -> UserState {
        UserState {
            balance,
            cart,
            promo,
        }
    }

    pub fn balance(&self) -> Money {
        self.balance
    }

    pub fn lines(&self) -> CartLines {
        self.cart.iter().map(|(p, q)| (*p, *q)).collect()
    }

    pub fn promo(&self) -> Option<&PromoCode> {
        self.promo.as_ref()
    }

    /// A committed change of one line; `None` removes it. Returns the cart after it.
    pub fn set_line(&mut self, product: ProductId, quantity: Option<Quantity>) -> CartLines {
        match quantity {
            Some(q) => self.cart.insert(product, q),
            None => self.cart.remove(&product),
        };
        self.lines()
    }

    pub fn clear_cart(&mut self) {
        self.cart.clear();
    }

    /// A committed change of the code on the cart.
    pub fn set_promo(&mut self, code: Option<PromoCode>) {
        self.promo = code;
    }

    /// Refuses a credit before it is written when the balance could not hold it.
    pub fn check_credit(&self, amount: Money) -> DomainResult<()> {
        self.balance
            .checked_add(amount)
            .map(|_| ())
            .ok_or_else(|| DomainError::invalid("amount_minor", Msg::new("error-balance-overflow")))
    }

    /// A committed credit (a top-up, refund, cancellation or late payment). Failing here
    /// means memory and Postgres disagree, an internal error.
    pub fn credit(&mut self, amount: Money) -> DomainResult<()> {
        self.balance = self
            .balance
            .checked_add(amount)
            .ok_or_else(|| DomainError::Internal("balance overflow".into()))?;
        Ok(())
    }

    /// The checkout's hold: balance, cart, and the code that applies (`given` first).
    pub fn checkout_hold(&self, given: Option<PromoCode>) -> CheckoutHold {
        CheckoutHold {
            balance: self.balance,
            cart: self.lines(),
            promo: given.or_else(|| self.promo.clone()),
        }
    }

    /// A committed order: the wallet pays its total (an external payment moves nothing
    /// yet), its products leave the cart, and the code on the cart is used up.
    pub fn checkout_committed(&mut self, order: &Order) -> DomainResult<()> {
        let debited = match order.payment {
            PaymentMethod::Wallet => order.total_minor,
            PaymentMethod::External | PaymentMethod::Stars => Money::ZERO,
        };
        self.settle_checkout(debited, order.lines.iter().map(|l| l.product_id))
    }

    /// Debits `debited` and takes `bought` off the cart. A debit the balance cannot cover
    /// means memory and Postgres disagree: an internal error, and nothing changes.
    pub fn settle_checkout(
        &mut self,
        debited: Money,
        bought: impl IntoIterator<Item = ProductId>,
    ) -> DomainResult<()> {
        self.balance = self
            .balance
            .checked_sub(debited)
            .filter(|b| !b.is_negative())
            .ok_or_else(|| DomainError::Internal("committed debit exceeds the balance".into()))?;
        for product in bought {
            self.cart.remove(&product);
        }
        self.promo = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests;

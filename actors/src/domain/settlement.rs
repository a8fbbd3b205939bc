//! What an order's money allows. An order is an account: `paid` is what actually arrived
//! for it (the wallet debit at checkout, or the applied external payment), `refunded` what
//! has been given back since. Every flow that gives money back asks this module how much
//! it may, so no sequence of refunds and cancels can give back more than was paid (I2);
//! the database checks the same bound on the order's row (`orders_refunds_within_paid`).
//! Pure: no actor, no SQL.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::ProductId;
use crate::domain::model::{Order, ProductKind};
use crate::domain::money::Money;
use std::collections::HashMap;

/// An order's money as committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderMoney {
    pub paid: Money,
    pub refunded: Money,
}

impl OrderMoney {
    pub fn of(order: &Order) -> OrderMoney {
        OrderMoney {
            paid: order.paid_minor,
            refunded: order.refunded_minor,
        }
    }

    /// What may still be given back: paid and not yet refunded (never negative).
    pub fn refundable(self) -> Money {
        self.paid
            .checked_sub(self.refunded)
            .filter(|left| !left.is_negative())
            .unwrap_or(Money::ZERO)
    }

    /// An explicit refund of `asked` (or of all that is left): the amount, or why not.
    pub fn refund(self, asked: Option<Money>) -> DomainResult<Money> {
        let remaining = self.refundable();
        let amount = asked.unwrap_or(remaining);
        if amount <= Money::ZERO || amount > remaining {
            return Err(DomainError::RefundExceedsPaid {
                requested: amount,
                remaining,
            });
        }
        Ok(amount)
    }

    /// What a cancellation gives back: what is left to refund, less what the delivered
    /// goods `kept` are worth (delivered license keys stay paid).
    pub fn on_cancel(self, kept: Money) -> Money {
        self.refundable()
            .checked_sub(kept)
            .filter(|left| !left.is_negative())
            .unwrap_or(Money::ZERO)
    }
}

/// The part of an order a cancellation cannot take back: its delivered license keys, at
/// the price they were sold for. `delivered_items` must be shown (the owner's view).
pub fn delivered_value(order: &Order) -> Money {
    order
        .lines
        .iter()
        .filter_map(|line| {
            let delivered = line.delivered_items.as_ref()?.len() as i64;
            line.unit_price_minor.checked_mul(delivered)
        })
        .fold(Money::ZERO, |sum, value| {
            sum.checked_add(value)
                .unwrap_or(Money::from_minor(i64::MAX))
        })
}

/// Whether a cancellation would undo anything: a physical line (its units go back) or a
/// digital line with keys not yet delivered. An order of delivered keys only is refused,
/// whoever asks: staff give such money back with an explicit, audited refund.
pub fn check_cancellable(
    order: &Order,
    kinds: &HashMap<ProductId, ProductKind>,
) -> DomainResult<()> {
    let undoable = order.lines.iter().any(|line| {
        match kinds.get(&line.product_id) {
            Some(ProductKind::Physical) => true,
            // Held keys of an unpaid order are not delivered yet.
            Some(ProductKind::Digital) => {
                let delivered = line.delivered_items.as_ref().map_or(0, Vec::len) as i64;
                delivered < line.quantity
            }
            None => false,
        }
    });
    if undoable {
        Ok(())
    } else {
        Err(DomainError::AlreadyDelivered { order: order.id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(paid: i64, refunded: i64) -> OrderMoney {
        OrderMoney {
            paid: Money::from_minor(paid),
            refunded: Money::from_minor(refunded),
        }
    }

    #[test]
    fn a_cancel_after_a_partial_refund_gives_back_only_the_rest() {
        assert_eq!(
            money(1000, 600).on_cancel(Money::ZERO),
            Money::from_minor(400)
        );
        assert_eq!(
            money(1000, 900).on_cancel(Money::ZERO),
            Money::from_minor(100)
        );
        assert_eq!(money(1000, 1000).on_cancel(Money::ZERO), Money::ZERO);
    }

    #[test]
    fn an_unpaid_order_gives_nothing_back() {
        assert_eq!(money(0, 0).on_cancel(Money::ZERO), Money::ZERO);
        assert!(money(0, 0).refund(None).is_err());
    }

    #[test]
    fn delivered_keys_stay_paid() {
        assert_eq!(
            money(1000, 0).on_cancel(Money::from_minor(300)),
            Money::from_minor(700)
        );
        assert_eq!(
            money(1000, 800).on_cancel(Money::from_minor(300)),
            Money::ZERO
        );
    }

    #[test]
    fn a_refund_is_bounded_by_what_is_left() {
        assert_eq!(money(1000, 600).refund(None), Ok(Money::from_minor(400)));
        assert_eq!(
            money(1000, 600).refund(Some(Money::from_minor(401))),
            Err(DomainError::RefundExceedsPaid {
                requested: Money::from_minor(401),
                remaining: Money::from_minor(400),
            })
        );
        assert!(money(1000, 0).refund(Some(Money::ZERO)).is_err());
    }

    proptest! {
        /// Whatever sequence of refunds and cancels runs on one order, what goes back never
        /// exceeds what was paid.
        #[test]
        fn no_sequence_gives_back_more_than_was_paid(
            paid in 0i64..1_000_000,
            kept in 0i64..1_000_000,
            steps in proptest::collection::vec((any::<bool>(), proptest::option::of(1i64..1_000_000)), 0..20),
        ) {
            let mut m = money(paid, 0);
            let mut cancelled = false;
            for (cancel, asked) in steps {
                if cancel && !cancelled {
                    let back = m.on_cancel(Money::from_minor(kept));
                    m.refunded = m.refunded.checked_add(back).unwrap();
                    cancelled = true;
                } else if let Ok(back) = m.refund(asked.map(Money::from_minor)) {
                    m.refunded = m.refunded.checked_add(back).unwrap();
                }
                prop_assert!(m.refunded <= m.paid);
                prop_assert!(!m.refunded.is_negative());
            }
        }
    }
}

//! Bounds on what one buyer may hold unpaid. An order awaiting an external payment takes its
//! stock and keys off sale with no money moved, so without bounds one account holds a shop's
//! stock for nothing, and renews the hold by cancelling it (or letting it lapse) and checking
//! out again. The rules are pure: the user's actor, which serializes that buyer's checkouts,
//! checks the buyer's totals from committed orders; each product's actor checks the buyer's
//! share of it when it reserves, against the units it has for sale at that moment.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{OrderId, ProductId};
use crate::domain::quantity::Quantity;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The configured bounds (`[checkout]` in the settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpaidLimits {
    /// Orders one buyer may have counted against it at a time.
    pub orders_max: i64,
    /// Units, over all products, one buyer may have counted against it at a time.
    pub units_max: i64,
    /// Of one product's units for sale, the percentage one buyer may hold unpaid.
    pub product_share_pct: i64,
    /// How long an order that ended unpaid still counts after its payment was due, so that
    /// cancelling or letting a hold lapse and checking out again does not renew it.
    pub cooldown: Duration,
}

/// Which bound refused a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HoldLimit {
    Orders,
    Units,
    ProductShare,
}

impl HoldLimit {
    /// What a person reads when the bound refuses them.
    pub fn explain(self, max: i64, held: i64, requested: i64) -> String {
        let what = match self {
            HoldLimit::Orders => "orders",
            HoldLimit::Units => "units",
            HoldLimit::ProductShare => "units of this product",
        };
        format!(
            "one buyer may have at most {max} {what} awaiting an external payment; {held} \
             already count (an order that ended unpaid still counts for a while) and \
             {requested} more were asked for; pay from the wallet, or pay the open orders"
        )
    }
}

/// One line of a buyer's order that counts against the limits, as committed.
#[derive(Debug, Clone, Copy)]
pub struct UnpaidLine {
    pub order: OrderId,
    pub product: ProductId,
    pub quantity: i64,
    /// Still awaiting payment, so its units are off sale (not cancelled within the cooldown).
    pub holding: bool,
}

/// One buyer's units of one product: counted against the limits, and still off sale.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProductHold {
    pub counted: i64,
    pub holding: i64,
}

/// What one buyer holds unpaid: its orders awaiting payment and those that ended unpaid
/// within the cooldown.
#[derive(Debug, Clone, Default)]
pub struct UnpaidHolds {
    orders: BTreeSet<OrderId>,
    units: i64,
    by_product: BTreeMap<ProductId, ProductHold>,
}

impl UnpaidHolds {
    pub fn from_lines(lines: impl IntoIterator<Item = UnpaidLine>) -> UnpaidHolds {
        let mut holds = UnpaidHolds::default();
        for line in lines {
            holds.orders.insert(line.order);
            holds.units += line.quantity;
            let product = holds.by_product.entry(line.product).or_default();
            product.counted += line.quantity;
            if line.holding {
                product.holding += line.quantity;
            }
        }
        holds
    }

    /// Refuses one more order of `cart` when it would take the buyer past its order or unit
    /// cap. Checked before anything is reserved, so a refusal takes nothing.
    pub fn admit(&self, cart: &[(ProductId, Quantity)], limits: &UnpaidLimits) -> DomainResult<()> {
        let orders = self.orders.len() as i64;
        if orders + 1 > limits.orders_max {
            return Err(refusal(
                HoldLimit::Orders,
                limits.orders_max,
                orders,
                1,
                None,
            ));
        }
        let asked: i64 = cart.iter().map(|(_, q)| q.get()).sum();
        if self.units + asked > limits.units_max {
            let max = limits.units_max;
            return Err(refusal(HoldLimit::Units, max, self.units, asked, None));
        }
        Ok(())
    }

    /// What the product's actor needs to bound this buyer's share of `product`.
    pub fn share(&self, product: ProductId, limits: &UnpaidLimits) -> ShareBound {
        ShareBound {
            hold: self.by_product.get(&product).copied().unwrap_or_default(),
            share_pct: limits.product_share_pct,
        }
    }
}

/// One buyer's hold on one product and the share it may reach, carried by `Reserve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShareBound {
    pub hold: ProductHold,
    pub share_pct: i64,
}

impl ShareBound {
    /// The most units of the product this buyer may have counted: the share of the units
    /// for sale (`available` now plus what the buyer itself holds off sale), at least 1, so
    /// a product with a single unit can still be bought.
    pub fn max(&self, available: i64) -> i64 {
        ((available + self.hold.holding) * self.share_pct / 100).max(1)
    }

    /// Refuses `quantity` more units of `product` past the buyer's share. The product's
    /// actor calls this in the same step that reserves, so `available` is exact.
    pub fn check(&self, product: ProductId, quantity: i64, available: i64) -> DomainResult<()> {
        let max = self.max(available);
        if self.hold.counted + quantity > max {
            let held = self.hold.counted;
            let limit = HoldLimit::ProductShare;
            return Err(refusal(limit, max, held, quantity, Some(product)));
        }
        Ok(())
    }
}

fn refusal(
    limit: HoldLimit,
    max: i64,
    held: i64,
    requested: i64,
    product_id: Option<ProductId>,
) -> DomainError {
    DomainError::UnpaidLimit {
        limit,
        max,
        held,
        requested,
        product_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: UnpaidLimits = UnpaidLimits {
        orders_max: 3,
        units_max: 20,
        product_share_pct: 50,
        cooldown: Duration::from_secs(900),
    };

    fn product(id: i64) -> ProductId {
        ProductId::new(id).unwrap()
    }

    fn line(order: i64, p: i64, quantity: i64, holding: bool) -> UnpaidLine {
        UnpaidLine {
            order: OrderId::new(order).unwrap(),
            product: product(p),
            quantity,
            holding,
        }
    }

    fn cart(lines: &[(i64, i64)]) -> Vec<(ProductId, Quantity)> {
        lines
            .iter()
            .map(|&(p, q)| (product(p), Quantity::new(q).unwrap()))
            .collect()
    }

    fn limit_of(result: DomainResult<()>) -> Option<(HoldLimit, i64, i64)> {
        match result {
            Err(DomainError::UnpaidLimit {
                limit, max, held, ..
            }) => Some((limit, max, held)),
            _ => None,
        }
    }

    #[test]
    fn a_fourth_order_is_refused_whatever_its_size() {
        let holds = UnpaidHolds::from_lines([
            line(1, 7, 1, true),
            line(2, 7, 1, true),
            line(3, 8, 1, false),
        ]);
        assert_eq!(
            limit_of(holds.admit(&cart(&[(9, 1)]), &LIMITS)),
            Some((HoldLimit::Orders, 3, 3))
        );
    }

    #[test]
    fn units_count_over_all_orders_and_lines() {
        let holds = UnpaidHolds::from_lines([line(1, 7, 10, true), line(1, 8, 5, true)]);
        assert!(holds.admit(&cart(&[(9, 5)]), &LIMITS).is_ok());
        assert_eq!(
            limit_of(holds.admit(&cart(&[(9, 3), (10, 3)]), &LIMITS)),
            Some((HoldLimit::Units, 20, 15))
        );
    }

    #[test]
    fn a_buyer_with_nothing_held_may_take_half_of_what_is_for_sale() {
        let none = UnpaidHolds::default().share(product(7), &LIMITS);
        assert_eq!(none.max(10), 5);
        assert!(none.check(product(7), 5, 10).is_ok());
        assert_eq!(
            limit_of(none.check(product(7), 10, 10)),
            Some((HoldLimit::ProductShare, 5, 0))
        );
    }

    #[test]
    fn the_share_counts_what_the_buyer_holds_as_still_for_sale() {
        // 5 of 10 held by this buyer, 5 left: the share is still of 10.
        let holds = UnpaidHolds::from_lines([line(1, 7, 5, true)]);
        let bound = holds.share(product(7), &LIMITS);
        assert_eq!(bound.max(5), 5);
        assert_eq!(
            limit_of(bound.check(product(7), 1, 5)),
            Some((HoldLimit::ProductShare, 5, 5))
        );
    }

    #[test]
    fn a_cancelled_hold_still_counts_so_it_cannot_be_renewed() {
        // Cancelled within the cooldown: its 5 units are back on sale, yet still count.
        let holds = UnpaidHolds::from_lines([line(1, 7, 5, false)]);
        let bound = holds.share(product(7), &LIMITS);
        assert_eq!(
            limit_of(bound.check(product(7), 5, 10)),
            Some((HoldLimit::ProductShare, 5, 5))
        );
    }

    #[test]
    fn a_single_unit_can_still_be_bought_unpaid() {
        let bound = UnpaidHolds::default().share(product(7), &LIMITS);
        assert_eq!(bound.max(1), 1);
        assert!(bound.check(product(7), 1, 1).is_ok());
        assert!(
            bound.check(product(7), 1, 0).is_ok(),
            "out of stock is said by the product"
        );
    }
}

//! Telegram Stars (`XTR`): the currency Telegram requires for digital goods sold in bots
//! and Mini Apps. Whole Stars only; a product's price in Stars sits beside its price in the
//! shop currency and is never converted from it.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::ProductId;
use crate::domain::money::Money;
use serde::{Deserialize, Serialize};

/// Telegram's currency code for Stars.
pub const XTR: &str = "XTR";

/// A price in whole Stars, 1 to `Stars::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[derive(utoipa::ToSchema)]
pub struct Stars(i64);

impl Stars {
    /// The most one product may cost in Stars.
    pub const MAX: i64 = 100_000;

    pub fn new(stars: i64) -> Option<Stars> {
        (1..=Self::MAX).contains(&stars).then_some(Stars(stars))
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

/// Why a cart cannot be paid in Stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StarsRefusal {
    /// The shop does not take Stars (`SOUK__TELEGRAM__STARS` is off, or there is no bot).
    Disabled,
    /// A product of the cart has no price in Stars.
    NoStarsPrice,
    /// Telegram takes Stars for digital goods only; physical goods are paid in the shop
    /// currency through a payment provider.
    Physical,
    /// The discount leaves nothing to pay, and Telegram cannot invoice zero Stars.
    Free,
}

impl StarsRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            StarsRefusal::Disabled => "disabled",
            StarsRefusal::NoStarsPrice => "no_stars_price",
            StarsRefusal::Physical => "physical",
            StarsRefusal::Free => "free",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            StarsRefusal::Disabled => "this shop does not take Telegram Stars",
            StarsRefusal::NoStarsPrice => "a product in the cart has no price in Stars",
            StarsRefusal::Physical => {
                "physical goods cannot be paid in Stars; pay from the wallet or by card"
            }
            StarsRefusal::Free => "nothing is left to pay after the discount; pay from the wallet",
        }
    }
}

/// One line of a cart as a Stars total needs it.
#[derive(Debug, Clone, Copy)]
pub struct StarsLine {
    pub product: ProductId,
    /// The product's price in Stars when the line was reserved.
    pub unit: Option<Stars>,
    pub quantity: i64,
    pub physical: bool,
}

/// What an order costs in Stars: each line's Stars price times its quantity (`goods`),
/// less the share a promo code takes off the goods in the shop currency (`discount` of
/// `subtotal`), that share rounded up in the buyer's favour. A Stars price is what the
/// buyer pays: digital goods ship nothing, and the price is set with any tax in it.
pub fn order_total(lines: &[StarsLine], subtotal: Money, discount: Money) -> DomainResult<i64> {
    discounted(goods(lines)?, subtotal, discount)
}

/// What the lines cost in Stars before any discount, or why they cannot be paid in Stars.
pub fn goods(lines: &[StarsLine]) -> DomainResult<i64> {
    let refused = |reason, product_id| DomainError::NotInStars { reason, product_id };
    let mut goods: i64 = 0;
    for line in lines {
        if line.physical {
            return Err(refused(StarsRefusal::Physical, Some(line.product)));
        }
        let unit = line
            .unit
            .ok_or_else(|| refused(StarsRefusal::NoStarsPrice, Some(line.product)))?;
        goods = unit
            .get()
            .checked_mul(line.quantity)
            .and_then(|l| goods.checked_add(l))
            .ok_or_else(|| DomainError::Internal("a Stars total out of range".into()))?;
    }
    Ok(goods)
}

/// `goods` (in Stars) less the promo's share, as `order_total` takes it off.
pub fn discounted(goods: i64, subtotal: Money, discount: Money) -> DomainResult<i64> {
    let off = if discount > Money::ZERO && subtotal > Money::ZERO {
        let share = i128::from(goods) * i128::from(discount.minor());
        let whole = i128::from(subtotal.minor());
        i64::try_from((share + whole - 1) / whole)
            .map_err(|_| DomainError::Internal("a Stars discount out of range".into()))?
    } else {
        0
    };
    let total = goods - off.min(goods);
    if total < 1 {
        return Err(DomainError::NotInStars {
            reason: StarsRefusal::Free,
            product_id: None,
        });
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(unit: Option<i64>, quantity: i64, physical: bool) -> StarsLine {
        StarsLine {
            product: ProductId::from_db(1),
            unit: unit.and_then(Stars::new),
            quantity,
            physical,
        }
    }

    fn refusal(r: DomainResult<i64>) -> Option<StarsRefusal> {
        match r {
            Err(DomainError::NotInStars { reason, .. }) => Some(reason),
            _ => None,
        }
    }

    #[test]
    fn a_stars_total_is_the_lines_less_the_promos_share_rounded_for_the_buyer() {
        let m = Money::from_minor;
        let lines = [line(Some(50), 2, false), line(Some(25), 1, false)];
        assert_eq!(order_total(&lines, m(3000), m(0)), Ok(125));
        // 10 % off: 12.5 Stars off, rounded up to 13.
        assert_eq!(order_total(&lines, m(3000), m(300)), Ok(112));
        // A fixed discount of a third takes a third of the Stars price (41.67, so 42).
        assert_eq!(order_total(&lines, m(3000), m(1000)), Ok(83));
    }

    #[test]
    fn carts_that_cannot_be_paid_in_stars_say_why() {
        let m = Money::from_minor;
        let physical = [line(Some(50), 1, false), line(Some(5), 1, true)];
        let r = order_total(&physical, m(100), m(0));
        assert_eq!(refusal(r), Some(StarsRefusal::Physical));
        let unpriced = [line(Some(50), 1, false), line(None, 1, false)];
        let r = order_total(&unpriced, m(100), m(0));
        assert_eq!(refusal(r), Some(StarsRefusal::NoStarsPrice));
        let free = [line(Some(50), 1, false)];
        assert_eq!(
            refusal(order_total(&free, m(100), m(100))),
            Some(StarsRefusal::Free)
        );
        // Nearly free still costs a whole Star.
        assert_eq!(order_total(&free, m(100), m(98)), Ok(1));
    }

    #[test]
    fn whole_stars_from_one_to_a_hundred_thousand() {
        assert_eq!(Stars::new(0), None);
        assert_eq!(Stars::new(-5), None);
        assert_eq!(Stars::new(1).map(Stars::get), Some(1));
        assert_eq!(Stars::new(100_000).map(Stars::get), Some(100_000));
        assert_eq!(Stars::new(100_001), None);
        assert_eq!(serde_json::to_string(&Stars::new(50)).unwrap(), "50");
    }
}

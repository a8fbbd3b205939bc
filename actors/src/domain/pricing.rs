//! The one pricing function (P7, I7). The cart preview and the order call `price` with the
//! same inputs and get the same totals; total = subtotal − discount + shipping + tax.
//!
//! Rules, in order: the discount comes off the goods (never the shipping) and never exceeds
//! them; shipping is a flat fee per order with at least one physical line, waived when the
//! discounted goods reach the free-shipping threshold; tax is a rate in basis points on
//! goods after discount plus shipping, rounded half-even once per order. With inclusive tax
//! the prices already contain it: `tax_minor` is 0 and `tax_included_minor` says how much of
//! the total is tax, so the identity above holds in both modes.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::money::Money;
use crate::domain::msg::Msg;
use serde::Serialize;

/// What pricing needs to know about one line.
#[derive(Debug, Clone, Copy)]
pub struct PricedLine {
    pub unit_price: Money,
    pub quantity: i64,
    /// Physical goods are shipped, so they make the order pay shipping.
    pub physical: bool,
}

/// The shop's shipping and tax rules (from config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PricingRules {
    pub shipping_flat: Money,
    /// Goods (after discount) at or above this ship free; `None`: never free.
    pub free_shipping_from: Option<Money>,
    /// Basis points: 2000 is 20 %.
    pub tax_rate_bp: u32,
    pub tax_inclusive: bool,
}

/// The most a rate can be: 100 % tax is already absurd; beyond it is a config mistake.
pub const TAX_RATE_BP_MAX: u32 = 10_000;

/// A promotion's effect on the goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Discount {
    /// 1..=100 percent of the goods, rounded half-even.
    Percent(u8),
    /// A fixed amount, capped at the goods' value.
    Fixed(Money),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Totals {
    pub subtotal_minor: Money,
    pub discount_minor: Money,
    pub shipping_minor: Money,
    pub tax_minor: Money,
    pub total_minor: Money,
    /// The tax contained in the total when prices include tax; 0 when tax is added on top.
    pub tax_included_minor: Money,
}

pub fn line_total(line: PricedLine) -> DomainResult<Money> {
    line.unit_price
        .checked_mul(line.quantity)
        .ok_or_else(overflow)
}

/// Goods before any discount; the promo rules (minimum subtotal) look at this figure.
pub fn subtotal(lines: &[PricedLine]) -> DomainResult<Money> {
    let mut subtotal = Money::ZERO;
    for line in lines {
        subtotal = subtotal
            .checked_add(line_total(*line)?)
            .ok_or_else(overflow)?;
    }
    Ok(subtotal)
}

pub fn price(
    lines: &[PricedLine],
    rules: &PricingRules,
    discount: Option<Discount>,
) -> DomainResult<Totals> {
    let subtotal = i128::from(subtotal(lines)?.minor());
    let discount = match discount {
        None => 0,
        Some(Discount::Percent(p)) => half_even(subtotal * i128::from(p.min(100)), 100),
        Some(Discount::Fixed(m)) => i128::from(m.minor().max(0)).min(subtotal),
    };
    let goods = subtotal - discount;
    let ships = lines.iter().any(|l| l.physical);
    let free = rules
        .free_shipping_from
        .is_some_and(|from| goods >= i128::from(from.minor()));
    let shipping = if ships && !free {
        i128::from(rules.shipping_flat.minor().max(0))
    } else {
        0
    };
    let taxed = goods + shipping;
    let bp = i128::from(rules.tax_rate_bp.min(TAX_RATE_BP_MAX));
    let (tax, included) = if rules.tax_inclusive {
        (0, half_even(taxed * bp, 10_000 + bp))
    } else {
        (half_even(taxed * bp, 10_000), 0)
    };
    let totals = Totals {
        subtotal_minor: money(subtotal)?,
        discount_minor: money(discount)?,
        shipping_minor: money(shipping)?,
        tax_minor: money(tax)?,
        total_minor: money(taxed + tax)?,
        tax_included_minor: money(included)?,
    };
    debug_assert!(
        !totals.total_minor.is_negative(),
        "a total can never be negative"
    );
    Ok(totals)
}

/// `n / d` rounded to the nearest integer, ties to even (banker's rounding), for n ≥ 0.
fn half_even(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q % 2),
    }
}

fn money(v: i128) -> DomainResult<Money> {
    i64::try_from(v)
        .map(Money::from_minor)
        .map_err(|_| overflow())
}

fn overflow() -> DomainError {
    DomainError::invalid("quantity", Msg::new("error-order-total-too-large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(price: i64, quantity: i64, physical: bool) -> PricedLine {
        PricedLine {
            unit_price: Money::from_minor(price),
            quantity,
            physical,
        }
    }

    #[test]
    fn total_is_sum_of_lines_without_rules() {
        let lines = [line(250, 2, false), line(1, 100, true)];
        let t = price(&lines, &PricingRules::default(), None).unwrap();
        assert_eq!(t.subtotal_minor.minor(), 600);
        assert_eq!(t.total_minor.minor(), 600);
    }

    #[test]
    fn overflow_is_an_error() {
        let lines = [line(i64::MAX, 2, false)];
        assert!(price(&lines, &PricingRules::default(), None).is_err());
    }

    #[test]
    fn half_even_rounds_ties_to_even() {
        assert_eq!(half_even(25, 10), 2);
        assert_eq!(half_even(35, 10), 4);
        assert_eq!(half_even(26, 10), 3);
        assert_eq!(half_even(24, 10), 2);
        assert_eq!(half_even(0, 10), 0);
    }

    #[test]
    fn shipping_is_charged_for_physical_goods_below_the_threshold_only() {
        let rules = PricingRules {
            shipping_flat: Money::from_minor(500),
            free_shipping_from: Some(Money::from_minor(5_000)),
            ..PricingRules::default()
        };
        let digital = price(&[line(1_000, 1, false)], &rules, None).unwrap();
        assert_eq!(digital.shipping_minor.minor(), 0);
        let small = price(&[line(1_000, 1, true)], &rules, None).unwrap();
        assert_eq!(
            (small.shipping_minor.minor(), small.total_minor.minor()),
            (500, 1_500)
        );
        let exactly = price(&[line(5_000, 1, true)], &rules, None).unwrap();
        assert_eq!(exactly.shipping_minor.minor(), 0);
        // The threshold looks at goods after the discount.
        let discounted = price(
            &[line(5_000, 1, true)],
            &rules,
            Some(Discount::Fixed(Money::from_minor(1))),
        )
        .unwrap();
        assert_eq!(discounted.shipping_minor.minor(), 500);
    }

    #[test]
    fn exclusive_and_inclusive_tax() {
        let mut rules = PricingRules {
            tax_rate_bp: 2_000,
            ..PricingRules::default()
        };
        let t = price(&[line(1_000, 1, false)], &rules, None).unwrap();
        assert_eq!((t.tax_minor.minor(), t.total_minor.minor()), (200, 1_200));
        rules.tax_inclusive = true;
        let t = price(&[line(1_200, 1, false)], &rules, None).unwrap();
        assert_eq!(t.tax_minor.minor(), 0);
        assert_eq!(t.tax_included_minor.minor(), 200);
        assert_eq!(t.total_minor.minor(), 1_200);
    }

    #[test]
    fn discounts_never_exceed_the_goods() {
        let rules = PricingRules::default();
        let t = price(
            &[line(300, 1, false)],
            &rules,
            Some(Discount::Fixed(Money::from_minor(1_000))),
        )
        .unwrap();
        assert_eq!((t.discount_minor.minor(), t.total_minor.minor()), (300, 0));
        let t = price(&[line(333, 1, false)], &rules, Some(Discount::Percent(50))).unwrap();
        // 166.5 rounds to the even 166.
        assert_eq!(t.discount_minor.minor(), 166);
    }

    fn rules() -> impl Strategy<Value = PricingRules> {
        (
            0i64..10_000,
            proptest::option::of(0i64..1_000_000),
            0u32..=TAX_RATE_BP_MAX,
            any::<bool>(),
        )
            .prop_map(|(flat, free, bp, inclusive)| PricingRules {
                shipping_flat: Money::from_minor(flat),
                free_shipping_from: free.map(Money::from_minor),
                tax_rate_bp: bp,
                tax_inclusive: inclusive,
            })
    }

    fn discount() -> impl Strategy<Value = Option<Discount>> {
        proptest::option::of(prop_oneof![
            (1u8..=100).prop_map(Discount::Percent),
            (1i64..2_000_000).prop_map(|m| Discount::Fixed(Money::from_minor(m))),
        ])
    }

    fn lines() -> impl Strategy<Value = Vec<PricedLine>> {
        proptest::collection::vec(
            (1i64..=100_000_000, 1i64..=100, any::<bool>()).prop_map(|(p, q, ph)| line(p, q, ph)),
            0..20,
        )
    }

    proptest! {
        #[test]
        fn totals_add_up_and_no_part_is_negative(
            lines in lines(),
            rules in rules(),
            discount in discount(),
        ) {
            let t = price(&lines, &rules, discount).unwrap();
            prop_assert_eq!(
                t.total_minor.minor(),
                t.subtotal_minor.minor() - t.discount_minor.minor()
                    + t.shipping_minor.minor() + t.tax_minor.minor()
            );
            for part in [t.subtotal_minor, t.discount_minor, t.shipping_minor, t.tax_minor,
                         t.total_minor, t.tax_included_minor] {
                prop_assert!(!part.is_negative());
            }
            prop_assert!(t.discount_minor <= t.subtotal_minor);
            prop_assert!(t.tax_included_minor <= t.total_minor);
            if !lines.iter().any(|l| l.physical) {
                prop_assert_eq!(t.shipping_minor.minor(), 0);
            }
            // Pricing is a function: the same inputs (preview, then order) give the same totals.
            prop_assert_eq!(price(&lines, &rules, discount).unwrap(), t);
        }
    }
}

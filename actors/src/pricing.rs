//! The one pricing function (P7, I7). The cart preview and the order call `price` with the
//! same inputs and get the same totals; total = subtotal − discount + shipping + tax.
//! Promotions, shipping and tax are added by the commerce issue; their parts are already
//! in `Totals` so every consumer handles them from the start.

use crate::error::{DomainError, DomainResult};
use crate::money::Money;
use serde::Serialize;

/// What pricing needs to know about one line.
#[derive(Debug, Clone, Copy)]
pub struct PricedLine {
    pub unit_price: Money,
    pub quantity: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Totals {
    pub subtotal_minor: Money,
    pub discount_minor: Money,
    pub shipping_minor: Money,
    pub tax_minor: Money,
    pub total_minor: Money,
}

pub fn line_total(line: PricedLine) -> DomainResult<Money> {
    line.unit_price
        .checked_mul(line.quantity)
        .ok_or_else(overflow)
}

pub fn price(lines: &[PricedLine]) -> DomainResult<Totals> {
    let mut subtotal = Money::ZERO;
    for line in lines {
        subtotal = subtotal
            .checked_add(line_total(*line)?)
            .ok_or_else(overflow)?;
    }
    let totals = Totals {
        subtotal_minor: subtotal,
        discount_minor: Money::ZERO,
        shipping_minor: Money::ZERO,
        tax_minor: Money::ZERO,
        total_minor: subtotal,
    };
    debug_assert!(
        !totals.total_minor.is_negative(),
        "a total can never be negative"
    );
    Ok(totals)
}

fn overflow() -> DomainError {
    DomainError::invalid("quantity", "order total is too large")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_is_sum_of_lines() {
        let lines = [
            PricedLine {
                unit_price: Money::from_minor(250),
                quantity: 2,
            },
            PricedLine {
                unit_price: Money::from_minor(1),
                quantity: 100,
            },
        ];
        let t = price(&lines).unwrap();
        assert_eq!(t.subtotal_minor.minor(), 600);
        assert_eq!(t.total_minor.minor(), 600);
    }

    #[test]
    fn overflow_is_an_error() {
        let lines = [PricedLine {
            unit_price: Money::from_minor(i64::MAX),
            quantity: 2,
        }];
        assert!(price(&lines).is_err());
    }
}

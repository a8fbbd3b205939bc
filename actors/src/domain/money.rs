//! Money is an integer count of minor units (cents) in the shop's one currency.
//! Arithmetic is checked: an overflow is an error the caller must handle, never a wrap.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in minor units. May be negative only as an intermediate (a delta);
/// balances and prices are validated non-negative/positive where they are built.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
#[derive(utoipa::ToSchema)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    /// The largest amount, of either sign, that one request may name (a payment event, and
    /// any other amount without a tighter bound of its own). Far below `i64::MAX`, so sums of
    /// many (a wallet, a day's gross) stay far from overflowing Postgres's bigint.
    pub const AMOUNT_MAX_MINOR: i64 = 1_000_000_000_000;

    /// An amount a request names, if it is within `AMOUNT_MAX_MINOR` of zero.
    pub fn bounded(minor: i64) -> Option<Money> {
        (-Self::AMOUNT_MAX_MINOR..=Self::AMOUNT_MAX_MINOR)
            .contains(&minor)
            .then_some(Money(minor))
    }

    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_mul(self, factor: i64) -> Option<Money> {
        self.0.checked_mul(factor).map(Money)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An ISO 4217 code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Option<Currency> {
        let bytes = code.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) {
            Some(Currency([bytes[0], bytes[1], bytes[2]]))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        // Built only from ASCII letters in `parse`.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            Money::from_minor(i64::MAX).checked_add(Money::from_minor(1)),
            None
        );
        assert_eq!(
            Money::from_minor(5).checked_mul(3),
            Some(Money::from_minor(15))
        );
        assert_eq!(Money::from_minor(i64::MAX).checked_mul(2), None);
    }

    #[test]
    fn a_requested_amount_is_bounded_on_both_sides() {
        assert_eq!(
            Money::bounded(Money::AMOUNT_MAX_MINOR).map(Money::minor),
            Some(Money::AMOUNT_MAX_MINOR)
        );
        assert!(Money::bounded(-Money::AMOUNT_MAX_MINOR).is_some());
        assert!(Money::bounded(Money::AMOUNT_MAX_MINOR + 1).is_none());
        assert!(Money::bounded(i64::MAX).is_none());
        assert!(Money::bounded(i64::MIN).is_none());
    }

    #[test]
    fn currency_is_three_upper_letters() {
        assert_eq!(
            Currency::parse("USD").map(|c| c.to_string()),
            Some("USD".into())
        );
        assert!(Currency::parse("usd").is_none());
        assert!(Currency::parse("US").is_none());
        assert!(Currency::parse("EURO").is_none());
    }
}

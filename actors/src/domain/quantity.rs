//! A line quantity: 1..=100 units. Parsed once at the edge; zero and absurd values cannot exist.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u8);

impl TryFrom<i64> for Quantity {
    type Error = &'static str;
    fn try_from(raw: i64) -> Result<Quantity, &'static str> {
        Quantity::new(raw).ok_or("a quantity is 1..=100")
    }
}

impl From<Quantity> for i64 {
    fn from(q: Quantity) -> i64 {
        q.get()
    }
}

impl Quantity {
    pub const MAX: i64 = 100;

    pub fn new(raw: i64) -> Option<Quantity> {
        (1..=Self::MAX)
            .contains(&raw)
            .then_some(Quantity(raw as u8))
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(Quantity::new(0).is_none());
        assert!(Quantity::new(-1).is_none());
        assert!(Quantity::new(101).is_none());
        assert_eq!(Quantity::new(100).map(Quantity::get), Some(100));
    }
}

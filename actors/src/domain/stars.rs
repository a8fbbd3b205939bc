//! Telegram Stars (`XTR`): the currency Telegram requires for digital goods sold in bots
//! and Mini Apps. Whole Stars only; a product's price in Stars sits beside its price in the
//! shop currency and is never converted from it.

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

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

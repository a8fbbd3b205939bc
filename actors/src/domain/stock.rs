//! What one admin stock change may be, whichever front-end asks for it (the HTTP stock
//! endpoint or the bot's buttons and code dialogue): a physical delta within ±1,000,000
//! units, or a batch of at most 1,000 license codes sorted into the ones to insert and the
//! ones refused. Both are built only by parsing, so a product's owner never sees a change
//! outside these bounds.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::model::RejectedCode;
use crate::domain::msg::Msg;
use std::collections::HashSet;

/// A non-zero change of physical stock, at most `StockDelta::MAX` units either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockDelta(i64);

impl StockDelta {
    /// Larger jumps are almost always typos (or a crafted request).
    pub const MAX: i64 = 1_000_000;

    pub fn new(raw: i64) -> DomainResult<StockDelta> {
        if raw == 0 || !(-Self::MAX..=Self::MAX).contains(&raw) {
            return Err(DomainError::invalid(
                "quantity_delta",
                Msg::new("error-stock-delta-range").arg("max", Self::MAX),
            ));
        }
        Ok(StockDelta(raw))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// License codes of one change: the ones to insert (with their index in the request) and
/// the ones refused, each with its reason.
#[derive(Debug, Clone)]
pub struct CodeBatch {
    valid: Vec<(usize, String)>,
    rejected: Vec<RejectedCode>,
}

impl CodeBatch {
    /// Codes in one change.
    pub const MAX: usize = 1_000;
    /// A code is 3..=500 characters with no whitespace or control characters.
    const CODE_CHARS: std::ops::RangeInclusive<usize> = 3..=500;

    /// Sorts `codes`; an empty or oversized batch is refused as a whole.
    pub fn sort(codes: Vec<String>) -> DomainResult<CodeBatch> {
        if codes.is_empty() || codes.len() > Self::MAX {
            return Err(DomainError::invalid(
                "codes",
                Msg::new("error-codes-count").arg("max", Self::MAX),
            ));
        }
        let mut seen = HashSet::new();
        let mut batch = CodeBatch {
            valid: Vec::new(),
            rejected: Vec::new(),
        };
        for (i, code) in codes.into_iter().enumerate() {
            let printable = code.chars().all(|c| !c.is_control() && !c.is_whitespace());
            let reason = if !Self::CODE_CHARS.contains(&code.chars().count()) || !printable {
                "invalid"
            } else if !seen.insert(code.clone()) {
                "duplicate"
            } else {
                batch.valid.push((i, code));
                continue;
            };
            batch.rejected.push(RejectedCode {
                code_index: i,
                reason,
            });
        }
        Ok(batch)
    }

    pub(crate) fn into_parts(self) -> (Vec<(usize, String)>, Vec<RejectedCode>) {
        (self.valid, self.rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_is_non_zero_and_within_a_million_either_way() {
        for bad in [0, 1_000_001, -1_000_001, i64::MAX, i64::MIN] {
            assert!(StockDelta::new(bad).is_err(), "{bad}");
        }
        for good in [1, -1, 1_000_000, -1_000_000] {
            assert_eq!(StockDelta::new(good).map(StockDelta::get), Ok(good));
        }
    }

    #[test]
    fn codes_are_sorted_into_valid_duplicate_and_invalid() {
        let codes = ["KEY-1", "KEY-1", "ab", "has space", "KEY-2"].map(String::from);
        let (valid, rejected) = CodeBatch::sort(codes.to_vec()).unwrap().into_parts();
        assert_eq!(valid, [(0, "KEY-1".into()), (4, "KEY-2".into())]);
        let reasons: Vec<_> = rejected.iter().map(|r| (r.code_index, r.reason)).collect();
        assert_eq!(reasons, [(1, "duplicate"), (2, "invalid"), (3, "invalid")]);
        assert!(CodeBatch::sort(Vec::new()).is_err());
        assert!(CodeBatch::sort(vec!["KEY-0".into(); 1_001]).is_err());
    }
}

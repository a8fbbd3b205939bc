//! Ids are positive 64-bit integers, one newtype per entity so a `ProductId` can never be
//! passed where a `UserId` is expected. Parsing (from paths, tokens) happens once, at the edge.

use crate::domain::error::DomainError;
use crate::domain::error::DomainResult;
use crate::domain::msg::Msg;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        #[derive(utoipa::ToSchema)]
        pub struct $name(i64);

        impl $name {
            /// Ids are positive; anything else is rejected here rather than at the database.
            pub fn new(raw: i64) -> Option<Self> {
                (raw > 0).then_some(Self(raw))
            }

            pub fn get(self) -> i64 {
                self.0
            }

            /// For values read back from our own database, where the column guarantees positivity.
            pub(crate) fn from_db(raw: i64) -> Self {
                debug_assert!(raw > 0, "database returned a non-positive id");
                Self(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                s.parse::<i64>().ok().and_then(Self::new).ok_or(())
            }
        }
    };
}

id_type!(UserId);
id_type!(ProductId);
id_type!(CategoryId);
id_type!(OrderId);

/// Identifies one checkout's hold on a product's stock; unique across a cluster's nodes
/// (see [`cluster_unique`]), since a product's owner takes reservations from all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReservationId(pub u64);

impl ReservationId {
    pub fn next() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ReservationId(cluster_unique(NEXT.fetch_add(1, Ordering::Relaxed)))
    }
}

/// A per-process counter made unique across processes: its high 32 bits are a random
/// number drawn once per process (std's per-process hash keys), the low 32 bits the count.
/// Two nodes collide only if they draw the same number (1 in 2^32 per pair of processes).
pub fn cluster_unique(count: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static NONCE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let nonce = *NONCE.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish() << 32
    });
    nonce | (count & 0xffff_ffff)
}

/// A code as stored: 3..=32 of A–Z, 0–9, `_` and `-`, upper-cased so `summer10` is `SUMMER10`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
#[derive(utoipa::ToSchema)]
#[schema(value_type = String)]
pub struct PromoCode(String);

impl TryFrom<String> for PromoCode {
    type Error = DomainError;
    fn try_from(raw: String) -> DomainResult<PromoCode> {
        PromoCode::parse(&raw)
    }
}

impl From<PromoCode> for String {
    fn from(code: PromoCode) -> String {
        code.0
    }
}

impl PromoCode {
    pub fn parse(raw: &str) -> DomainResult<PromoCode> {
        let code = raw.trim().to_ascii_uppercase();
        let ok = (3..=32).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(PromoCode(code))
        } else {
            Err(DomainError::invalid(
                "code",
                Msg::new("error-promo-code-shape"),
            ))
        }
    }

    pub(crate) fn from_db(code: String) -> PromoCode {
        PromoCode(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PromoCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive() {
        assert!(UserId::new(0).is_none());
        assert!(UserId::new(-3).is_none());
        assert_eq!("42".parse::<ProductId>().map(|p| p.get()), Ok(42));
        assert!("abc".parse::<ProductId>().is_err());
        assert!("99999999999999999999".parse::<ProductId>().is_err());
    }
}

//! Promo codes' rules and a code's redemption state (P6): whether a code applies to a user
//! and cart, and the claims a checkout holds on it until it commits or fails.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{PromoCode, UserId};
use crate::domain::model::Timestamp;
use crate::domain::money::Money;
use crate::domain::msg::Msg;
use crate::domain::pricing::Discount;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromoKind {
    Percent,
    Fixed,
}

impl PromoKind {
    pub fn parse(s: &str) -> Option<PromoKind> {
        match s {
            "percent" => Some(PromoKind::Percent),
            "fixed" => Some(PromoKind::Fixed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PromoKind::Percent => "percent",
            PromoKind::Fixed => "fixed",
        }
    }
}

/// The rules of one code, as an admin wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PromoRules {
    pub kind: PromoKind,
    pub value: i64,
    pub min_subtotal_minor: Money,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Timestamp>,
    pub max_redemptions: Option<i32>,
    pub max_per_user: Option<i32>,
    pub active: bool,
}

/// The largest fixed discount, the same bound as a product's price.
pub const FIXED_VALUE_MAX: i64 = 100_000_000;

impl PromoRules {
    /// Every rule the database also checks, said with the field that breaks it.
    pub fn validate(&self) -> DomainResult<()> {
        match self.kind {
            PromoKind::Percent if !(1..=100).contains(&self.value) => Err(DomainError::invalid(
                "value",
                Msg::new("error-promo-percent-range"),
            )),
            PromoKind::Fixed if !(1..=FIXED_VALUE_MAX).contains(&self.value) => {
                Err(DomainError::invalid(
                    "value",
                    Msg::new("error-promo-fixed-range").arg("max", FIXED_VALUE_MAX),
                ))
            }
            _ if self.min_subtotal_minor.is_negative()
                || self.min_subtotal_minor.minor() > FIXED_VALUE_MAX * 100 =>
            {
                Err(DomainError::invalid(
                    "min_subtotal_minor",
                    Msg::new("error-field-range")
                        .arg("field", "min_subtotal_minor")
                        .arg("min", 0)
                        .arg("max", FIXED_VALUE_MAX * 100),
                ))
            }
            _ if matches!((self.starts_at, self.ends_at), (Some(s), Some(e)) if s >= e) => Err(
                DomainError::invalid("ends_at", Msg::new("error-promo-ends-before-start")),
            ),
            _ if self.max_redemptions.is_some_and(|m| m < 1) => Err(DomainError::invalid(
                "max_redemptions",
                Msg::new("error-field-at-least-one").arg("field", "max_redemptions"),
            )),
            _ if self.max_per_user.is_some_and(|m| m < 1) => Err(DomainError::invalid(
                "max_per_user",
                Msg::new("error-field-at-least-one").arg("field", "max_per_user"),
            )),
            _ => Ok(()),
        }
    }

    pub fn discount(&self) -> Discount {
        match self.kind {
            PromoKind::Percent => Discount::Percent(self.value.clamp(1, 100) as u8),
            PromoKind::Fixed => Discount::Fixed(Money::from_minor(self.value)),
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Promo {
    pub code: PromoCode,
    #[serde(flatten)]
    pub rules: PromoRules,
    pub redemptions: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// Why a code does not apply; `details.reason` of 422 `promo_invalid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromoRefusal {
    Unknown,
    Inactive,
    NotStarted,
    Expired,
    BelowMinimum,
    Exhausted,
    PerUserLimit,
}

impl PromoRefusal {
    pub fn explain(self) -> &'static str {
        match self {
            PromoRefusal::Unknown => "there is no such promo code",
            PromoRefusal::Inactive => "this promo code is switched off",
            PromoRefusal::NotStarted => "this promo code is not valid yet",
            PromoRefusal::Expired => "this promo code has expired",
            PromoRefusal::BelowMinimum => "the cart is below this code's minimum subtotal",
            PromoRefusal::Exhausted => "this promo code has been used up",
            PromoRefusal::PerUserLimit => "you have already used this promo code",
        }
    }
}

/// A claim on one redemption, held by one checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ClaimId(u64);

impl ClaimId {
    /// Unique across a cluster's nodes, as reservation ids are.
    pub fn next() -> ClaimId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ClaimId(crate::domain::ids::cluster_unique(
            NEXT.fetch_add(1, Ordering::Relaxed),
        ))
    }
}

/// One code's redemption state as its owner holds it: committed redemptions (in total and
/// per user) and the pending claims of checkouts still running.
#[derive(Debug, Clone)]
pub struct PromoState {
    promo: Promo,
    per_user: HashMap<UserId, i64>,
    pending: HashMap<ClaimId, (UserId, Instant)>,
    /// Redemptions given back before this state was loaded: a later give-back counts.
    releases_loaded: i64,
}

impl PromoState {
    /// The committed state as loaded: the code, its redemptions per user, and how many
    /// redemptions had been given back by then.
    pub fn loaded(promo: Promo, per_user: HashMap<UserId, i64>, releases_loaded: i64) -> Self {
        PromoState {
            promo,
            per_user,
            pending: HashMap::new(),
            releases_loaded,
        }
    }

    pub fn promo(&self) -> &Promo {
        &self.promo
    }

    /// Checks the code for this user and cart; with a claim, also counts one pending
    /// redemption in the same step, so check and count never drift apart (P6).
    pub fn check(
        &mut self,
        user: UserId,
        subtotal: Money,
        now: Timestamp,
        claim: Option<ClaimId>,
    ) -> DomainResult<Discount> {
        if let Some(reason) = self.refusal(user, subtotal, now) {
            return Err(DomainError::PromoInvalid {
                code: self.promo.code.clone(),
                reason,
            });
        }
        if let Some(claim) = claim {
            self.pending.insert(claim, (user, Instant::now()));
        }
        Ok(self.promo.rules.discount())
    }

    /// Ends a claim: committed, it becomes a redemption; otherwise it is given back.
    pub fn settle(&mut self, claim: ClaimId, committed: bool) {
        if let Some((user, _)) = self.pending.remove(&claim) {
            if committed {
                self.promo.redemptions += 1;
                *self.per_user.entry(user).or_default() += 1;
            }
        }
    }

    /// A committed give-back; one this state already counted at load is not counted twice.
    pub fn release(&mut self, release: &RedemptionRelease) {
        if release.releases > self.releases_loaded {
            self.promo.redemptions = (self.promo.redemptions - 1).max(0);
            if let Some(used) = self.per_user.get_mut(&release.user) {
                *used = (*used - 1).max(0);
            }
        }
    }

    /// The rules after an admin's patch, validated; the state changes only once it commits.
    pub fn patched(&self, patch: &PromoPatch) -> DomainResult<PromoRules> {
        let rules = patch.apply(&self.promo.rules);
        rules.validate()?;
        Ok(rules)
    }

    /// The code as committed after an admin's change.
    pub fn replace(&mut self, promo: Promo) {
        self.promo = promo;
    }

    /// Drops claims older than `ttl`, whose checkout vanished; true when none is left.
    pub fn expire_claims(&mut self, ttl: std::time::Duration) -> bool {
        self.pending.retain(|_, (_, at)| at.elapsed() < ttl);
        self.pending.is_empty()
    }

    fn refusal(&self, user: UserId, subtotal: Money, now: Timestamp) -> Option<PromoRefusal> {
        let r = &self.promo.rules;
        let pending_total = self.pending.len() as i64;
        let pending_mine = self.pending.values().filter(|(u, _)| *u == user).count() as i64;
        let used_mine = self.per_user.get(&user).copied().unwrap_or(0) + pending_mine;
        if !r.active {
            Some(PromoRefusal::Inactive)
        } else if r.starts_at.is_some_and(|s| now < s) {
            Some(PromoRefusal::NotStarted)
        } else if r.ends_at.is_some_and(|e| now >= e) {
            Some(PromoRefusal::Expired)
        } else if r
            .max_redemptions
            .is_some_and(|m| self.promo.redemptions + pending_total >= i64::from(m))
        {
            Some(PromoRefusal::Exhausted)
        } else if r.max_per_user.is_some_and(|m| used_mine >= i64::from(m)) {
            Some(PromoRefusal::PerUserLimit)
        } else if subtotal < r.min_subtotal_minor {
            Some(PromoRefusal::BelowMinimum)
        } else {
            None
        }
    }
}

/// A partial change: `None` leaves a rule as it is; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct PromoPatch {
    pub kind: Option<PromoKind>,
    pub value: Option<i64>,
    pub min_subtotal_minor: Option<Money>,
    pub starts_at: Option<Option<Timestamp>>,
    pub ends_at: Option<Option<Timestamp>>,
    pub max_redemptions: Option<Option<i32>>,
    pub max_per_user: Option<Option<i32>>,
    pub active: Option<bool>,
}

impl PromoPatch {
    pub fn apply(&self, r: &PromoRules) -> PromoRules {
        PromoRules {
            kind: self.kind.unwrap_or(r.kind),
            value: self.value.unwrap_or(r.value),
            min_subtotal_minor: self.min_subtotal_minor.unwrap_or(r.min_subtotal_minor),
            starts_at: self.starts_at.unwrap_or(r.starts_at),
            ends_at: self.ends_at.unwrap_or(r.ends_at),
            max_redemptions: self.max_redemptions.unwrap_or(r.max_redemptions),
            max_per_user: self.max_per_user.unwrap_or(r.max_per_user),
            active: self.active.unwrap_or(r.active),
        }
    }
}

/// A redemption given back by a cancelled order, after its commit. `releases` is the
/// promo's count of give-backs including this one, so an owner that loaded after the commit
/// (and so already counts it) does not count it twice.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RedemptionRelease {
    pub code: PromoCode,
    pub user: UserId,
    pub releases: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(max_redemptions: Option<i32>, max_per_user: Option<i32>) -> PromoState {
        let now = chrono::Utc::now();
        let promo = Promo {
            code: PromoCode::parse("TEN").unwrap(),
            rules: PromoRules {
                kind: PromoKind::Percent,
                value: 10,
                min_subtotal_minor: Money::from_minor(500),
                starts_at: None,
                ends_at: None,
                max_redemptions,
                max_per_user,
                active: true,
            },
            redemptions: 0,
            created_at: now,
            updated_at: now,
        };
        PromoState::loaded(promo, HashMap::new(), 0)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Claim { user: i64, subtotal: i64 },
        Settle { nth: usize, committed: bool },
        Release { user: i64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1i64..4, 0i64..2_000).prop_map(|(user, subtotal)| Op::Claim { user, subtotal }),
            (0usize..8, any::<bool>()).prop_map(|(nth, committed)| Op::Settle { nth, committed }),
            (1i64..4).prop_map(|user| Op::Release { user }),
        ]
    }

    proptest! {
        /// Against a model of redemptions and pending claims: no sequence of claims,
        /// settlements and give-backs lets the code be used past its total or per-user
        /// bound, and every refusal names the bound that was reached.
        #[test]
        fn claims_never_pass_the_codes_bounds(
            max in proptest::option::of(1i32..5),
            per_user in proptest::option::of(1i32..3),
            ops in proptest::collection::vec(op(), 1..60),
        ) {
            let mut s = state(max, per_user);
            let mut pending: Vec<(ClaimId, UserId)> = Vec::new();
            let mut used: HashMap<UserId, i64> = HashMap::new();
            let mut releases = 0;
            for op in ops {
                match op {
                    Op::Claim { user, subtotal } => {
                        let user = UserId::new(user).unwrap();
                        let claim = ClaimId::next();
                        let total = used.values().sum::<i64>() + pending.len() as i64;
                        let mine = used.get(&user).copied().unwrap_or(0)
                            + pending.iter().filter(|(_, u)| *u == user).count() as i64;
                        let answer = s.check(user, Money::from_minor(subtotal), chrono::Utc::now(), Some(claim));
                        let expected = if max.is_some_and(|m| total >= i64::from(m)) {
                            Some(PromoRefusal::Exhausted)
                        } else if per_user.is_some_and(|m| mine >= i64::from(m)) {
                            Some(PromoRefusal::PerUserLimit)
                        } else if subtotal < 500 {
                            Some(PromoRefusal::BelowMinimum)
                        } else {
                            None
                        };
                        match (answer, expected) {
                            (Ok(_), None) => pending.push((claim, user)),
                            (Err(DomainError::PromoInvalid { reason, .. }), Some(want)) => {
                                prop_assert_eq!(reason, want)
                            }
                            (got, want) => prop_assert!(false, "claim: got {got:?}, model {want:?}"),
                        }
                    }
                    Op::Settle { nth, committed } => {
                        if pending.is_empty() {
                            continue;
                        }
                        let (claim, user) = pending.remove(nth % pending.len());
                        s.settle(claim, committed);
                        // A second settlement of the same claim changes nothing.
                        s.settle(claim, committed);
                        if committed {
                            *used.entry(user).or_default() += 1;
                        }
                    }
                    Op::Release { user } => {
                        let user = UserId::new(user).unwrap();
                        let Some(n) = used.get_mut(&user).filter(|n| **n > 0) else {
                            continue;
                        };
                        *n -= 1;
                        releases += 1;
                        s.release(&RedemptionRelease {
                            code: s.promo().code.clone(),
                            user,
                            releases,
                        });
                    }
                }
                let redeemed: i64 = used.values().sum();
                prop_assert_eq!(s.promo().redemptions, redeemed);
                if let Some(m) = max {
                    prop_assert!(redeemed + pending.len() as i64 <= i64::from(m));
                }
            }
        }
    }

    #[test]
    fn a_give_back_the_load_already_counted_is_not_counted_twice() {
        let mut s = state(None, None);
        let user = UserId::new(1).unwrap();
        let claim = ClaimId::next();
        s.check(
            user,
            Money::from_minor(600),
            chrono::Utc::now(),
            Some(claim),
        )
        .unwrap();
        s.settle(claim, true);
        let mut loaded = PromoState::loaded(s.promo().clone(), HashMap::from([(user, 1)]), 1);
        loaded.release(&RedemptionRelease {
            code: s.promo().code.clone(),
            user,
            releases: 1,
        });
        assert_eq!(loaded.promo().redemptions, 1);
    }
}

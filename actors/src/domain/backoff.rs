//! When a failed delivery is tried again: exponential backoff with full jitter, up to a
//! horizon after which the delivery gives up (AWS's "full jitter" scheme: the n-th retry
//! waits a random time in [base·2ⁿ⁻¹ / 2, min(cap, base·2ⁿ⁻¹)], so receivers that failed
//! together do not all come back at once).

use crate::domain::model::Timestamp;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry's wait (before jitter).
    pub base: Duration,
    /// No single wait is longer than this.
    pub cap: Duration,
    /// Past this age of the event, a delivery is not tried again.
    pub horizon: Duration,
}

impl Backoff {
    /// The wait before the next attempt after `attempts` failed ones, given a uniform
    /// `jitter` in [0, 1); `None` when that attempt would come after the horizon (`age`
    /// is how old the event is now).
    pub fn next(&self, attempts: u32, age: Duration, jitter: f64) -> Option<Duration> {
        let exponent = attempts.saturating_sub(1).min(32);
        let full = self
            .base
            .saturating_mul(1u32 << exponent.min(31))
            .min(self.cap);
        let jitter = jitter.clamp(0.0, 1.0);
        let wait = full.mul_f64(0.5 + jitter / 2.0);
        (age.saturating_add(wait) <= self.horizon).then_some(wait)
    }

    /// When to try again, seen at `now`, after `failed` attempts at something committed at
    /// `committed`; `None` once that would be past the horizon (give up).
    pub fn retry_at(
        &self,
        failed: u32,
        committed: Timestamp,
        now: Timestamp,
        jitter: f64,
    ) -> Option<Timestamp> {
        let age = (now - committed).to_std().unwrap_or_default();
        let wait = self.next(failed, age, jitter)?;
        chrono::Duration::from_std(wait)
            .ok()
            .and_then(|wait| now.checked_add_signed(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const B: Backoff = Backoff {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(3600),
        horizon: Duration::from_secs(86_400),
    };

    #[test]
    fn doubles_until_the_cap_and_stops_at_the_horizon() {
        assert_eq!(B.next(1, Duration::ZERO, 1.0), Some(Duration::from_secs(1)));
        assert_eq!(B.next(2, Duration::ZERO, 1.0), Some(Duration::from_secs(2)));
        assert_eq!(
            B.next(5, Duration::ZERO, 1.0),
            Some(Duration::from_secs(16))
        );
        assert_eq!(
            B.next(40, Duration::ZERO, 1.0),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(B.next(3, Duration::from_secs(86_399), 0.0), None);
    }

    #[test]
    fn a_retry_is_at_now_plus_the_wait_until_the_horizon() {
        let committed = chrono::Utc::now();
        let now = committed + chrono::Duration::seconds(10);
        assert_eq!(
            B.retry_at(2, committed, now, 1.0),
            Some(now + chrono::Duration::seconds(2))
        );
        let late = committed + chrono::Duration::seconds(86_400);
        assert_eq!(B.retry_at(2, committed, late, 0.0), None);
    }

    proptest! {
        #[test]
        fn a_wait_is_within_half_and_all_of_its_step(attempts in 1u32..100, jitter in 0.0f64..1.0, age in 0u64..100_000) {
            let age = Duration::from_secs(age);
            if let Some(wait) = B.next(attempts, age, jitter) {
                let step = B.base.saturating_mul(1u32 << (attempts - 1).min(31)).min(B.cap);
                prop_assert!(wait >= step / 2 && wait <= step);
                prop_assert!(age + wait <= B.horizon);
            } else {
                prop_assert!(age + B.base / 2 > Duration::ZERO);
            }
        }
    }
}

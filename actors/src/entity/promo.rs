//! Promo codes (P6). One `PromoActor` per code owns its redemption count: a checkout's claim
//! is checked and counted in the same message, so 200 buyers racing for a code limited to
//! 10 get exactly 10 claims. A claim is pending until its checkout commits (then it is a
//! redemption, recorded in the checkout's own write) or fails (then it is given back).

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::UserId;
use crate::domain::model::Timestamp;
use crate::domain::money::Money;
use crate::domain::pricing::Discount;
use crate::entity::lifecycle::{self, Entity};
use crate::entity::product::WriteMeta;
use crate::entity::registry::Registry;
use crate::store::group_commit::persist;
use crate::store::writes::{Outcome, WriteOp};
use actix::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A code as stored: 3..=32 of A–Z, 0–9, `_` and `-`, upper-cased so `summer10` is `SUMMER10`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord, utoipa::ToSchema)]
#[serde(transparent)]
pub struct PromoCode(String);

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
                "a promo code is 3..=32 letters, digits, '_' or '-'",
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
            PromoKind::Percent if !(1..=100).contains(&self.value) => {
                Err(DomainError::invalid("value", "a percent promo is 1..=100"))
            }
            PromoKind::Fixed if !(1..=FIXED_VALUE_MAX).contains(&self.value) => Err(
                DomainError::invalid("value", "a fixed promo is 1..=100000000 minor units"),
            ),
            _ if self.min_subtotal_minor.is_negative()
                || self.min_subtotal_minor.minor() > FIXED_VALUE_MAX * 100 =>
            {
                Err(DomainError::invalid(
                    "min_subtotal_minor",
                    "min_subtotal_minor must be 0..=10000000000",
                ))
            }
            _ if matches!((self.starts_at, self.ends_at), (Some(s), Some(e)) if s >= e) => Err(
                DomainError::invalid("ends_at", "ends_at must be after starts_at"),
            ),
            _ if self.max_redemptions.is_some_and(|m| m < 1) => Err(DomainError::invalid(
                "max_redemptions",
                "max_redemptions must be at least 1",
            )),
            _ if self.max_per_user.is_some_and(|m| m < 1) => Err(DomainError::invalid(
                "max_per_user",
                "max_per_user must be at least 1",
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimId(u64);

impl ClaimId {
    pub fn next() -> ClaimId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ClaimId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

pub struct PromoActor {
    code: PromoCode,
    registry: Arc<Registry>,
    state: PromoState,
    last_active: Instant,
}

pub(crate) struct PromoState {
    promo: Promo,
    per_user: HashMap<UserId, i64>,
    pending: HashMap<ClaimId, (UserId, Instant)>,
    /// Redemptions given back before this state was loaded: a later give-back counts.
    releases_loaded: i64,
}

impl PromoState {
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

impl PromoActor {
    pub(crate) fn new(code: PromoCode, registry: Arc<Registry>, state: PromoState) -> Self {
        PromoActor {
            code,
            registry,
            state,
            last_active: Instant::now(),
        }
    }

    /// The state, for a message that uses it (which keeps the owner from idling out).
    fn ready(&mut self) -> DomainResult<&mut PromoState> {
        self.last_active = Instant::now();
        Ok(&mut self.state)
    }
}

impl Actor for PromoActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        lifecycle::started(self, ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        lifecycle::stopped(self);
    }
}

impl Entity for PromoActor {
    const KIND: &'static str = "promo";

    fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    fn forget(&self, addr: &Addr<Self>) {
        self.registry.forget_promo(&self.code, addr);
    }

    /// Claims whose checkout vanished expire like stock reservations; idle owners leave.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let ttl = self.registry.deps.config.reservation_ttl;
        self.state.pending.retain(|_, (_, at)| at.elapsed() < ttl);
        let idle = self.last_active.elapsed() >= self.registry.deps.config.idle_timeout;
        if idle && self.state.pending.is_empty() {
            lifecycle::retire(self, ctx);
        }
    }
}

/// A code's committed rules and redemptions; `UnknownPromo` if there is no such code.
pub(crate) async fn load(
    pool: &deadpool_postgres::Pool,
    code: &PromoCode,
) -> DomainResult<PromoState> {
    let (promo, per_user, releases_loaded) = crate::store::promos::load(pool, code).await?;
    Ok(PromoState {
        promo,
        per_user,
        pending: HashMap::new(),
        releases_loaded,
    })
}

/// Checks the code for this user and cart; with a claim id, also counts one pending
/// redemption in the same step (P6: check and count never drift apart).
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Discount>")]
pub struct CheckPromo {
    pub user: UserId,
    pub subtotal: Money,
    pub now: Timestamp,
    pub claim: Option<ClaimId>,
}

/// Ends a claim: `committed` turns it into a redemption, otherwise it is given back.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct SettleClaim {
    pub claim: ClaimId,
    pub committed: bool,
}

/// A redemption given back by a cancelled order, after its commit. `releases` is the
/// promo's count of give-backs including this one, so an owner that loaded after the commit
/// (and so already counts it) does not count it twice.
#[derive(Message, Debug, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct RedemptionReleased {
    pub code: PromoCode,
    pub user: UserId,
    pub releases: i64,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Promo>")]
pub struct GetPromo;

/// An admin's change of the rules, written through the owner so its memory matches.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Promo>")]
pub struct UpdatePromo {
    pub patch: PromoPatch,
    pub meta: WriteMeta,
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

impl Handler<CheckPromo> for PromoActor {
    type Result = DomainResult<Discount>;

    fn handle(&mut self, msg: CheckPromo, _: &mut Context<Self>) -> Self::Result {
        let code = self.code.clone();
        let s = self.ready()?;
        if let Some(reason) = s.refusal(msg.user, msg.subtotal, msg.now) {
            return Err(DomainError::PromoInvalid { code, reason });
        }
        if let Some(claim) = msg.claim {
            s.pending.insert(claim, (msg.user, Instant::now()));
        }
        Ok(s.promo.rules.discount())
    }
}

impl Handler<SettleClaim> for PromoActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, msg: SettleClaim, _: &mut Context<Self>) -> Self::Result {
        let s = self.ready()?;
        if let Some((user, _)) = s.pending.remove(&msg.claim) {
            if msg.committed {
                s.promo.redemptions += 1;
                *s.per_user.entry(user).or_default() += 1;
            }
        }
        Ok(())
    }
}

impl Handler<RedemptionReleased> for PromoActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, msg: RedemptionReleased, _: &mut Context<Self>) -> Self::Result {
        let s = self.ready()?;
        if msg.releases > s.releases_loaded {
            s.promo.redemptions = (s.promo.redemptions - 1).max(0);
            if let Some(used) = s.per_user.get_mut(&msg.user) {
                *used = (*used - 1).max(0);
            }
        }
        Ok(())
    }
}

impl Handler<GetPromo> for PromoActor {
    type Result = DomainResult<Promo>;

    fn handle(&mut self, _: GetPromo, _: &mut Context<Self>) -> Self::Result {
        Ok(self.ready()?.promo.clone())
    }
}

impl Handler<UpdatePromo> for PromoActor {
    type Result = AtomicResponse<Self, DomainResult<Promo>>;

    fn handle(&mut self, msg: UpdatePromo, _: &mut Context<Self>) -> Self::Result {
        let persistence = self.registry.deps.persistence.clone();
        let code = self.code.clone();
        let next = self.ready().and_then(|s| {
            let rules = msg.patch.apply(&s.promo.rules);
            rules.validate()?;
            Ok(rules)
        });
        let work = async move {
            let rules = next?;
            let op = WriteOp::PromoUpdate {
                code,
                rules: rules.clone(),
            };
            match persist(&persistence, msg.meta.write(op)).await? {
                Outcome::Promo(promo) => Ok(*promo),
                other => Err(DomainError::Internal(format!(
                    "unexpected outcome {other:?}"
                ))),
            }
        };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(|result, act, _| {
            let promo = result?;
            act.ready()?.promo = promo.clone();
            Ok(promo)
        })))
    }
}

impl CheckPromo {
    /// Asks the code's owner. A code that does not exist is a refusal like any other, not
    /// a 404: the customer typed it.
    pub async fn ask(self, registry: &Arc<Registry>, code: &PromoCode) -> DomainResult<Discount> {
        registry
            .promo(code, self)
            .await
            .map_err(|e| refused_if_missing(e, code))
    }
}

fn refused_if_missing(e: DomainError, code: &PromoCode) -> DomainError {
    match e {
        DomainError::UnknownPromo(_) => DomainError::PromoInvalid {
            code: code.clone(),
            reason: PromoRefusal::Unknown,
        },
        other => other,
    }
}

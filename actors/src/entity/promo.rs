//! Promo codes (P6). One `PromoActor` per code owns its redemption count: a checkout's claim
//! is checked and counted in the same message, so 200 buyers racing for a code limited to
//! 10 get exactly 10 claims. A claim is pending until its checkout commits (then it is a
//! redemption, recorded in the checkout's own write) or fails (then it is given back).

use crate::domain::changes::Outcome;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::PromoCode;
use crate::domain::ids::UserId;
use crate::domain::model::Timestamp;
use crate::domain::money::Money;
use crate::domain::pricing::Discount;
use crate::domain::promo::ClaimId;
use crate::domain::promo::Promo;
use crate::domain::promo::PromoPatch;
use crate::domain::promo::PromoRefusal;
use crate::domain::promo::PromoState;
use crate::domain::promo::RedemptionRelease;
use crate::entity::lifecycle::{self, Entity};
use crate::entity::registry::Registry;
use crate::store::group_commit::persist;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Instant;

pub struct PromoActor {
    code: PromoCode,
    registry: Arc<Registry>,
    state: PromoState,
    last_active: Instant,
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

    fn key(&self) -> crate::domain::shards::EntityKey {
        crate::domain::shards::EntityKey::Promo(self.code.clone())
    }

    fn forget(&self, addr: &Addr<Self>) {
        self.registry.forget_promo(&self.code, addr);
    }

    /// Claims whose checkout vanished expire like stock reservations; idle owners leave.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let settled = self
            .state
            .expire_claims(self.registry.deps.config.reservation_ttl);
        let idle = self.last_active.elapsed() >= self.registry.deps.config.idle_timeout;
        if idle && settled {
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
    Ok(PromoState::loaded(promo, per_user, releases_loaded))
}

/// Checks the code for this user and cart; with a claim id, also counts one pending
/// redemption in the same step (P6: check and count never drift apart).
#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<Discount>")]
pub struct CheckPromo {
    pub user: UserId,
    pub subtotal: Money,
    pub now: Timestamp,
    pub claim: Option<ClaimId>,
}

/// Ends a claim: `committed` turns it into a redemption, otherwise it is given back.
#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<()>")]
pub struct SettleClaim {
    pub claim: ClaimId,
    pub committed: bool,
}

/// A redemption given back by a cancelled order, after its commit. `releases` is the
/// promo's count of give-backs including this one, so an owner that loaded after the commit
/// (and so already counts it) does not count it twice.
#[derive(Message, Debug, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<()>")]
pub struct RedemptionReleased(pub RedemptionRelease);

#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<Promo>")]
pub struct GetPromo;

/// An admin's change of the rules, written through the owner so its memory matches.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Promo>")]
pub struct UpdatePromo {
    pub patch: PromoPatch,
    pub meta: WriteMeta,
}

impl Handler<CheckPromo> for PromoActor {
    type Result = DomainResult<Discount>;

    fn handle(&mut self, msg: CheckPromo, _: &mut Context<Self>) -> Self::Result {
        self.ready()?
            .check(msg.user, msg.subtotal, msg.now, msg.claim)
    }
}

impl Handler<SettleClaim> for PromoActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, msg: SettleClaim, _: &mut Context<Self>) -> Self::Result {
        self.ready()?.settle(msg.claim, msg.committed);
        Ok(())
    }
}

impl Handler<RedemptionReleased> for PromoActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, msg: RedemptionReleased, _: &mut Context<Self>) -> Self::Result {
        self.ready()?.release(&msg.0);
        Ok(())
    }
}

impl Handler<GetPromo> for PromoActor {
    type Result = DomainResult<Promo>;

    fn handle(&mut self, _: GetPromo, _: &mut Context<Self>) -> Self::Result {
        Ok(self.ready()?.promo().clone())
    }
}

impl Handler<UpdatePromo> for PromoActor {
    type Result = AtomicResponse<Self, DomainResult<Promo>>;

    fn handle(&mut self, msg: UpdatePromo, _: &mut Context<Self>) -> Self::Result {
        let persistence = self.registry.deps.persistence.clone();
        let code = self.code.clone();
        let next = self.ready().and_then(|s| s.patched(&msg.patch));
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
            act.ready()?.replace(promo.clone());
            Ok(promo)
        })))
    }
}

impl CheckPromo {
    /// Asks the code's owner. A code that does not exist is a refusal like any other, not
    /// a 404: the customer typed it.
    pub async fn ask(self, registry: &Arc<Registry>, code: &PromoCode) -> DomainResult<Discount> {
        Ok(self.ask_fenced(registry, code).await?.0)
    }

    /// Like `ask`, with the token of the code's shard, for the checkout that claims it.
    pub async fn ask_fenced(
        self,
        registry: &Arc<Registry>,
        code: &PromoCode,
    ) -> DomainResult<(Discount, Option<crate::domain::shards::Fence>)> {
        registry
            .promo_fenced(code, self)
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

//! `UserActor`: the one owner of a user's cart and wallet. Its writes are atomic responses:
//! a message that changes the cart or the balance finishes (committed) before the next
//! message of that user is looked at, so one user's checkouts, credits and cart edits are
//! serialized without a lock. It also gates Idempotency-Keys: a second request with a key
//! that is still running waits for the key's answer, then compares its own body with it.

pub use crate::domain::cart::CartLines;
use crate::domain::cart::UserState;
use crate::domain::changes::Outcome;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::idempotency::KeyAnswer;
use crate::domain::ids::PromoCode;
use crate::domain::ids::{ProductId, UserId};
use crate::domain::model::WalletTransaction;
use crate::domain::money::Money;
use crate::domain::quantity::Quantity;
use crate::entity::lifecycle::{self, Entity};
use crate::entity::product::GetSnapshot;
use crate::entity::registry::Registry;
use crate::store::group_commit::persist;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

pub struct UserActor {
    pub(crate) id: UserId,
    pub(crate) registry: Arc<Registry>,
    pub(crate) state: UserState,
    last_active: Instant,
    pub(crate) gate: HashMap<String, InFlight>,
    /// The Telegram conversation (turn and step), see `conversation.rs`.
    pub(crate) conversation: crate::entity::conversation::Conversation,
}

pub(crate) struct InFlight {
    pub(crate) waiters: Vec<oneshot::Sender<Option<KeyAnswer>>>,
}

impl UserActor {
    pub(crate) fn new(id: UserId, registry: Arc<Registry>, state: UserState) -> Self {
        UserActor {
            id,
            registry,
            state,
            last_active: Instant::now(),
            gate: HashMap::new(),
            conversation: Default::default(),
        }
    }

    /// The state, for a message that uses it (which keeps the owner from idling out).
    pub(crate) fn ready(&mut self) -> DomainResult<&mut UserState> {
        self.last_active = Instant::now();
        Ok(&mut self.state)
    }

    /// Runs `work` with no other message of this user in between, so what the handler
    /// read from the state (balance, cart) holds until it ends; then `apply` brings the
    /// state up to date with its result. A write whose outcome is unknown restarts the
    /// actor from Postgres instead.
    pub(crate) fn serially<R: 'static, T: 'static>(
        &mut self,
        work: impl std::future::Future<Output = DomainResult<R>> + 'static,
        apply: impl FnOnce(&mut UserActor, R) -> DomainResult<T> + 'static,
    ) -> AtomicResponse<Self, DomainResult<T>> {
        let checked = self.ready().map(|_| ());
        let work = async move {
            checked?;
            work.await
        };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(|result, act, ctx| {
            act.restart_if_unknown(&result, ctx);
            apply(act, result?)
        })))
    }

    /// After a write whose outcome is unknown (the database went away around COMMIT), this
    /// owner's memory may be wrong; it leaves so the next message loads committed state.
    fn restart_if_unknown<T>(&mut self, result: &DomainResult<T>, ctx: &mut Context<Self>) {
        if matches!(result, Err(DomainError::Unavailable(_))) {
            tracing::warn!(user = %self.id, "a write's outcome is unknown; reloading this user");
            self.registry.forget_user(self.id, &ctx.address());
            ctx.stop();
        }
    }
}

impl Actor for UserActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        lifecycle::started(self, ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        lifecycle::stopped(self);
    }
}

impl Entity for UserActor {
    const KIND: &'static str = "user";

    fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    fn key(&self) -> crate::domain::shards::EntityKey {
        crate::domain::shards::EntityKey::User(self.id)
    }

    fn forget(&self, addr: &Addr<Self>) {
        self.registry.forget_user(self.id, addr);
    }

    /// Passivates when idle, but never while a request holds one of its Idempotency-Keys.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let idle = self.last_active.elapsed() >= self.registry.deps.config.idle_timeout;
        if idle && self.gate.is_empty() && self.conversation.is_idle() {
            lifecycle::retire(self, ctx);
        }
    }
}

// ---- cart -------------------------------------------------------------------------------

/// The cart's lines and the promo code on it, read in one message.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Cart>")]
pub struct GetCart;

#[derive(Debug, Clone)]
pub struct Cart {
    pub lines: CartLines,
    /// The code the customer put on the cart; checkout re-checks it.
    pub promo: Option<PromoCode>,
}

/// Sets one line; `None` removes it.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<CartLines>")]
pub struct SetCartLine {
    pub product: ProductId,
    pub quantity: Option<Quantity>,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<CartLines>")]
pub struct ClearCart;

impl Handler<GetCart> for UserActor {
    type Result = DomainResult<Cart>;

    fn handle(&mut self, _: GetCart, _: &mut Context<Self>) -> Self::Result {
        let s = self.ready()?;
        Ok(Cart {
            lines: s.lines(),
            promo: s.promo().cloned(),
        })
    }
}

impl Handler<SetCartLine> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<CartLines>>;

    fn handle(&mut self, msg: SetCartLine, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let registry = self.registry.clone();
        let work = async move {
            if msg.quantity.is_some() {
                // Only products that exist and are for sale go into a cart.
                let (_, snapshot) = registry.product(msg.product, GetSnapshot).await?;
                if !snapshot.active {
                    return Err(DomainError::ProductInactive(msg.product));
                }
            }
            let op = WriteOp::CartSet {
                user,
                product: msg.product,
                quantity: msg.quantity,
            };
            persist(&registry.deps.persistence, WriteMeta::default().write(op)).await?;
            Ok(())
        };
        self.serially(work, move |act, ()| {
            Ok(act.ready()?.set_line(msg.product, msg.quantity))
        })
    }
}

impl Handler<ClearCart> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<CartLines>>;

    fn handle(&mut self, _: ClearCart, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let persistence = self.registry.deps.persistence.clone();
        let work = async move {
            persist(
                &persistence,
                WriteMeta::default().write(WriteOp::CartClear { user }),
            )
            .await
        };
        self.serially(work, |act, _| {
            act.ready()?.clear_cart();
            Ok(Vec::new())
        })
    }
}

/// Puts a code on the cart (the caller has checked that it applies) or takes it off.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct SetCartPromo {
    pub code: Option<PromoCode>,
}

impl Handler<SetCartPromo> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<()>>;

    fn handle(&mut self, msg: SetCartPromo, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let persistence = self.registry.deps.persistence.clone();
        let code = msg.code.clone();
        let work = async move {
            let op = WriteOp::CartPromo { user, code };
            persist(&persistence, WriteMeta::default().write(op)).await
        };
        self.serially(work, move |act, _| {
            act.ready()?.set_promo(msg.code);
            Ok(())
        })
    }
}

// ---- wallet -----------------------------------------------------------------------------

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Money>")]
pub struct GetBalance;

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<WalletTransaction>")]
pub struct Credit {
    pub amount: Money,
    pub reason: String,
    pub meta: WriteMeta,
}

impl Handler<GetBalance> for UserActor {
    type Result = DomainResult<Money>;

    fn handle(&mut self, _: GetBalance, _: &mut Context<Self>) -> Self::Result {
        Ok(self.ready()?.balance())
    }
}

impl Handler<Credit> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<WalletTransaction>>;

    fn handle(&mut self, msg: Credit, _: &mut Context<Self>) -> Self::Result {
        let user = self.id;
        let persistence = self.registry.deps.persistence.clone();
        let amount = msg.amount;
        let checked = self.ready().and_then(|s| s.check_credit(amount));
        let work = async move {
            checked?;
            let op = WriteOp::WalletCredit {
                user,
                amount,
                reason: msg.reason,
            };
            persist(&persistence, msg.meta.write(op)).await
        };
        self.serially(work, move |act, outcome| {
            let s = act.ready()?;
            match outcome {
                Outcome::Credit(tx) => {
                    s.credit(amount)?;
                    Ok(tx)
                }
                other => Err(DomainError::Internal(format!(
                    "unexpected outcome {other:?}"
                ))),
            }
        })
    }
}

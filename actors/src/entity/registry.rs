//! The registry: one `DashMap` per actor kind from id to the one live owner of that id.
//! An owner starts only once its state has loaded from Postgres: an id that names nothing
//! gets its caller's "not found" and no actor, so requests for random ids cost one read
//! each and leave nothing in memory. Requests that arrive while a state loads share that
//! one load; the entry API makes sure two racing requests start one owner; owners leave
//! the map before they stop when idle, and a message that meets an owner which just
//! stopped is re-sent once to a fresh one.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::PromoCode;
use crate::domain::ids::{ProductId, UserId};
use crate::domain::shards::{EntityKey, ShardId};
use crate::entity::ownership::Ownership;
use crate::entity::product::ProductActor;
use crate::entity::promo::PromoActor;
use crate::entity::remote::{Forwarder, Kind, Remote};
use crate::entity::user::UserActor;
use crate::metrics::ActorMetrics;
use crate::store::group_commit::PersistenceActor;
use crate::views::catalog::CatalogView;
use actix::dev::ToEnvelope;
use actix::prelude::*;
use dashmap::DashMap;
use deadpool_postgres::Pool;
use futures_util::future::{BoxFuture, FutureExt, Shared};
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ActorConfig {
    /// An actor with no message for this long leaves memory (passivation).
    pub idle_timeout: Duration,
    /// Messages waiting for one actor before callers get `Overloaded`.
    pub mailbox_max: usize,
    /// How long a caller waits for an actor's answer before giving up.
    pub call_timeout: Duration,
    /// Bound on loading an actor's state; past it the start fails (503) and the next
    /// request tries afresh, so a stalled database never holds callers for long.
    pub load_timeout: Duration,
    /// How long an in-memory stock reservation lives if its coordinator vanishes.
    pub reservation_ttl: Duration,
    pub currency: String,
    /// Shipping and tax, for the one pricing function.
    pub pricing: crate::domain::pricing::PricingRules,
    /// How long an order awaiting an external payment holds its stock.
    pub payment_window: Duration,
    /// Bounds on what one buyer may hold in orders awaiting an external payment.
    pub unpaid: crate::domain::unpaid::UnpaidLimits,
    /// How long after delivery a return may be asked for.
    pub return_window: Duration,
}

/// Everything an actor needs from the process.
pub struct Deps {
    pub pool: Pool,
    pub persistence: Addr<PersistenceActor>,
    pub config: ActorConfig,
    pub metrics: ActorMetrics,
    /// Threads the entity actors run on, chosen by id so load spreads evenly.
    pub arbiters: Vec<ArbiterHandle>,
    /// The shards this node serves (all of them, unfenced, on a single node).
    pub ownership: Arc<Ownership>,
    /// Delivers messages to owners on other nodes; `None` on a single node.
    pub forwarder: Option<Arc<dyn Forwarder>>,
}

pub struct Handle<A: Actor> {
    addr: Addr<A>,
    pending: Arc<AtomicUsize>,
}

impl<A: Actor> Clone for Handle<A> {
    fn clone(&self) -> Self {
        Handle {
            addr: self.addr.clone(),
            pending: self.pending.clone(),
        }
    }
}

/// An owner as the map holds it: its start, awaited by every request that arrives while
/// its state loads, then the running owner. A failed start (nothing to own, or the state
/// could not be read) is taken out of the map by its callers, leaving no actor behind.
type Slot<A> = Shared<BoxFuture<'static, DomainResult<Handle<A>>>>;

/// Loads an entity's committed state and starts its owner with it.
type Start<A> = BoxFuture<'static, DomainResult<Addr<A>>>;

/// Counts a message as waiting on an actor until the caller has its answer or gives up.
struct Pending(Arc<AtomicUsize>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Registry {
    products: DashMap<ProductId, Slot<ProductActor>>,
    users: DashMap<UserId, Slot<UserActor>>,
    promos: DashMap<PromoCode, Slot<PromoActor>>,
    pub deps: Deps,
    /// Product pages as committed, kept fresh by the products' owners.
    pub catalog: CatalogView,
}

impl Registry {
    pub fn new(deps: Deps) -> Arc<Registry> {
        Arc::new(Registry {
            catalog: CatalogView::default(),
            products: DashMap::new(),
            users: DashMap::new(),
            promos: DashMap::new(),
            deps,
        })
    }

    /// Asks the product's owner, on this node or (in a cluster) on the node that serves
    /// its shard.
    pub async fn product<M: Remote>(
        self: &Arc<Self>,
        id: ProductId,
        msg: M,
    ) -> DomainResult<M::Answer>
    where
        ProductActor: Handler<M>,
        <ProductActor as Actor>::Context: ToEnvelope<ProductActor, M>,
    {
        Ok(self.product_fenced(id, msg).await?.0)
    }

    /// Asks the product's owner on this node: `NotOwner` if another node serves it.
    pub async fn product_here<M, T>(self: &Arc<Self>, id: ProductId, msg: M) -> DomainResult<T>
    where
        M: Message<Result = DomainResult<T>> + Clone + Send + 'static,
        T: Send + 'static,
        ProductActor: Handler<M>,
        <ProductActor as Actor>::Context: ToEnvelope<ProductActor, M>,
    {
        self.deps.ownership.fence(&EntityKey::Product(id))?;
        let registry = self.clone();
        ask(&self.products, id, msg, &self.deps.config, move || {
            let registry = registry.clone();
            Box::pin(async move {
                let state = crate::store::loads::product(&registry.deps.pool, id).await?;
                let arbiter = registry.arbiter_for(id.get());
                Ok(ProductActor::start_in_arbiter(&arbiter, move |_| {
                    ProductActor::new(id, registry, state)
                }))
            })
        })
        .await
    }

    pub async fn user<M, T>(self: &Arc<Self>, id: UserId, msg: M) -> DomainResult<T>
    where
        M: Message<Result = DomainResult<T>> + Clone + Send + 'static,
        T: Send + 'static,
        UserActor: Handler<M>,
        <UserActor as Actor>::Context: ToEnvelope<UserActor, M>,
    {
        self.deps.ownership.fence(&EntityKey::User(id))?;
        let registry = self.clone();
        ask(&self.users, id, msg, &self.deps.config, move || {
            let registry = registry.clone();
            Box::pin(async move {
                let state = crate::store::loads::user(&registry.deps.pool, id).await?;
                let arbiter = registry.arbiter_for(id.get());
                Ok(UserActor::start_in_arbiter(&arbiter, move |_| {
                    UserActor::new(id, registry, state)
                }))
            })
        })
        .await
    }

    /// Asks the promo code's owner, here or on the node that serves its shard.
    pub async fn promo<M: Remote>(
        self: &Arc<Self>,
        code: &PromoCode,
        msg: M,
    ) -> DomainResult<M::Answer>
    where
        PromoActor: Handler<M>,
        <PromoActor as Actor>::Context: ToEnvelope<PromoActor, M>,
    {
        Ok(self.promo_fenced(code, msg).await?.0)
    }

    /// Asks the promo code's owner on this node: `NotOwner` if another node serves it.
    pub async fn promo_here<M, T>(self: &Arc<Self>, code: &PromoCode, msg: M) -> DomainResult<T>
    where
        M: Message<Result = DomainResult<T>> + Clone + Send + 'static,
        T: Send + 'static,
        PromoActor: Handler<M>,
        <PromoActor as Actor>::Context: ToEnvelope<PromoActor, M>,
    {
        self.deps.ownership.fence(&EntityKey::Promo(code.clone()))?;
        let registry = self.clone();
        let key = code.clone();
        ask(
            &self.promos,
            code.clone(),
            msg,
            &self.deps.config,
            move || {
                let (registry, key) = (registry.clone(), key.clone());
                Box::pin(async move {
                    let state = crate::entity::promo::load(&registry.deps.pool, &key).await?;
                    let spread = key
                        .as_str()
                        .bytes()
                        .fold(0i64, |h, b| h.wrapping_mul(31).wrapping_add(i64::from(b)));
                    let arbiter = registry.arbiter_for(spread);
                    Ok(PromoActor::start_in_arbiter(&arbiter, move |_| {
                        PromoActor::new(key, registry, state)
                    }))
                })
            },
        )
        .await
    }

    /// Called by an owner that is about to stop: it leaves the map only if it is still the
    /// registered owner (a newer one may already have replaced it).
    /// Sends without waiting for an answer, to a live owner only (used from `Drop`).
    pub fn tell_user<M>(&self, id: UserId, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        UserActor: Handler<M>,
        <UserActor as Actor>::Context: ToEnvelope<UserActor, M>,
    {
        if let Some(Some(Ok(handle))) = self.users.get(&id).map(|s| s.peek().cloned()) {
            handle.addr.do_send(msg);
        }
    }

    /// Tells a product's owner of a committed change (see [`tell_committed`]); on another
    /// node, through the forwarder, without waiting.
    pub fn tell_product<M: Remote>(self: &Arc<Self>, id: ProductId, msg: M)
    where
        ProductActor: Handler<M>,
        <ProductActor as Actor>::Context: ToEnvelope<ProductActor, M>,
    {
        match self.deps.ownership.fence(&EntityKey::Product(id)) {
            Err(DomainError::NotOwner { shard }) => {
                self.tell_remote(Kind::Product, id.to_string(), shard, msg)
            }
            _ => tell_committed(&self.products, &id, msg),
        }
    }

    /// Tells a promo's owner of a committed change (see [`tell_committed`]); on another
    /// node, through the forwarder, without waiting.
    pub fn tell_promo<M: Remote>(self: &Arc<Self>, code: &PromoCode, msg: M)
    where
        PromoActor: Handler<M>,
        <PromoActor as Actor>::Context: ToEnvelope<PromoActor, M>,
    {
        match self.deps.ownership.fence(&EntityKey::Promo(code.clone())) {
            Err(DomainError::NotOwner { shard }) => {
                self.tell_remote(Kind::Promo, code.to_string(), shard, msg)
            }
            _ => tell_committed(&self.promos, code, msg),
        }
    }

    pub(crate) fn forget_product(&self, id: ProductId, addr: &Addr<ProductActor>) {
        self.products.remove_if(&id, |_, s| owned_by(s, addr));
    }

    pub(crate) fn forget_promo(&self, code: &PromoCode, addr: &Addr<PromoActor>) {
        self.promos.remove_if(code, |_, s| owned_by(s, addr));
    }

    pub(crate) fn forget_user(&self, id: UserId, addr: &Addr<UserActor>) {
        self.users.remove_if(&id, |_, s| owned_by(s, addr));
    }

    /// Forgets every owner of `shard`, which this node no longer serves: no new message
    /// reaches them, and each stops at its next tick (`lifecycle`), once its message in
    /// hand is done. Returns how many there were.
    pub fn drop_shard(&self, shard: ShardId) -> usize {
        let ownership = &self.deps.ownership;
        // Counted as they go: owners of other shards come and go meanwhile.
        let dropped = AtomicUsize::new(0);
        let keep = |key: EntityKey| {
            let keep = ownership.shard_of(&key) != shard;
            if !keep {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
            keep
        };
        self.products.retain(|id, _| keep(EntityKey::Product(*id)));
        self.users.retain(|id, _| keep(EntityKey::User(*id)));
        self.promos
            .retain(|code, _| keep(EntityKey::Promo(code.clone())));
        self.catalog
            .retain(|id| ownership.shard_of(&EntityKey::Product(id)) != shard);
        dropped.into_inner()
    }

    /// Messages waiting on actors, by kind: (kind, total, deepest single mailbox).
    pub fn mailbox_depths(&self) -> [(&'static str, usize, usize); 3] {
        fn depth<K: Eq + Hash, A: Actor>(map: &DashMap<K, Slot<A>>) -> (usize, usize) {
            map.iter().fold((0, 0), |(total, max), s| match s.peek() {
                Some(Ok(h)) => {
                    let n = h.pending.load(Ordering::Relaxed);
                    (total + n, max.max(n))
                }
                _ => (total, max),
            })
        }
        let (p, u, c) = (
            depth(&self.products),
            depth(&self.users),
            depth(&self.promos),
        );
        [
            ("product", p.0, p.1),
            ("user", u.0, u.1),
            ("promo", c.0, c.1),
        ]
    }

    fn arbiter_for(&self, id: i64) -> ArbiterHandle {
        let n = self.deps.arbiters.len().max(1);
        self.deps.arbiters[(id.unsigned_abs() as usize) % n].clone()
    }
}

/// Sends a committed change to its owner without waiting for an answer. No owner: nothing
/// to tell, the next one loads committed state. An owner still loading may have read its
/// state before that commit, so the message waits for it to start; each such message
/// carries a mark (a stock movement id, a promo's release count) by which an owner that
/// read after the commit knows it already counts it, or asks for a reload (`MarkStale`),
/// which costs only a read when late.
fn tell_committed<K, A, M>(map: &DashMap<K, Slot<A>>, key: &K, msg: M)
where
    K: Eq + Hash,
    A: Actor,
    M: Message + Send + 'static,
    M::Result: Send,
    A: Handler<M>,
    A::Context: ToEnvelope<A, M>,
{
    let Some(slot) = map.get(key).map(|s| s.clone()) else {
        return;
    };
    match slot.peek() {
        Some(Ok(handle)) => handle.addr.do_send(msg),
        Some(Err(_)) => {}
        None => {
            tokio::spawn(async move {
                if let Ok(handle) = slot.await {
                    handle.addr.do_send(msg);
                }
            });
        }
    }
}

/// Whether `slot` holds the owner at `addr`.
fn owned_by<A: Actor>(slot: &Slot<A>, addr: &Addr<A>) -> bool {
    matches!(slot.peek(), Some(Ok(h)) if &h.addr == addr)
}

/// Whether a slot is still worth waiting on: its state is loading, or its owner runs.
fn usable<A: Actor>(slot: &Slot<A>) -> bool {
    match slot.peek() {
        None => true,
        Some(Ok(h)) => h.addr.connected(),
        Some(Err(_)) => false,
    }
}

/// A start as a slot. The load runs as a task of its own: a panic while reading state
/// fails this start (503 to everyone waiting on it), not the request that happened to
/// drive it, and no owner is left half-started.
fn starting<A: Actor>(start: Start<A>, load_timeout: Duration) -> Slot<A> {
    let task = tokio::spawn(tokio::time::timeout(load_timeout, start));
    async move {
        let addr = match task.await {
            Ok(Ok(started)) => started?,
            Ok(Err(_)) => return Err(DomainError::Unavailable("loading state timed out".into())),
            Err(_) => return Err(DomainError::Unavailable("loading state failed".into())),
        };
        Ok(Handle {
            addr,
            pending: Arc::default(),
        })
    }
    .boxed()
    .shared()
}

/// The running owner of `key`, started from committed state if there is none. On failure
/// every waiter gets the same error and the slot leaves the map, so the next request
/// tries afresh.
async fn owner<K, A>(
    map: &DashMap<K, Slot<A>>,
    key: &K,
    config: &ActorConfig,
    start: &impl Fn() -> Start<A>,
) -> DomainResult<Handle<A>>
where
    K: Eq + Hash + Clone,
    A: Actor,
{
    let slot = match map.get(key).map(|s| s.value().clone()) {
        Some(slot) if usable(&slot) => slot,
        _ => {
            let mut entry = map
                .entry(key.clone())
                .or_insert_with(|| starting(start(), config.load_timeout));
            if !usable(&entry) {
                *entry = starting(start(), config.load_timeout);
            }
            entry.clone()
        }
    };
    let result = slot.clone().await;
    if result.is_err() {
        map.remove_if(key, |_, s| s.ptr_eq(&slot));
    }
    result
}

async fn ask<K, A, M, T>(
    map: &DashMap<K, Slot<A>>,
    key: K,
    msg: M,
    config: &ActorConfig,
    start: impl Fn() -> Start<A>,
) -> DomainResult<T>
where
    K: Eq + Hash + Clone,
    A: Actor + Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message<Result = DomainResult<T>> + Clone + Send + 'static,
    T: Send + 'static,
{
    // One retry: the first owner may have passivated between lookup and delivery.
    for _ in 0..2 {
        let handle = owner(map, &key, config, &start).await?;
        if handle.pending.fetch_add(1, Ordering::Relaxed) >= config.mailbox_max {
            handle.pending.fetch_sub(1, Ordering::Relaxed);
            return Err(DomainError::Overloaded);
        }
        let _pending = Pending(handle.pending.clone());
        match tokio::time::timeout(config.call_timeout, handle.addr.send(msg.clone())).await {
            Ok(Ok(answer)) => return answer,
            Ok(Err(MailboxError::Closed)) => {
                map.remove_if(&key, |_, s| owned_by(s, &handle.addr));
            }
            Ok(Err(MailboxError::Timeout)) | Err(_) => {
                return Err(DomainError::Unavailable(
                    "an actor did not answer in time".into(),
                ));
            }
        }
    }
    Err(DomainError::Unavailable(
        "the owning actor stopped twice in a row".into(),
    ))
}

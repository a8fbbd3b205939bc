//! The registry: one `DashMap` per actor kind from id to the one live owner of that id.
//! Owners start lazily (their state loads from Postgres) and leave the map before they
//! stop when idle. The entry API makes sure two racing requests start one owner, and a
//! message that meets an owner which just stopped is re-sent once to a fresh one.

use crate::catalog::CatalogView;
use crate::error::{DomainError, DomainResult};
use crate::ids::{ProductId, UserId};
use crate::metrics::ActorMetrics;
use crate::persistence::PersistenceActor;
use crate::product::ProductActor;
use crate::promo::{PromoActor, PromoCode};
use crate::user::UserActor;
use actix::dev::ToEnvelope;
use actix::prelude::*;
use dashmap::DashMap;
use deadpool_postgres::Pool;
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
    /// Bound on loading an actor's state; past it the actor gives up and the next request
    /// tries afresh, so a stalled database never holds a mailbox for long.
    pub load_timeout: Duration,
    /// How long an in-memory stock reservation lives if its coordinator vanishes.
    pub reservation_ttl: Duration,
    pub currency: String,
    /// Shipping and tax, for the one pricing function.
    pub pricing: crate::pricing::PricingRules,
    /// How long an order awaiting an external payment holds its stock.
    pub payment_window: Duration,
    /// Bounds on what one buyer may hold in orders awaiting an external payment.
    pub unpaid: crate::unpaid::UnpaidLimits,
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

/// Counts a message as waiting on an actor until the caller has its answer or gives up.
struct Pending(Arc<AtomicUsize>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Registry {
    products: DashMap<ProductId, Handle<ProductActor>>,
    users: DashMap<UserId, Handle<UserActor>>,
    promos: DashMap<PromoCode, Handle<PromoActor>>,
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

    pub async fn product<M, T>(self: &Arc<Self>, id: ProductId, msg: M) -> DomainResult<T>
    where
        M: Message<Result = DomainResult<T>> + Clone + Send + 'static,
        T: Send + 'static,
        ProductActor: Handler<M>,
        <ProductActor as Actor>::Context: ToEnvelope<ProductActor, M>,
    {
        let registry = self.clone();
        ask(&self.products, id, msg, &self.deps.config, move || {
            let arbiter = registry.arbiter_for(id.get());
            let registry = registry.clone();
            ProductActor::start_in_arbiter(&arbiter, move |_| ProductActor::new(id, registry))
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
        let registry = self.clone();
        ask(&self.users, id, msg, &self.deps.config, move || {
            let arbiter = registry.arbiter_for(id.get());
            let registry = registry.clone();
            UserActor::start_in_arbiter(&arbiter, move |_| UserActor::new(id, registry))
        })
        .await
    }

    pub async fn promo<M, T>(self: &Arc<Self>, code: &PromoCode, msg: M) -> DomainResult<T>
    where
        M: Message<Result = DomainResult<T>> + Clone + Send + 'static,
        T: Send + 'static,
        PromoActor: Handler<M>,
        <PromoActor as Actor>::Context: ToEnvelope<PromoActor, M>,
    {
        let registry = self.clone();
        let key = code.clone();
        ask(
            &self.promos,
            code.clone(),
            msg,
            &self.deps.config,
            move || {
                let spread = key
                    .as_str()
                    .bytes()
                    .fold(0i64, |h, b| h.wrapping_mul(31).wrapping_add(i64::from(b)));
                let arbiter = registry.arbiter_for(spread);
                let (registry, key) = (registry.clone(), key.clone());
                PromoActor::start_in_arbiter(&arbiter, move |_| PromoActor::new(key, registry))
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
        if let Some(handle) = self.users.get(&id) {
            handle.addr.do_send(msg);
        }
    }

    /// Sends without waiting for an answer, to a live owner only: an owner not running loads
    /// committed state when it starts, which already holds what the message says.
    pub fn tell_product<M>(&self, id: ProductId, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        ProductActor: Handler<M>,
        <ProductActor as Actor>::Context: ToEnvelope<ProductActor, M>,
    {
        if let Some(handle) = self.products.get(&id) {
            handle.addr.do_send(msg);
        }
    }

    /// Sends without waiting for an answer, to a live owner only (see `tell_product`).
    pub fn tell_promo<M>(&self, code: &PromoCode, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        PromoActor: Handler<M>,
        <PromoActor as Actor>::Context: ToEnvelope<PromoActor, M>,
    {
        if let Some(handle) = self.promos.get(code) {
            handle.addr.do_send(msg);
        }
    }

    pub(crate) fn forget_product(&self, id: ProductId, addr: &Addr<ProductActor>) {
        self.products.remove_if(&id, |_, h| &h.addr == addr);
    }

    pub(crate) fn forget_promo(&self, code: &PromoCode, addr: &Addr<PromoActor>) {
        self.promos.remove_if(code, |_, h| &h.addr == addr);
    }

    pub(crate) fn forget_user(&self, id: UserId, addr: &Addr<UserActor>) {
        self.users.remove_if(&id, |_, h| &h.addr == addr);
    }

    /// Messages waiting on actors, by kind: (kind, total, deepest single mailbox).
    pub fn mailbox_depths(&self) -> [(&'static str, usize, usize); 3] {
        fn depth<K: Eq + Hash, A: Actor>(map: &DashMap<K, Handle<A>>) -> (usize, usize) {
            map.iter().fold((0, 0), |(total, max), h| {
                let n = h.pending.load(Ordering::Relaxed);
                (total + n, max.max(n))
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

    pub fn live_products(&self) -> usize {
        self.products.len()
    }

    pub fn live_users(&self) -> usize {
        self.users.len()
    }

    fn arbiter_for(&self, id: i64) -> ArbiterHandle {
        let n = self.deps.arbiters.len().max(1);
        self.deps.arbiters[(id.unsigned_abs() as usize) % n].clone()
    }
}

fn handle_for<K, A>(map: &DashMap<K, Handle<A>>, key: K, start: &impl Fn() -> Addr<A>) -> Handle<A>
where
    K: Eq + Hash + Clone,
    A: Actor,
{
    if let Some(h) = map.get(&key) {
        if h.addr.connected() {
            return h.clone();
        }
    }
    let mut entry = map.entry(key).or_insert_with(|| Handle {
        addr: start(),
        pending: Arc::default(),
    });
    if !entry.addr.connected() {
        *entry = Handle {
            addr: start(),
            pending: Arc::default(),
        };
    }
    entry.clone()
}

async fn ask<K, A, M, T>(
    map: &DashMap<K, Handle<A>>,
    key: K,
    msg: M,
    config: &ActorConfig,
    start: impl Fn() -> Addr<A>,
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
        let handle = handle_for(map, key.clone(), &start);
        if handle.pending.fetch_add(1, Ordering::Relaxed) >= config.mailbox_max {
            handle.pending.fetch_sub(1, Ordering::Relaxed);
            return Err(DomainError::Overloaded);
        }
        let _pending = Pending(handle.pending.clone());
        match tokio::time::timeout(config.call_timeout, handle.addr.send(msg.clone())).await {
            Ok(Ok(answer)) => return answer,
            Ok(Err(MailboxError::Closed)) => {
                map.remove_if(&key, |_, h| h.addr == handle.addr);
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

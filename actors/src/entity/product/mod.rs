//! `ProductActor`: the one owner of a product's stock. Reserve, Commit and Release are
//! in-memory steps of microseconds; nothing in them awaits the database, so a hot product
//! serves its buyers one after another without locks. Stock only grows after its write
//! committed; a decrease is held back from buyers while its write is in flight.

mod changes;

pub use changes::{AddCodes, AdjustStock, Restock, UpdateProduct};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ProductId, ReservationId};
use crate::domain::quantity::Quantity;
use crate::domain::reservations::ProductState;
pub use crate::domain::reservations::{Reserved, Snapshot};
use crate::domain::unpaid::ShareBound;
use crate::entity::lifecycle::{self, Entity};
use crate::entity::registry::Registry;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Instant;

pub struct ProductActor {
    id: ProductId,
    registry: Arc<Registry>,
    state: ProductState,
    last_active: Instant,
    /// Memory may disagree with Postgres (a write's outcome is unknown, or a commit arrived
    /// for a reservation that had expired): take no new reservations, and stop as soon as
    /// the ones held are settled, so the next owner loads committed state.
    stale: bool,
}

#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<Reserved>")]
pub struct Reserve {
    pub rid: ReservationId,
    pub quantity: Quantity,
    /// For an order that will await an external payment: the buyer's share of this product,
    /// checked here because only this actor knows, in the same step, what is for sale.
    pub unpaid: Option<ShareBound>,
}

/// Settles a reservation as sold. `at` is the sale's transaction time (the `updated_at` it
/// gave the product's row), known to a checkout: the product page is then refreshed in
/// place, so a storefront never waits on Postgres for a page a sale touched.
#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<()>")]
pub struct Commit {
    pub rid: ReservationId,
    pub at: Option<crate::domain::model::Timestamp>,
}

#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<()>")]
pub struct Release(pub ReservationId);

#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<(String, Snapshot)>")]
pub struct GetSnapshot;

impl ProductActor {
    pub(crate) fn new(id: ProductId, registry: Arc<Registry>, state: ProductState) -> Self {
        ProductActor {
            id,
            registry,
            state,
            last_active: Instant::now(),
            stale: false,
        }
    }

    /// The state, for a message that uses it (which keeps the owner from idling out).
    fn ready(&mut self) -> DomainResult<&mut ProductState> {
        self.last_active = Instant::now();
        Ok(&mut self.state)
    }

    fn expire_and_passivate(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let idle = now.duration_since(self.last_active) >= self.registry.deps.config.idle_timeout;
        for _ in self.state.expire(now) {
            tracing::warn!(product = %self.id, "reservation expired without commit; stock released");
        }
        if (idle || self.stale) && self.state.settled() {
            lifecycle::retire(self, ctx);
        }
    }
}

impl ProductActor {
    pub(crate) fn mark_stale(&mut self, ctx: &mut Context<Self>, why: &str) {
        if !self.stale {
            tracing::warn!(product = %self.id, why, "product state will be reloaded from Postgres");
        }
        self.stale = true;
        self.registry.catalog.changed(self.id);
        self.stop_if_settled(ctx);
    }

    fn stop_if_settled(&mut self, ctx: &mut Context<Self>) {
        if self.stale && self.state.settled() {
            self.registry.forget_product(self.id, &ctx.address());
            ctx.stop();
        }
    }
}

/// Tells a product that a write touching it ended in an unknown state.
#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<()>")]
pub struct MarkStale;

impl Handler<MarkStale> for ProductActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, _: MarkStale, ctx: &mut Context<Self>) -> Self::Result {
        self.mark_stale(ctx, "a checkout's write has an unknown outcome");
        Ok(())
    }
}

impl Actor for ProductActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        lifecycle::started(self, ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        lifecycle::stopped(self);
    }
}

impl Entity for ProductActor {
    const KIND: &'static str = "product";

    fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    fn key(&self) -> crate::domain::shards::EntityKey {
        crate::domain::shards::EntityKey::Product(self.id)
    }

    fn forget(&self, addr: &Addr<Self>) {
        self.registry.forget_product(self.id, addr);
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.expire_and_passivate(ctx);
    }
}

impl Handler<Reserve> for ProductActor {
    type Result = DomainResult<Reserved>;

    fn handle(&mut self, msg: Reserve, _: &mut Context<Self>) -> Self::Result {
        if self.stale {
            return Err(DomainError::Unavailable(
                "the product is reloading its committed state".into(),
            ));
        }
        let expires = Instant::now() + self.registry.deps.config.reservation_ttl;
        self.ready()?
            .reserve(msg.rid, msg.quantity, msg.unpaid, expires)
    }
}

impl Handler<Commit> for ProductActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, Commit { rid, at }: Commit, ctx: &mut Context<Self>) -> Self::Result {
        let sold = self.ready()?.commit(rid);
        match (sold, at) {
            (Some(sold), Some(at)) => {
                let touched = sold.touches_row.then_some(at);
                self.registry.catalog.sold(self.id, sold.available, touched);
            }
            _ => self.registry.catalog.changed(self.id),
        }
        if sold.is_none() {
            tracing::error!(product = %self.id, "committed sale disagrees with memory");
            self.mark_stale(ctx, "commit of an expired reservation");
        }
        self.stop_if_settled(ctx);
        Ok(())
    }
}

impl Handler<Release> for ProductActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, Release(rid): Release, ctx: &mut Context<Self>) -> Self::Result {
        self.ready()?.release(rid);
        self.stop_if_settled(ctx);
        Ok(())
    }
}

impl Handler<GetSnapshot> for ProductActor {
    type Result = DomainResult<(String, Snapshot)>;

    fn handle(&mut self, _: GetSnapshot, _: &mut Context<Self>) -> Self::Result {
        Ok(self.ready()?.snapshot())
    }
}

//! `ProductActor`: the one owner of a product's stock. Reserve, Commit and Release are
//! in-memory steps of microseconds; nothing in them awaits the database, so a hot product
//! serves its buyers one after another without locks. Stock only grows after its write
//! committed; a decrease is held back from buyers while its write is in flight.

mod changes;

pub use changes::{AddCodes, AdjustStock, Restock, UpdateProduct};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ProductId, ReservationId};
use crate::domain::model::ProductKind;
use crate::domain::money::Money;
use crate::domain::quantity::Quantity;
use crate::domain::unpaid::ShareBound;
use crate::entity::lifecycle::{self, Entity};
use crate::entity::registry::Registry;
use actix::prelude::*;
use std::collections::{HashMap, VecDeque};
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

pub(crate) struct ProductState {
    kind: ProductKind,
    name: String,
    price: Money,
    active: bool,
    /// Physical goods: units on hand as committed in Postgres.
    on_hand: i64,
    /// Digital goods: undelivered, unreserved item ids, oldest first.
    items: VecDeque<i64>,
    reservations: HashMap<ReservationId, Reservation>,
    reserved_units: i64,
    /// Units of a stock decrease whose write has not committed yet.
    pending_decrease: i64,
    /// The newest stock movement the loaded state includes; a `Restock` at or below it was
    /// already counted by the load.
    movements_loaded: i64,
}

struct Reservation {
    quantity: i64,
    items: Vec<i64>,
    expires: Instant,
}

impl ProductState {
    /// Units for sale as Postgres has them (`stock_available_sql!`): reservations and a
    /// decrease in flight have not committed, so they still count.
    fn committed_available(&self) -> i64 {
        match self.kind {
            ProductKind::Physical => self.on_hand,
            ProductKind::Digital => {
                let reserved: usize = self.reservations.values().map(|r| r.items.len()).sum();
                (self.items.len() + reserved) as i64
            }
        }
    }

    fn available(&self) -> i64 {
        match self.kind {
            ProductKind::Physical => self.on_hand - self.reserved_units - self.pending_decrease,
            ProductKind::Digital => self.items.len() as i64,
        }
    }

    fn release(&mut self, rid: ReservationId) {
        if let Some(r) = self.reservations.remove(&rid) {
            self.reserved_units -= r.quantity;
            for item in r.items.into_iter().rev() {
                self.items.push_front(item);
            }
        }
    }
}

/// What a coordinator learns from a successful reservation.
#[derive(Debug, Clone)]
pub struct Reserved {
    pub name: String,
    pub kind: ProductKind,
    pub unit_price: Money,
    pub items: Vec<i64>,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Snapshot {
    pub kind: ProductKind,
    pub price: Money,
    pub active: bool,
    pub available: i64,
}

#[derive(Message, Clone)]
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
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct Commit {
    pub rid: ReservationId,
    pub at: Option<crate::domain::model::Timestamp>,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct Release(pub ReservationId);

#[derive(Message, Clone)]
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
        let s = &mut self.state;
        let expired: Vec<ReservationId> = s
            .reservations
            .iter()
            .filter(|(_, r)| r.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        for rid in expired {
            tracing::warn!(product = %self.id, "reservation expired without commit; stock released");
            s.release(rid);
        }
        let busy = !s.reservations.is_empty() || s.pending_decrease > 0;
        if (idle || self.stale) && !busy {
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
        let settled = self.state.reservations.is_empty() && self.state.pending_decrease == 0;
        if self.stale && settled {
            self.registry.forget_product(self.id, &ctx.address());
            ctx.stop();
        }
    }
}

/// Tells a product that a write touching it ended in an unknown state.
#[derive(Message, Clone)]
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

    fn forget(&self, addr: &Addr<Self>) {
        self.registry.forget_product(self.id, addr);
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.expire_and_passivate(ctx);
    }
}

/// A product's committed state; `NotFound` if there is no such product.
pub(crate) async fn load(
    pool: &deadpool_postgres::Pool,
    id: ProductId,
) -> DomainResult<ProductState> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT kind, name, price_minor, active, stock_on_hand,
                    (SELECT coalesce(max(id), 0) FROM stock_movements WHERE product_id = $1)
             FROM products WHERE id = $1",
            &[&id.get()],
        )
        .await?
        .ok_or_else(|| DomainError::not_found_product(id))?;
    let kind_text: String = row.try_get(0)?;
    let kind = ProductKind::parse(&kind_text)
        .ok_or_else(|| DomainError::Internal(format!("bad kind {kind_text}")))?;
    let items = match kind {
        ProductKind::Digital => client
            .query("SELECT id FROM digital_items WHERE product_id = $1 AND order_id IS NULL ORDER BY id", &[&id.get()])
            .await?
            .iter()
            .map(|r| r.try_get::<_, i64>(0))
            .collect::<Result<VecDeque<_>, _>>()?,
        ProductKind::Physical => VecDeque::new(),
    };
    Ok(ProductState {
        kind,
        name: row.try_get(1)?,
        price: Money::from_minor(row.try_get(2)?),
        active: row.try_get(3)?,
        on_hand: row.try_get(4)?,
        items,
        reservations: HashMap::new(),
        reserved_units: 0,
        pending_decrease: 0,
        movements_loaded: row.try_get(5)?,
    })
}

impl Handler<Reserve> for ProductActor {
    type Result = DomainResult<Reserved>;

    fn handle(&mut self, msg: Reserve, _: &mut Context<Self>) -> Self::Result {
        let ttl = self.registry.deps.config.reservation_ttl;
        let id = self.id;
        if self.stale {
            return Err(DomainError::Unavailable(
                "the product is reloading its committed state".into(),
            ));
        }
        let s = self.ready()?;
        if !s.active {
            return Err(DomainError::ProductInactive(id));
        }
        let quantity = msg.quantity.get();
        let available = s.available();
        if available < quantity {
            return Err(DomainError::OutOfStock {
                product_id: id,
                name: s.name.clone(),
                requested: quantity,
                available,
            });
        }
        if let Some(share) = msg.unpaid {
            share.check(id, quantity, available)?;
        }
        let items: Vec<i64> = match s.kind {
            ProductKind::Digital => s.items.drain(..quantity as usize).collect(),
            ProductKind::Physical => Vec::new(),
        };
        s.reserved_units += quantity;
        s.reservations.insert(
            msg.rid,
            Reservation {
                quantity,
                items: items.clone(),
                expires: Instant::now() + ttl,
            },
        );
        debug_assert!(s.available() >= 0, "a reservation made stock negative");
        Ok(Reserved {
            name: s.name.clone(),
            kind: s.kind,
            unit_price: s.price,
            items,
        })
    }
}

impl Handler<Commit> for ProductActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, Commit { rid, at }: Commit, ctx: &mut Context<Self>) -> Self::Result {
        let s = self.ready()?;
        let consistent = match s.reservations.remove(&rid) {
            Some(r) => {
                s.reserved_units -= r.quantity;
                if s.kind == ProductKind::Physical {
                    s.on_hand -= r.quantity;
                }
                s.on_hand >= 0
            }
            // The reservation expired and its stock went back on sale, yet the sale
            // committed: memory now overstates the stock.
            None => false,
        };
        match at {
            Some(at) if consistent => {
                // Only physical stock is a column of the product's row; a key sale leaves
                // the row, and so its `updated_at`, as it was.
                let touched = (s.kind == ProductKind::Physical).then_some(at);
                let available = s.committed_available();
                self.registry.catalog.sold(self.id, available, touched);
            }
            _ => self.registry.catalog.changed(self.id),
        }
        if !consistent {
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
        let s = self.ready()?;
        Ok((
            s.name.clone(),
            Snapshot {
                kind: s.kind,
                price: s.price,
                active: s.active,
                available: s.available(),
            },
        ))
    }
}

//! One product's stock as its owner holds it in memory: what Postgres has committed, the
//! reservations of checkouts still running, and a stock decrease whose write is in flight.
//! Pure state: the product's actor decides when to call each step and persists around it,
//! so reserve/commit/release/expire are plain method calls that tests drive without actors,
//! clocks or a database. Stock only grows once its write committed; a decrease is held back
//! from buyers while its write is in flight.

use crate::domain::changes::ProductPatch;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ProductId, ReservationId};
use crate::domain::model::ProductKind;
use crate::domain::money::Money;
use crate::domain::quantity::Quantity;
use crate::domain::stars::Stars;
use crate::domain::unpaid::ShareBound;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// A product as committed in Postgres, which a new owner starts from.
#[derive(Debug, Clone)]
pub struct CommittedProduct {
    pub id: ProductId,
    pub kind: ProductKind,
    pub name: String,
    pub price: Money,
    /// The price in Telegram Stars, when the product has one.
    pub price_stars: Option<Stars>,
    pub active: bool,
    /// Physical goods: units on hand.
    pub on_hand: i64,
    /// Digital goods: undelivered item ids, oldest first.
    pub items: VecDeque<i64>,
    /// The newest stock movement this state includes.
    pub movements_loaded: i64,
}

/// What a coordinator learns from a successful reservation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reserved {
    pub name: String,
    pub kind: ProductKind,
    pub unit_price: Money,
    /// The unit price in Stars at the moment of the reservation, when the product has one.
    #[serde(default)]
    pub unit_stars: Option<Stars>,
    pub items: Vec<i64>,
    /// Units still available once this reservation holds its own: a sale that takes the
    /// product to its low-stock threshold tells so when it commits (`domain::events`).
    #[serde(default)]
    pub available: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub kind: ProductKind,
    pub price: Money,
    #[serde(default)]
    pub price_stars: Option<Stars>,
    pub active: bool,
    pub available: i64,
}

/// A committed sale that memory agrees with: what the product page shows afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sold {
    /// Units for sale as Postgres now has them.
    pub available: i64,
    /// Whether the sale changed the product's row (and so its `updated_at`): only physical
    /// stock is a column of it; a key sale leaves the row as it was.
    pub touches_row: bool,
}

#[derive(Debug, Clone)]
struct Reservation {
    quantity: i64,
    items: Vec<i64>,
    expires: Instant,
}

#[derive(Debug, Clone)]
pub struct ProductState {
    id: ProductId,
    kind: ProductKind,
    name: String,
    price: Money,
    price_stars: Option<Stars>,
    active: bool,
    /// Physical goods: units on hand as committed in Postgres.
    on_hand: i64,
    /// Digital goods: undelivered, unreserved item ids, oldest first.
    items: VecDeque<i64>,
    reservations: HashMap<ReservationId, Reservation>,
    reserved_units: i64,
    /// Units of a stock decrease whose write has not committed yet.
    pending_decrease: i64,
    /// The newest stock movement the loaded state includes; a restock at or below it was
    /// already counted by the load.
    movements_loaded: i64,
}

impl ProductState {
    pub fn loaded(p: CommittedProduct) -> ProductState {
        ProductState {
            id: p.id,
            kind: p.kind,
            name: p.name,
            price: p.price,
            price_stars: p.price_stars,
            active: p.active,
            on_hand: p.on_hand,
            items: p.items,
            reservations: HashMap::new(),
            reserved_units: 0,
            pending_decrease: 0,
            movements_loaded: p.movements_loaded,
        }
    }

    pub fn kind(&self) -> ProductKind {
        self.kind
    }

    /// Units for sale as Postgres has them (`stock_available_sql!`): reservations and a
    /// decrease in flight have not committed, so they still count.
    pub fn committed_available(&self) -> i64 {
        match self.kind {
            ProductKind::Physical => self.on_hand,
            ProductKind::Digital => {
                let reserved: usize = self.reservations.values().map(|r| r.items.len()).sum();
                (self.items.len() + reserved) as i64
            }
        }
    }

    /// Units a buyer may reserve now.
    pub fn available(&self) -> i64 {
        match self.kind {
            ProductKind::Physical => self.on_hand - self.reserved_units - self.pending_decrease,
            ProductKind::Digital => self.items.len() as i64,
        }
    }

    /// No reservation held and no decrease in flight: memory can be dropped without loss.
    pub fn settled(&self) -> bool {
        self.reservations.is_empty() && self.pending_decrease == 0
    }

    /// The page's figures, with the product's name.
    pub fn snapshot(&self) -> (String, Snapshot) {
        let snapshot = Snapshot {
            kind: self.kind,
            price: self.price,
            price_stars: self.price_stars,
            active: self.active,
            available: self.available(),
        };
        (self.name.clone(), snapshot)
    }

    /// Takes `quantity` off sale for `rid` until `expires`. Checked in this order: the
    /// product is for sale, enough is available, then the buyer's unpaid share (against
    /// the exact units available in this same step).
    pub fn reserve(
        &mut self,
        rid: ReservationId,
        quantity: Quantity,
        unpaid: Option<ShareBound>,
        expires: Instant,
    ) -> DomainResult<Reserved> {
        if !self.active {
            return Err(DomainError::ProductInactive(self.id));
        }
        let quantity = quantity.get();
        let available = self.available();
        if available < quantity {
            return Err(DomainError::OutOfStock {
                product_id: self.id,
                name: self.name.clone(),
                requested: quantity,
                available,
            });
        }
        if let Some(share) = unpaid {
            share.check(self.id, quantity, available)?;
        }
        let items: Vec<i64> = match self.kind {
            ProductKind::Digital => self.items.drain(..quantity as usize).collect(),
            ProductKind::Physical => Vec::new(),
        };
        self.reserved_units += quantity;
        let reservation = Reservation {
            quantity,
            items: items.clone(),
            expires,
        };
        self.reservations.insert(rid, reservation);
        debug_assert!(self.available() >= 0, "a reservation made stock negative");
        Ok(Reserved {
            name: self.name.clone(),
            kind: self.kind,
            unit_price: self.price,
            unit_stars: self.price_stars,
            items,
            available: self.available(),
        })
    }

    /// Settles `rid` as sold after its sale committed. `None` when memory disagrees with
    /// that commit: the reservation had expired and its stock went back on sale (or stock
    /// went below zero), so memory overstates the stock and the owner must reload.
    pub fn commit(&mut self, rid: ReservationId) -> Option<Sold> {
        let r = self.reservations.remove(&rid)?;
        self.reserved_units -= r.quantity;
        if self.kind == ProductKind::Physical {
            self.on_hand -= r.quantity;
        }
        (self.on_hand >= 0).then(|| Sold {
            available: self.committed_available(),
            touches_row: self.kind == ProductKind::Physical,
        })
    }

    /// Puts a reservation's stock back on sale; an unknown `rid` (already settled or
    /// expired) changes nothing, so a release may safely arrive late or twice.
    pub fn release(&mut self, rid: ReservationId) {
        if let Some(r) = self.reservations.remove(&rid) {
            self.reserved_units -= r.quantity;
            // Back at the front, in their order, so the oldest keys still go out first.
            for item in r.items.into_iter().rev() {
                self.items.push_front(item);
            }
        }
    }

    /// Releases every reservation due at `now` (its checkout vanished); returns their ids.
    pub fn expire(&mut self, now: Instant) -> Vec<ReservationId> {
        let expired: Vec<ReservationId> = self
            .reservations
            .iter()
            .filter(|(_, r)| r.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        for rid in &expired {
            self.release(*rid);
        }
        expired
    }

    /// Stock another owner's committed write gave back (a cancelled order). One at or
    /// below the movements loaded is already counted; digital keys come back by a reload.
    pub fn restock(&mut self, delta: i64, movement: i64) {
        if movement > self.movements_loaded && self.kind == ProductKind::Physical {
            self.on_hand += delta;
        }
    }

    /// Checks an admin's physical stock change before its write and holds a decrease back
    /// from buyers while the write is in flight; returns the units available after it.
    pub fn begin_adjust(&mut self, delta: i64) -> DomainResult<i64> {
        if self.kind != ProductKind::Physical {
            return Err(DomainError::WrongStockKind {
                kind: "digital",
                expected: "codes",
            });
        }
        let available = self.available();
        if available + delta < 0 {
            return Err(DomainError::StockWouldGoNegative { available, delta });
        }
        // An increase counts only once committed, so only a decrease is held now.
        self.pending_decrease += (-delta).max(0);
        Ok(available + delta)
    }

    /// Ends a change `begin_adjust` admitted; the stock moves only if its write committed.
    pub fn end_adjust(&mut self, delta: i64, committed: bool) {
        self.pending_decrease -= (-delta).max(0);
        if committed {
            self.on_hand += delta;
        }
    }

    /// Units for sale before license codes are added; only digital goods take codes.
    pub fn codes_available(&self) -> DomainResult<i64> {
        match self.kind {
            ProductKind::Digital => Ok(self.available()),
            ProductKind::Physical => Err(DomainError::WrongStockKind {
                kind: "physical",
                expected: "quantity_delta",
            }),
        }
    }

    /// Committed new keys go on sale after the ones already there.
    pub fn add_items(&mut self, items: impl IntoIterator<Item = i64>) {
        self.items.extend(items);
    }

    /// An admin's committed edit of what buyers see.
    pub fn apply_patch(&mut self, patch: &ProductPatch) {
        if let Some(name) = &patch.name {
            self.name = name.clone();
        }
        if let Some(price) = patch.price {
            self.price = price;
        }
        if let Some(active) = patch.active {
            self.active = active;
        }
        if let Some(stars) = patch.price_stars {
            self.price_stars = stars;
        }
    }
}

#[cfg(test)]
mod tests;

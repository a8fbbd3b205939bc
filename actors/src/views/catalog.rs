//! The catalog read model: product pages served from memory, so a storefront's reads never
//! touch Postgres or wait on a product actor's mailbox. A product's owner announces every
//! committed change (`changed`), which drops the cached copy; the next read loads it again.
//! A generation number per product keeps a read that raced with a change from caching
//! what it read before the change. In a cluster a node caches only the products whose shard
//! it serves: only their owners' announcements reach it (`flows::shop`).

use crate::domain::error::DomainResult;
use crate::domain::ids::ProductId;
use crate::domain::model::{Product, Timestamp};
use crate::store;
use dashmap::DashMap;
use deadpool_postgres::Pool;
use std::sync::Arc;

#[derive(Default)]
pub struct CatalogView {
    slots: DashMap<ProductId, Slot>,
}

#[derive(Default)]
struct Slot {
    generation: u64,
    product: Option<Arc<Product>>,
}

impl CatalogView {
    pub async fn get(
        &self,
        pool: &Pool,
        id: ProductId,
        currency: &str,
    ) -> DomainResult<Arc<Product>> {
        let generation = match self.slots.get(&id) {
            Some(slot) => match &slot.product {
                Some(product) => return Ok(product.clone()),
                None => slot.generation,
            },
            None => 0,
        };
        let product = Arc::new(store::get_product(pool, id, currency).await?);
        let mut slot = self.slots.entry(id).or_default();
        // Cache it only if no change was announced while it was read.
        if slot.generation == generation && slot.product.is_none() {
            slot.product = Some(product.clone());
        }
        Ok(product)
    }

    /// Loads the whole catalog once at start-up, so the first reads are served from memory
    /// too. Only slots never touched are filled: a change announced meanwhile has created
    /// its slot, and a slot a reader filled is as fresh as this.
    pub async fn warm(&self, pool: &Pool, currency: &str) -> DomainResult<usize> {
        let filter = store::ProductFilter {
            include_inactive: true,
            ..Default::default()
        };
        let mut page = store::PageRequest {
            limit: 1000,
            after: None,
        };
        let mut loaded = 0;
        loop {
            let found = store::list_products(pool, &filter, page, currency).await?;
            for product in found.items {
                if let dashmap::Entry::Vacant(slot) = self.slots.entry(product.id) {
                    slot.insert(Slot {
                        generation: 0,
                        product: Some(Arc::new(product)),
                    });
                    loaded += 1;
                }
            }
            match found.next_cursor {
                Some(cursor) => page.after = Some(cursor),
                None => return Ok(loaded),
            }
        }
    }

    /// A committed sale: a cached page takes the new figure in place (a sale changes nothing
    /// else on it), so hot pages stay in memory under a stream of checkouts. The generation
    /// still moves, so a read that began before the sale does not cache what it read.
    pub fn sold(&self, id: ProductId, stock_available: i64, updated_at: Option<Timestamp>) {
        let mut slot = self.slots.entry(id).or_default();
        slot.generation += 1;
        if let Some(cached) = slot.product.take() {
            let mut page = Product::clone(&cached);
            page.stock_available = stock_available;
            if let Some(at) = updated_at {
                page.updated_at = at;
            }
            slot.product = Some(Arc::new(page));
        }
    }

    /// Drops every cached page `keep` rejects: in a cluster, the pages of products whose
    /// shard this node hands over, since their next changes are announced elsewhere.
    pub fn retain(&self, keep: impl Fn(ProductId) -> bool) {
        self.slots.retain(|id, _| keep(*id));
    }

    /// A committed change to the product: the cached copy is out of date.
    pub fn changed(&self, id: ProductId) {
        let mut slot = self.slots.entry(id).or_default();
        slot.generation += 1;
        slot.product = None;
    }
}

//! Operators' figures read from committed state: the admin dashboard and what `/metrics`
//! samples at scrape time. Counts and short lists only, never one series per product.
//!
//! The dashboard is an in-process snapshot of committed rows. A reader reuses it only if it
//! was computed or re-checked *after the reader arrived*, or if Postgres's visibility (its
//! `pg_current_snapshot()`: which transactions have committed) is exactly what it was when the
//! snapshot was computed. So a figure read right after a write (answered only after COMMIT)
//! always includes it. At most one computation or check runs at a time; readers queue behind
//! it and share its result, so 200 readers at once cost at most two computations, not 200.

use crate::domain::error::DomainResult;
use crate::store::dashboard::{compute, visibility};
pub use crate::store::dashboard::{
    low_stock_count, Figures, StockLow, TopProduct, Window, LOW_STOCK_MAX, TOP_PRODUCTS_MAX,
};
use deadpool_postgres::Pool;
use std::sync::Arc;
use std::time::Instant;

struct Snapshot {
    /// When it was last computed or found still current: readers who came earlier reuse it.
    checked: Instant,
    /// Postgres's visibility it was computed under.
    seen: String,
    figures: Arc<Figures>,
}

/// The snapshot and the one lock its computations and checks take turns under.
#[derive(Default)]
pub struct DashboardView {
    slot: tokio::sync::Mutex<Option<Snapshot>>,
}

impl DashboardView {
    /// Figures that include every write committed before this call.
    pub async fn read(&self, pool: &Pool, stock_low_threshold: i64) -> DomainResult<Arc<Figures>> {
        let arrived = Instant::now();
        // tokio's mutex is fair: readers are served in the order they came.
        let mut slot = self.slot.lock().await;
        if let Some(snapshot) = slot.as_mut() {
            if snapshot.checked >= arrived {
                return Ok(snapshot.figures.clone());
            }
            let checked = Instant::now();
            if visibility(pool).await? == snapshot.seen {
                snapshot.checked = checked;
                return Ok(snapshot.figures.clone());
            }
        }
        let checked = Instant::now();
        let (seen, figures) = compute(pool, stock_low_threshold).await?;
        let figures = Arc::new(figures);
        *slot = Some(Snapshot {
            checked,
            seen,
            figures: figures.clone(),
        });
        Ok(figures)
    }
}

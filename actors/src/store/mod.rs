//! Every SQL statement of Souk. `writes` is what the group commit (`group_commit`) applies,
//! one statement per fact; the rest are reads, actor loads, and creation of entities no
//! actor owns yet (users, categories, products). Reads see committed state only; nothing
//! here decides a change to money or stock: that is the owning actor's.
//! Lists page by id with a cursor that is the last id seen, so a page never skips or
//! repeats a row when rows are added meanwhile.

pub(crate) mod audit;
pub mod broadcasts;
mod catalog;
pub(crate) mod conversation;
pub mod dashboard;
pub mod events;
pub mod fencing;
pub mod group_commit;
pub mod idempotency;
pub mod language;
pub(crate) mod loads;
pub mod notifications;
pub mod operations;
mod orders;
pub mod payments;
pub mod promos;
pub mod returns;
pub mod star_refunds;
pub mod telegram;
pub(crate) mod tx;
mod unpaid;
mod users;
pub mod webhooks;
pub mod writes;

pub use catalog::*;
pub use orders::*;
pub use unpaid::*;
pub use users::*;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::UserId;
use deadpool_postgres::Pool;

/// One page of a list and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<i64>,
}

/// A validated page request: `limit` in 1..=100, `after` the cursor.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub(crate) fn from_rows(mut items: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Page<T> {
        let more = items.len() as i64 > limit;
        items.truncate(limit as usize);
        let next_cursor = if more { items.last().map(id) } else { None };
        Page { items, next_cursor }
    }
}

/// Whether Postgres answers: the readiness probe.
pub async fn ping(pool: &Pool) -> DomainResult<()> {
    pool.get().await?.execute("SELECT 1", &[]).await?;
    Ok(())
}

/// Errors from reads and loads: a data exception is the request's fault (see
/// `data_exception`); anything else Postgres says that is not a row is "unavailable" from
/// the caller's point of view (connection refused, pool timeout, server shutting down).
impl From<tokio_postgres::Error> for DomainError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) if db.code().code().starts_with("23") => DomainError::Rejected {
                constraint: db.constraint().unwrap_or("unknown").to_string(),
            },
            Some(db) if db.code().code().starts_with("22") => {
                DomainError::data_exception(db.code().code())
            }
            _ => DomainError::Unavailable(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for DomainError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(pg) => pg.into(),
            other => DomainError::Unavailable(other.to_string()),
        }
    }
}

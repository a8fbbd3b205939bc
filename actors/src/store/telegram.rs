//! What the Telegram bot reads and records in Postgres beyond the actors: which Souk user a
//! Telegram user is, the update ids already applied (I4), and the paged lists its screens
//! show. A bot user is created by the one `create_user`, like any other; every statement is
//! parameterized and every list is a bounded page.

use crate::domain::changes::AuditEntry;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{CategoryId, ProductId, UserId};
use crate::domain::money::Money;
use deadpool_postgres::Pool;

/// The Souk user of a Telegram user, if it has one.
pub async fn user_of(pool: &Pool, telegram_id: i64) -> DomainResult<Option<UserId>> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT id FROM users WHERE telegram_id = $1",
            &[&telegram_id],
        )
        .await?;
    match row {
        Some(row) => Ok(Some(UserId::from_db(row.try_get(0)?))),
        None => Ok(None),
    }
}

/// The Souk user of a Telegram user, created (and audited) on first contact. Concurrent
/// first contacts agree: the `telegram_id` unique key refuses every creation but one, and
/// the others then find the winner.
pub async fn user_for(
    pool: &Pool,
    telegram_id: i64,
    display_name: Option<&str>,
    audit: &AuditEntry,
) -> DomainResult<UserId> {
    if let Some(user) = user_of(pool, telegram_id).await? {
        return Ok(user);
    }
    match super::create_user(pool, display_name, Some(telegram_id), audit).await {
        Ok(user) => Ok(user.id),
        // Refused by a constraint: if it was the unique key, the winner is there now.
        Err(refused @ DomainError::Invalid { .. }) => {
            user_of(pool, telegram_id).await?.ok_or(refused)
        }
        Err(e) => Err(e),
    }
}

pub async fn already_applied(pool: &Pool, update_id: i64) -> DomainResult<bool> {
    let client = pool.get().await?;
    Ok(client
        .query_opt(
            "SELECT 1 FROM telegram_updates WHERE update_id = $1",
            &[&update_id],
        )
        .await?
        .is_some())
}

/// Records an update as applied; false if it already was.
pub async fn record_applied(
    pool: &Pool,
    update_id: i64,
    kind: &str,
    telegram_id: Option<i64>,
) -> DomainResult<bool> {
    let client = pool.get().await?;
    // A user who writes to the bot again has unblocked it: notifications resume.
    let n: i64 = client
        .query_one(
            "WITH applied AS (
                INSERT INTO telegram_updates (update_id, kind, telegram_id) VALUES ($1, $2, $3)
                ON CONFLICT (update_id) DO NOTHING
                RETURNING telegram_id
            ), back AS (
                UPDATE users u SET telegram_blocked_at = NULL FROM applied a
                WHERE u.telegram_id = a.telegram_id AND u.telegram_blocked_at IS NOT NULL
            )
            SELECT count(*) FROM applied",
            &[&update_id, &kind, &telegram_id],
        )
        .await?
        .try_get(0)?;
    // Telegram gives up redelivering after a day, so old records are pruned now and then
    // (update ids are consecutive, so this runs once per `PRUNE_EVERY` updates).
    if update_id % PRUNE_EVERY == 0 {
        client
            .execute(
                "DELETE FROM telegram_updates WHERE applied_at < now() - make_interval(days => $1)",
                &[&APPLIED_KEPT_DAYS],
            )
            .await?;
    }
    Ok(n == 1)
}

/// How long an applied update id is remembered, and how often old ones are pruned.
const APPLIED_KEPT_DAYS: i32 = 7;
const PRUNE_EVERY: i64 = 1024;

/// One page of a list and how many pages there are. Pages are numbered from 0; a page past
/// the end is the last one, so a stale button still shows something.
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub pages: i64,
}

/// A page request: page number and page size (at least 1).
#[derive(Debug, Clone, Copy)]
pub struct PageOf {
    pub page: u32,
    pub size: i64,
}

impl PageOf {
    fn size(self) -> i64 {
        self.size.max(1)
    }

    fn pages(self, total: i64) -> i64 {
        ((total + self.size() - 1) / self.size()).max(1)
    }

    /// The page actually shown for `total` rows, and its offset.
    fn clamp(self, total: i64) -> (i64, i64) {
        let page = i64::from(self.page).min(self.pages(total) - 1);
        (page, page * self.size())
    }
}

pub async fn categories(pool: &Pool, at: PageOf) -> DomainResult<Paged<(CategoryId, String)>> {
    let client = pool.get().await?;
    let total: i64 = client
        .query_one("SELECT count(*) FROM categories", &[])
        .await?
        .try_get(0)?;
    let (page, offset) = at.clamp(total);
    let rows = client
        .query(
            "SELECT id, name FROM categories ORDER BY id LIMIT $1 OFFSET $2",
            &[&at.size(), &offset],
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        items.push((CategoryId::from_db(r.try_get(0)?), r.try_get(1)?));
    }
    Ok(Paged {
        items,
        page,
        pages: at.pages(total),
    })
}

pub struct ProductLine {
    pub id: ProductId,
    pub name: String,
    pub price: Money,
    pub available: i64,
}

/// A category's active products, or (for admins, `$2` set) every product of a kind.
const FILTER: &str =
    "($1::bigint IS NULL OR p.category_id = $1) AND ($2::text IS NULL OR p.kind = $2)
    AND (p.active OR $2::text IS NOT NULL)";

/// Units for sale, as every other availability read counts them.
const AVAILABLE: &str = crate::store::STOCK_AVAILABLE;

/// Active products of a category (or, for admins, every product of a kind), paged by id.
pub async fn products(
    pool: &Pool,
    category: Option<CategoryId>,
    kind: Option<&str>,
    at: PageOf,
) -> DomainResult<Paged<ProductLine>> {
    let client = pool.get().await?;
    let category = category.map(CategoryId::get);
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM products p WHERE {FILTER}"),
            &[&category, &kind],
        )
        .await?
        .try_get(0)?;
    let (page, offset) = at.clamp(total);
    let rows = client
        .query(
            &format!(
                "SELECT p.id, p.name, p.price_minor, {AVAILABLE} FROM products p WHERE {FILTER}
                 ORDER BY p.id LIMIT $3 OFFSET $4"
            ),
            &[&category, &kind, &at.size(), &offset],
        )
        .await?;
    Ok(Paged {
        items: product_lines(&rows)?,
        page,
        pages: at.pages(total),
    })
}

/// Rows of (id, name, price_minor, available) as product lines.
fn product_lines(rows: &[tokio_postgres::Row]) -> DomainResult<Vec<ProductLine>> {
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(ProductLine {
            id: ProductId::from_db(r.try_get(0)?),
            name: r.try_get(1)?,
            price: Money::from_minor(r.try_get(2)?),
            available: r.try_get(3)?,
        });
    }
    Ok(items)
}

/// Active products at or below `threshold` units, lowest first (at most 50).
pub async fn low_stock(pool: &Pool, threshold: i64) -> DomainResult<Vec<ProductLine>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            &format!(
                "SELECT * FROM (SELECT p.id, p.name, p.price_minor, {AVAILABLE} AS available
                 FROM products p WHERE p.active) s WHERE available <= $1
                 ORDER BY available, id LIMIT 50"
            ),
            &[&threshold],
        )
        .await?;
    product_lines(&rows)
}

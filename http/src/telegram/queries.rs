//! What the bot reads and records in Postgres beyond the actors: the Telegram user → Souk
//! user mapping, applied update ids (I4), and the paged lists its screens show. Every
//! statement is parameterized; lists are bounded pages.

use super::update::User;
use deadpool_postgres::Pool;
use souk_actors::domain::ids::{CategoryId, ProductId, UserId};
use souk_actors::domain::money::Money;
use souk_actors::DomainResult;

/// Buttons of one list page (P22).
pub const PAGE_SIZE: i64 = 8;

/// The Souk user of a Telegram user, created on first contact. Concurrent first contacts
/// agree: the insert yields to the `telegram_id` unique key and the read finds the winner.
pub async fn user_for(pool: &Pool, from: &User) -> DomainResult<UserId> {
    let client = pool.get().await?;
    let name: String = from.first_name.trim().chars().take(200).collect();
    let name = Some(name).filter(|n| !n.is_empty() && !n.chars().any(char::is_control));
    client
        .execute(
            "INSERT INTO users (telegram_id, display_name) VALUES ($1, $2)
             ON CONFLICT (telegram_id) DO NOTHING",
            &[&from.id, &name],
        )
        .await?;
    let row = client
        .query_one("SELECT id FROM users WHERE telegram_id = $1", &[&from.id])
        .await?;
    UserId::new(row.try_get(0)?)
        .ok_or_else(|| souk_actors::DomainError::Internal("a user id is not positive".into()))
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
    let n = client
        .execute(
            "INSERT INTO telegram_updates (update_id, kind, telegram_id) VALUES ($1, $2, $3)
             ON CONFLICT (update_id) DO NOTHING",
            &[&update_id, &kind, &telegram_id],
        )
        .await?;
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

/// One page of a list and how many pages there are.
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub pages: i64,
}

fn pages(total: i64) -> i64 {
    ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
}

pub async fn categories(pool: &Pool, page: u32) -> DomainResult<Paged<(CategoryId, String)>> {
    let client = pool.get().await?;
    let total: i64 = client
        .query_one("SELECT count(*) FROM categories", &[])
        .await?
        .try_get(0)?;
    let page = i64::from(page).min(pages(total) - 1);
    let rows = client
        .query(
            "SELECT id, name FROM categories ORDER BY id LIMIT $1 OFFSET $2",
            &[&PAGE_SIZE, &(page * PAGE_SIZE)],
        )
        .await?;
    let items = rows
        .iter()
        .filter_map(|r| {
            let id = CategoryId::new(r.try_get(0).ok()?)?;
            Some((id, r.try_get(1).ok()?))
        })
        .collect();
    Ok(Paged {
        items,
        page,
        pages: pages(total),
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
const AVAILABLE: &str = souk_actors::store::STOCK_AVAILABLE;

/// Active products of a category (or, for admins, every product of a kind), paged by id.
pub async fn products(
    pool: &Pool,
    category: Option<CategoryId>,
    kind: Option<&str>,
    page: u32,
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
    let page = i64::from(page).min(pages(total) - 1);
    let rows = client
        .query(
            &format!(
                "SELECT p.id, p.name, p.price_minor, {AVAILABLE} FROM products p WHERE {FILTER}
                 ORDER BY p.id LIMIT $3 OFFSET $4"
            ),
            &[&category, &kind, &PAGE_SIZE, &(page * PAGE_SIZE)],
        )
        .await?;
    let items = product_lines(&rows)?;
    Ok(Paged {
        items,
        page,
        pages: pages(total),
    })
}

/// Rows of (id, name, price_minor, available) as product lines.
fn product_lines(rows: &[tokio_postgres::Row]) -> DomainResult<Vec<ProductLine>> {
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(id) = ProductId::new(r.try_get(0)?) {
            items.push(ProductLine {
                id,
                name: r.try_get(1)?,
                price: Money::from_minor(r.try_get(2)?),
                available: r.try_get(3)?,
            });
        }
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

//! Reads, and creation of entities no actor owns yet (users, categories, products). Reads
//! see committed state only; nothing here moves money or stock, which belong to actors.
//! Lists page by id with a cursor that is the last id seen, so a page never skips or
//! repeats a row when rows are added meanwhile.

use crate::error::{DomainError, DomainResult};
use crate::ids::{CategoryId, OrderId, ProductId, UserId};
use crate::model::{
    Category, Order, OrderLine, Product, ProductKind, User, WalletTransaction, WalletTxKind,
};
use crate::money::Money;
use crate::status::OrderStatus;
use crate::writes::AuditEntry;
use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::Row;

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

// ---- users ------------------------------------------------------------------------------

fn user_from(row: &Row) -> DomainResult<User> {
    Ok(User {
        id: UserId::from_db(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        telegram_id: row.try_get("telegram_id")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn create_user(
    pool: &Pool,
    display_name: Option<&str>,
    telegram_id: Option<i64>,
) -> DomainResult<User> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "INSERT INTO users (display_name, telegram_id) VALUES ($1, $2)
             RETURNING id, display_name, telegram_id, created_at",
            &[&display_name, &telegram_id],
        )
        .await
        .map_err(|e| match DomainError::from(e) {
            DomainError::Rejected { .. } => {
                DomainError::invalid("telegram_id", "a user with this telegram_id exists")
            }
            other => other,
        })?;
    user_from(&row)
}

/// Makes sure a user with this id exists (a token may name a user before any request did).
/// The id sequence is moved past it under a lock, so ids handed out later never collide.
pub async fn ensure_user(pool: &Pool, id: UserId) -> DomainResult<()> {
    let mut client = pool.get().await?;
    if client
        .query_opt("SELECT 1 FROM users WHERE id = $1", &[&id.get()])
        .await?
        .is_some()
    {
        return Ok(());
    }
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('souk.users_id_seq'))",
        &[],
    )
    .await?;
    tx.execute(
        "INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
        &[&id.get()],
    )
    .await?;
    tx.execute(
        "SELECT setval('users_id_seq', greatest($1, (SELECT last_value FROM users_id_seq)))",
        &[&id.get()],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- catalog ----------------------------------------------------------------------------

fn category_from(row: &Row) -> DomainResult<Category> {
    Ok(Category {
        id: CategoryId::from_db(row.try_get("id")?),
        name: row.try_get("name")?,
        parent_id: row
            .try_get::<_, Option<i64>>("parent_id")?
            .map(CategoryId::from_db),
    })
}

pub async fn list_categories(pool: &Pool, page: PageRequest) -> DomainResult<Page<Category>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT id, name, parent_id FROM categories WHERE id > $1 ORDER BY id LIMIT $2",
            &[&page.after.unwrap_or(0), &(page.limit + 1)],
        )
        .await?;
    let items = rows
        .iter()
        .map(category_from)
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id.get()))
}

pub async fn create_category(
    pool: &Pool,
    name: &str,
    parent: Option<CategoryId>,
    audit: AuditEntry,
) -> DomainResult<Category> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_one(
            "INSERT INTO categories (name, parent_id) VALUES ($1, $2) RETURNING id, name, parent_id",
            &[&name, &parent.map(CategoryId::get)],
        )
        .await
        .map_err(|e| match DomainError::from(e) {
            DomainError::Rejected { .. } => DomainError::invalid("parent_id", "no such category"),
            other => other,
        })?;
    let category = category_from(&row)?;
    insert_audit(&tx, &audit, serde_json::to_value(&category).ok()).await?;
    tx.commit().await?;
    Ok(category)
}

const PRODUCT_COLUMNS: &str = "p.id, p.category_id, p.name, p.description, p.kind, p.price_minor, p.active,
    p.image_url, p.created_at, p.updated_at,
    CASE WHEN p.kind = 'physical' THEN p.stock_on_hand
         ELSE (SELECT count(*) FROM digital_items d WHERE d.product_id = p.id AND d.order_id IS NULL) END
    AS stock_available";

fn product_from(row: &Row, currency: &str) -> DomainResult<Product> {
    let kind: String = row.try_get("kind")?;
    Ok(Product {
        id: ProductId::from_db(row.try_get("id")?),
        category_id: CategoryId::from_db(row.try_get("category_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        kind: ProductKind::parse(&kind)
            .ok_or_else(|| DomainError::Internal(format!("unknown kind {kind}")))?,
        price_minor: Money::from_minor(row.try_get("price_minor")?),
        currency: currency.to_string(),
        stock_available: row.try_get("stock_available")?,
        active: row.try_get("active")?,
        image_url: row.try_get("image_url")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn get_product(pool: &Pool, id: ProductId, currency: &str) -> DomainResult<Product> {
    let client = pool.get().await?;
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = $1");
    let row = client
        .query_opt(&sql, &[&id.get()])
        .await?
        .ok_or_else(|| DomainError::not_found_product(id))?;
    product_from(&row, currency)
}

/// Filters of the public product list.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub category: Option<CategoryId>,
    /// Case-insensitive substring of the name.
    pub query: Option<String>,
    pub include_inactive: bool,
}

pub async fn list_products(
    pool: &Pool,
    filter: &ProductFilter,
    page: PageRequest,
    currency: &str,
) -> DomainResult<Page<Product>> {
    let client = pool.get().await?;
    // The search text is a bound parameter; LIKE's wildcards in it are escaped to match literally.
    let pattern = filter.query.as_ref().map(|q| {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p
         WHERE p.id > $1 AND ($2::bigint IS NULL OR p.category_id = $2)
           AND ($3::text IS NULL OR p.name ILIKE $3) AND (p.active OR $4)
         ORDER BY p.id LIMIT $5"
    );
    let rows = client
        .query(
            &sql,
            &[
                &page.after.unwrap_or(0),
                &filter.category.map(CategoryId::get),
                &pattern,
                &filter.include_inactive,
                &(page.limit + 1),
            ],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| product_from(r, currency))
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |p| p.id.get()))
}

/// A product as an admin creates it; already validated.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub category: CategoryId,
    pub name: String,
    pub description: String,
    pub kind: ProductKind,
    pub price: Money,
    pub image_url: Option<String>,
}

pub async fn create_product(
    pool: &Pool,
    new: &NewProduct,
    currency: &str,
    audit: AuditEntry,
) -> DomainResult<Product> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_one(
            "INSERT INTO products (category_id, name, description, kind, price_minor, image_url)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &new.category.get(),
                &new.name,
                &new.description,
                &new.kind.as_str(),
                &new.price.minor(),
                &new.image_url,
            ],
        )
        .await
        .map_err(|e| match DomainError::from(e) {
            DomainError::Rejected { .. } => DomainError::invalid("category_id", "no such category"),
            other => other,
        })?;
    let id: i64 = row.try_get(0)?;
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = $1");
    let product = product_from(&tx.query_one(&sql, &[&id]).await?, currency)?;
    insert_audit(&tx, &audit, serde_json::to_value(&product).ok()).await?;
    tx.commit().await?;
    Ok(product)
}

async fn insert_audit(
    client: &impl GenericClient,
    audit: &AuditEntry,
    after: Option<serde_json::Value>,
) -> DomainResult<()> {
    client
        .execute(
            "INSERT INTO audit_log (actor, action, target, before, after, request_id) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&audit.actor, &audit.action, &audit.target, &audit.before, &after.or(audit.after.clone()), &audit.request_id],
        )
        .await?;
    Ok(())
}

/// The kind of each product named.
pub async fn product_kinds(
    pool: &Pool,
    ids: Vec<ProductId>,
) -> DomainResult<std::collections::HashMap<ProductId, ProductKind>> {
    let client = pool.get().await?;
    let raw: Vec<i64> = ids.iter().map(|p| p.get()).collect();
    let rows = client
        .query("SELECT id, kind FROM products WHERE id = ANY($1)", &[&raw])
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(1)?;
            let kind = ProductKind::parse(&kind)
                .ok_or_else(|| DomainError::Internal(format!("unknown kind {kind}")))?;
            Ok((ProductId::from_db(r.try_get(0)?), kind))
        })
        .collect()
}

// ---- orders -----------------------------------------------------------------------------

/// Whether delivered license keys are included: only for the owner and admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowItems {
    Yes,
    No,
}

const ORDER_SELECT: &str = "SELECT o.id, o.user_id, o.status, o.currency, o.subtotal_minor, o.discount_minor,
    o.shipping_minor, o.tax_minor, o.total_minor, o.shipping_address, o.created_at, o.updated_at,
    coalesce(array_agg(l.product_id ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_products,
    coalesce(array_agg(l.name ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_names,
    coalesce(array_agg(l.quantity ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_quantities,
    coalesce(array_agg(l.unit_price_minor ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_prices,
    coalesce(array_agg(p.kind ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_kinds,
    (SELECT coalesce(array_agg(d.product_id ORDER BY d.id), '{}') FROM digital_items d WHERE d.order_id = o.id) AS item_products,
    (SELECT coalesce(array_agg(d.code ORDER BY d.id), '{}') FROM digital_items d WHERE d.order_id = o.id) AS item_codes
    FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id LEFT JOIN products p ON p.id = l.product_id";

fn order_from(row: &Row, show: ShowItems) -> DomainResult<Order> {
    let status: String = row.try_get("status")?;
    let products: Vec<i64> = row.try_get("line_products")?;
    let names: Vec<String> = row.try_get("line_names")?;
    let quantities: Vec<i32> = row.try_get("line_quantities")?;
    let prices: Vec<i64> = row.try_get("line_prices")?;
    let kinds: Vec<String> = row.try_get("line_kinds")?;
    let item_products: Vec<i64> = row.try_get("item_products")?;
    let item_codes: Vec<String> = row.try_get("item_codes")?;
    let lines = (0..products.len())
        .map(|i| OrderLine {
            product_id: ProductId::from_db(products[i]),
            name: names[i].clone(),
            quantity: i64::from(quantities[i]),
            unit_price_minor: Money::from_minor(prices[i]),
            delivered_items: (kinds[i] == "digital" && show == ShowItems::Yes).then(|| {
                item_products
                    .iter()
                    .zip(&item_codes)
                    .filter(|(p, _)| **p == products[i])
                    .map(|(_, c)| c.clone())
                    .collect()
            }),
        })
        .collect();
    Ok(Order {
        id: OrderId::from_db(row.try_get("id")?),
        user_id: UserId::from_db(row.try_get("user_id")?),
        status: OrderStatus::parse(&status)
            .ok_or_else(|| DomainError::Internal(format!("unknown status {status}")))?,
        lines,
        subtotal_minor: Money::from_minor(row.try_get("subtotal_minor")?),
        discount_minor: Money::from_minor(row.try_get("discount_minor")?),
        shipping_minor: Money::from_minor(row.try_get("shipping_minor")?),
        tax_minor: Money::from_minor(row.try_get("tax_minor")?),
        total_minor: Money::from_minor(row.try_get("total_minor")?),
        currency: row.try_get::<_, String>("currency")?,
        shipping_address: row
            .try_get::<_, Option<serde_json::Value>>("shipping_address")?
            .and_then(|v| serde_json::from_value(v).ok()),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// One order; `owner` restricts it to that user's orders (someone else's order is "not found").
pub async fn get_order(
    pool: &Pool,
    id: OrderId,
    owner: Option<UserId>,
    show: ShowItems,
) -> DomainResult<Order> {
    let client = pool.get().await?;
    let sql = format!(
        "{ORDER_SELECT} WHERE o.id = $1 AND ($2::bigint IS NULL OR o.user_id = $2) GROUP BY o.id"
    );
    let row = client
        .query_opt(&sql, &[&id.get(), &owner.map(UserId::get)])
        .await?
        .ok_or_else(|| DomainError::not_found_order(id))?;
    order_from(&row, show)
}

/// Orders newest first, optionally one user's and one status; the cursor is the last id seen.
pub async fn list_orders(
    pool: &Pool,
    owner: Option<UserId>,
    status: Option<OrderStatus>,
    page: PageRequest,
    show: ShowItems,
) -> DomainResult<Page<Order>> {
    let client = pool.get().await?;
    let sql = format!(
        "{ORDER_SELECT} WHERE o.id < $1 AND ($2::bigint IS NULL OR o.user_id = $2) AND ($3::text IS NULL OR o.status = $3)
         GROUP BY o.id ORDER BY o.id DESC LIMIT $4"
    );
    let rows = client
        .query(
            &sql,
            &[
                &page.after.unwrap_or(i64::MAX),
                &owner.map(UserId::get),
                &status.map(OrderStatus::as_str),
                &(page.limit + 1),
            ],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| order_from(r, show))
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |o| o.id.get()))
}

// ---- wallet -----------------------------------------------------------------------------

pub async fn list_wallet_transactions(
    pool: &Pool,
    user: UserId,
    page: PageRequest,
) -> DomainResult<Page<WalletTransaction>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT id, kind, amount_minor, order_id, reason, created_at FROM wallet_transactions
             WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            &[
                &user.get(),
                &page.after.unwrap_or(i64::MAX),
                &(page.limit + 1),
            ],
        )
        .await?;
    let items = rows
        .iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok(WalletTransaction {
                id: row.try_get("id")?,
                kind: WalletTxKind::parse(&kind)
                    .ok_or_else(|| DomainError::Internal(format!("unknown kind {kind}")))?,
                amount_minor: Money::from_minor(row.try_get("amount_minor")?),
                order_id: row
                    .try_get::<_, Option<i64>>("order_id")?
                    .map(OrderId::from_db),
                reason: row.try_get("reason")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |t| t.id))
}

// ---- idempotency ------------------------------------------------------------------------

/// A stored answer to an Idempotency-Key: the request's hash and the response first sent.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub request_hash: Vec<u8>,
    pub status: u16,
    pub body: serde_json::Value,
}

pub async fn find_idempotency_key(
    pool: &Pool,
    user: UserId,
    key: &str,
) -> DomainResult<Option<StoredKey>> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT request_hash, status_code, response FROM idempotency_keys
             WHERE user_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'",
            &[&user.get(), &key],
        )
        .await?;
    row.map(|r| {
        Ok(StoredKey {
            request_hash: r.try_get(0)?,
            status: r.try_get::<_, i16>(1)? as u16,
            body: r
                .try_get::<_, Option<serde_json::Value>>(2)?
                .unwrap_or(serde_json::Value::Null),
        })
    })
    .transpose()
}

/// Whether Postgres answers: the readiness probe.
pub async fn ping(pool: &Pool) -> DomainResult<()> {
    pool.get().await?.execute("SELECT 1", &[]).await?;
    Ok(())
}

//! Categories and products as committed; product creation with its audit row.

use super::{Page, PageRequest};
use crate::domain::changes::AuditEntry;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{CategoryId, ProductId};
use crate::domain::model::{Category, Product, ProductKind};
use crate::domain::money::Money;
use crate::domain::msg::Msg;
use crate::domain::stars::Stars;
use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::Row;

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
            DomainError::Rejected { .. } => DomainError::invalid("parent_id", Msg::new("error-no-such-category")),
            other => other,
        })?;
    let category = category_from(&row)?;
    insert_audit(&tx, &audit, serde_json::to_value(&category).ok()).await?;
    tx.commit().await?;
    Ok(category)
}

/// How many units of product `p` are for sale: on hand for physical goods, keys neither
/// delivered nor held by an unpaid order for digital ones. Every read that shows
/// availability uses this one definition (a macro, so statements stay literals).
#[macro_export]
macro_rules! stock_available_sql {
    () => {
        "CASE WHEN p.kind = 'physical' THEN p.stock_on_hand
         ELSE (SELECT count(*) FROM digital_items d WHERE d.product_id = p.id AND d.order_id IS NULL) END"
    };
}

/// `stock_available_sql!()` as a constant, for statements assembled with `format!`.
pub const STOCK_AVAILABLE: &str = stock_available_sql!();

const PRODUCT_COLUMNS: &str = concat!(
    "p.id, p.category_id, p.name, p.description, p.kind, p.price_minor, p.price_stars, p.active,
    p.image_url, p.group_id, p.options, p.created_at, p.updated_at, ",
    stock_available_sql!(),
    " AS stock_available"
);

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
        price_stars: row
            .try_get::<_, Option<i32>>("price_stars")?
            .and_then(|s| Stars::new(i64::from(s))),
        stock_available: row.try_get("stock_available")?,
        active: row.try_get("active")?,
        image_url: row.try_get("image_url")?,
        group_id: row.try_get("group_id")?,
        options: serde_json::from_value(row.try_get("options")?)
            .map_err(|e| DomainError::Internal(format!("product options: {e}")))?,
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
    pub price_stars: Option<Stars>,
    pub image_url: Option<String>,
    pub group_id: Option<i64>,
    pub options: crate::domain::model::VariantOptions,
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
            "INSERT INTO products (category_id, name, description, kind, price_minor, image_url, group_id, options, price_stars)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bigint) RETURNING id",
            &[
                &new.category.get(),
                &new.name,
                &new.description,
                &new.kind.as_str(),
                &new.price.minor(),
                &new.image_url,
                &new.group_id,
                &serde_json::to_value(&new.options).unwrap_or_default(),
                &new.price_stars.map(Stars::get),
            ],
        )
        .await
        .map_err(|e| match DomainError::from(e) {
            DomainError::Rejected { .. } => DomainError::invalid("category_id", Msg::new("error-no-such-category")),
            other => other,
        })?;
    let id: i64 = row.try_get(0)?;
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = $1");
    let product = product_from(&tx.query_one(&sql, &[&id]).await?, currency)?;
    insert_audit(&tx, &audit, serde_json::to_value(&product).ok()).await?;
    tx.commit().await?;
    Ok(product)
}

/// The audit row of a created entity: its `after` is the entity as created.
async fn insert_audit(
    client: &impl GenericClient,
    audit: &AuditEntry,
    after: Option<serde_json::Value>,
) -> DomainResult<()> {
    let entry = AuditEntry {
        after: after.or(audit.after.clone()),
        ..audit.clone()
    };
    crate::store::audit::record(client, &entry).await?;
    Ok(())
}

/// The other active SKUs of a product's group, by id.
pub async fn sibling_ids(
    pool: &Pool,
    group: i64,
    except: ProductId,
) -> DomainResult<Vec<ProductId>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT id FROM products WHERE group_id = $1 AND id <> $2 AND active ORDER BY id LIMIT 100",
            &[&group, &except.get()],
        )
        .await?;
    rows.iter()
        .map(|r| Ok(ProductId::from_db(r.try_get(0)?)))
        .collect()
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

/// Whether `other` is another SKU of `product`'s group (`None` when it is not), and if so
/// whether it can be sold (an active physical product).
pub async fn exchange_sibling(
    pool: &Pool,
    product: ProductId,
    other: ProductId,
) -> DomainResult<Option<bool>> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT o.active AND o.kind = 'physical' FROM products p JOIN products o ON o.group_id = p.group_id
             WHERE p.id = $1 AND o.id = $2 AND o.id <> p.id",
            &[&product.get(), &other.get()],
        )
        .await?;
    Ok(row.map(|r| r.try_get::<_, bool>(0)).transpose()?)
}

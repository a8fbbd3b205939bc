//! Orders and wallet ledgers as committed.

use super::{Page, PageRequest};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::model::{Order, OrderLine, WalletTransaction, WalletTxKind};
use crate::domain::money::Money;
use crate::domain::status::OrderStatus;
use deadpool_postgres::Pool;
use tokio_postgres::Row;

/// Whether delivered license keys are included: only for the owner and admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowItems {
    Yes,
    No,
}

const ORDER_SELECT: &str = "SELECT o.id, o.user_id, o.status, o.currency, o.subtotal_minor, o.discount_minor,
    o.shipping_minor, o.tax_minor, o.total_minor, o.tax_included_minor, o.paid_minor, o.refunded_minor, o.promo_code, o.payment, o.total_stars, o.payment_due_at, o.shipping_address, o.created_at, o.updated_at,
    coalesce(array_agg(l.product_id ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_products,
    coalesce(array_agg(l.name ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_names,
    coalesce(array_agg(l.quantity ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_quantities,
    coalesce(array_agg(l.unit_price_minor ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_prices,
    coalesce(array_agg(p.kind ORDER BY l.line_no) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS line_kinds,
    (SELECT coalesce(array_agg(d.product_id ORDER BY d.id), '{}') FROM digital_items d WHERE d.order_id = o.id AND d.delivered_at IS NOT NULL) AS item_products,
    (SELECT coalesce(array_agg(d.code ORDER BY d.id), '{}') FROM digital_items d WHERE d.order_id = o.id AND d.delivered_at IS NOT NULL) AS item_codes
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
        tax_included_minor: Money::from_minor(row.try_get("tax_included_minor")?),
        paid_minor: Money::from_minor(row.try_get("paid_minor")?),
        refunded_minor: Money::from_minor(row.try_get("refunded_minor")?),
        currency: row.try_get::<_, String>("currency")?,
        promo_code: row
            .try_get::<_, Option<String>>("promo_code")?
            .map(crate::domain::ids::PromoCode::from_db),
        payment: {
            let raw: String = row.try_get("payment")?;
            crate::domain::model::PaymentMethod::parse(&raw)
                .ok_or_else(|| DomainError::Internal(format!("unknown payment {raw}")))?
        },
        total_stars: row.try_get("total_stars")?,
        payment_due_at: row.try_get("payment_due_at")?,
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

/// Who placed an order, if it exists.
pub async fn order_owner(pool: &Pool, order: OrderId) -> DomainResult<Option<UserId>> {
    let client = pool.get().await?;
    let row = client
        .query_opt("SELECT user_id FROM orders WHERE id = $1", &[&order.get()])
        .await?;
    row.map(|r| Ok(UserId::from_db(r.try_get(0)?))).transpose()
}

/// Orders whose external payment is overdue, oldest first.
pub async fn overdue_orders(pool: &Pool, limit: i64) -> DomainResult<Vec<(OrderId, UserId)>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT id, user_id FROM orders WHERE status = 'pending_payment' AND payment_due_at <= now()
             ORDER BY payment_due_at LIMIT $1",
            &[&limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                OrderId::from_db(r.try_get(0)?),
                UserId::from_db(r.try_get(1)?),
            ))
        })
        .collect()
}

/// The buyer of an order, if it exists: a cluster serves requests about an order on the
/// node that serves its buyer.
pub async fn order_buyer(pool: &Pool, id: OrderId) -> DomainResult<Option<UserId>> {
    let client = pool.get().await?;
    let row = client
        .query_opt("SELECT user_id FROM orders WHERE id = $1", &[&id.get()])
        .await?;
    Ok(row.map(|r| UserId::from_db(r.get(0))))
}

/// The buyer of a return, if it exists (see [`order_buyer`]).
pub async fn return_buyer(pool: &Pool, id: i64) -> DomainResult<Option<UserId>> {
    let client = pool.get().await?;
    let row = client
        .query_opt("SELECT user_id FROM returns WHERE id = $1", &[&id])
        .await?;
    Ok(row.map(|r| UserId::from_db(r.get(0))))
}

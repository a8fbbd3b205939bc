//! Returns in Postgres: the writes of each step (status, lines, stock moved with its
//! movement) and the reads (one return, lists, what was delivered and already returned).

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::model::Timestamp;
use crate::domain::returns::{Return, ReturnLine, ReturnStatus};
use crate::store::{Page, PageRequest};
use deadpool_postgres::Pool;
use std::collections::HashMap;

const RETURN_SELECT: &str = "SELECT r.id, r.order_id, r.user_id, r.status, r.reason, r.note, r.created_at, r.updated_at,
    coalesce(array_agg(l.product_id ORDER BY l.product_id) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS products,
    coalesce(array_agg(l.quantity ORDER BY l.product_id) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS quantities,
    coalesce(array_agg(coalesce(l.exchange_product_id, 0) ORDER BY l.product_id) FILTER (WHERE l.product_id IS NOT NULL), '{}') AS exchanges
    FROM returns r LEFT JOIN return_lines l ON l.return_id = r.id";

fn from_row(row: &tokio_postgres::Row) -> DomainResult<Return> {
    let status: String = row.try_get("status")?;
    let products: Vec<i64> = row.try_get("products")?;
    let quantities: Vec<i32> = row.try_get("quantities")?;
    let exchanges: Vec<i64> = row.try_get("exchanges")?;
    Ok(Return {
        id: row.try_get("id")?,
        order_id: OrderId::from_db(row.try_get("order_id")?),
        user_id: UserId::from_db(row.try_get("user_id")?),
        status: ReturnStatus::parse(&status)
            .ok_or_else(|| DomainError::Internal(format!("unknown return status {status}")))?,
        reason: row.try_get("reason")?,
        note: row.try_get("note")?,
        lines: products
            .iter()
            .zip(&quantities)
            .zip(&exchanges)
            .map(|((p, q), e)| ReturnLine {
                product_id: ProductId::from_db(*p),
                quantity: i64::from(*q),
                exchange_product_id: (*e != 0).then(|| ProductId::from_db(*e)),
            })
            .collect(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn get(pool: &Pool, id: i64) -> DomainResult<Return> {
    let client = pool.get().await?;
    let sql = format!("{RETURN_SELECT} WHERE r.id = $1 GROUP BY r.id");
    let row = client
        .query_opt(&sql, &[&id])
        .await?
        .ok_or(DomainError::NotFound {
            entity: "return",
            id,
        })?;
    from_row(&row)
}

/// Returns, newest first: of one order, or (for staff) all, optionally by status.
pub async fn list(
    pool: &Pool,
    order: Option<OrderId>,
    status: Option<ReturnStatus>,
    page: PageRequest,
) -> DomainResult<Page<Return>> {
    let client = pool.get().await?;
    let sql = format!(
        "{RETURN_SELECT} WHERE ($1::bigint IS NULL OR r.order_id = $1) AND ($2::text IS NULL OR r.status = $2)
           AND ($3::bigint IS NULL OR r.id < $3)
         GROUP BY r.id ORDER BY r.id DESC LIMIT $4"
    );
    let rows = client
        .query(
            &sql,
            &[
                &order.map(OrderId::get),
                &status.map(ReturnStatus::as_str),
                &page.after,
                &(page.limit + 1),
            ],
        )
        .await?;
    let items = rows
        .iter()
        .map(from_row)
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |r| r.id))
}

pub(crate) async fn delivered_at(pool: &Pool, order: OrderId) -> DomainResult<Option<Timestamp>> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT max(created_at) FROM order_status_history WHERE order_id = $1 AND to_status = 'delivered'",
            &[&order.get()],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Units of each product already returned or on their way back (rejected returns excluded).
pub(crate) async fn returned_so_far(
    pool: &Pool,
    order: OrderId,
) -> DomainResult<HashMap<ProductId, i64>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT l.product_id, sum(l.quantity)::bigint FROM returns r JOIN return_lines l ON l.return_id = r.id
             WHERE r.order_id = $1 AND r.status <> 'rejected' GROUP BY l.product_id",
            &[&order.get()],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((ProductId::from_db(r.try_get(0)?), r.try_get(1)?)))
        .collect()
}

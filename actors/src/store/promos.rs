//! Promo codes as committed: the definition an owner loads with its per-user redemption
//! counts, and the admin's list.

use super::{Page, PageRequest};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::PromoCode;
use crate::domain::ids::UserId;
use crate::domain::money::Money;
use crate::domain::promo::Promo;
use crate::domain::promo::PromoKind;
use crate::domain::promo::PromoRules;
use deadpool_postgres::Pool;
use std::collections::HashMap;
use tokio_postgres::Row;

/// The columns `from_row` reads, as a macro so statements stay literals (no `format!`).
macro_rules! promo_columns {
    () => {
        "id, code, kind, value, min_subtotal_minor, starts_at, ends_at, max_redemptions, \
         max_per_user, active, redemptions, created_at, updated_at"
    };
}
pub(crate) use promo_columns;

pub(crate) fn from_row(row: &Row) -> DomainResult<Promo> {
    let kind: String = row.try_get("kind")?;
    let redemptions: i32 = row.try_get("redemptions")?;
    Ok(Promo {
        code: PromoCode::from_db(row.try_get("code")?),
        rules: PromoRules {
            kind: PromoKind::parse(&kind)
                .ok_or_else(|| DomainError::Internal(format!("unknown promo kind {kind}")))?,
            value: row.try_get("value")?,
            min_subtotal_minor: Money::from_minor(row.try_get("min_subtotal_minor")?),
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            max_redemptions: row.try_get("max_redemptions")?,
            max_per_user: row.try_get("max_per_user")?,
            active: row.try_get("active")?,
        },
        redemptions: i64::from(redemptions),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn get(pool: &Pool, code: &PromoCode) -> DomainResult<Promo> {
    let client = pool.get().await?;
    let sql = concat!("SELECT ", promo_columns!(), " FROM promos WHERE code = $1");
    let row = client
        .query_opt(sql, &[&code.as_str()])
        .await?
        .ok_or_else(|| DomainError::UnknownPromo(code.clone()))?;
    from_row(&row)
}

/// What a promo's owner loads, read in one statement so the three agree: the promo, its
/// live redemptions by user, and how many redemptions were ever given back (`releases`).
pub async fn load(
    pool: &Pool,
    code: &PromoCode,
) -> DomainResult<(Promo, HashMap<UserId, i64>, i64)> {
    let client = pool.get().await?;
    let sql = concat!(
        "SELECT ",
        promo_columns!(),
        ", releases, (SELECT coalesce(array_agg(r.user_id), '{}') FROM promo_redemptions r
                      WHERE r.code = promos.code) AS redeemers
         FROM promos WHERE code = $1"
    );
    let row = client
        .query_opt(sql, &[&code.as_str()])
        .await?
        .ok_or_else(|| DomainError::UnknownPromo(code.clone()))?;
    let mut per_user: HashMap<UserId, i64> = HashMap::new();
    for user in row.try_get::<_, Vec<i64>>("redeemers")? {
        *per_user.entry(UserId::from_db(user)).or_default() += 1;
    }
    Ok((from_row(&row)?, per_user, row.try_get("releases")?))
}

pub async fn list(pool: &Pool, page: PageRequest) -> DomainResult<Page<Promo>> {
    let client = pool.get().await?;
    let sql = concat!(
        "SELECT ",
        promo_columns!(),
        " FROM promos WHERE id > coalesce($1::bigint, 0) ORDER BY id LIMIT $2"
    );
    let rows = client.query(sql, &[&page.after, &(page.limit + 1)]).await?;
    let mut items = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        ids.push(row.try_get::<_, i64>("id")?);
        items.push(from_row(row)?);
    }
    let page = Page::from_rows(ids.clone(), page.limit, |id| *id);
    items.truncate(page.items.len());
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

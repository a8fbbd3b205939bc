//! Writes to the catalog and wallets that one owner makes: stock changes, license codes,
//! product edits and wallet credits.

use super::ApplyError;
use super::Db;
use crate::domain::changes::{Outcome, ProductPatch};
use crate::domain::error::DomainError;
use crate::domain::ids::{ProductId, UserId};
use crate::domain::model::{RejectedCode, StockReport, WalletTxKind};
use crate::domain::money::Money;
use crate::domain::stars::Stars;

pub(super) async fn stock_delta(
    tx: &Db,
    product: ProductId,
    delta: i64,
    available_after: i64,
) -> Result<Outcome, ApplyError> {
    super::stock::move_stock(tx, product, delta, super::stock::Movement::Adjustment).await?;
    Ok(Outcome::Stock {
        report: StockReport {
            accepted: delta,
            rejected: Vec::new(),
            stock_available: available_after,
        },
        new_items: Vec::new(),
    })
}

pub(super) async fn add_codes(
    tx: &Db,
    product: ProductId,
    codes: &[(usize, String)],
    rejected: &[RejectedCode],
    available_before: i64,
) -> Result<Outcome, ApplyError> {
    let texts: Vec<&str> = codes.iter().map(|(_, c)| c.as_str()).collect();
    let sql =
        "INSERT INTO digital_items (product_id, code) SELECT $1, c FROM unnest($2::text[]) AS c
               ON CONFLICT (code) DO NOTHING RETURNING id, code";
    let stmt = tx.prepare_cached(sql).await?;
    let rows = tx.query(&stmt, &[&product.get(), &texts]).await?;
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    let mut new_items = Vec::with_capacity(rows.len());
    for row in &rows {
        new_items.push(row.try_get::<_, i64>(0)?);
        inserted.insert(row.try_get::<_, String>(1)?);
    }
    let mut rejected = rejected.to_vec();
    rejected.extend(
        codes
            .iter()
            .filter(|(_, code)| !inserted.contains(code))
            .map(|(i, _)| RejectedCode {
                code_index: *i,
                reason: "duplicate",
            }),
    );
    rejected.sort_by_key(|r| r.code_index);
    let accepted = new_items.len() as i64;
    Ok(Outcome::Stock {
        report: StockReport {
            accepted,
            rejected,
            stock_available: available_before + accepted,
        },
        new_items,
    })
}

pub(super) async fn credit(
    tx: &Db,
    user: UserId,
    amount: Money,
    reason: &str,
) -> Result<Outcome, ApplyError> {
    let tx = super::ledger::credit(tx, user, WalletTxKind::Credit, amount, None, reason).await?;
    Ok(Outcome::Credit(tx))
}

pub(super) async fn product_update(
    tx: &Db,
    product: ProductId,
    patch: &ProductPatch,
) -> Result<Outcome, ApplyError> {
    let sql = "UPDATE products SET
                   name = coalesce($2, name),
                   description = coalesce($3, description),
                   price_minor = coalesce($4, price_minor),
                   active = coalesce($5, active),
                   image_url = CASE WHEN $6 THEN $7 ELSE image_url END,
                   group_id = CASE WHEN $8 THEN $9 ELSE group_id END,
                   options = coalesce($10, options),
                   price_stars = CASE WHEN $11 THEN $12::bigint ELSE price_stars END,
                   updated_at = now()
               WHERE id = $1";
    let stmt = tx.prepare_cached(sql).await?;
    let image_set = patch.image_url.is_some();
    let image = patch.image_url.clone().flatten();
    let group_set = patch.group_id.is_some();
    let group = patch.group_id.flatten();
    let stars_set = patch.price_stars.is_some();
    let stars = patch.price_stars.flatten().map(Stars::get);
    let options = patch
        .options
        .as_ref()
        .map(|o| serde_json::to_value(o).unwrap_or_default());
    let n = tx
        .execute(
            &stmt,
            &[
                &product.get(),
                &patch.name,
                &patch.description,
                &patch.price.map(Money::minor),
                &patch.active,
                &image_set,
                &image,
                &group_set,
                &group,
                &options,
                &stars_set,
                &stars,
            ],
        )
        .await?;
    if n != 1 {
        return Err(ApplyError::Job(DomainError::not_found_product(product)));
    }
    Ok(Outcome::Done)
}

//! Writes to the catalog and wallets that one owner makes: stock changes, license codes,
//! product edits and wallet credits.

use super::ApplyError;
use super::Db;
use crate::domain::changes::{Outcome, ProductPatch};
use crate::domain::error::DomainError;
use crate::domain::ids::{ProductId, UserId};
use crate::domain::model::{RejectedCode, StockReport, WalletTransaction, WalletTxKind};
use crate::domain::money::Money;

pub(super) async fn stock_delta(
    tx: &Db,
    product: ProductId,
    delta: i64,
    available_after: i64,
) -> Result<Outcome, ApplyError> {
    let sql = "WITH p AS (
                   UPDATE products SET stock_on_hand = stock_on_hand + $2, updated_at = now()
                   WHERE id = $1 AND kind = 'physical' RETURNING id
               ), m AS (
                   INSERT INTO stock_movements (product_id, delta, reason) SELECT id, $2, 'adjustment' FROM p
               )
               SELECT count(*) FROM p";
    let stmt = tx.prepare_cached(sql).await?;
    let updated: i64 = tx
        .query_one(&stmt, &[&product.get(), &delta])
        .await?
        .try_get(0)?;
    if updated != 1 {
        return Err(ApplyError::Job(DomainError::not_found_product(product)));
    }
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
    let sql =
        "WITH u AS (UPDATE users SET balance_minor = balance_minor + $2 WHERE id = $1 RETURNING id)
               INSERT INTO wallet_transactions (user_id, kind, amount_minor, reason)
               SELECT id, 'credit', $2, $3 FROM u
               RETURNING id, created_at";
    let stmt = tx.prepare_cached(sql).await?;
    let row = tx
        .query_opt(&stmt, &[&user.get(), &amount.minor(), &reason])
        .await?
        .ok_or(ApplyError::Job(DomainError::not_found_user(user)))?;
    Ok(Outcome::Credit(WalletTransaction {
        id: row.try_get(0)?,
        kind: WalletTxKind::Credit,
        amount_minor: amount,
        order_id: None,
        reason: reason.to_string(),
        created_at: row.try_get(1)?,
    }))
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
                   updated_at = now()
               WHERE id = $1";
    let stmt = tx.prepare_cached(sql).await?;
    let image_set = patch.image_url.is_some();
    let image = patch.image_url.clone().flatten();
    let group_set = patch.group_id.is_some();
    let group = patch.group_id.flatten();
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
            ],
        )
        .await?;
    if n != 1 {
        return Err(ApplyError::Job(DomainError::not_found_product(product)));
    }
    Ok(Outcome::Done)
}

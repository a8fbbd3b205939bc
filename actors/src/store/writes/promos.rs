//! Promo writes: an admin's create and update, and the code a customer puts on their cart.

use super::ApplyError;
use super::Db;
use crate::domain::changes::Outcome;
use crate::domain::ids::PromoCode;
use crate::domain::ids::{OrderId, UserId};
use crate::domain::promo::PromoRules;
use crate::domain::promo::RedemptionRelease;
use crate::store::promos::{from_row, promo_columns};

const INSERT: &str = concat!(
    "INSERT INTO promos (code, kind, value, min_subtotal_minor, starts_at, ends_at,
         max_redemptions, max_per_user, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
    promo_columns!()
);

const UPDATE: &str = concat!(
    "UPDATE promos SET kind = $2, value = $3, min_subtotal_minor = $4, starts_at = $5,
         ends_at = $6, max_redemptions = $7, max_per_user = $8, active = $9, updated_at = now()
     WHERE code = $1 RETURNING ",
    promo_columns!()
);

pub(super) async fn save(
    tx: &Db,
    code: &PromoCode,
    r: &PromoRules,
    create: bool,
) -> Result<Outcome, ApplyError> {
    let stmt = tx
        .prepare_cached(if create { INSERT } else { UPDATE })
        .await?;
    let row = tx
        .query_opt(
            &stmt,
            &[
                &code.as_str(),
                &r.kind.as_str(),
                &r.value,
                &r.min_subtotal_minor.minor(),
                &r.starts_at,
                &r.ends_at,
                &r.max_redemptions,
                &r.max_per_user,
                &r.active,
            ],
        )
        .await?
        .ok_or_else(|| ApplyError::Job(crate::DomainError::UnknownPromo(code.clone())))?;
    Ok(Outcome::Promo(Box::new(
        from_row(&row).map_err(ApplyError::Job)?,
    )))
}

/// The code a cart carries into its preview and checkout; `None` takes it off.
pub(super) async fn cart_promo(
    tx: &Db,
    user: UserId,
    code: Option<&PromoCode>,
) -> Result<Outcome, ApplyError> {
    let stmt = tx
        .prepare_cached("UPDATE users SET cart_promo = $2 WHERE id = $1")
        .await?;
    tx.execute(&stmt, &[&user.get(), &code.map(PromoCode::as_str)])
        .await?;
    Ok(Outcome::Done)
}

/// Gives back the redemption of an order being cancelled, if it had one: its row goes and
/// the count goes down, in the cancel's transaction. A cancel happens once per order (its
/// status change is conditional), and the row can be deleted once, so a redemption is
/// given back exactly once.
pub(crate) async fn release_redemption(
    tx: &Db,
    order: OrderId,
) -> Result<Option<RedemptionRelease>, ApplyError> {
    let sql = "WITH r AS (DELETE FROM promo_redemptions WHERE order_id = $1 RETURNING code, user_id)
               UPDATE promos p SET redemptions = p.redemptions - 1, releases = p.releases + 1, updated_at = now()
               FROM r WHERE p.code = r.code RETURNING p.code, r.user_id, p.releases";
    let stmt = tx.prepare_cached(sql).await?;
    let Some(row) = tx.query_opt(&stmt, &[&order.get()]).await? else {
        return Ok(None);
    };
    Ok(Some(RedemptionRelease {
        code: PromoCode::from_db(row.try_get(0)?),
        user: UserId::from_db(row.try_get(1)?),
        releases: row.try_get(2)?,
    }))
}

//! Every change Souk makes to Postgres, as data. A `Write` is one unit of the group commit:
//! its statements, its idempotency record and its audit row commit together or not at all.
//! Each fact has one parameterized statement here; nothing is formatted into SQL.

mod catalog;
mod checkout;
mod ledger;
mod orders;
mod payments;
pub(crate) mod promos;
mod refunds;
mod returns;
mod status;
mod stock;

use crate::domain::changes::Outcome;
use crate::domain::changes::Write;
use crate::domain::changes::WriteOp;
pub(crate) use crate::store::tx::{ApplyError, Db, OpenTx};

pub(crate) async fn apply(tx: &Db, write: &Write) -> Result<Outcome, ApplyError> {
    let outcome = match &write.op {
        WriteOp::Checkout(c) => checkout::apply(tx, c).await?,
        WriteOp::StockDelta {
            product,
            delta,
            available_after,
        } => catalog::stock_delta(tx, *product, *delta, *available_after).await?,
        WriteOp::AddCodes {
            product,
            codes,
            rejected,
            available_before,
        } => catalog::add_codes(tx, *product, codes, rejected, *available_before).await?,
        WriteOp::CartSet {
            user,
            product,
            quantity,
        } => {
            match quantity {
                Some(q) => {
                    let sql = "INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
                               ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()";
                    let stmt = tx.prepare_cached(sql).await?;
                    tx.execute(&stmt, &[&user.get(), &product.get(), &(q.get() as i32)])
                        .await?;
                }
                None => {
                    let sql = "DELETE FROM cart_items WHERE user_id = $1 AND product_id = $2";
                    let stmt = tx.prepare_cached(sql).await?;
                    tx.execute(&stmt, &[&user.get(), &product.get()]).await?;
                }
            }
            Outcome::Done
        }
        WriteOp::CartClear { user } => {
            let stmt = tx
                .prepare_cached("DELETE FROM cart_items WHERE user_id = $1")
                .await?;
            tx.execute(&stmt, &[&user.get()]).await?;
            Outcome::Done
        }
        WriteOp::WalletCredit {
            user,
            amount,
            reason,
        } => catalog::credit(tx, *user, *amount, reason).await?,
        WriteOp::ProductUpdate { product, patch } => {
            catalog::product_update(tx, *product, patch).await?
        }
        WriteOp::OrderStatus(change) => status::apply_status(tx, change).await?,
        WriteOp::Cancel(cancellation) => orders::apply_cancel(tx, cancellation).await?,
        WriteOp::Refund(refund) => refunds::apply(tx, refund).await?,
        WriteOp::Payment(payment) => payments::apply(tx, payment).await?,
        WriteOp::Return(r) => returns::apply(tx, r).await?,
        WriteOp::PromoCreate { code, rules } => promos::save(tx, code, rules, true).await?,
        WriteOp::PromoUpdate { code, rules } => promos::save(tx, code, rules, false).await?,
        WriteOp::CartPromo { user, code } => promos::cart_promo(tx, *user, code.as_ref()).await?,
        WriteOp::StoredAnswer(answer) => Outcome::Stored(answer.clone()),
    };
    if let Some(idem) = &write.idempotency {
        crate::store::idempotency::record(tx, idem, &(idem.answer)(&outcome)).await?;
    }
    if let Some(audit) = &write.audit {
        crate::store::audit::record(tx, audit).await?;
    }
    Ok(outcome)
}

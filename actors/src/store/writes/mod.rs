//! Every change Souk makes to Postgres, as data. A `Write` is one unit of the group commit:
//! its statements, its idempotency record and its audit row commit together or not at all.
//! Each fact has one parameterized statement here; nothing is formatted into SQL.

mod cart;
mod catalog;
mod checkout;
mod ledger;
mod orders;
mod payments;
pub(crate) mod promos;
mod refunds;
mod returns;
pub(crate) mod sets;
mod status;
mod stock;

use crate::domain::changes::Outcome;
use crate::domain::changes::Write;
use crate::domain::changes::WriteOp;
use crate::domain::error::DomainError;
use crate::domain::events::{self, EventRules};
use crate::store::events::Told;
pub(crate) use crate::store::tx::{ApplyError, Db, OpenTx};

/// Applies one write with its idempotency record, audit row and events. A batch that is
/// not applied as sets (`sets.rs`) applies each of its writes here; the statements are the
/// same ones, given one row. Also answers what its events came to.
pub(crate) async fn apply(
    tx: &Db,
    write: &Write,
    rules: &EventRules,
) -> Result<(Outcome, Told), ApplyError> {
    let outcome = match &write.op {
        WriteOp::Checkout(c) => one_outcome(checkout::apply_all(tx, &[c]).await?)?,
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
            let change = cart::CartChange::Line {
                user: *user,
                product: *product,
                quantity: *quantity,
            };
            cart::apply_all(tx, &[change]).await?;
            Outcome::Done
        }
        WriteOp::CartClear { user } => {
            cart::apply_all(tx, &[cart::CartChange::Clear { user: *user }]).await?;
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
        WriteOp::StarsRefunded { change, .. } => refunds::stars_refunded(tx, change).await?,
        WriteOp::Payment(payment) => payments::apply(tx, payment).await?,
        WriteOp::Return(r) => returns::apply(tx, r).await?,
        WriteOp::PromoCreate { code, rules } => promos::save(tx, code, rules, true).await?,
        WriteOp::PromoUpdate { code, rules } => promos::save(tx, code, rules, false).await?,
        WriteOp::CartPromo { user, code } => promos::cart_promo(tx, *user, code.as_ref()).await?,
        WriteOp::StoredAnswer(answer) => Outcome::Stored(answer.clone()),
    };
    if let Some(idem) = &write.idempotency {
        crate::store::idempotency::record(tx, idem, (idem.answer)(&outcome)).await?;
    }
    if let Some(audit) = &write.audit {
        crate::store::audit::record(tx, audit).await?;
    }
    let drafts = events::of(&write.op, &outcome, rules);
    let drafts: Vec<&events::EventDraft> = drafts.iter().collect();
    let told = crate::store::events::record_all(tx, &drafts, rules.hand_over).await?;
    Ok((outcome, told))
}

/// Applies each of `writes` by itself, all in one flight: the batch's way when it cannot
/// be applied as sets, and the way to find which write the database refuses.
pub(crate) async fn apply_each(tx: &Db, writes: &[&Write], rules: &EventRules) -> sets::Applied {
    let results = futures_util::future::join_all(writes.iter().map(|w| apply(tx, w, rules))).await;
    let mut outcomes = Vec::with_capacity(writes.len());
    let mut all_told = Told::default();
    let mut culprit = None;
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok((outcome, told)) => {
                outcomes.push(outcome);
                all_told.add(told);
            }
            Err(ApplyError::Job(error)) => {
                culprit.get_or_insert((index, error));
            }
            // Collateral damage of the culprit's error; these writes go again without it.
            Err(ApplyError::Aborted) => {}
            Err(ApplyError::Batch(e)) => return sets::Applied::Failed(e),
        }
    }
    match culprit {
        Some((index, error)) => sets::Applied::Refused(index, error),
        None if outcomes.len() == writes.len() => sets::Applied::All(outcomes, all_told),
        // Aborted without a culprit cannot happen; the batch goes again one by one.
        None => sets::Applied::Unsettled("the batch's transaction aborted".into()),
    }
}

/// The one answer of a statement given one row.
fn one<T>(answers: Vec<Result<T, DomainError>>) -> Result<T, ApplyError> {
    answers
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApplyError::Job(DomainError::Internal("a statement answered no row".into()))
        })?
        .map_err(ApplyError::Job)
}

fn one_outcome(outcomes: Vec<Outcome>) -> Result<Outcome, ApplyError> {
    one(outcomes.into_iter().map(Ok).collect())
}

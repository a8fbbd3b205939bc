//! The wallet ledger's one statement for money coming in. A top-up, a payment the wallet
//! takes instead of its order, a refund and a cancellation's give-back all write the
//! balance and its ledger row here, together, so the two never disagree (`souk check` I1).
//! The checkout's debit is part of the checkout's own single statement (`checkout.rs`).

use super::{ApplyError, Db};
use crate::domain::error::DomainError;
use crate::domain::ids::{OrderId, UserId};
use crate::domain::model::{WalletTransaction, WalletTxKind};
use crate::domain::money::Money;

/// Adds `amount` to `user`'s balance with its ledger row of `kind`; `NotFound` when there
/// is no such user.
pub(super) async fn credit(
    tx: &Db,
    user: UserId,
    kind: WalletTxKind,
    amount: Money,
    order: Option<OrderId>,
    reason: &str,
) -> Result<WalletTransaction, ApplyError> {
    let sql =
        "WITH u AS (UPDATE users SET balance_minor = balance_minor + $2 WHERE id = $1 RETURNING id)
               INSERT INTO wallet_transactions (user_id, kind, amount_minor, order_id, reason)
               SELECT id, $3, $2, $4, $5 FROM u
               RETURNING id, created_at";
    let stmt = tx.prepare_cached(sql).await?;
    let row = tx
        .query_opt(
            &stmt,
            &[
                &user.get(),
                &amount.minor(),
                &kind.as_str(),
                &order.map(OrderId::get),
                &reason,
            ],
        )
        .await?
        .ok_or(ApplyError::Job(DomainError::not_found_user(user)))?;
    Ok(WalletTransaction {
        id: row.try_get(0)?,
        kind,
        amount_minor: amount,
        order_id: order,
        reason: reason.to_string(),
        created_at: row.try_get(1)?,
    })
}

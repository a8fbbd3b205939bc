//! The wallet ledger's one statement for money coming in. A top-up, a payment the wallet
//! takes instead of its order, a refund and a cancellation's give-back all write the
//! balance and its ledger row here, together, so the two never disagree (`souk check` I1).
//! One statement serves one entry or a whole batch's: each user's balance is updated once
//! with the sum of its entries. The checkout's debit is part of the checkout's own
//! statement (`checkout.rs`).

use super::{ApplyError, Db};
use crate::domain::error::DomainError;
use crate::domain::ids::{OrderId, UserId};
use crate::domain::model::{WalletTransaction, WalletTxKind};
use crate::domain::money::Money;
use std::collections::HashMap;

/// One ledger row to write, and the balance change it stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub user: UserId,
    pub kind: WalletTxKind,
    pub amount: Money,
    pub order: Option<OrderId>,
    pub reason: &'a str,
}

/// Each row's id is drawn first, so an answer maps back to its entry exactly.
const CREDIT_SQL: &str = "
WITH i AS (
    SELECT i.*, nextval('wallet_transactions_id_seq') AS id
    FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])
        WITH ORDINALITY AS i(user_id, amount, kind, order_id, reason, n)
), u AS (
    UPDATE users SET balance_minor = balance_minor + s.amount
    FROM (SELECT user_id, sum(amount)::bigint AS amount FROM i GROUP BY user_id) s
    WHERE users.id = s.user_id
    RETURNING users.id
), written AS (
    INSERT INTO wallet_transactions (id, user_id, kind, amount_minor, order_id, reason)
    SELECT i.id, i.user_id, i.kind, i.amount, i.order_id, i.reason FROM i JOIN u ON u.id = i.user_id
    RETURNING id, created_at
)
SELECT i.n, i.id, written.created_at FROM i JOIN written USING (id)";

/// Adds each entry's amount to its user's balance with its ledger row. Answers each
/// entry's row, or `NotFound` for an entry whose user does not exist.
pub(crate) async fn credit_all(
    tx: &Db,
    entries: &[Entry<'_>],
) -> Result<Vec<Result<WalletTransaction, DomainError>>, ApplyError> {
    let users: Vec<i64> = entries.iter().map(|e| e.user.get()).collect();
    let amounts: Vec<i64> = entries.iter().map(|e| e.amount.minor()).collect();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    let orders: Vec<Option<i64>> = entries.iter().map(|e| e.order.map(OrderId::get)).collect();
    let reasons: Vec<&str> = entries.iter().map(|e| e.reason).collect();
    let stmt = tx.prepare_cached(CREDIT_SQL).await?;
    let rows = tx
        .query(&stmt, &[&users, &amounts, &kinds, &orders, &reasons])
        .await?;
    let mut written = HashMap::with_capacity(rows.len());
    for row in &rows {
        let n: i64 = row.try_get(0)?;
        written.insert(n, (row.try_get::<_, i64>(1)?, row.try_get(2)?));
    }
    Ok((1..)
        .zip(entries)
        .map(|(n, e)| match written.get(&n) {
            Some((id, created_at)) => Ok(WalletTransaction {
                id: *id,
                kind: e.kind,
                amount_minor: e.amount,
                order_id: e.order,
                reason: e.reason.to_string(),
                created_at: *created_at,
            }),
            None => Err(DomainError::not_found_user(e.user)),
        })
        .collect())
}

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
    let entry = Entry {
        user,
        kind,
        amount,
        order,
        reason,
    };
    super::one(credit_all(tx, &[entry]).await?)
}

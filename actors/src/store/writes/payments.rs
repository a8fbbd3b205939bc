//! External payment events as the group commit applies them.

use super::status::change_status;
use crate::domain::changes::Outcome;
use crate::domain::model::WalletTxKind;
use crate::domain::payment::PaymentTarget;
use crate::domain::payment::PaymentWrite;
use crate::domain::stars::XTR;
use crate::domain::status::OrderStatus;
use crate::domain::status::StatusChange;
use crate::store::tx::ApplyError;
use crate::store::tx::Db;
use crate::store::UserId;

pub(super) async fn apply(tx: &Db, w: &PaymentWrite) -> Result<Outcome, ApplyError> {
    let e = &w.event;
    let (order, topup_user) = match e.target {
        PaymentTarget::Order(o) => (Some(o.get()), None),
        PaymentTarget::WalletTopup(u) => (None, Some(u.get())),
    };
    let stmt = tx
        .prepare_cached(
            "INSERT INTO payment_events (event_id, type, order_id, user_id, amount_minor, currency, outcome, reason)
             VALUES ($1, $2, (SELECT id FROM orders WHERE id = $3), (SELECT id FROM users WHERE id = $4), $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &e.event_id,
            &e.kind.as_str(),
            &order,
            &w.user.map(UserId::get).or(topup_user),
            &e.amount.minor(),
            &e.currency,
            &w.outcome.as_str(),
            &w.reason,
        ],
    )
    .await?;
    if let Some(paid) = w.pays {
        let change = StatusChange {
            order: paid,
            from: OrderStatus::PendingPayment,
            to: OrderStatus::Paid,
            actor: format!("payment:{}", e.event_id),
            note: Some(match e.currency.as_str() {
                XTR => "Stars payment received".into(),
                _ => "external payment received".into(),
            }),
        };
        change_status(tx, &change).await?;
        // The money that arrived is what a refund or cancel may later give back to the
        // wallet; Stars go back as Stars (`star_refunds`), so they are not counted here.
        if e.currency != XTR {
            let stmt = tx
                .prepare_cached("UPDATE orders SET paid_minor = paid_minor + $2 WHERE id = $1")
                .await?;
            tx.execute(&stmt, &[&paid.get(), &e.amount.minor()]).await?;
        }
        let stmt = tx
            .prepare_cached(
                "UPDATE digital_items SET delivered_at = now() WHERE order_id = $1 AND delivered_at IS NULL",
            )
            .await?;
        tx.execute(&stmt, &[&paid.get()]).await?;
    }
    if let (Some(amount), Some(user)) = (w.credit, w.user) {
        let reason = format!("payment {}", e.event_id);
        super::ledger::credit(tx, user, WalletTxKind::Credit, amount, None, &reason).await?;
    }
    Ok(Outcome::Done)
}

//! Refunds of orders paid in Telegram Stars, as rows Telegram's answer settles. A refund is
//! claimed here before `refundStarPayment` is called, so two refund requests for the same
//! order make one call (P3); the call's answer settles the row. `done` is written by the
//! group commit together with the order's move to `refunded` (`writes::refunds`).

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::OrderId;
use deadpool_postgres::Pool;
use serde::Serialize;

/// Where a refund in Stars stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StarRefundState {
    /// Claimed; `refundStarPayment` is being called.
    Calling,
    Done,
    /// Telegram refused it (its reason is kept); asking again calls again.
    Refused,
    /// No answer came; asking again calls again, and Telegram refuses a charge it already
    /// refunded, which settles it.
    Unknown,
}

impl StarRefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            StarRefundState::Calling => "calling",
            StarRefundState::Done => "done",
            StarRefundState::Refused => "refused",
            StarRefundState::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Option<StarRefundState> {
        [
            StarRefundState::Calling,
            StarRefundState::Done,
            StarRefundState::Refused,
            StarRefundState::Unknown,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// A refund in Stars as recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StarRefund {
    pub order_id: OrderId,
    /// The charge Telegram refunds (`telegram_payment_charge_id` of the order's payment).
    pub telegram_payment_charge_id: String,
    /// The buyer's Telegram id, whom the Stars go back to.
    pub telegram_user_id: i64,
    pub stars: i64,
    pub state: StarRefundState,
    /// Telegram's reason, when it refused.
    pub error: Option<String>,
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// This request holds the refund: it calls Telegram and settles the row.
    Mine(StarRefund),
    /// Another request holds it (`calling`), or it is done.
    Held(StarRefund),
    /// The order has no applied payment in Stars to refund.
    NotPaidInStars,
}

/// A `calling` row older than this is taken over: its caller died mid-call (a call gives
/// up well before), and calling again is safe, as Telegram refunds a charge once.
const ABANDONED_AFTER_SECS: f64 = 120.0;

const COLUMNS: &str = "order_id, charge_id, telegram_id, stars, state, error";

fn refund_of(row: &tokio_postgres::Row) -> DomainResult<StarRefund> {
    let state: String = row.try_get("state")?;
    Ok(StarRefund {
        order_id: OrderId::from_db(row.try_get("order_id")?),
        telegram_payment_charge_id: row.try_get("charge_id")?,
        telegram_user_id: row.try_get("telegram_id")?,
        stars: row.try_get("stars")?,
        state: StarRefundState::parse(&state)
            .ok_or_else(|| DomainError::Internal(format!("unknown refund state {state}")))?,
        error: row.try_get("error")?,
    })
}

/// Claims the refund of `order` for one call: a new one, one Telegram refused or did not
/// answer, or one abandoned mid-call. One statement, so of two requests at once only one
/// gets `Mine`.
pub async fn claim(pool: &Pool, order: OrderId, requested_by: &str) -> DomainResult<Claim> {
    let client = pool.get().await?;
    let sql = format!(
        "WITH paid AS (
             SELECT o.id, substr(e.event_id, length('telegram:') + 1) AS charge, u.telegram_id, o.total_stars
             FROM orders o
             JOIN payment_events e ON e.order_id = o.id AND e.outcome = 'applied' AND e.currency = 'XTR'
             JOIN users u ON u.id = o.user_id
             WHERE o.id = $1 AND o.payment = 'stars' AND u.telegram_id IS NOT NULL
               AND e.event_id LIKE 'telegram:%'
         )
         INSERT INTO star_refunds (order_id, charge_id, telegram_id, stars, state, requested_by)
         SELECT id, charge, telegram_id, total_stars, 'calling', $2 FROM paid
         ON CONFLICT (order_id) DO UPDATE
             SET state = 'calling', error = NULL, requested_by = EXCLUDED.requested_by,
                 requested_at = now(), settled_at = NULL
             WHERE star_refunds.state IN ('refused', 'unknown')
                OR (star_refunds.state = 'calling'
                    AND star_refunds.requested_at < now() - make_interval(secs => $3))
         RETURNING {COLUMNS}"
    );
    if let Some(row) = client
        .query_opt(&sql, &[&order.get(), &requested_by, &ABANDONED_AFTER_SECS])
        .await?
    {
        return Ok(Claim::Mine(refund_of(&row)?));
    }
    let held = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM star_refunds WHERE order_id = $1"),
            &[&order.get()],
        )
        .await?;
    match held {
        Some(row) => Ok(Claim::Held(refund_of(&row)?)),
        None => Ok(Claim::NotPaidInStars),
    }
}

/// Settles a claimed refund that did not happen: Telegram refused it, or gave no answer.
pub async fn settle_failed(
    pool: &Pool,
    order: OrderId,
    state: StarRefundState,
    error: &str,
) -> DomainResult<()> {
    let client = pool.get().await?;
    client
        .execute(
            "UPDATE star_refunds SET state = $2, error = $3, settled_at = now()
             WHERE order_id = $1 AND state = 'calling'",
            &[&order.get(), &state.as_str(), &error],
        )
        .await?;
    Ok(())
}

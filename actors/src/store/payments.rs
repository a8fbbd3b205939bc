//! Payment events as recorded: a redelivered event gets its first receipt.

use crate::domain::error::DomainError;
use crate::domain::error::DomainResult;
use crate::domain::payment::EventOutcome;
use crate::domain::payment::Receipt;
use deadpool_postgres::Pool;

pub(crate) async fn recorded(pool: &Pool, event_id: &str) -> DomainResult<Option<Receipt>> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT outcome, reason FROM payment_events WHERE event_id = $1",
            &[&event_id],
        )
        .await?;
    row.map(|row| {
        let outcome: String = row.try_get(0)?;
        Ok(Receipt {
            event_id: event_id.to_string(),
            outcome: EventOutcome::parse(&outcome)
                .ok_or_else(|| DomainError::Internal(format!("unknown outcome {outcome}")))?,
            reason: row.try_get(1)?,
            duplicate: true,
        })
    })
    .transpose()
}

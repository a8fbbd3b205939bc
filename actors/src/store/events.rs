//! The outbox's one insert: a batch's events, and a delivery for every active webhook
//! subscription that wants each one, in one statement inside the batch's transaction.

use crate::domain::events::EventDraft;
use deadpool_postgres::GenericClient;

/// Rows keep the order of `drafts` (`ORDER BY n`), so `seq` follows it.
const EVENTS_SQL: &str = "
WITH e AS (
    INSERT INTO events (type, stream, data)
    SELECT t, s, d FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS x(t, s, d, n)
    ORDER BY n
    RETURNING seq, type, stream
)
INSERT INTO webhook_deliveries (subscription_id, event_seq, stream)
SELECT w.id, e.seq, e.stream FROM e JOIN webhook_subscriptions w ON w.active AND e.type = ANY (w.events)";

/// Records `drafts` on `client`, inside the caller's transaction.
pub(crate) async fn record_all(
    client: &impl GenericClient,
    drafts: &[&EventDraft],
) -> Result<(), tokio_postgres::Error> {
    if drafts.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = drafts.iter().map(|d| d.kind.as_str()).collect();
    let streams: Vec<&str> = drafts.iter().map(|d| d.stream.as_str()).collect();
    let data: Vec<&serde_json::Value> = drafts.iter().map(|d| &d.data).collect();
    let stmt = client.prepare_cached(EVENTS_SQL).await?;
    client.execute(&stmt, &[&kinds, &streams, &data]).await?;
    Ok(())
}

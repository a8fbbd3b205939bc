//! The outbox's one insert: a batch's events, a delivery for every active webhook
//! subscription that wants each one, and the buyer's Telegram notifications, in one
//! statement inside the batch's transaction.

use crate::domain::events::EventDraft;
use deadpool_postgres::GenericClient;

/// Rows keep the order of `drafts` (`ORDER BY n`), so `seq` follows it. Each event is
/// queued for every active webhook subscription that wants its type; one that tells the
/// buyer something, and a restock its product's watchers, for their Telegram chats (unless
/// they blocked the bot).
const EVENTS_SQL: &str = "
WITH e AS (
    INSERT INTO events (type, stream, order_id, tells_buyer, data)
    SELECT t, s, o, b, d
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bool[], $5::jsonb[]) WITH ORDINALITY AS x(t, s, o, b, d, n)
    ORDER BY n
    RETURNING seq, type, stream, order_id, tells_buyer,
              CASE WHEN type = 'stock.restocked' THEN (data->>'product_id')::bigint END AS restocked
), back AS (
    -- Notify me: a restock takes its product's watches and tells each watcher once.
    DELETE FROM stock_watches w USING e
    WHERE w.product_id = e.restocked
    RETURNING w.user_id, e.seq
), told AS (
    INSERT INTO telegram_notifications (event_seq, chat_id)
    SELECT t.seq, u.telegram_id
    FROM (SELECT e.seq, o.user_id FROM e JOIN orders o ON o.id = e.order_id WHERE e.tells_buyer
          UNION ALL SELECT back.seq, back.user_id FROM back) t
    JOIN users u ON u.id = t.user_id
    WHERE u.telegram_id IS NOT NULL AND u.telegram_blocked_at IS NULL
    ON CONFLICT DO NOTHING
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
    let orders: Vec<Option<i64>> = drafts.iter().map(|d| d.order.map(|o| o.get())).collect();
    let tell: Vec<bool> = drafts.iter().map(|d| d.tells_buyer()).collect();
    let data: Vec<&serde_json::Value> = drafts.iter().map(|d| &d.data).collect();
    let stmt = client.prepare_cached(EVENTS_SQL).await?;
    client
        .execute(&stmt, &[&kinds, &streams, &orders, &tell, &data])
        .await?;
    Ok(())
}

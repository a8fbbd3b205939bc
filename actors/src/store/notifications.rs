//! The buyer's Telegram notifications, queued by the outbox (`store::events`): claimed by
//! the sender a few at a time, then marked sent, retried later, or failed.

use crate::domain::error::DomainResult;
use crate::domain::events::EventId;
use crate::domain::ids::{ProductId, UserId};
use crate::domain::model::Timestamp;
use deadpool_postgres::Pool;

/// A notification the sender has claimed.
#[derive(Debug, Clone)]
pub struct Notice {
    pub event: EventId,
    pub chat_id: i64,
    pub attempts: i32,
    pub kind: String,
    pub data: serde_json::Value,
    pub created_at: Timestamp,
    /// The product's name, for a restock.
    pub product_name: Option<String>,
}

/// Claims, for `hold`, the oldest pending notification of up to `limit` chats, none of
/// `resting` (chats written to within the last second: Telegram allows about one message
/// per second per chat). One per chat per round keeps each chat's messages in order.
pub async fn claim(
    pool: &Pool,
    limit: i64,
    hold: std::time::Duration,
    resting: &[i64],
) -> DomainResult<Vec<Notice>> {
    let client = pool.get().await?;
    let hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
    let stmt = client
        .prepare_cached(
            "WITH head AS (
                SELECT DISTINCT ON (n.chat_id) n.event_seq, n.chat_id
                FROM telegram_notifications n
                WHERE n.state = 'pending' AND NOT (n.chat_id = ANY ($3::bigint[]))
                ORDER BY n.chat_id, n.event_seq
            ), due AS (
                SELECT n.event_seq, n.chat_id FROM telegram_notifications n JOIN head USING (event_seq, chat_id)
                WHERE n.next_attempt_at <= now() AND (n.claimed_until IS NULL OR n.claimed_until < now())
                ORDER BY n.event_seq
                LIMIT $1
                FOR UPDATE OF n SKIP LOCKED
            )
            UPDATE telegram_notifications n SET claimed_until = now() + make_interval(secs => $2::bigint / 1000.0)
            FROM due, events e
            WHERE n.event_seq = due.event_seq AND n.chat_id = due.chat_id AND e.seq = n.event_seq
            RETURNING n.event_seq, n.chat_id, n.attempts, e.type, e.data, e.created_at,
                      (SELECT p.name FROM products p WHERE p.id = (e.data->>'product_id')::bigint)",
        )
        .await?;
    let rows = client.query(&stmt, &[&limit, &hold_ms, &resting]).await?;
    let mut notices = rows
        .iter()
        .map(|row| -> DomainResult<Notice> {
            Ok(Notice {
                event: EventId(row.try_get(0)?),
                chat_id: row.try_get(1)?,
                attempts: row.try_get(2)?,
                kind: row.try_get(3)?,
                data: row.try_get(4)?,
                created_at: row.try_get(5)?,
                product_name: row.try_get(6)?,
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    notices.sort_by_key(|n| n.event.0);
    Ok(notices)
}

/// What became of one notification.
#[derive(Debug, Clone)]
pub enum Sent {
    Sent,
    /// Try again then.
    Later(Timestamp, String),
    /// Given up: the retry horizon passed, or Telegram refused the message.
    Failed(String),
    /// The user blocked the bot: this and every other pending notification of the chat
    /// fail, and none is queued for the user until they write to the bot again.
    Blocked,
}

pub async fn record(pool: &Pool, notice: &Notice, sent: &Sent) -> DomainResult<()> {
    let client = pool.get().await?;
    let (seq, chat) = (notice.event.0, notice.chat_id);
    match sent {
        Sent::Sent => {
            client
                .execute(
                    "UPDATE telegram_notifications SET state = 'sent', sent_at = now(), attempts = attempts + 1,
                            claimed_until = NULL, last_error = NULL
                     WHERE event_seq = $1 AND chat_id = $2",
                    &[&seq, &chat],
                )
                .await?;
        }
        Sent::Later(at, error) => {
            client
                .execute(
                    "UPDATE telegram_notifications SET attempts = attempts + 1, next_attempt_at = $3,
                            claimed_until = NULL, last_error = $4
                     WHERE event_seq = $1 AND chat_id = $2",
                    &[&seq, &chat, at, error],
                )
                .await?;
        }
        Sent::Failed(error) => {
            client
                .execute(
                    "UPDATE telegram_notifications SET state = 'failed', attempts = attempts + 1,
                            claimed_until = NULL, last_error = $3
                     WHERE event_seq = $1 AND chat_id = $2",
                    &[&seq, &chat, error],
                )
                .await?;
        }
        Sent::Blocked => {
            client
                .execute(
                    "WITH u AS (
                        UPDATE users SET telegram_blocked_at = now()
                        WHERE telegram_id = $1 AND telegram_blocked_at IS NULL
                    )
                    UPDATE telegram_notifications SET state = 'failed', claimed_until = NULL,
                           attempts = attempts + CASE WHEN event_seq = $2 THEN 1 ELSE 0 END,
                           last_error = 'the user blocked the bot'
                    WHERE chat_id = $1 AND state = 'pending'",
                    &[&chat, &seq],
                )
                .await?;
        }
    }
    Ok(())
}

/// "Notify me": `user` hears once when `product` is restocked. Answers false if they were
/// already waiting for it.
pub async fn watch(pool: &Pool, user: UserId, product: ProductId) -> DomainResult<bool> {
    let client = pool.get().await?;
    let added = client
        .execute(
            "INSERT INTO stock_watches (user_id, product_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&user.get(), &product.get()],
        )
        .await?;
    Ok(added == 1)
}

/// Whether `user` waits for `product` to be restocked.
pub async fn watching(pool: &Pool, user: UserId, product: ProductId) -> DomainResult<bool> {
    let client = pool.get().await?;
    Ok(client
        .query_opt(
            "SELECT 1 FROM stock_watches WHERE user_id = $1 AND product_id = $2",
            &[&user.get(), &product.get()],
        )
        .await?
        .is_some())
}

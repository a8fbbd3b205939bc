//! The bot's Telegram notifications (a buyer's order news, a restock, an admin's broadcast),
//! queued by the outbox (`store::events`, `store::broadcasts`): claimed by the sender a few
//! at a time, then marked sent, retried later, failed, or unknown.
//!
//! Telegram takes no idempotency key, so a notification is sent at most once: the claim
//! marks it `sending` before the call, and one whose answer never came (the sender died,
//! or the call timed out after reaching Telegram) becomes `unknown`, never sent again.

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
    /// The language the recipient chose in the bot (`users.language`, by the chat's
    /// Telegram id), else the one their Telegram app spoke when they last wrote: the notice
    /// is written in it.
    pub language: Option<String>,
}

/// Why a notification to a user who blocked the bot failed; broadcasts count these apart.
pub const BLOCKED: &str = "the user blocked the bot";
const INTERRUPTED: &str =
    "the sender stopped before Telegram answered; perhaps delivered, so not sent again";

/// Claims, for `hold`, the oldest pending notification of up to `limit` chats, none of
/// `resting` (chats written to within the last second: Telegram allows about one message
/// per second per chat), and marks them `sending`. One per chat per round, and none for a
/// chat with a send in flight, keeps each chat's messages in order. Sends whose claim ran
/// out without an answer (their sender died) become `unknown` first.
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
            "WITH lost AS (
                UPDATE telegram_notifications SET state = 'unknown', claimed_until = NULL, last_error = $4
                WHERE state = 'sending' AND claimed_until < now()
            ), head AS (
                SELECT DISTINCT ON (n.chat_id) n.event_seq, n.chat_id, n.state
                FROM telegram_notifications n
                WHERE n.state IN ('pending', 'sending') AND NOT (n.chat_id = ANY ($3::bigint[]))
                ORDER BY n.chat_id, n.event_seq
            ), due AS (
                SELECT n.event_seq, n.chat_id FROM telegram_notifications n JOIN head USING (event_seq, chat_id)
                WHERE head.state = 'pending' AND n.next_attempt_at <= now()
                ORDER BY n.event_seq
                LIMIT $1
                FOR UPDATE OF n SKIP LOCKED
            )
            UPDATE telegram_notifications n SET state = 'sending', attempts = n.attempts + 1,
                   claimed_until = now() + make_interval(secs => $2::bigint / 1000.0)
            FROM due, events e
            WHERE n.event_seq = due.event_seq AND n.chat_id = due.chat_id AND e.seq = n.event_seq
            RETURNING n.event_seq, n.chat_id, n.attempts, e.type, e.data, e.created_at,
                      (SELECT p.name FROM products p WHERE p.id = (e.data->>'product_id')::bigint),
                      (SELECT coalesce(u.language, u.telegram_language) FROM users u
                       WHERE u.telegram_id = n.chat_id)",
        )
        .await?;
    let rows = client
        .query(&stmt, &[&limit, &hold_ms, &resting, &INTERRUPTED])
        .await?;
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
                language: row.try_get(7)?,
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
    /// No answer came after the request may have reached Telegram: not sent again.
    Unknown(String),
}

pub async fn record(pool: &Pool, notice: &Notice, sent: &Sent) -> DomainResult<()> {
    let client = pool.get().await?;
    let (seq, chat) = (notice.event.0, notice.chat_id);
    match sent {
        Sent::Sent => {
            client
                .execute(
                    "UPDATE telegram_notifications SET state = 'sent', sent_at = now(),
                            claimed_until = NULL, last_error = NULL
                     WHERE event_seq = $1 AND chat_id = $2",
                    &[&seq, &chat],
                )
                .await?;
        }
        Sent::Later(at, error) => {
            client
                .execute(
                    "UPDATE telegram_notifications SET state = 'pending', next_attempt_at = $3,
                            claimed_until = NULL, last_error = $4
                     WHERE event_seq = $1 AND chat_id = $2",
                    &[&seq, &chat, at, error],
                )
                .await?;
        }
        Sent::Failed(error) => {
            client
                .execute(
                    "UPDATE telegram_notifications SET state = 'failed',
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
                    UPDATE telegram_notifications SET state = 'failed', claimed_until = NULL, last_error = $3
                    WHERE chat_id = $1 AND (state = 'pending' OR (state = 'sending' AND event_seq = $2))",
                    &[&chat, &seq, &BLOCKED],
                )
                .await?;
        }
        Sent::Unknown(error) => {
            client
                .execute(
                    "UPDATE telegram_notifications SET state = 'unknown', claimed_until = NULL, last_error = $3
                     WHERE event_seq = $1 AND chat_id = $2",
                    &[&seq, &chat, error],
                )
                .await?;
        }
    }
    Ok(())
}

/// At the start of a single node, no other sender can be mid-call: every notification
/// left `sending` was cut off by the previous process and is `unknown` now, not a minute
/// later when its claim would run out. Answers how many.
pub async fn interrupted(pool: &Pool) -> DomainResult<u64> {
    let client = pool.get().await?;
    Ok(client
        .execute(
            "UPDATE telegram_notifications SET state = 'unknown', claimed_until = NULL, last_error = $1
             WHERE state = 'sending'",
            &[&INTERRUPTED],
        )
        .await?)
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

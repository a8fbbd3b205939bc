//! Admins' broadcasts: a draft per composing update, confirmed into the outbox (its event
//! and a notification for every bot user, in one transaction), and finished with a report
//! to its admin once no recipient is left. The Telegram sender (`notify`) sends them with
//! the buyers' notifications, under the same limits.

use crate::domain::broadcast::{
    BroadcastReport, BroadcastState, BroadcastText, BROADCAST_KIND, REPORT_KIND,
};
use crate::domain::error::{DomainError, DomainResult};
use crate::store::notifications::BLOCKED;
use deadpool_postgres::{GenericClient, Pool};

/// A broadcast as its admin previews it.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: i64,
    pub state: BroadcastState,
    pub text: String,
    /// Bot users it would go to, and those skipped because they blocked the bot.
    pub recipients: i64,
    pub blocked: i64,
}

/// Keeps `text` as a draft of the admin in `admin_chat`, composed by update `update_id`:
/// a redelivered update answers the same draft.
pub async fn draft(
    pool: &Pool,
    update_id: i64,
    admin_chat: i64,
    text: &BroadcastText,
) -> DomainResult<Draft> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "INSERT INTO broadcasts (update_id, admin_chat, text) VALUES ($1, $2, $3)
             ON CONFLICT (update_id) DO UPDATE SET update_id = EXCLUDED.update_id
             RETURNING id, state, text",
            &[&update_id, &admin_chat, &text.as_str()],
        )
        .await?;
    let (recipients, blocked) = audience(&client).await?;
    Ok(Draft {
        id: row.try_get(0)?,
        state: state_of(row.try_get(1)?)?,
        text: row.try_get(2)?,
        recipients,
        blocked,
    })
}

/// Bot users a broadcast reaches, and those it skips (they blocked the bot).
async fn audience(client: &impl GenericClient) -> DomainResult<(i64, i64)> {
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE telegram_blocked_at IS NULL),
                    count(*) FILTER (WHERE telegram_blocked_at IS NOT NULL)
             FROM users WHERE telegram_id IS NOT NULL",
            &[],
        )
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

fn state_of(raw: &str) -> DomainResult<BroadcastState> {
    BroadcastState::parse(raw)
        .ok_or_else(|| DomainError::Internal(format!("unknown broadcast state {raw}")))
}

/// What asking to move a broadcast came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// Moved; for a confirmation, the recipients queued.
    Now { queued: i64 },
    /// It was already past that point (a second press, a redelivered update).
    Already(BroadcastState),
}

/// Moves broadcast `id` of `admin_chat` to `to` if the transition table allows it from
/// where it is. Confirming (to `Sending`) queues it in the same transaction: its event, and
/// a notification for every bot user (those who blocked the bot are recorded as failed at
/// once, not sent).
pub async fn move_to(
    pool: &Pool,
    id: i64,
    admin_chat: i64,
    to: BroadcastState,
) -> DomainResult<Moved> {
    let from: Vec<&str> = BroadcastState::ALL
        .into_iter()
        .filter(|s| s.can_move_to(to))
        .map(BroadcastState::as_str)
        .collect();
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let moved = tx
        .query_opt(
            "UPDATE broadcasts SET state = $3,
                    confirmed_at = CASE WHEN $3 = 'sending' THEN now() END
             WHERE id = $1 AND admin_chat = $2 AND state = ANY ($4)
             RETURNING text",
            &[&id, &admin_chat, &to.as_str(), &from],
        )
        .await?;
    let Some(row) = moved else {
        let state = tx
            .query_opt(
                "SELECT state FROM broadcasts WHERE id = $1 AND admin_chat = $2",
                &[&id, &admin_chat],
            )
            .await?
            .ok_or(DomainError::NotFound {
                entity: "broadcast",
                id,
            })?;
        return Ok(Moved::Already(state_of(state.try_get(0)?)?));
    };
    let mut queued = 0;
    if to == BroadcastState::Sending {
        let text: String = row.try_get(0)?;
        let data = serde_json::json!({ "broadcast_id": id, "text": text });
        let row = tx
            .query_one(
                "WITH e AS (
                    INSERT INTO events (type, stream, data) VALUES ($1, 'broadcast:' || $2::bigint, $3)
                    RETURNING seq
                 ), b AS (
                    UPDATE broadcasts SET event_seq = e.seq FROM e WHERE id = $2
                 ), q AS (
                    INSERT INTO telegram_notifications (event_seq, chat_id, state, last_error)
                    SELECT e.seq, u.telegram_id,
                           CASE WHEN u.telegram_blocked_at IS NULL THEN 'pending' ELSE 'failed' END,
                           CASE WHEN u.telegram_blocked_at IS NULL THEN NULL ELSE $4 END
                    FROM e, users u WHERE u.telegram_id IS NOT NULL
                    ON CONFLICT DO NOTHING
                    RETURNING state
                 )
                 SELECT count(*) FILTER (WHERE state = 'pending') FROM q",
                &[&BROADCAST_KIND, &id, &data, &BLOCKED],
            )
            .await?;
        queued = row.try_get(0)?;
    }
    tx.commit().await?;
    Ok(Moved::Now { queued })
}

/// Finishes every broadcast that has no recipient left to send to: marks it done and
/// queues its report for its admin's chat, in one statement, so a report is sent once
/// even when several senders look at the same moment. Answers the reports.
pub async fn finish(pool: &Pool) -> DomainResult<Vec<BroadcastReport>> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "WITH done AS (
                UPDATE broadcasts b SET state = 'done', finished_at = now()
                WHERE b.state = 'sending' AND NOT EXISTS (
                    SELECT 1 FROM telegram_notifications n
                    WHERE n.event_seq = b.event_seq AND n.state IN ('pending', 'sending'))
                RETURNING b.id, b.event_seq, b.admin_chat
            ), counts AS (
                SELECT d.id, d.admin_chat,
                       count(n.*) FILTER (WHERE n.state = 'sent') AS sent,
                       count(n.*) FILTER (WHERE n.state = 'failed') AS failed,
                       count(n.*) FILTER (WHERE n.state = 'failed' AND n.last_error = $2) AS blocked,
                       count(n.*) FILTER (WHERE n.state = 'unknown') AS unknown
                FROM done d LEFT JOIN telegram_notifications n ON n.event_seq = d.event_seq
                GROUP BY d.id, d.admin_chat
            ), e AS (
                INSERT INTO events (type, stream, data)
                SELECT $1, 'broadcast:' || c.id,
                       jsonb_build_object('broadcast_id', c.id, 'sent', c.sent, 'failed', c.failed,
                                          'blocked', c.blocked, 'unknown', c.unknown)
                FROM counts c
                RETURNING seq, (data->>'broadcast_id')::bigint AS id
            ), told AS (
                INSERT INTO telegram_notifications (event_seq, chat_id)
                SELECT e.seq, c.admin_chat FROM e JOIN counts c USING (id)
            )
            SELECT id, sent, failed, blocked, unknown FROM counts ORDER BY id",
        )
        .await?;
    let rows = client.query(&stmt, &[&REPORT_KIND, &BLOCKED]).await?;
    rows.iter()
        .map(|row| {
            Ok(BroadcastReport {
                broadcast_id: row.try_get(0)?,
                sent: row.try_get(1)?,
                failed: row.try_get(2)?,
                blocked: row.try_get(3)?,
                unknown: row.try_get(4)?,
            })
        })
        .collect()
}

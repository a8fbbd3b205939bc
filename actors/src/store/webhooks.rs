//! Webhook subscriptions, their deliveries and attempts; the admin's view of them and the
//! dispatcher's: claim what is due, record what each attempt came to, give back what it
//! cannot send, and write the deliveries a node that died was holding (`recover`).
//!
//! A delivery handed to its node's dispatcher in memory as its event commits
//! (`store::events`) gets its row only when it is settled: delivered, to be retried, or
//! given back to polling. The others get theirs in the event's own transaction.

use super::{Page, PageRequest};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::events::EventId;
use crate::domain::model::Timestamp;
use deadpool_postgres::Pool;
use std::collections::HashMap;
use tokio_postgres::Row;

/// A subscription as the admin API shows it (never its secret, which is shown once).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Set while a delivery has given up after the retry horizon; cleared by the next success.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub failing_since: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, url, events, description, active, failing_since, created_at, updated_at";

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound {
        entity: "webhook subscription",
        id,
    }
}

fn subscription(row: &Row) -> DomainResult<Subscription> {
    Ok(Subscription {
        id: row.try_get(0)?,
        url: row.try_get(1)?,
        events: row.try_get(2)?,
        description: row.try_get(3)?,
        active: row.try_get(4)?,
        failing_since: row.try_get(5)?,
        created_at: row.try_get(6)?,
        updated_at: row.try_get(7)?,
    })
}

/// A new subscription's fields, checked by the caller.
pub struct NewSubscription<'a> {
    pub url: &'a str,
    pub events: &'a [String],
    pub description: Option<&'a str>,
    pub secret: &'a str,
}

/// A new subscription hears of events from now on: the ones before are settled for it.
pub async fn create(pool: &Pool, new: &NewSubscription<'_>) -> DomainResult<Subscription> {
    let client = pool.get().await?;
    let sql = format!(
        "INSERT INTO webhook_subscriptions (url, events, description, secret, settled_through)
         VALUES ($1, $2, $3, $4, (SELECT coalesce(max(seq), 0) FROM events))
         RETURNING {SUBSCRIPTION_COLUMNS}"
    );
    let row = client
        .query_one(
            &sql,
            &[&new.url, &new.events, &new.description, &new.secret],
        )
        .await?;
    subscription(&row)
}

pub async fn get(pool: &Pool, id: i64) -> DomainResult<Subscription> {
    let client = pool.get().await?;
    let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1");
    match client.query_opt(&sql, &[&id]).await? {
        Some(row) => subscription(&row),
        None => Err(not_found(id)),
    }
}

pub async fn list(pool: &Pool, page: PageRequest) -> DomainResult<Page<Subscription>> {
    let client = pool.get().await?;
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id > $1 ORDER BY id LIMIT $2"
    );
    let rows = client
        .query(&sql, &[&page.after.unwrap_or(0), &(page.limit + 1)])
        .await?;
    let items = rows
        .iter()
        .map(subscription)
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |s| s.id))
}

/// What a PATCH changes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

pub async fn update(pool: &Pool, id: i64, patch: &SubscriptionPatch) -> DomainResult<Subscription> {
    let client = pool.get().await?;
    let sql = format!(
        // Resuming does not send what happened while paused.
        "UPDATE webhook_subscriptions SET url = coalesce($2, url), events = coalesce($3, events),
                description = CASE WHEN $4 THEN $5 ELSE description END,
                settled_through = CASE WHEN $6 AND NOT active
                                       THEN greatest(settled_through, (SELECT coalesce(max(seq), 0) FROM events))
                                       ELSE settled_through END,
                active = coalesce($6, active), updated_at = now()
         WHERE id = $1 RETURNING {SUBSCRIPTION_COLUMNS}"
    );
    let description = patch.description.clone().flatten();
    match client
        .query_opt(
            &sql,
            &[
                &id,
                &patch.url,
                &patch.events,
                &patch.description.is_some(),
                &description,
                &patch.active,
            ],
        )
        .await?
    {
        Some(row) => subscription(&row),
        None => Err(not_found(id)),
    }
}

/// Deletes the subscription with its deliveries and their attempts (no foreign key does it:
/// see `sql/0013_webhook_handoffs.sql`).
pub async fn delete(pool: &Pool, id: i64) -> DomainResult<()> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "WITH a AS (DELETE FROM webhook_attempts WHERE subscription_id = $1),
                  d AS (DELETE FROM webhook_deliveries WHERE subscription_id = $1),
                  s AS (DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING 1)
             SELECT count(*) FROM s",
            &[&id],
        )
        .await?;
    if row.try_get::<_, i64>(0)? == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// One delivery of one event to one subscription, with its attempts.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Delivery {
    #[schema(value_type = String, example = "evt_42")]
    pub event_id: EventId,
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending` (waiting for its next attempt), `delivered` or `failed` (gave up).
    pub state: String,
    pub attempts: i32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub attempt_log: Vec<Attempt>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Attempt {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The receiver's HTTP status; `null` when no answer came (refused, timed out).
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

/// The subscription's deliveries, newest first, each with its attempts.
pub async fn deliveries(
    pool: &Pool,
    subscription: i64,
    page: PageRequest,
) -> DomainResult<Page<Delivery>> {
    get(pool, subscription).await?;
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT e.seq, e.type, d.state, d.attempts, d.next_attempt_at, d.delivered_at, d.last_error,
                    coalesce((SELECT json_agg(x ORDER BY x.at) FROM (
                                  SELECT a.at, a.status_code, a.latency_ms, a.error FROM webhook_attempts a
                                  WHERE a.subscription_id = d.subscription_id AND a.event_seq = d.event_seq
                                  UNION ALL
                                  SELECT d.delivered_at, d.delivered_status, d.delivered_latency_ms, NULL
                                  WHERE d.state = 'delivered') x), '[]')
             FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
             WHERE d.subscription_id = $1 AND d.event_seq < $2
             ORDER BY d.event_seq DESC LIMIT $3",
            &[&subscription, &page.after.unwrap_or(i64::MAX), &(page.limit + 1)],
        )
        .await?;
    let items = rows
        .iter()
        .map(|row| -> DomainResult<Delivery> {
            let state: String = row.try_get(2)?;
            let attempts: serde_json::Value = row.try_get(7)?;
            Ok(Delivery {
                event_id: EventId(row.try_get(0)?),
                kind: row.try_get(1)?,
                next_attempt_at: if state == "pending" {
                    row.try_get(4)?
                } else {
                    None
                },
                state,
                attempts: row.try_get(3)?,
                delivered_at: row.try_get(5)?,
                last_error: row.try_get(6)?,
                attempt_log: attempts_of(attempts)?,
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |d| d.event_id.0))
}

fn attempts_of(value: serde_json::Value) -> DomainResult<Vec<Attempt>> {
    #[derive(serde::Deserialize)]
    struct Raw {
        at: Timestamp,
        status_code: Option<i32>,
        latency_ms: i32,
        error: Option<String>,
    }
    let raw: Vec<Raw> = serde_json::from_value(value)
        .map_err(|e| DomainError::Internal(format!("attempt log: {e}")))?;
    Ok(raw
        .into_iter()
        .map(|r| Attempt {
            at: r.at,
            status_code: r.status_code,
            latency_ms: r.latency_ms,
            error: r.error,
        })
        .collect())
}

/// Sends `event` to `subscription` again from now, whatever became of its delivery; a
/// delivered one is sent once more (the receiver drops it by its id if it has it).
/// `false` when the event is not one of the subscription's types (or no longer kept).
pub async fn retry(pool: &Pool, subscription: i64, event: EventId) -> DomainResult<bool> {
    get(pool, subscription).await?;
    let client = pool.get().await?;
    let changed = client
        .execute(
            "INSERT INTO webhook_deliveries (subscription_id, event_seq, stream)
             SELECT w.id, e.seq, e.stream FROM webhook_subscriptions w, events e
             WHERE w.id = $1 AND e.seq = $2 AND e.type = ANY (w.events)
             ON CONFLICT (subscription_id, event_seq) DO UPDATE
             SET state = 'pending', next_attempt_at = now(), claimed_until = NULL",
            &[&subscription, &event.0],
        )
        .await?;
    Ok(changed > 0)
}

/// A delivery the dispatcher has claimed: what to send and where.
#[derive(Debug, Clone)]
pub struct Due {
    pub subscription: i64,
    pub stream: String,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    pub event_id: EventId,
    pub kind: String,
    pub created_at: Timestamp,
    pub data: std::sync::Arc<serde_json::Value>,
}

/// Claims up to `limit` due deliveries for `hold` (a dispatcher that dies holding them
/// frees them when it runs out), at most `each` per subscription, or its entry in `free`
/// for the subscriptions listed there (those with attempts in flight). A delivery is due
/// when its time has come and no earlier delivery of its stream to the same subscription
/// is still pending: the events of one order reach each receiver in commit order.
pub async fn claim(
    pool: &Pool,
    limit: i64,
    hold: std::time::Duration,
    each: i32,
    free: &[(i64, i32)],
) -> DomainResult<Vec<Due>> {
    let client = pool.get().await?;
    let hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
    let stmt = client
        .prepare_cached(
            "WITH f AS (
                SELECT * FROM unnest($3::bigint[], $4::int[]) AS f(sub, free)
            ), c AS (
                SELECT d.subscription_id, d.event_seq FROM webhook_deliveries d
                WHERE d.state = 'pending' AND d.next_attempt_at <= now()
                  AND (d.claimed_until IS NULL OR d.claimed_until < now())
                  AND NOT EXISTS (SELECT 1 FROM f WHERE f.sub = d.subscription_id AND f.free <= 0)
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                                  WHERE p.subscription_id = d.subscription_id AND p.stream = d.stream
                                    AND p.state = 'pending' AND p.event_seq < d.event_seq)
                ORDER BY d.event_seq
                LIMIT $1
                FOR UPDATE SKIP LOCKED
            ), due AS (
                -- Rows locked above but past their subscription's share stay as they were.
                SELECT c.subscription_id, c.event_seq,
                       row_number() OVER (PARTITION BY c.subscription_id ORDER BY c.event_seq) AS n
                FROM c
            )
            UPDATE webhook_deliveries d SET claimed_until = now() + make_interval(secs => $2::bigint / 1000.0)
            FROM due LEFT JOIN f ON f.sub = due.subscription_id, events e, webhook_subscriptions w
            WHERE d.subscription_id = due.subscription_id AND d.event_seq = due.event_seq
              AND due.n <= coalesce(f.free, $5::int)
              AND e.seq = d.event_seq AND w.id = d.subscription_id
            RETURNING d.subscription_id, d.event_seq, d.attempts, w.url, w.secret, e.type, e.created_at, e.data, d.stream",
        )
        .await?;
    let (subs, counts): (Vec<i64>, Vec<i32>) = free.iter().copied().unzip();
    let rows = client
        .query(&stmt, &[&limit, &hold_ms, &subs, &counts, &each])
        .await?;
    let mut due = rows
        .iter()
        .map(|row| -> DomainResult<Due> {
            Ok(Due {
                subscription: row.try_get(0)?,
                stream: row.try_get(8)?,
                attempts: row.try_get(2)?,
                url: row.try_get(3)?,
                secret: row.try_get(4)?,
                event_id: EventId(row.try_get(1)?),
                kind: row.try_get(5)?,
                created_at: row.try_get(6)?,
                data: std::sync::Arc::new(row.try_get(7)?),
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    due.sort_by_key(|d| d.event_id.0);
    Ok(due)
}

/// Where a delivery stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// To be tried again at its `next_attempt_at`.
    Pending,
    Delivered,
    /// Given up after the retry horizon.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Sent {
    pub subscription: i64,
    pub event: EventId,
    pub stream: String,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub state: DeliveryState,
    pub next_attempt_at: Option<Timestamp>,
}

/// Records a round of attempts in one statement: each delivery's new state (its row is
/// written now if it was a hand-off), its attempt row if it failed, and its subscription's
/// failing mark (set by a delivery that gave up, cleared by one that arrived).
pub async fn record(pool: &Pool, sent: &[Sent]) -> DomainResult<()> {
    // One row may be written once per statement: the last attempt of a delivery wins (it
    // could be sent twice at once when polling took a hand-off its node held too long).
    let mut last: HashMap<(i64, i64), &Sent> = HashMap::new();
    for s in sent {
        last.insert((s.subscription, s.event.0), s);
    }
    if last.is_empty() {
        return Ok(());
    }
    let sent: Vec<&Sent> = last.into_values().collect();
    let client = pool.get().await?;
    let subs: Vec<i64> = sent.iter().map(|s| s.subscription).collect();
    let seqs: Vec<i64> = sent.iter().map(|s| s.event.0).collect();
    let streams: Vec<&str> = sent.iter().map(|s| s.stream.as_str()).collect();
    let codes: Vec<Option<i32>> = sent.iter().map(|s| s.status_code).collect();
    let latencies: Vec<i32> = sent.iter().map(|s| s.latency_ms).collect();
    let errors: Vec<Option<&str>> = sent.iter().map(|s| s.error.as_deref()).collect();
    let states: Vec<&str> = sent.iter().map(|s| s.state.as_str()).collect();
    let next: Vec<Option<Timestamp>> = sent.iter().map(|s| s.next_attempt_at).collect();
    let stmt = client
        .prepare_cached(
            "WITH r AS (
                SELECT r.* FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::int[],
                                       $6::text[], $7::text[], $8::timestamptz[])
                    AS r(sub, seq, stream, code, latency, error, state, next_at)
                -- A subscription deleted meanwhile took its deliveries with it.
                JOIN webhook_subscriptions w ON w.id = r.sub
            ), d AS (
                INSERT INTO webhook_deliveries AS d
                    (subscription_id, event_seq, stream, state, attempts, next_attempt_at,
                     delivered_at, delivered_status, delivered_latency_ms, last_error)
                SELECT r.sub, r.seq, r.stream, r.state, 1, coalesce(r.next_at, now()),
                       CASE WHEN r.state = 'delivered' THEN now() END,
                       CASE WHEN r.state = 'delivered' THEN r.code END,
                       CASE WHEN r.state = 'delivered' THEN r.latency END,
                       r.error
                FROM r
                ON CONFLICT (subscription_id, event_seq) DO UPDATE
                SET state = EXCLUDED.state, attempts = d.attempts + 1, claimed_until = NULL,
                    next_attempt_at = EXCLUDED.next_attempt_at,
                    delivered_at = coalesce(EXCLUDED.delivered_at, d.delivered_at),
                    delivered_status = coalesce(EXCLUDED.delivered_status, d.delivered_status),
                    delivered_latency_ms = coalesce(EXCLUDED.delivered_latency_ms, d.delivered_latency_ms),
                    last_error = EXCLUDED.last_error
                RETURNING d.subscription_id, d.event_seq
            ), a AS (
                INSERT INTO webhook_attempts (subscription_id, event_seq, status_code, latency_ms, error)
                SELECT r.sub, r.seq, r.code, r.latency, r.error
                FROM r JOIN d ON d.subscription_id = r.sub AND d.event_seq = r.seq
                WHERE r.state <> 'delivered'
            )
            UPDATE webhook_subscriptions w
            SET failing_since = CASE WHEN x.failed THEN coalesce(w.failing_since, now()) ELSE NULL END
            FROM (SELECT sub, bool_or(state = 'failed') AS failed, bool_or(state = 'delivered') AS arrived
                  FROM r GROUP BY sub) x
            WHERE w.id = x.sub AND (x.failed OR (x.arrived AND w.failing_since IS NOT NULL))",
        )
        .await?;
    client
        .execute(
            &stmt,
            &[
                &subs, &seqs, &streams, &codes, &latencies, &errors, &states, &next,
            ],
        )
        .await?;
    Ok(())
}

/// Deliveries waiting to be sent, and how long the oldest of them has waited.
pub async fn pending(pool: &Pool) -> DomainResult<(i64, f64)> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(e.created_at))::float8, 0)
             FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.state = 'pending'",
            &[],
        )
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Deletes events older than `keep` that no delivery or notification still waits for,
/// with their deliveries and attempts. Answers how many events went.
pub async fn prune(pool: &Pool, keep: std::time::Duration) -> DomainResult<u64> {
    let client = pool.get().await?;
    let secs = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    let row = client
        .query_one(
            "WITH gone AS (
                DELETE FROM events e WHERE e.created_at < now() - make_interval(secs => $1::bigint)
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = e.seq AND d.state = 'pending')
                   AND NOT EXISTS (SELECT 1 FROM telegram_notifications n WHERE n.event_seq = e.seq AND n.state IN ('pending', 'sending'))
                RETURNING e.seq
             ), d AS (
                DELETE FROM webhook_deliveries d USING gone WHERE d.event_seq = gone.seq
             ), a AS (
                DELETE FROM webhook_attempts a USING gone WHERE a.event_seq = gone.seq
             )
             SELECT count(*) FROM gone",
            &[&secs],
        )
        .await?;
    Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
}

/// Gives hand-offs this node's dispatcher cannot send now (its receiver failed or falls
/// behind) to polling: each gets its pending row, behind any earlier one of its stream.
pub async fn release(pool: &Pool, deliveries: &[(i64, EventId, String)]) -> DomainResult<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let client = pool.get().await?;
    let subs: Vec<i64> = deliveries.iter().map(|(s, _, _)| *s).collect();
    let seqs: Vec<i64> = deliveries.iter().map(|(_, e, _)| e.0).collect();
    let streams: Vec<&str> = deliveries.iter().map(|(_, _, s)| s.as_str()).collect();
    let stmt = client
        .prepare_cached(
            "INSERT INTO webhook_deliveries (subscription_id, event_seq, stream)
             SELECT r.sub, r.seq, r.stream
             FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS r(sub, seq, stream)
             JOIN webhook_subscriptions w ON w.id = r.sub
             ON CONFLICT DO NOTHING",
        )
        .await?;
    client.execute(&stmt, &[&subs, &seqs, &streams]).await?;
    Ok(())
}

/// Writes the pending delivery of every event up to `horizon` that matches an active
/// subscription and has none: its node's dispatcher died holding it (hand-offs are
/// settled long before `horizon`, which is older than any can be). Then nothing up to
/// `horizon` is left without a row, for any subscription. Answers how many were written.
pub async fn recover(pool: &Pool, horizon: i64) -> DomainResult<u64> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "WITH lost AS (
                INSERT INTO webhook_deliveries (subscription_id, event_seq, stream)
                SELECT w.id, e.seq, e.stream
                FROM webhook_subscriptions w JOIN events e
                  ON e.seq > w.settled_through AND e.seq <= $1 AND e.type = ANY (w.events)
                WHERE w.active AND w.settled_through < $1
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                                  WHERE d.subscription_id = w.id AND d.event_seq = e.seq)
                ORDER BY e.seq
                ON CONFLICT DO NOTHING
                RETURNING 1
            ), settled AS (
                UPDATE webhook_subscriptions SET settled_through = $1 WHERE settled_through < $1
            )
            SELECT count(*) FROM lost",
        )
        .await?;
    let row = client.query_one(&stmt, &[&horizon]).await?;
    Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
}

/// The newest event's sequence number: a future `recover` horizon.
pub async fn newest_event(pool: &Pool) -> DomainResult<i64> {
    let client = pool.get().await?;
    let row = client
        .query_one("SELECT coalesce(max(seq), 0) FROM events", &[])
        .await?;
    Ok(row.try_get(0)?)
}

/// Where each active subscription's deliveries go: (id, url, secret).
pub async fn targets(pool: &Pool) -> DomainResult<Vec<(i64, String, String)>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT id, url, secret FROM webhook_subscriptions WHERE active",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// Gives every held delivery back to polling: a single node's claims from before a crash.
pub async fn release_all(pool: &Pool) -> DomainResult<u64> {
    let client = pool.get().await?;
    Ok(client
        .execute(
            "UPDATE webhook_deliveries SET claimed_until = NULL
             WHERE state = 'pending' AND claimed_until IS NOT NULL",
            &[],
        )
        .await?)
}

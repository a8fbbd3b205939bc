//! The outbox's one insert: a batch's events, a delivery for every active webhook
//! subscription that wants each one, and the buyer's Telegram notifications, in one
//! statement inside the batch's transaction.

use crate::domain::events::{EventDraft, EventId, EventType};
use crate::domain::model::Timestamp;
use deadpool_postgres::GenericClient;

/// Rows keep the order of `drafts` (`ORDER BY n`), so `seq` follows it. Each event is
/// queued for every active webhook subscription that wants its type; one that tells the
/// buyer something, and a restock its product's watchers, for their Telegram chats (unless
/// they blocked the bot). A delivery whose stream has no earlier one still pending for its
/// subscription is a hand-off when `$6`: after COMMIT it goes straight to this node's
/// dispatcher, which writes its row once it is settled (`store::webhooks::record`); if
/// this node dies first, `store::webhooks::recover` writes it later. The others get their
/// pending row here, for polling.
const EVENTS_SQL: &str = "
WITH e AS (
    INSERT INTO events (type, stream, order_id, tells_buyer, data)
    SELECT t, s, o, b, d
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bool[], $5::jsonb[]) WITH ORDINALITY AS x(t, s, o, b, d, n)
    ORDER BY n
    RETURNING seq, type, stream, order_id, tells_buyer, created_at,
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
), m AS (
    SELECT w.id AS subscription_id, e.seq AS event_seq, e.stream,
           $6::bool AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                                    WHERE p.subscription_id = w.id AND p.stream = e.stream AND p.state = 'pending')
               AS handed
    FROM e JOIN webhook_subscriptions w ON w.active AND e.type = ANY (w.events)
), d AS (
    INSERT INTO webhook_deliveries (subscription_id, event_seq, stream)
    SELECT subscription_id, event_seq, stream FROM m WHERE NOT handed
)
SELECT x.n, m.subscription_id, m.event_seq, x.type, x.stream, x.created_at, m.handed
FROM m JOIN (SELECT seq, type, stream, created_at, row_number() OVER (ORDER BY seq) AS n FROM e) x
    ON x.seq = m.event_seq
ORDER BY m.event_seq, m.subscription_id";

/// How old an event must be before a delivery of it with no row is taken as lost with its
/// node (`store::webhooks::recover`): longer than a dispatcher keeps a hand-off in memory
/// (a few attempts' time: it gives one back to polling when its receiver fails or falls
/// behind), and how late the hand-offs of a node that died are sent.
pub const HANDOFF_HOLD: std::time::Duration = std::time::Duration::from_secs(60);

/// A webhook delivery handed to this node's dispatcher as its event was recorded.
#[derive(Debug, Clone)]
pub struct Handoff {
    pub subscription: i64,
    pub event: EventId,
    pub kind: EventType,
    pub stream: String,
    pub created_at: Timestamp,
    /// Shared with the attempt that sends it: an order's data is not copied per delivery.
    pub data: std::sync::Arc<serde_json::Value>,
}

/// Records `drafts` on `client`, inside the caller's transaction; answers what they came
/// to, for the dispatcher once the transaction has committed.
pub(crate) async fn record_all(
    client: &impl GenericClient,
    drafts: &[&EventDraft],
    hand_over: bool,
) -> Result<Told, tokio_postgres::Error> {
    let mut told = Told {
        kinds: drafts.iter().map(|d| d.kind).collect(),
        ..Told::default()
    };
    if drafts.is_empty() {
        return Ok(told);
    }
    let kinds: Vec<&str> = drafts.iter().map(|d| d.kind.as_str()).collect();
    let streams: Vec<&str> = drafts.iter().map(|d| d.stream.as_str()).collect();
    let orders: Vec<Option<i64>> = drafts.iter().map(|d| d.order.map(|o| o.get())).collect();
    let tell: Vec<bool> = drafts.iter().map(|d| d.tells_buyer()).collect();
    let data: Vec<&serde_json::Value> = drafts.iter().map(|d| &*d.data).collect();
    let stmt = client.prepare_cached(EVENTS_SQL).await?;
    let rows = client
        .query(
            &stmt,
            &[&kinds, &streams, &orders, &tell, &data, &hand_over],
        )
        .await?;
    for row in rows {
        if !row.try_get::<_, bool>(6)? {
            told.polled = true;
            continue;
        }
        let n: i64 = row.try_get(0)?;
        let kind: &str = row.try_get(3)?;
        let stream: &str = row.try_get(4)?;
        // The n-th event inserted is the n-th draft (`ORDER BY n`); if that ever did not
        // hold, the delivery is simply left to polling (its claim runs out).
        let Some(draft) = usize::try_from(n - 1).ok().and_then(|i| drafts.get(i)) else {
            continue;
        };
        if draft.kind.as_str() != kind || draft.stream != stream {
            continue;
        }
        told.handoffs.push(Handoff {
            subscription: row.try_get(1)?,
            event: EventId(row.try_get(2)?),
            kind: draft.kind,
            stream: draft.stream.clone(),
            created_at: row.try_get(5)?,
            data: draft.data.clone(),
        });
    }
    Ok(told)
}

/// What a batch's events came to: their kinds (for the metric), the deliveries handed to
/// this node's dispatcher, and whether any was left for polling to find (a stream with an
/// earlier delivery still pending), which the dispatcher should then look for at once.
#[derive(Debug, Default)]
pub struct Told {
    pub kinds: Vec<EventType>,
    pub handoffs: Vec<Handoff>,
    pub polled: bool,
}

impl Told {
    pub fn add(&mut self, other: Told) {
        self.kinds.extend(other.kinds);
        self.handoffs.extend(other.handoffs);
        self.polled |= other.polled;
    }
}

/// Where a committed batch's deliveries go: the dispatcher's hand-offs, and its wake-up
/// to poll for those left in Postgres. A full channel drops hand-offs; their claims run
/// out and polling sends them.
#[derive(Clone)]
pub struct Outbox {
    pub wake: std::sync::Arc<tokio::sync::Notify>,
    pub handoffs: tokio::sync::mpsc::Sender<Vec<Handoff>>,
}

impl Outbox {
    /// An outbox nobody reads (tests of the group commit alone).
    pub fn unread() -> Outbox {
        let (handoffs, _) = tokio::sync::mpsc::channel(1);
        Outbox {
            wake: std::sync::Arc::new(tokio::sync::Notify::new()),
            handoffs,
        }
    }
}

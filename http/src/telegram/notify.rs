//! The bot's own messages: what the outbox queued for a Telegram chat (`store::
//! notifications`: a buyer's order news, a restock, an admin's broadcast and its report) is
//! sent here, within Telegram's limits (about 30 messages a second in all, one a second per
//! chat), each at most once: it is marked `sending` before the call, and a call whose answer
//! never came is not made again (Telegram has no idempotency key). A user who blocked the
//! bot (403) is not tried again; a call Telegram said it did not take (no connection, a 5xx,
//! a 429) is retried with backoff for a day.

use super::api::CallError;
use super::callback::Action;
use super::screens::{button, Screen};
use super::{money, Bot};
use deadpool_postgres::Pool;
use prometheus::{IntCounterVec, Opts, Registry};
use serde_json::{json, Value};
use souk_actors::domain::backoff::Backoff;
use souk_actors::domain::broadcast::{BroadcastReport, BROADCAST_KIND, REPORT_KIND};
use souk_actors::domain::events::EventType;
use souk_actors::store::broadcasts;
use souk_actors::store::notifications::{self, Notice, Sent};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Messages per second over all chats (Telegram's broadcast limit is about 30).
pub const PER_SECOND: f64 = 30.0;
/// Telegram allows about one message per second to one chat.
const PER_CHAT: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(100);
/// At most one tick's worth at once, so no second carries more than about `PER_SECOND`.
const BURST: f64 = PER_SECOND * TICK.as_secs_f64();
/// How often finished broadcasts are looked for (and their reports queued).
const FINISH_EVERY: Duration = Duration::from_secs(1);
/// A claim outlives a send's own retries; a send whose sender died becomes `unknown` after
/// this (a single node settles its own at start).
const HOLD: Duration = Duration::from_secs(60);
const RETRY: Backoff = Backoff {
    base: Duration::from_secs(2),
    cap: Duration::from_secs(600),
    horizon: Duration::from_secs(86_400),
};

/// What a notification may be about, and its outcomes: the metric's labels.
const KINDS: [&str; 7] = [
    EventType::OrderPaid.as_str(),
    EventType::OrderStatusChanged.as_str(),
    EventType::OrderCancelled.as_str(),
    EventType::OrderRefunded.as_str(),
    EventType::StockRestocked.as_str(),
    BROADCAST_KIND,
    REPORT_KIND,
];
const OUTCOMES: [&str; 5] = ["sent", "retry", "failed", "blocked", "unknown"];

pub struct Notifier {
    pub pool: Pool,
    pub bot: Arc<Bot>,
    pub currency: String,
    sent: IntCounterVec,
}

impl Notifier {
    pub fn new(
        pool: Pool,
        bot: Arc<Bot>,
        currency: String,
        registry: &Registry,
    ) -> prometheus::Result<Notifier> {
        let sent = IntCounterVec::new(
            Opts::new(
                "souk_telegram_notifications_total",
                "Notifications to buyers' Telegram chats by event type and outcome",
            ),
            &["kind", "outcome"],
        )?;
        for kind in KINDS {
            for outcome in OUTCOMES {
                sent.with_label_values(&[kind, outcome]);
            }
        }
        registry.register(Box::new(sent.clone()))?;
        Ok(Notifier {
            pool,
            bot,
            currency,
            sent,
        })
    }

    /// Sends until `stop`. A `sole` node (no cluster) first marks the sends its previous
    /// process left without an answer `unknown`, so a broadcast cut off midway finishes.
    pub async fn run(self, sole: bool, stop: CancellationToken) {
        if sole {
            match notifications::interrupted(&self.pool).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    notifications = n,
                    "Telegram sends cut off by the last stop are not sent again"
                ),
                Err(e) => tracing::warn!(error = %e, "could not settle interrupted Telegram sends"),
            }
        }
        let mut budget = BURST;
        let mut refilled = Instant::now();
        let mut finished = Instant::now();
        let mut last_sent: HashMap<i64, Instant> = HashMap::new();
        loop {
            budget = (budget + refilled.elapsed().as_secs_f64() * PER_SECOND).min(BURST);
            refilled = Instant::now();
            last_sent.retain(|_, at| at.elapsed() < PER_CHAT);
            if budget >= 1.0 {
                let resting: Vec<i64> = last_sent.keys().copied().collect();
                match notifications::claim(&self.pool, budget as i64, HOLD, &resting).await {
                    Ok(due) => {
                        budget -= due.len() as f64;
                        for notice in &due {
                            last_sent.insert(notice.chat_id, Instant::now());
                        }
                        let sends = due.iter().map(|n| self.send(n));
                        futures_util::future::join_all(sends).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "could not claim Telegram notifications"),
                }
            }
            if finished.elapsed() >= FINISH_EVERY {
                finished = Instant::now();
                match broadcasts::finish(&self.pool).await {
                    Ok(reports) => {
                        for r in reports {
                            tracing::info!(
                                broadcast = r.broadcast_id,
                                sent = r.sent,
                                failed = r.failed,
                                unknown = r.unknown,
                                "a broadcast finished"
                            );
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not finish broadcasts"),
                }
            }
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }

    async fn send(&self, notice: &Notice) {
        let outcome = match text(notice, &self.currency) {
            None => Sent::Failed(format!("no message for {}", notice.kind)),
            Some(text) => {
                let mut body = json!({ "chat_id": notice.chat_id, "text": text });
                // A restock opens the product's card, where "Add to cart" is.
                if let Some(product) = notice.data["product_id"]
                    .as_i64()
                    .and_then(souk_actors::domain::ids::ProductId::new)
                {
                    let view = button(
                        "View",
                        Action::Product {
                            id: product,
                            qty: 1,
                        },
                    );
                    body["reply_markup"] = Screen::text("").row(vec![view]).markup();
                }
                match self.bot.api.call_at_most_once("sendMessage", &body).await {
                    Ok(_) => Sent::Sent,
                    Err(CallError::Rejected {
                        code: Some(403), ..
                    }) => Sent::Blocked,
                    Err(CallError::Rejected { description, .. }) => Sent::Failed(description),
                    Err(e @ CallError::Unknown { .. }) => Sent::Unknown(e.to_string()),
                    Err(e) => {
                        // The claim counted this attempt.
                        let failed = u32::try_from(notice.attempts).unwrap_or(1);
                        let now = chrono::Utc::now();
                        match RETRY.retry_at(failed, notice.created_at, now, rand::random()) {
                            Some(at) => Sent::Later(at, e.to_string()),
                            None => Sent::Failed(e.to_string()),
                        }
                    }
                }
            }
        };
        let label = match &outcome {
            Sent::Sent => "sent",
            Sent::Later(..) => "retry",
            Sent::Failed(_) => "failed",
            Sent::Blocked => "blocked",
            Sent::Unknown(_) => "unknown",
        };
        let kind = KINDS
            .into_iter()
            .find(|k| *k == notice.kind)
            .unwrap_or("other");
        self.sent.with_label_values(&[kind, label]).inc();
        // Not recorded (Postgres away): the claim runs out and the notice becomes `unknown`,
        // never sent again (Telegram has no way to send one message exactly once).
        if let Err(e) = notifications::record(&self.pool, notice, &outcome).await {
            tracing::warn!(error = %e, chat = notice.chat_id, "a Telegram notification's outcome was not recorded");
        }
    }
}

/// The message a buyer reads; `None` for an event that tells the buyer nothing.
pub fn text(notice: &Notice, currency: &str) -> Option<String> {
    let d = &notice.data;
    match notice.kind.as_str() {
        BROADCAST_KIND => return d["text"].as_str().map(str::to_string),
        REPORT_KIND => return serde_json::from_value(d.clone()).ok().map(|r| report(&r)),
        _ => {}
    }
    let kind = EventType::parse(&notice.kind)?;
    if kind == EventType::StockRestocked {
        let name = notice
            .product_name
            .as_deref()
            .unwrap_or("A product you asked about");
        return Some(format!("🔔 {name} is back in stock."));
    }
    let order = d["order_id"].as_i64()?;
    let note = |d: &Value| {
        d["note"]
            .as_str()
            .filter(|n| !n.is_empty())
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    };
    match kind {
        EventType::OrderPaid => Some(format!(
            "💳 Payment received for order #{order}: {}. Thank you!",
            amount(d, currency)?
        )),
        EventType::OrderStatusChanged => match d["to"].as_str()? {
            "shipped" => Some(format!("📦 Order #{order} is on its way{}.", note(d))),
            "delivered" => Some(format!("✅ Order #{order} was delivered{}.", note(d))),
            _ => None,
        },
        EventType::OrderCancelled => {
            let refunded = d["refunded_minor"].as_i64().unwrap_or(0);
            let back = if refunded > 0 {
                format!(" {} went back to your wallet.", money(refunded, currency))
            } else {
                String::new()
            };
            Some(format!("❌ Order #{order} was cancelled{}.{back}", note(d)))
        }
        EventType::OrderRefunded => Some(match d["amount_stars"].as_i64() {
            Some(stars) => {
                format!("↩️ {stars} ⭐ of order #{order} went back to your Telegram Stars.")
            }
            None => format!(
                "↩️ {} of order #{order} was refunded to your wallet.",
                money(d["amount_minor"].as_i64()?, currency)
            ),
        }),
        _ => None,
    }
}

/// An event's amount as the buyer reads it: in Stars for an order paid in Stars.
fn amount(d: &Value, currency: &str) -> Option<String> {
    match d["amount_stars"].as_i64() {
        Some(stars) => Some(format!("{stars} ⭐")),
        None => Some(money(d["amount_minor"].as_i64()?, currency)),
    }
}

/// What the admin who sent a broadcast reads when it is done.
pub fn report(r: &BroadcastReport) -> String {
    let mut text = format!(
        "📣 Broadcast #{} finished: {} sent, {} failed",
        r.broadcast_id, r.sent, r.failed
    );
    if r.blocked > 0 {
        text.push_str(&format!(" ({} blocked the bot)", r.blocked));
    }
    if r.unknown > 0 {
        text.push_str(&format!(
            ", {} unknown (Souk stopped or Telegram did not answer while sending; perhaps delivered, so not sent again)",
            r.unknown
        ));
    }
    text.push('.');
    text
}

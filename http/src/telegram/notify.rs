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
use crate::i18n::{tr, Lang};
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
        // No conversation to take a language from: the one the recipient chose, else their
        // Telegram app's when they last wrote, else English.
        let lang = notice
            .language
            .as_deref()
            .and_then(Lang::from_tag)
            .unwrap_or_default();
        let outcome = match text(notice, &self.currency, lang) {
            None => Sent::Failed(format!("no message for {}", notice.kind)),
            Some(text) => {
                let mut body = json!({ "chat_id": notice.chat_id, "text": text });
                // A restock opens the product's card, where "Add to cart" is.
                if let Some(product) = notice.data["product_id"]
                    .as_i64()
                    .and_then(souk_actors::domain::ids::ProductId::new)
                {
                    let view = button(
                        tr(lang, "bot-notify-view", &[]),
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

/// The message a buyer reads, in `lang`; `None` for an event that tells the buyer nothing.
/// A broadcast is the admin's own text and goes out as written.
pub fn text(notice: &Notice, currency: &str, lang: Lang) -> Option<String> {
    let d = &notice.data;
    match notice.kind.as_str() {
        BROADCAST_KIND => return d["text"].as_str().map(str::to_string),
        REPORT_KIND => {
            return serde_json::from_value(d.clone())
                .ok()
                .map(|r| report(&r, lang))
        }
        _ => {}
    }
    let kind = EventType::parse(&notice.kind)?;
    if kind == EventType::StockRestocked {
        return Some(match notice.product_name.clone() {
            Some(name) => tr(lang, "bot-notify-restocked", &[("name", name.into())]),
            None => tr(lang, "bot-notify-restocked-unnamed", &[]),
        });
    }
    let order = ("order", d["order_id"].as_i64()?.into());
    // A staff note, when there is one, is said in brackets: its own form of the message.
    let with_note = |id: &str, with: &str| match d["note"].as_str().filter(|n| !n.is_empty()) {
        Some(note) => tr(lang, with, &[order.clone(), ("note", note.into())]),
        None => tr(lang, id, std::slice::from_ref(&order)),
    };
    match kind {
        EventType::OrderPaid => {
            let amount = ("amount", amount(d, currency, lang)?.into());
            Some(tr(lang, "bot-notify-paid", &[order.clone(), amount]))
        }
        EventType::OrderStatusChanged => match d["to"].as_str()? {
            "shipped" => Some(with_note("bot-notify-shipped", "bot-notify-shipped-note")),
            "delivered" => Some(with_note(
                "bot-notify-delivered",
                "bot-notify-delivered-note",
            )),
            _ => None,
        },
        EventType::OrderCancelled => {
            let mut text = with_note("bot-notify-cancelled", "bot-notify-cancelled-note");
            let refunded = d["refunded_minor"].as_i64().unwrap_or(0);
            if refunded > 0 {
                let back = ("amount", money(refunded, currency).into());
                text.push(' ');
                text.push_str(&tr(lang, "bot-notify-cancelled-refund", &[back]));
            }
            Some(text)
        }
        EventType::OrderRefunded => Some(match d["amount_stars"].as_i64() {
            Some(stars) => tr(
                lang,
                "bot-notify-refunded-stars",
                &[("stars", stars.into()), order.clone()],
            ),
            None => {
                let amount = money(d["amount_minor"].as_i64()?, currency);
                let amount = ("amount", amount.into());
                tr(lang, "bot-notify-refunded", &[amount, order.clone()])
            }
        }),
        _ => None,
    }
}

/// An event's amount as the buyer reads it: in Stars for an order paid in Stars.
fn amount(d: &Value, currency: &str, lang: Lang) -> Option<String> {
    match d["amount_stars"].as_i64() {
        Some(stars) => Some(tr(lang, "bot-notify-stars", &[("stars", stars.into())])),
        None => Some(money(d["amount_minor"].as_i64()?, currency)),
    }
}

/// What the admin who sent a broadcast reads when it is done, in their language.
pub fn report(r: &BroadcastReport, lang: Lang) -> String {
    let mut text = tr(
        lang,
        "bot-notify-report",
        &[
            ("id", r.broadcast_id.into()),
            ("sent", r.sent.into()),
            ("failed", r.failed.into()),
        ],
    );
    if r.blocked > 0 {
        text.push(' ');
        let blocked = ("blocked", r.blocked.into());
        text.push_str(&tr(lang, "bot-notify-report-blocked", &[blocked]));
    }
    if r.unknown > 0 {
        text.push_str(", ");
        let unknown = ("unknown", r.unknown.into());
        text.push_str(&tr(lang, "bot-notify-report-unknown", &[unknown]));
    }
    text.push('.');
    text
}

//! Set-up of the Telegram tests: Souk pointed at a fake Bot API, and updates as Telegram
//! sends them (messages, button presses, payments), posted with the webhook's secret.

#![allow(dead_code)]

use crate::common::TestApp;
use crate::fake_bot_api::{Call, FakeBotApi};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};
use souk::config::Settings;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub const WEBHOOK_SECRET: &str = "webhook-secret-for-tests_0123";
pub const BOT_TOKEN: &str = "123456:TEST-token";
pub const ADMIN: i64 = 777;
pub const STALE: &str = "This button is out of date — here is the menu";

pub struct Shop {
    pub app: TestApp,
    pub api: FakeBotApi,
    next_update: AtomicI64,
    next_query: AtomicI64,
}

impl Shop {
    pub async fn open() -> Shop {
        Self::open_with(|_| {}).await
    }

    pub async fn open_with(tweak: impl FnOnce(&mut Settings)) -> Shop {
        let api = FakeBotApi::start();
        let base = api.base.clone();
        let app = TestApp::spawn_with(move |s| {
            s.telegram.bot_token = Some(SecretString::from(BOT_TOKEN.to_string()));
            s.telegram.webhook_secret = Some(SecretString::from(WEBHOOK_SECRET.to_string()));
            s.telegram.api_base = base;
            s.telegram.admin_ids = ADMIN.to_string();
            s.telegram.api_timeout_ms = 300;
            s.telegram.api_retries = 2;
            s.telegram.retry_after_max_secs = 2;
            s.telegram.reply_within_ms = 1500;
            // A payments provider's test token: invoices in the shop currency need one.
            s.telegram.payment_provider_token =
                Some(SecretString::from("284685063:TEST:souk".to_string()));
            tweak(s);
        })
        .await;
        Shop {
            app,
            api,
            next_update: AtomicI64::new(1),
            next_query: AtomicI64::new(1),
        }
    }

    pub fn update_id(&self) -> i64 {
        self.next_update.fetch_add(1, Ordering::Relaxed)
    }

    /// Posts an update with the right secret; returns the status.
    pub async fn post(&self, update: &Value) -> StatusCode {
        self.post_raw(&update.to_string(), Some(WEBHOOK_SECRET))
            .await
            .0
    }

    pub async fn post_raw(&self, body: &str, secret: Option<&str>) -> (StatusCode, Value) {
        let mut req = self
            .app
            .http
            .post(format!("{}/v1/telegram/webhook", self.app.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(secret) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let res = req.send().await.expect("webhook");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn message(&self, from: i64, text: &str) -> Value {
        message(self.update_id(), self.update_id(), from, text)
    }

    /// A press of a button with `data` on message `message_id` (a photo if `photo`).
    pub fn press_update(&self, from: i64, data: &str, message_id: i64, photo: bool) -> Value {
        let mut message = json!({
            "message_id": message_id,
            "chat": { "id": from, "type": "private" },
            "date": 0,
        });
        if photo {
            message["photo"] = json!([{ "file_id": "x", "width": 1, "height": 1 }]);
        } else {
            message["text"] = json!("…");
        }
        json!({
            "update_id": self.update_id(),
            "callback_query": {
                "id": format!("q{}", self.next_query.fetch_add(1, Ordering::Relaxed)),
                "from": { "id": from, "is_bot": false, "first_name": format!("User {from}") },
                "chat_instance": "c",
                "message": message,
                "data": data,
            }
        })
    }

    /// Sends a message and returns the calls it caused.
    pub async fn say(&self, from: i64, text: &str) -> Vec<Call> {
        let before = self.api.count();
        assert_eq!(self.post(&self.message(from, text)).await, StatusCode::OK);
        self.api.since(before)
    }

    /// Presses a button and returns the calls it caused.
    pub async fn press(&self, from: i64, data: &str, on: &Call) -> Vec<Call> {
        let before = self.api.count();
        let update = self.press_update(from, data, on.message_id, on.is_photo());
        assert_eq!(self.post(&update).await, StatusCode::OK);
        self.api.since(before)
    }

    /// The Souk user id of a Telegram user who has talked to the bot.
    pub async fn user_of(&self, telegram_id: i64) -> i64 {
        self.app
            .scalar(&format!(
                "SELECT id FROM users WHERE telegram_id = {telegram_id}"
            ))
            .await
    }

    pub async fn balance(&self, telegram_id: i64) -> i64 {
        self.app
            .scalar(&format!(
                "SELECT balance_minor FROM users WHERE telegram_id = {telegram_id}"
            ))
            .await
    }
}

/// The last call that shows a keyboard, and the data of its button whose label contains
/// `label`.
pub fn find_button(calls: &[Call], label: &str) -> (Call, String) {
    for call in calls.iter().rev() {
        if let Some((_, data)) = call.buttons().into_iter().find(|(t, _)| t.contains(label)) {
            return (call.clone(), data);
        }
    }
    let shown: Vec<_> = calls
        .iter()
        .map(|c| (c.method.clone(), c.buttons()))
        .collect();
    panic!("no button '{label}' in {shown:?}");
}

pub fn texts(calls: &[Call]) -> String {
    calls.iter().map(Call::text).collect::<Vec<_>>().join("\n")
}

pub fn answers(calls: &[Call]) -> Vec<&Call> {
    calls
        .iter()
        .filter(|c| c.method == "answerCallbackQuery")
        .collect()
}

pub const QUICK: Duration = Duration::from_secs(5);

/// A text message from Telegram user `from` in their private chat, as an update.
pub fn message(update_id: i64, message_id: i64, from: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": { "id": from, "is_bot": false, "first_name": format!("User {from}") },
            "chat": { "id": from, "type": "private" },
            "date": 0,
            "text": text,
        }
    })
}

/// The value of one sample of the Prometheus text (0 when absent).
pub fn sample(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// The sum of `souk_telegram_updates_total` over kinds for one outcome.
pub fn updates_with(metrics: &str, outcome: &str) -> u64 {
    let label = format!("outcome=\"{outcome}\"");
    metrics
        .lines()
        .filter(|l| l.starts_with("souk_telegram_updates_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

//! The world one seed runs in: a Souk with the payment webhook, a short expiry sweep and
//! the bot (on a fake Bot API) taking Telegram Stars, a small shop (some goods priced in
//! Stars), customers who each have a Telegram account, the model of it, and the findings
//! so far. A restart stops this Souk and starts another on the same database.

use super::model::{Expect, Kind, Model, Product, Promo, User};
use crate::common::{codes, TestApp};
use crate::fake_bot_api::FakeBotApi;
use crate::telegram_harness::{ADMIN, BOT_TOKEN, WEBHOOK_SECRET};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use souk::config::Settings;
use std::collections::HashSet;
use std::time::Duration;

pub const HOOK_SECRET: &str = "whsec-model-0123456789-0123456789-abcdef";
/// The Telegram id of the one customer who shops through the bot.
pub const TG_USER: i64 = 9001;
const START_BALANCE: i64 = 2_000;
/// What one Star of a bot top-up adds to the wallet, in minor units.
pub const MINOR_PER_STAR: i64 = 10;

/// One disagreement between Souk and the model.
pub struct Finding {
    /// What disagreed, without ids or amounts, so repeats of one bug group together.
    pub key: String,
    pub seed: u64,
    pub step: usize,
    pub detail: String,
}

pub struct World {
    app: Option<TestApp>,
    pub api: FakeBotApi,
    pub db: tokio_postgres::Client,
    pub model: Model,
    pub seed: u64,
    pub step: usize,
    /// The kind of the step being run, for the findings' keys.
    pub kind: &'static str,
    /// The model's index of the bot customer.
    pub bot_user: usize,
    next_update: i64,
    pub findings: Vec<Finding>,
    pub seen_violations: HashSet<String>,
    /// Per promo, Souk's count minus its live redemptions when last reported.
    pub promo_drift: Vec<i64>,
    /// Set by a finding: after this step's checks the model adopts what Souk holds.
    pub dirty: bool,
}

fn configure(s: &mut Settings, api_base: &str) {
    s.payments.webhook_secret = Some(SecretString::from(HOOK_SECRET.to_string()));
    // Expiry is driven by the test (it moves `payment_due_at` into the past), so the
    // window itself is long and the sweep quick.
    s.checkout.reservation_ttl_secs = 86_400;
    s.checkout.expiry_sweep_ms = 50;
    // An order that lapsed stops counting against its buyer's unpaid bounds at once, so
    // the four buyers keep placing external and Stars orders through a long run.
    s.checkout.unpaid_cooldown_secs = 0;
    s.telegram.bot_token = Some(SecretString::from(BOT_TOKEN.to_string()));
    s.telegram.webhook_secret = Some(SecretString::from(WEBHOOK_SECRET.to_string()));
    s.telegram.api_base = api_base.to_string();
    s.telegram.admin_ids = ADMIN.to_string();
    s.telegram.api_timeout_ms = 1_000;
    // Orders may be paid in Stars; the bot's top-ups are then invoiced in Stars too.
    s.telegram.stars = true;
    s.telegram.minor_per_star = MINOR_PER_STAR;
}

impl World {
    pub async fn open(seed: u64) -> World {
        let api = FakeBotApi::start();
        let base = api.base.clone();
        let app = TestApp::spawn_with(|s| configure(s, &base)).await;
        let db = app.db().await;
        let mut w = World {
            app: Some(app),
            api,
            db,
            model: Model::default(),
            seed,
            step: 0,
            kind: "set-up",
            bot_user: 0,
            next_update: 1,
            findings: Vec::new(),
            seen_violations: HashSet::new(),
            promo_drift: Vec::new(),
            dirty: false,
        };
        w.stock_the_shop().await;
        w
    }

    pub fn app(&self) -> &TestApp {
        self.app.as_ref().expect("a running Souk")
    }

    async fn stock_the_shop(&mut self) {
        // Stars prices that make the promo's share of them round (37 × 100 / 500 = 7.4),
        // a key with none, and a cheap key a fixed promo leaves nothing to pay for.
        for (kind, price, stars, stock) in [
            (Kind::Physical, 700, None, 8),
            (Kind::Physical, 300, None, 12),
            (Kind::Key, 500, Some(37), 8),
            (Kind::Key, 1_200, None, 5),
            (Kind::Key, 80, Some(3), 6),
        ] {
            let n = self.model.products.len();
            let id = match kind {
                Kind::Physical => self.app().physical(price, stock).await,
                Kind::Key => {
                    let batch = codes(&format!("K{n}-0"), stock as usize);
                    self.app().digital(price, &batch).await
                }
            };
            if let Some(stars) = stars {
                let path = format!("/v1/admin/products/{id}");
                let body = json!({ "price_stars": stars });
                let admin = self.app().admin();
                let (s, b) = self.call(Method::PATCH, &path, &admin, Some(body)).await;
                assert_eq!(s, StatusCode::OK, "{b}");
            }
            self.model.products.push(Product {
                id,
                kind,
                price,
                stars,
                stock,
            });
        }
        for (code, value, limit, per_user) in [
            ("DUO", 100, Some(2), None),
            ("TRIO", 250, Some(3), None),
            ("ONCE", 75, None, Some(1)),
        ] {
            let body = json!({ "code": code, "kind": "fixed", "value": value,
                               "max_redemptions": limit, "max_per_user": per_user });
            let admin = self.app().admin();
            let (s, b) = self
                .call(Method::POST, "/v1/admin/promos", &admin, Some(body))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            self.model.promos.push(Promo {
                code,
                value,
                limit,
                per_user,
            });
            self.promo_drift.push(0);
        }
        for id in [2, 3, 4] {
            let token = self.app().customer(id, START_BALANCE).await;
            // Each customer has a Telegram account (as if signed in through the Mini App),
            // from which the bot takes their Stars and to which they go back.
            let tg = TG_USER + 100 + id;
            self.db
                .execute(
                    "UPDATE users SET telegram_id = $1 WHERE id = $2",
                    &[&tg, &id],
                )
                .await
                .expect("a customer's Telegram account");
            self.model.users.push(User {
                id,
                tg,
                token,
                balance: START_BALANCE,
            });
        }
        let hello = self.message("/start");
        self.bot_post(&hello).await;
        let id = self
            .app()
            .scalar(&format!(
                "SELECT id FROM users WHERE telegram_id = {TG_USER}"
            ))
            .await;
        self.app().credit(id, START_BALANCE).await;
        self.bot_user = self.model.users.len();
        let token = self.app().token(id, "customer");
        self.model.users.push(User {
            id,
            tg: TG_USER,
            token,
            balance: START_BALANCE,
        });
    }

    /// Stops Souk and starts a new one on the same database.
    pub async fn restart(&mut self) {
        let old = self.app.take().expect("a running Souk");
        let (url, name) = (old.db_url.clone(), old.db_name.clone());
        drop(old);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let base = self.api.base.clone();
        self.app = Some(TestApp::spawn_on(url, name, |s| configure(s, &base)).await);
    }

    /// A request with a fresh Idempotency-Key (ignored where none is needed).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let key = uuid::Uuid::new_v4().to_string();
        self.app()
            .call(method, path, Some(token), Some(&key), body)
            .await
    }

    pub fn staff(&self) -> String {
        self.app().token(9, "staff")
    }

    pub fn finding(&mut self, what: &str, detail: String) {
        let key = format!("{}: {what}", self.kind);
        println!("    !! {key}: {detail}");
        self.findings.push(Finding {
            key,
            seed: self.seed,
            step: self.step,
            detail,
        });
        self.dirty = true;
    }

    /// Compares an answer with the model's expectation; true when Souk did what the model
    /// says it must (so the model may apply the step).
    pub fn answered(
        &mut self,
        what: &str,
        expect: Expect,
        status: StatusCode,
        body: &Value,
    ) -> bool {
        let code = body["error"]["code"].as_str().unwrap_or("");
        println!("    -> {} {code}", status.as_u16());
        let agrees = match expect {
            Expect::Ok => status.is_success(),
            Expect::No(want, want_code) => status.as_u16() == want && code == want_code,
            Expect::NothingToCancel => status == StatusCode::CONFLICT,
            Expect::NoStars(reason, product) => {
                let details = &body["error"]["details"];
                status == StatusCode::UNPROCESSABLE_ENTITY
                    && code == "stars_unavailable"
                    && details["reason"] == reason
                    && details["product_id"].as_i64() == product
            }
        };
        if !agrees {
            let said = if status.is_success() {
                "success".to_string()
            } else if code == "stars_unavailable" {
                let details = &body["error"]["details"];
                format!(
                    "422 {code} ({}, product {})",
                    details["reason"], details["product_id"]
                )
            } else {
                format!("{} {code}", status.as_u16())
            };
            let message = match body["error"]["message"].as_str() {
                Some(m) => format!(" ({m})"),
                None => String::new(),
            };
            self.finding(
                &format!("expected {expect}, got {said}"),
                format!("{what}: the model expects {expect}, Souk answered {said}{message}"),
            );
        }
        agrees && expect == Expect::Ok
    }

    // ---- the bot ------------------------------------------------------------------------

    pub fn update_id(&mut self) -> i64 {
        self.next_update += 1;
        self.next_update
    }

    pub fn message(&mut self, text: &str) -> Value {
        let id = self.update_id();
        json!({ "update_id": id, "message": {
            "message_id": id, "date": 0, "text": text,
            "from": { "id": TG_USER, "is_bot": false, "first_name": "Model" },
            "chat": { "id": TG_USER, "type": "private" } } })
    }

    /// A button press with `data`; returns the update and its callback query id.
    pub fn press(&mut self, data: &str) -> (Value, String) {
        let id = self.update_id();
        let query = format!("q{id}");
        let update = json!({ "update_id": id, "callback_query": {
            "id": query, "chat_instance": "c", "data": data,
            "from": { "id": TG_USER, "is_bot": false, "first_name": "Model" },
            "message": { "message_id": 1, "date": 0, "text": "…",
                         "chat": { "id": TG_USER, "type": "private" } } } });
        (update, query)
    }

    pub async fn bot_post(&self, update: &Value) {
        let res = self
            .app()
            .http
            .post(format!("{}/v1/telegram/webhook", self.app().base))
            .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
            .json(update)
            .send()
            .await
            .expect("the Telegram webhook answers");
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "the webhook takes every update"
        );
    }

    /// The text of the bot's answer to callback query `query`.
    pub async fn bot_answer(&self, query: &str) -> String {
        let answered = |c: &crate::fake_bot_api::Call| {
            c.method == "answerCallbackQuery" && c.body["callback_query_id"] == query
        };
        let what = format!("the answer to {query}");
        self.api
            .wait_for(&what, Duration::from_secs(10), |calls| {
                calls.iter().any(answered)
            })
            .await;
        let calls = self.api.calls();
        let call = calls.iter().rev().find(|c| answered(c)).expect("answered");
        call.body["text"].as_str().unwrap_or("").to_string()
    }
}

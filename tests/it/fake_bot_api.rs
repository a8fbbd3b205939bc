//! A local stand-in for the Telegram Bot API: it records every call (method and JSON body),
//! answers `{"ok": true, "result": ...}` like Telegram, and can be told to fail, to be slow,
//! to answer 429 with `parameters.retry_after`, or to refuse one method (a bad photo URL).

#![allow(dead_code)]

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub body: Value,
    /// The message the call created or edited (Telegram's `message_id`).
    pub message_id: i64,
    /// When it arrived.
    pub at: Instant,
}

impl Call {
    /// Whether the message it shows is a photo (its keyboard edits are caption edits).
    pub fn is_photo(&self) -> bool {
        matches!(self.method.as_str(), "sendPhoto" | "editMessageCaption")
    }

    /// Every button of the call's inline keyboard: (label, callback_data).
    pub fn buttons(&self) -> Vec<(String, String)> {
        let rows = self.body["reply_markup"]["inline_keyboard"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        rows.iter()
            .flat_map(|r| r.as_array().cloned().unwrap_or_default())
            .map(|b| {
                (
                    b["text"].as_str().unwrap_or("").to_string(),
                    b["callback_data"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    pub fn text(&self) -> String {
        self.body
            .get("text")
            .or_else(|| self.body.get("caption"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Ok,
    /// Every call answers 500.
    Down,
    /// Every call waits this long before answering.
    Slow(Duration),
    /// The next `times` calls answer 429 with this `retry_after`.
    RateLimited {
        retry_after: u64,
        times: u32,
    },
}

struct Inner {
    calls: Vec<Call>,
    next_message_id: i64,
    mode: Mode,
    refuse: HashSet<String>,
    /// Chats whose user blocked the bot: sending there answers 403.
    blocked: HashSet<i64>,
    /// Stars charges refunded so far: Telegram refunds a charge once.
    refunded: HashSet<String>,
}

pub struct FakeBotApi {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    system: actix::System,
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.system.stop();
    }
}

impl FakeBotApi {
    pub fn start() -> FakeBotApi {
        let inner = Arc::new(Mutex::new(Inner {
            calls: Vec::new(),
            next_message_id: 1000,
            mode: Mode::Ok,
            refuse: HashSet::new(),
            blocked: HashSet::new(),
            refunded: HashSet::new(),
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake bot api");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = inner.clone();
        std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let data = web::Data::new(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(4 << 20))
                        .route("/{bot}/{method}", web::post().to(answer))
                })
                .workers(2)
                .listen(listener)
                .expect("listen")
                .run();
                let _ = tx.send(actix::System::current());
                let _ = server.await;
            });
        });
        let system = rx.recv().expect("fake bot api started");
        FakeBotApi {
            base: format!("http://127.0.0.1:{port}"),
            inner,
            system,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = mode;
    }

    pub fn refuse(&self, method: &str) {
        self.inner.lock().unwrap().refuse.insert(method.to_string());
    }

    /// `method` is answered again (after `refuse`).
    pub fn allow(&self, method: &str) {
        self.inner.lock().unwrap().refuse.remove(method);
    }

    /// The user of `chat` blocks the bot: messages to it answer 403 from now on.
    pub fn block(&self, chat: i64) {
        self.inner.lock().unwrap().blocked.insert(chat);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn count(&self) -> usize {
        self.inner.lock().unwrap().calls.len()
    }

    /// Calls recorded since the `from`-th one.
    pub fn since(&self, from: usize) -> Vec<Call> {
        self.inner.lock().unwrap().calls[from..].to_vec()
    }

    pub fn of(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Polls until `done` holds for the calls recorded, or panics at the deadline.
    pub async fn wait_for(&self, what: &str, within: Duration, done: impl Fn(&[Call]) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            if done(&self.calls()) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    let (_, method) = path.into_inner();
    let body = body.into_inner();
    let (mode, refused, blocked, message_id) = {
        let mut inner = inner.lock().unwrap();
        inner.next_message_id += 1;
        let message_id = body["message_id"].as_i64().unwrap_or(inner.next_message_id);
        record(&method, &body);
        inner.calls.push(Call {
            method: method.clone(),
            body: body.clone(),
            message_id,
            at: Instant::now(),
        });
        let mode = inner.mode;
        if let Mode::RateLimited { retry_after, times } = mode {
            inner.mode = if times <= 1 {
                Mode::Ok
            } else {
                Mode::RateLimited {
                    retry_after,
                    times: times - 1,
                }
            };
        }
        let blocked = body["chat_id"]
            .as_i64()
            .is_some_and(|chat| inner.blocked.contains(&chat));
        (
            mode,
            inner.refuse.contains(&method),
            blocked,
            inner.next_message_id,
        )
    };
    match mode {
        Mode::Down => {
            return HttpResponse::InternalServerError().json(
                json!({ "ok": false, "error_code": 500, "description": "Internal Server Error" }),
            )
        }
        Mode::Slow(delay) => tokio::time::sleep(delay).await,
        Mode::RateLimited { retry_after, .. } => {
            return HttpResponse::TooManyRequests().json(json!({
                "ok": false, "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after}"),
                "parameters": { "retry_after": retry_after },
            }))
        }
        Mode::Ok => {}
    }
    if blocked {
        return HttpResponse::Forbidden().json(
            json!({ "ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user" }),
        );
    }
    if let Some(problem) = invalid(&method, &body) {
        return HttpResponse::BadRequest().json(
            json!({ "ok": false, "error_code": 400, "description": format!("Bad Request: {problem}") }),
        );
    }
    if refused {
        let description = match method.as_str() {
            "refundStarPayment" => "Bad Request: CHARGE_NOT_FOUND",
            _ => "Bad Request: wrong file identifier/HTTP URL specified",
        };
        return HttpResponse::BadRequest()
            .json(json!({ "ok": false, "error_code": 400, "description": description }));
    }
    if method == "refundStarPayment" {
        let charge = body["telegram_payment_charge_id"]
            .as_str()
            .unwrap_or_default();
        if !inner.lock().unwrap().refunded.insert(charge.to_string()) {
            return HttpResponse::BadRequest().json(
                json!({ "ok": false, "error_code": 400, "description": "Bad Request: CHARGE_ALREADY_REFUNDED" }),
            );
        }
    }
    let result = match method.as_str() {
        "sendMessage" | "sendPhoto" | "sendInvoice" | "editMessageText" | "editMessageCaption" => {
            json!({
                "message_id": body.get("message_id").cloned().unwrap_or(json!(message_id)),
                "chat": { "id": body["chat_id"] },
                "date": 0,
                "text": body.get("text").cloned().unwrap_or(Value::Null),
            })
        }
        "getWebhookInfo" => json!({ "url": "", "pending_update_count": 0 }),
        "createInvoiceLink" => json!(format!("https://t.me/$fake-invoice-{message_id}")),
        _ => json!(true),
    };
    HttpResponse::Ok().json(json!({ "ok": true, "result": result }))
}

/// What Telegram would refuse in a call, as far as the bot's calls go: an invoice needs
/// positive whole prices; one in Stars (`XTR`) exactly one price and no provider token.
fn invalid(method: &str, body: &Value) -> Option<String> {
    if method == "setChatMenuButton" {
        let button = &body["menu_button"];
        let ok = match button["type"].as_str() {
            Some("commands" | "default") => true,
            Some("web_app") => {
                button["text"].as_str().is_some_and(|t| !t.is_empty())
                    && button["web_app"]["url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("https://"))
            }
            _ => false,
        };
        if !ok {
            return Some(
                "a menu button is commands, default, or a web_app with text and an https url"
                    .into(),
            );
        }
    }
    if method == "answerShippingQuery" {
        if !body["shipping_query_id"].is_string() {
            return Some("answerShippingQuery needs shipping_query_id".into());
        }
        match body["ok"].as_bool() {
            Some(true) => {
                let Some(options) = body["shipping_options"]
                    .as_array()
                    .filter(|o| !o.is_empty())
                else {
                    return Some("an approved shipping query needs shipping_options".into());
                };
                let priced = |p: &Value| {
                    p["label"].is_string() && p["amount"].as_i64().is_some_and(|a| a >= 0)
                };
                let valid = options.iter().all(|o| {
                    o["id"].as_str().is_some_and(|id| !id.is_empty())
                        && o["title"].as_str().is_some_and(|t| !t.is_empty())
                        && o["prices"]
                            .as_array()
                            .is_some_and(|p| !p.is_empty() && p.iter().all(priced))
                });
                if !valid {
                    return Some(
                        "a shipping option needs an id, a title and labelled prices".into(),
                    );
                }
            }
            Some(false) => {
                if body["error_message"].as_str().is_none_or(str::is_empty) {
                    return Some("a refused shipping query needs an error_message".into());
                }
            }
            None => return Some("answerShippingQuery needs ok".into()),
        }
    }
    if method == "answerPreCheckoutQuery" {
        let refused = body["ok"] == false;
        if refused && body["error_message"].as_str().is_none_or(str::is_empty) {
            return Some("a refused pre-checkout query needs an error_message".into());
        }
    }
    if method == "refundStarPayment" {
        let user = body["user_id"].as_i64().is_some_and(|u| u > 0);
        let charge = body["telegram_payment_charge_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty());
        if !(user && charge) {
            return Some("refundStarPayment needs user_id and telegram_payment_charge_id".into());
        }
    }
    if method == "sendInvoice" || method == "createInvoiceLink" {
        let chars = |field: &str| body[field].as_str().map(|t| t.chars().count());
        if !chars("title").is_some_and(|n| (1..=32).contains(&n)) {
            return Some("an invoice title is 1-32 characters".into());
        }
        if !chars("description").is_some_and(|n| (1..=255).contains(&n)) {
            return Some("an invoice description is 1-255 characters".into());
        }
        let Some(prices) = body["prices"].as_array().filter(|p| !p.is_empty()) else {
            return Some("an invoice needs prices".into());
        };
        if prices
            .iter()
            .any(|p| p["amount"].as_i64().is_none_or(|a| a <= 0) || !p["label"].is_string())
        {
            return Some("invoice prices must be positive whole amounts with labels".into());
        }
        let provider = body["provider_token"].as_str().unwrap_or_default();
        if body["currency"] != "XTR" && provider.is_empty() {
            return Some("an invoice in a currency other than XTR needs a provider token".into());
        }
        if body["currency"] == "XTR" {
            if prices.len() != 1 {
                return Some("an invoice in Telegram Stars must have exactly one price".into());
            }
            if body["provider_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
            {
                return Some("an invoice in Telegram Stars takes no provider token".into());
            }
        }
        if body["payload"]
            .as_str()
            .is_none_or(|p| p.is_empty() || p.len() > 128)
        {
            return Some("invoice payload must be 1-128 bytes".into());
        }
    }
    None
}

/// Appends a call to the file `SOUK_BOT_API_LOG` names (when set), one JSON object per line,
/// for `tests/bot_api/check.py` to check against aiogram's models of the Bot API. One lock
/// for the whole test binary, so lines from concurrent tests never interleave.
fn record(method: &str, body: &Value) {
    static LOG: std::sync::OnceLock<Option<Mutex<std::fs::File>>> = std::sync::OnceLock::new();
    let log = LOG.get_or_init(|| {
        let path = std::env::var_os("SOUK_BOT_API_LOG")?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("SOUK_BOT_API_LOG {path:?}: {e}"));
        Some(Mutex::new(file))
    });
    if let Some(file) = log {
        use std::io::Write;
        let line = json!({ "method": method, "body": body }).to_string();
        let mut file = file.lock().unwrap();
        writeln!(file, "{line}").expect("a Bot API call recorded");
    }
}

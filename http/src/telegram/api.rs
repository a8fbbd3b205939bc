//! The Bot API client: `POST {api_base}/bot<token>/<method>` with a JSON body. Every call
//! has a timeout; a failed call is retried a bounded number of times with backoff, waiting
//! out a 429's `retry_after` (asynchronously: nothing blocks a thread). Every call is counted
//! by method and outcome, and failures are logged with the update they belong to.

use prometheus::{IntCounterVec, Opts, Registry};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The methods the bot calls; the `method` label is bounded by this list.
pub const METHODS: [&str; 14] = [
    "sendMessage",
    "editMessageText",
    "editMessageCaption",
    "sendPhoto",
    "answerCallbackQuery",
    "sendInvoice",
    "answerPreCheckoutQuery",
    "setWebhook",
    "getWebhookInfo",
    "deleteWebhook",
    "getMe",
    "setChatMenuButton",
    "createInvoiceLink",
    "refundStarPayment",
];
const OUTCOMES: [&str; 5] = ["ok", "rejected", "rate_limited", "timeout", "error"];
/// First backoff after a failure; doubled on each retry.
const BACKOFF_START: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct ApiSettings {
    pub base: String,
    pub token: Option<SecretString>,
    pub timeout: Duration,
    pub retries: u32,
    pub retry_after_max: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no bot token is configured (SOUK__TELEGRAM__BOT_TOKEN)")]
    NoToken,
    #[error("the Bot API refused {method}: {description}")]
    Rejected {
        method: &'static str,
        description: String,
        /// Telegram's `error_code` (403: the user blocked the bot).
        code: Option<u16>,
    },
    #[error("{method} failed after retries: {reason}")]
    Failed {
        method: &'static str,
        reason: String,
    },
    /// From `call_at_most_once`: no answer came after the request may have reached
    /// Telegram (a timeout, a broken connection), so it was not sent again.
    #[error("{method} got no answer and may have been applied: {reason}")]
    Unknown {
        method: &'static str,
        reason: String,
    },
}

pub struct BotApi {
    http: reqwest::Client,
    settings: ApiSettings,
    calls: IntCounterVec,
    /// The process's shutdown signal: a retry waiting out its backoff gives up at once.
    shutdown: CancellationToken,
    /// What the process waits for before it exits: updates still applying and answering.
    sending: TaskTracker,
    /// The runtime that runs them: the process's main one, which outlives the HTTP workers
    /// (a worker's runtime, and every task on it, ends when the worker stops).
    home: Option<tokio::runtime::Handle>,
}

#[derive(Deserialize)]
struct Reply {
    ok: bool,
    result: Option<Value>,
    description: Option<String>,
    error_code: Option<u16>,
    parameters: Option<ReplyParameters>,
}

#[derive(Deserialize)]
struct ReplyParameters {
    retry_after: Option<u64>,
}

enum Attempt {
    Done(Value),
    Refused(String, Option<u16>),
    Retry {
        after: Duration,
        outcome: &'static str,
        reason: String,
        /// Telegram said it did not apply it (no connection, an error answer, a 429).
        unsent: bool,
    },
}

impl BotApi {
    pub fn new(settings: ApiSettings, registry: &Registry) -> prometheus::Result<BotApi> {
        let calls = IntCounterVec::new(
            Opts::new(
                "souk_telegram_api_calls_total",
                "Bot API calls by method and outcome",
            ),
            &["method", "outcome"],
        )?;
        for method in METHODS {
            for outcome in OUTCOMES {
                calls.with_label_values(&[method, outcome]);
            }
        }
        registry.register(Box::new(calls.clone()))?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| prometheus::Error::Msg(format!("HTTP client: {e}")))?;
        Ok(BotApi {
            http,
            settings,
            calls,
            shutdown: CancellationToken::new(),
            sending: TaskTracker::new(),
            home: None,
        })
    }

    /// Ties this client's retries to the process's shutdown signal, and the updates that
    /// send with it to what the shutdown waits for, on the runtime this is called from.
    pub fn stop_on(&mut self, shutdown: CancellationToken, sending: TaskTracker) {
        self.shutdown = shutdown;
        self.sending = sending;
        self.home = tokio::runtime::Handle::try_current().ok();
    }

    /// Runs `work` (an update applied and answered after its webhook call returned) where
    /// the shutdown waits for it, rather than on the HTTP worker whose stop would cut it.
    pub fn spawn_sending<F>(&self, work: F) -> tokio::task::JoinHandle<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let work = self.sending.track_future(work);
        match &self.home {
            Some(home) => home.spawn(work),
            None => actix_web::rt::spawn(work),
        }
    }

    /// Calls `method`; `update_id` is only for the log. Retries are bounded, so the whole
    /// call takes at most about (retries + 1) × (timeout + retry_after_max).
    pub async fn call(
        &self,
        method: &'static str,
        body: &Value,
        update_id: i64,
    ) -> Result<Value, CallError> {
        self.call_with(method, body, update_id, true).await
    }

    /// Calls `method` at most once as far as Telegram is concerned: retried only when
    /// Telegram said it did not apply it (no connection, an error answer, a 429), and
    /// answered `CallError::Unknown` when no answer came. For messages nobody asked for (notifications, broadcasts), where
    /// a duplicate is worse than a gap.
    pub async fn call_at_most_once(
        &self,
        method: &'static str,
        body: &Value,
    ) -> Result<Value, CallError> {
        self.call_with(method, body, 0, false).await
    }

    async fn call_with(
        &self,
        method: &'static str,
        body: &Value,
        update_id: i64,
        retry_unknown: bool,
    ) -> Result<Value, CallError> {
        let token = self.settings.token.as_ref().ok_or(CallError::NoToken)?;
        let url = format!(
            "{}/bot{}/{method}",
            self.settings.base.trim_end_matches('/'),
            token.expose_secret()
        );
        let mut backoff = BACKOFF_START;
        let mut attempt = 0;
        loop {
            match self.attempt(&url, body).await {
                Attempt::Done(result) => {
                    self.count(method, "ok");
                    return Ok(result);
                }
                Attempt::Refused(description, code) => {
                    self.count(method, "rejected");
                    tracing::warn!(update_id, method, %description, "the Bot API refused a call");
                    return Err(CallError::Rejected {
                        method,
                        description,
                        code,
                    });
                }
                Attempt::Retry {
                    after,
                    outcome,
                    reason,
                    unsent,
                } => {
                    self.count(method, outcome);
                    if !unsent && !retry_unknown {
                        tracing::warn!(method, %reason, "a Bot API call got no answer; not sent again");
                        return Err(CallError::Unknown { method, reason });
                    }
                    let wait = after.max(backoff);
                    if attempt >= self.settings.retries || wait > self.settings.retry_after_max {
                        tracing::warn!(update_id, method, %reason, attempts = attempt + 1, "a Bot API call failed");
                        return Err(CallError::Failed { method, reason });
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.shutdown.cancelled() => {
                            return Err(CallError::Failed { method, reason: "shutting down".into() });
                        }
                    }
                    backoff = backoff.saturating_mul(2);
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(&self, url: &str, body: &Value) -> Attempt {
        let response = match self.http.post(url).json(body).send().await {
            Ok(r) => r,
            Err(e) => {
                let outcome = if e.is_timeout() { "timeout" } else { "error" };
                return Attempt::Retry {
                    after: Duration::ZERO,
                    outcome,
                    unsent: e.is_connect(),
                    // Without the URL: it holds the bot token.
                    reason: e.without_url().to_string(),
                };
            }
        };
        let status = response.status();
        let reply: Option<Reply> = match response.json::<Reply>().await {
            Ok(r) => Some(r),
            Err(e) if e.is_timeout() => {
                return Attempt::Retry {
                    after: Duration::ZERO,
                    outcome: "timeout",
                    reason: "timed out reading the answer".into(),
                    unsent: false,
                }
            }
            Err(_) => None,
        };
        match reply {
            Some(Reply {
                ok: true, result, ..
            }) => Attempt::Done(result.unwrap_or(Value::Null)),
            Some(r) if status.as_u16() == 429 => Attempt::Retry {
                after: Duration::from_secs(r.parameters.and_then(|p| p.retry_after).unwrap_or(1)),
                outcome: "rate_limited",
                reason: r.description.unwrap_or_else(|| "too many requests".into()),
                unsent: true,
            },
            Some(r) if status.is_client_error() => Attempt::Refused(
                r.description.unwrap_or_else(|| status.to_string()),
                r.error_code.or(Some(status.as_u16())),
            ),
            _ => Attempt::Retry {
                after: Duration::ZERO,
                outcome: "error",
                reason: format!("HTTP {status}"),
                // An error answer (a 5xx) says the call failed; a success status whose
                // body could not be read leaves it open.
                unsent: !status.is_success(),
            },
        }
    }

    fn count(&self, method: &'static str, outcome: &'static str) {
        // The label set stays the registered one even if a call is added without listing it.
        debug_assert!(
            METHODS.contains(&method),
            "{method} is missing from METHODS"
        );
        let method = if METHODS.contains(&method) {
            method
        } else {
            "other"
        };
        self.calls.with_label_values(&[method, outcome]).inc();
    }
}

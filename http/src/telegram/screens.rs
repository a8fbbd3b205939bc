//! How the bot answers: handlers describe a `Screen` (text, buttons, maybe a photo) and the
//! context turns it into Bot API calls — an edit of the message whose button was pressed, or
//! a new message — collected in order and sent after the update's effects are committed.
//! A callback query is answered exactly once, first, so the button's spinner stops at once.

use super::callback::{Action, CALLBACK_DATA_MAX};
use super::Bot;
use crate::auth::Caller;
use crate::i18n::{self, ArgValue, Lang, Msg};
use crate::state::AppState;
use serde_json::{json, Value};

/// Telegram's limits: message text and photo captions.
pub const TEXT_MAX: usize = 4096;
pub const CAPTION_MAX: usize = 1024;
/// Our bound on one keyboard (Telegram allows 100 buttons).
pub const BUTTONS_MAX: usize = 100;

pub struct Button {
    pub text: String,
    pub action: Action,
}

pub fn button(text: impl Into<String>, action: Action) -> Button {
    Button {
        text: text.into(),
        action,
    }
}

#[derive(Default)]
pub struct Screen {
    pub text: String,
    pub rows: Vec<Vec<Button>>,
    pub photo: Option<String>,
}

impl Screen {
    pub fn text(text: impl Into<String>) -> Screen {
        Screen {
            text: text.into(),
            ..Screen::default()
        }
    }

    pub fn row(mut self, row: Vec<Button>) -> Screen {
        if !row.is_empty() {
            self.rows.push(row);
        }
        self
    }

    pub fn markup(&self) -> Value {
        let mut left = BUTTONS_MAX;
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let take = row.len().min(left);
                left -= take;
                row[..take]
                    .iter()
                    .filter_map(|b| {
                        let data = b.action.encode();
                        // Cannot happen (the encoding is bounded); a button that would break
                        // Telegram's limit is left out rather than sent.
                        (data.len() <= CALLBACK_DATA_MAX)
                            .then(|| json!({ "text": clip(&b.text, 64), "callback_data": data }))
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|r| !r.is_empty())
            .map(Value::Array)
            .collect();
        json!({ "inline_keyboard": rows })
    }
}

/// Where the update came from, which decides between editing and sending.
pub enum Origin {
    Chat,
    Button {
        query_id: String,
        message_id: Option<i64>,
        photo: bool,
    },
}

/// One Bot API call, with what to send instead if it fails (a photo falls back to text).
pub struct Call {
    pub method: &'static str,
    pub body: Value,
    pub fallback: Option<Box<Call>>,
}

pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub bot: &'a Bot,
    pub update_id: i64,
    pub caller: Caller,
    pub telegram_id: i64,
    pub chat_id: i64,
    pub origin: Origin,
    /// The language the bot speaks to this user: their choice in the bot, or else their
    /// Telegram app's.
    pub lang: Lang,
    calls: Vec<Call>,
    answered: bool,
}

impl<'a> Ctx<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        state: &'a AppState,
        bot: &'a Bot,
        update_id: i64,
        caller: Caller,
        telegram_id: i64,
        chat_id: i64,
        origin: Origin,
        lang: Lang,
    ) -> Ctx<'a> {
        Ctx {
            state,
            bot,
            update_id,
            caller,
            telegram_id,
            chat_id,
            origin,
            lang,
            calls: Vec::new(),
            answered: false,
        }
    }

    /// The bot's text `id` in the user's language.
    pub fn t(&self, id: &str) -> String {
        i18n::tr(self.lang, id, &[])
    }

    /// The bot's text `id` with its arguments, in the user's language.
    pub fn tr(&self, id: &str, args: &[(&str, ArgValue)]) -> String {
        i18n::tr(self.lang, id, args)
    }

    /// A refusal or error in the user's language.
    pub fn say_msg(&self, msg: &Msg) -> String {
        i18n::render(self.lang, msg)
    }

    pub fn currency(&self) -> &str {
        &self.state.currency
    }

    fn call(&mut self, method: &'static str, body: Value) {
        self.calls.push(Call {
            method,
            body,
            fallback: None,
        });
    }

    /// Answers the pressed button (once; later answers are dropped). `alert` shows a dialog.
    pub fn answer(&mut self, text: Option<&str>, alert: bool) {
        let Origin::Button { query_id, .. } = &self.origin else {
            return;
        };
        if self.answered {
            return;
        }
        self.answered = true;
        let mut body = json!({ "callback_query_id": query_id });
        if let Some(text) = text {
            body["text"] = json!(clip(text, 200));
            body["show_alert"] = json!(alert);
        }
        // First in line: the spinner on the button stops before anything else is sent.
        self.calls.insert(
            0,
            Call {
                method: "answerCallbackQuery",
                body,
                fallback: None,
            },
        );
    }

    /// Shows a screen in place of the pressed button's message, or as a new message.
    pub fn show(&mut self, screen: Screen) {
        match (&self.origin, &screen.photo) {
            (
                Origin::Button {
                    message_id: Some(id),
                    photo: false,
                    ..
                },
                None,
            ) => {
                let body = json!({
                    "chat_id": self.chat_id, "message_id": id,
                    "text": clip(&screen.text, TEXT_MAX), "reply_markup": screen.markup(),
                });
                self.call("editMessageText", body);
            }
            (
                Origin::Button {
                    message_id: Some(id),
                    photo: true,
                    ..
                },
                Some(_),
            ) => {
                let body = json!({
                    "chat_id": self.chat_id, "message_id": id,
                    "caption": clip(&screen.text, CAPTION_MAX), "reply_markup": screen.markup(),
                });
                self.call("editMessageCaption", body);
            }
            _ => self.send(screen),
        }
    }

    /// Sends a screen as a new message: a photo with a caption when it has an image (text
    /// if the photo fails), else text.
    pub fn send(&mut self, screen: Screen) {
        let text = json!({
            "chat_id": self.chat_id, "text": clip(&screen.text, TEXT_MAX),
            "reply_markup": screen.markup(),
        });
        let call = match &screen.photo {
            Some(url) => Call {
                method: "sendPhoto",
                body: json!({
                    "chat_id": self.chat_id, "photo": url,
                    "caption": clip(&screen.text, CAPTION_MAX), "reply_markup": screen.markup(),
                }),
                fallback: Some(Box::new(Call {
                    method: "sendMessage",
                    body: text,
                    fallback: None,
                })),
            },
            None => Call {
                method: "sendMessage",
                body: text,
                fallback: None,
            },
        };
        self.calls.push(call);
    }

    /// Sends plain text, split into messages that fit Telegram's limit.
    pub fn say(&mut self, text: &str) {
        for part in split(text, TEXT_MAX) {
            self.call(
                "sendMessage",
                json!({ "chat_id": self.chat_id, "text": part }),
            );
        }
    }

    /// Answers the button with an alert (if any) that explains a stale button, then the menu.
    pub fn stale(&mut self) {
        let stale = self.t("bot-stale");
        self.answer(Some(&stale), true);
        self.send(super::shop::menu(self));
    }

    pub fn raw(&mut self, method: &'static str, body: Value) {
        self.call(method, body);
    }

    /// The calls to make, with the button answered if no handler did.
    pub fn finish(mut self) -> Vec<Call> {
        self.answer(None, false);
        self.calls
    }
}

/// At most `max` characters, cut on a character boundary.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits text into pieces of at most `max` characters, on line breaks where possible.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    for line in text.split_inclusive('\n') {
        let line_len = line.chars().count();
        if len + line_len > max && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
            len = 0;
        }
        if line_len > max {
            parts.push(clip(line, max));
            continue;
        }
        current.push_str(line);
        len += line_len;
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// Runs the calls in order; a failed call with a fallback sends the fallback instead.
pub async fn deliver(bot: &Bot, calls: Vec<Call>, update_id: i64) {
    for call in calls {
        let mut next = Some(call);
        while let Some(call) = next.take() {
            if bot
                .api
                .call(call.method, &call.body, update_id)
                .await
                .is_err()
            {
                next = call.fallback.map(|b| *b);
            }
        }
    }
}

//! The Telegram shop front-end: a webhook that turns updates into the same actor messages,
//! checkout and group commit as the HTTP API, and a Bot API client for the answers.
//! `webhook.rs` owns delivery (secret, exactly-once, per-user turns); `screens.rs` how a
//! reply is shown; the shop, checkout, wallet and admin modules what each button does.

pub mod admin;
pub mod api;
pub mod auth;
pub mod bot;
pub mod broadcast;
pub mod callback;
pub mod checkout;
pub mod invoice;
pub mod language;
pub mod notify;
pub mod payments;
pub mod screens;
pub mod shipped;
pub mod shop;
pub mod stars;
pub mod update;
pub mod wallet;
pub mod webhook;

use actix_web::web;
pub use bot::{Bot, BotConfig, PAYMENT_OUTCOMES, UPDATE_OUTCOMES};
use souk_actors::store::telegram::PageOf;

/// Buttons of one list page (P22).
pub const PAGE_SIZE: i64 = 8;

/// Page `page` of a list shown as buttons.
pub fn page_of(page: u32) -> PageOf {
    PageOf {
        page,
        size: PAGE_SIZE,
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/telegram/webhook", web::post().to(webhook::receive))
        .route("/auth/telegram", web::post().to(auth::sign_in));
}

/// A multi-message step of a conversation, kept by the user's actor.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// An admin was asked for codes of this product, one per line.
    AwaitCodes { product: i64 },
    /// An admin was asked for the text of a broadcast.
    AwaitBroadcast,
}

/// Money as people read it: "12.34 USD" (minor units of a two-decimal currency).
pub fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", m / 100, m % 100)
}

//! The bot's settings as the HTTP crate takes them, and the operator commands
//! `souk telegram set-webhook --url URL` (registers the webhook with the secret token and
//! the update kinds the bot reads) and `souk telegram info` (prints `getWebhookInfo`).

use crate::config::{ConfigError, Settings};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use souk_http::telegram::api::{ApiSettings, BotApi};
use souk_http::telegram::invoice::InvoiceKey;
use souk_http::telegram::BotConfig;
use std::time::Duration;

/// The update kinds the bot handles; Telegram sends no others.
pub const ALLOWED_UPDATES: [&str; 4] = [
    "message",
    "callback_query",
    "pre_checkout_query",
    "shipping_query",
];

/// The bot's settings; top-up invoices are signed with a key derived from `jwt_secret`.
pub fn bot_config(
    settings: &Settings,
    jwt_secret: &SecretString,
) -> Result<BotConfig, ConfigError> {
    let t = &settings.telegram;
    let invoice_key = InvoiceKey::derive(jwt_secret)
        .map_err(|e| ConfigError::Invalid(format!("the invoice key cannot be derived: {e}")))?;
    Ok(BotConfig {
        api: api_settings(settings),
        webhook_secret: t
            .webhook_secret
            .clone()
            .filter(|s| !s.expose_secret().is_empty()),
        admin_ids: t.admin_ids()?,
        init_data_max_age: Duration::from_secs(t.init_data_max_age_secs),
        reply_within: Duration::from_millis(t.reply_within_ms.max(1)),
        payment_provider_token: t.payment_provider_token.clone(),
        topup_amounts: t.topup_amounts()?,
        minor_per_star: t.star_rate()?,
        invoice_ttl: Duration::from_secs(t.invoice_ttl_secs),
        invoice_key,
        low_stock_threshold: t.low_stock_threshold,
    })
}

fn api_settings(settings: &Settings) -> ApiSettings {
    let t = &settings.telegram;
    ApiSettings {
        base: t.api_base.clone(),
        token: t.bot_token.clone(),
        timeout: Duration::from_millis(t.api_timeout_ms.max(1)),
        retries: t.api_retries,
        retry_after_max: Duration::from_secs(t.retry_after_max_secs),
    }
}

fn api(settings: &Settings) -> Result<BotApi, String> {
    let api = api_settings(settings);
    if api.token.is_none() {
        return Err("set SOUK__TELEGRAM__BOT_TOKEN first".into());
    }
    BotApi::new(api, &prometheus::Registry::new()).map_err(|e| e.to_string())
}

pub async fn set_webhook(settings: &Settings, url: &str) -> Result<String, String> {
    if !url.starts_with("https://") {
        return Err("Telegram delivers webhooks to https:// URLs only".into());
    }
    let secret = settings
        .telegram
        .webhook_secret
        .as_ref()
        .map(|s| s.expose_secret().to_string())
        .filter(|s| !s.is_empty())
        .ok_or("set SOUK__TELEGRAM__WEBHOOK_SECRET first (1-256 of A-Z a-z 0-9 _ -)")?;
    let body = json!({
        "url": url,
        "secret_token": secret,
        "allowed_updates": ALLOWED_UPDATES,
    });
    let result = api(settings)?
        .call("setWebhook", &body, 0)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("webhook set to {url}: {result}"))
}

/// Makes the bot's menu button (beside the chat's text field, for every user) open `url`
/// as a Mini App. Telegram opens web apps from https:// URLs only.
pub async fn set_menu_button(settings: &Settings, url: &str, text: &str) -> Result<String, String> {
    if !url.starts_with("https://") || url.contains(char::is_whitespace) {
        return Err("Telegram opens Mini Apps from https:// URLs only".into());
    }
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 64 {
        return Err("the button's text must be 1-64 characters".into());
    }
    let body = json!({
        "menu_button": { "type": "web_app", "text": text, "web_app": { "url": url } },
    });
    api(settings)?
        .call("setChatMenuButton", &body, 0)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("the menu button \"{text}\" opens {url}"))
}

pub async fn info(settings: &Settings) -> Result<String, String> {
    let result = api(settings)?
        .call("getWebhookInfo", &json!({}), 0)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::to_string_pretty(&result).map_err(|e| e.to_string())
}

//! `[telegram]`: the bot's tokens, Bot API bounds, admins and top-up amounts.

use super::ConfigError;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    pub bot_token: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
    pub api_base: String,
    /// Comma-separated Telegram user ids with the admin role in the bot; empty: no admin.
    pub admin_ids: String,
    /// Oldest Mini App `initData` (by `auth_date`) that `POST /v1/auth/telegram` accepts.
    pub init_data_max_age_secs: u64,
    /// Bound on each Bot API call, and how many times a failed call is retried.
    pub api_timeout_ms: u64,
    pub api_retries: u32,
    /// A 429's `retry_after` above this is not waited for (the call fails instead).
    pub retry_after_max_secs: u64,
    /// The webhook answers within this even when the Bot API is slow; sending goes on.
    pub reply_within_ms: u64,
    /// Payments provider token for `sendInvoice` (empty for Telegram Stars).
    pub payment_provider_token: Option<SecretString>,
    /// Fixed top-up amounts offered in the bot, comma-separated minor units.
    pub topup_amounts_minor: String,
    /// Take the bot's payments in Telegram Stars (`XTR`), as Telegram requires for
    /// digital goods: top-ups are then offered in Stars.
    pub stars: bool,
    /// What one Star of a top-up adds to the wallet, in minor units of the shop currency.
    pub minor_per_star: i64,
    /// Fixed top-up amounts offered when `stars` is on, comma-separated Stars.
    pub topup_amounts_stars: String,
    /// How long a top-up invoice may be paid after it was sent.
    pub invoice_ttl_secs: u64,
    /// Products at or below this many units are on the admin's low-stock list.
    pub low_stock_threshold: i64,
}

impl TelegramSettings {
    pub fn admin_ids(&self) -> Result<Vec<i64>, ConfigError> {
        id_list(&self.admin_ids, "telegram.admin_ids")
    }

    /// The top-up amounts the bot offers, in its invoices' currency: Stars when `stars`
    /// is on, else minor units of the shop currency.
    pub fn topup_amounts(&self) -> Result<Vec<i64>, ConfigError> {
        let (raw, name, max) = if self.stars {
            (
                &self.topup_amounts_stars,
                "telegram.topup_amounts_stars",
                souk_actors::domain::stars::Stars::MAX,
            )
        } else {
            (
                &self.topup_amounts_minor,
                "telegram.topup_amounts_minor",
                i64::MAX,
            )
        };
        let amounts = id_list(raw, name)?;
        if amounts.is_empty() || amounts.len() > 6 || amounts.iter().any(|a| *a > max) {
            return Err(ConfigError::Invalid(format!(
                "{name} must list 1..=6 positive amounts, each at most {max}"
            )));
        }
        Ok(amounts)
    }

    /// Minor units per Star, when the bot takes Stars.
    pub fn star_rate(&self) -> Result<Option<i64>, ConfigError> {
        if !self.stars {
            return Ok(None);
        }
        if !(1..=1_000_000).contains(&self.minor_per_star) {
            return Err(ConfigError::Invalid(
                "telegram.minor_per_star must be 1..=1000000 minor units".into(),
            ));
        }
        Ok(Some(self.minor_per_star))
    }
}

/// A comma-separated list of positive integers ("" is the empty list).
fn id_list(raw: &str, name: &str) -> Result<Vec<i64>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError::Invalid(format!("{name} must be comma-separated positive integers"))
            })
        })
        .collect()
}

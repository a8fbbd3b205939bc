//! The bot as the process holds it: its settings, its Bot API client, its metrics and the
//! Telegram ids it has already matched to Souk users.

use super::{api, invoice, update};
use crate::auth::Role;
use dashmap::DashMap;
use prometheus::{IntCounterVec, Opts, Registry};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use souk_actors::domain::ids::UserId;
use std::time::Duration;

/// The bot's settings, already parsed from `[telegram]`.
#[derive(Clone)]
pub struct BotConfig {
    pub api: api::ApiSettings,
    pub webhook_secret: Option<SecretString>,
    /// Telegram ids with the admin role; empty means no admin.
    pub admin_ids: Vec<i64>,
    pub init_data_max_age: Duration,
    pub reply_within: Duration,
    pub payment_provider_token: Option<SecretString>,
    /// Top-up amounts offered, in the invoices' currency (Stars when `minor_per_star`).
    pub topup_amounts: Vec<i64>,
    /// Set when the bot takes Stars: what one Star adds to a wallet, in minor units.
    pub minor_per_star: Option<i64>,
    pub invoice_ttl: Duration,
    /// Signs top-up invoice payloads (see `invoice.rs`).
    pub invoice_key: invoice::InvoiceKey,
    pub low_stock_threshold: i64,
}

pub struct Bot {
    pub config: BotConfig,
    pub api: api::BotApi,
    updates: IntCounterVec,
    payments: IntCounterVec,
    /// Telegram id → Souk user, filled on first contact.
    users: DashMap<i64, UserId>,
}

/// Outcomes of the `souk_telegram_updates_total` counter.
pub const UPDATE_OUTCOMES: [&str; 5] = ["ok", "duplicate", "ignored", "error", "unauthorized"];

/// Outcomes of the `souk_telegram_payments_total` counter: pre-checkout queries approved
/// or refused, and payments credited, already credited, or rejected (matched no invoice).
pub const PAYMENT_OUTCOMES: [&str; 5] =
    ["approved", "refused", "credited", "duplicate", "rejected"];

impl Bot {
    pub fn new(config: BotConfig, registry: &Registry) -> prometheus::Result<Bot> {
        let updates = IntCounterVec::new(
            Opts::new(
                "souk_telegram_updates_total",
                "Telegram updates received by kind and outcome",
            ),
            &["kind", "outcome"],
        )?;
        for kind in update::Kind::ALL {
            for outcome in UPDATE_OUTCOMES {
                updates.with_label_values(&[kind.as_str(), outcome]);
            }
        }
        registry.register(Box::new(updates.clone()))?;
        let payments = IntCounterVec::new(
            Opts::new(
                "souk_telegram_payments_total",
                "Telegram top-up pre-checkout queries and payments by outcome",
            ),
            &["outcome"],
        )?;
        for outcome in PAYMENT_OUTCOMES {
            payments.with_label_values(&[outcome]);
        }
        registry.register(Box::new(payments.clone()))?;
        Ok(Bot {
            api: api::BotApi::new(config.api.clone(), registry)?,
            config,
            updates,
            payments,
            users: DashMap::new(),
        })
    }

    /// The role a Telegram user has in Souk: admin only when configured by id.
    pub fn role_of(&self, telegram_id: i64) -> Role {
        if self.config.admin_ids.contains(&telegram_id) {
            Role::Admin
        } else {
            Role::Customer
        }
    }

    /// Whether the webhook's secret header matches; no configured secret matches nothing.
    /// Compared as SHA-256 digests folded with XOR, so the time taken says nothing about
    /// how much of the secret was right, nor its length.
    pub fn secret_matches(&self, sent: Option<&[u8]>) -> bool {
        let (Some(expected), Some(sent)) = (&self.config.webhook_secret, sent) else {
            return false;
        };
        let a = Sha256::digest(expected.expose_secret().as_bytes());
        let b = Sha256::digest(sent);
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }

    pub fn count(&self, kind: update::Kind, outcome: &'static str) {
        self.updates
            .with_label_values(&[kind.as_str(), outcome])
            .inc();
    }

    pub(crate) fn count_payment(&self, outcome: &'static str) {
        self.payments.with_label_values(&[outcome]).inc();
    }

    /// The payments provider's token, when the shop has one: invoices in the shop currency
    /// need it (Telegram refuses them without), invoices in Stars must not carry it.
    pub(crate) fn provider_token(&self) -> Option<String> {
        let token = self.config.payment_provider_token.as_ref()?;
        Some(token.expose_secret().to_string()).filter(|t| !t.is_empty())
    }

    pub(crate) fn known_user(&self, telegram_id: i64) -> Option<UserId> {
        self.users.get(&telegram_id).map(|u| *u)
    }

    pub(crate) fn remember_user(&self, telegram_id: i64, user: UserId) {
        self.users.insert(telegram_id, user);
    }
}

//! Settings: built-in defaults, then an optional `souk.toml`, then `SOUK__SECTION__KEY`
//! environment variables on top. Secrets are `SecretString`, so `Debug` and logs never show
//! them. The `production` profile refuses to start on dev conveniences (generated secret,
//! private cluster).

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// 30 days: longer would refuse an honest buyer's next unpaid order for no gain.
const UNPAID_COOLDOWN_SECS_MAX: u64 = 30 * 86_400;

/// The shortest JWT secret production accepts: HS256 wants at least the hash's 32 bytes.
pub const JWT_SECRET_MIN_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Dev,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub profile: Profile,
    /// `actors` (Souk); `row_locks` is the conventional design `souk bench` compares against.
    pub engine: souk_actors::baseline::Engine,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub shop: ShopSettings,
    pub persistence: PersistenceSettings,
    pub actors: ActorSettings,
    pub telegram: TelegramSettings,
    pub shipping: ShippingSettings,
    pub tax: TaxSettings,
    pub checkout: CheckoutSettings,
    pub payments: PaymentSettings,
    pub returns: ReturnsSettings,
    pub rate_limits: souk_http::middleware::ratelimit::RateLimitSettings,
    pub metrics: MetricsSettings,
    /// Tests mount extra routes (a handler that panics) on the real app through this; it is
    /// not configurable from a file or the environment, so production cannot reach it.
    #[doc(hidden)]
    #[serde(skip)]
    pub test_routes: Option<fn(&mut actix_web::web::ServiceConfig)>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub addr: String,
    /// Worker threads for HTTP; 0 means one per core.
    pub workers: usize,
    pub body_limit_bytes: usize,
    /// Bound on reading a request: its headers within this, then its whole body within this
    /// again, so a client trickling bytes cannot hold a connection open.
    pub request_read_timeout_ms: u64,
    /// Comma-separated origins allowed to call from a browser (`https://shop.example`); none by default.
    pub cors_origins: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Unset in dev: Souk runs its private cluster under `./.souk/`.
    pub url: Option<SecretString>,
    pub pool_size: usize,
    /// How long a request waits for a connection or a statement before answering 503.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopSettings {
    pub currency: String,
    /// Seed a demo catalog when the database is empty and the private cluster is in use.
    pub demo_seed: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistenceSettings {
    pub batch_max: usize,
    pub queue_max: usize,
    pub write_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSettings {
    pub idle_timeout_secs: u64,
    pub mailbox_max: usize,
    pub call_timeout_ms: u64,
    pub reservation_ttl_secs: u64,
    /// Threads that run product and user actors; 0 means one per core.
    pub threads: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// HMAC secret the payment provider signs webhook events with.
    pub webhook_secret: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A product with at most this many units left counts in `souk_stock_low_products`.
    pub stock_low_threshold: i64,
}

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
    /// How long a top-up invoice may be paid after it was sent.
    pub invoice_ttl_secs: u64,
    /// Products at or below this many units are on the admin's low-stock list.
    pub low_stock_threshold: i64,
}

impl TelegramSettings {
    pub fn admin_ids(&self) -> Result<Vec<i64>, ConfigError> {
        id_list(&self.admin_ids, "telegram.admin_ids")
    }

    pub fn topup_amounts(&self) -> Result<Vec<i64>, ConfigError> {
        let amounts = id_list(&self.topup_amounts_minor, "telegram.topup_amounts_minor")?;
        if amounts.is_empty() || amounts.len() > 6 {
            return Err(ConfigError::Invalid(
                "telegram.topup_amounts_minor must list 1..=6 positive amounts".into(),
            ));
        }
        Ok(amounts)
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutSettings {
    /// How long an order awaiting an external payment holds its stock and keys.
    pub reservation_ttl_secs: u64,
    /// How often overdue orders are looked for and cancelled.
    pub expiry_sweep_ms: u64,
    /// Bounds on one buyer's orders awaiting an external payment: how many orders, how many
    /// units in all, and what percentage of one product's units for sale (at least 1 unit).
    pub unpaid_orders_max: u32,
    pub unpaid_units_max: u32,
    pub unpaid_product_share_pct: u32,
    /// How long an order that ended unpaid keeps counting after its payment was due.
    pub unpaid_cooldown_secs: u64,
}

impl CheckoutSettings {
    pub fn unpaid_limits(&self) -> souk_actors::domain::unpaid::UnpaidLimits {
        souk_actors::domain::unpaid::UnpaidLimits {
            orders_max: i64::from(self.unpaid_orders_max),
            units_max: i64::from(self.unpaid_units_max),
            product_share_pct: i64::from(self.unpaid_product_share_pct),
            cooldown: Duration::from_secs(self.unpaid_cooldown_secs),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnsSettings {
    /// Days after delivery within which a customer may ask to return goods.
    pub window_days: u64,
}

/// Shipping for orders with physical goods (digital-only orders never pay shipping).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingSettings {
    pub flat_minor: i64,
    /// Goods (after discount) at or above this ship free; absent: never free.
    pub free_from_minor: Option<i64>,
}

/// Tax in basis points (2000 = 20 %), rounded half-even once per order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxSettings {
    pub rate_bp: u32,
    /// true: prices already contain the tax (the order shows how much); false: added on top.
    pub inclusive: bool,
}

const DEFAULTS: &str = r#"
profile = "dev"
engine = "actors"

[http]
addr = "127.0.0.1:8080"
workers = 0
body_limit_bytes = 262144
request_read_timeout_ms = 10000
cors_origins = ""

[database]
pool_size = 16
timeout_ms = 5000

[auth]

[shop]
currency = "USD"
demo_seed = true

[persistence]
batch_max = 256
queue_max = 10000
write_timeout_ms = 5000

[actors]
idle_timeout_secs = 300
mailbox_max = 1024
call_timeout_ms = 10000
reservation_ttl_secs = 60
threads = 0

[telegram]
api_base = "https://api.telegram.org"
admin_ids = ""
init_data_max_age_secs = 86400
api_timeout_ms = 5000
api_retries = 2
retry_after_max_secs = 30
reply_within_ms = 2000
topup_amounts_minor = "500,1000,2500"
invoice_ttl_secs = 3600
low_stock_threshold = 5

# No shipping fee and no tax until the shop sets its own: a guessed tax rate is a wrong one.
[shipping]
flat_minor = 0

[tax]
rate_bp = 0
inclusive = false

# An unpaid order holds stock for nothing: a buyer may have 3 awaiting payment (room for a
# retried payment page or two), 20 units in all, and half of any product's units for sale,
# so at least half of every product stays buyable by others. An order that ended unpaid
# counts one more window after its payment was due, so cancelling or lapsing and ordering
# again cannot keep a hold alive: a hoarder holds a product at most half of the time.
[checkout]
reservation_ttl_secs = 900
expiry_sweep_ms = 1000
unpaid_orders_max = 3
unpaid_units_max = 20
unpaid_product_share_pct = 50
unpaid_cooldown_secs = 900

[payments]

[returns]
window_days = 30

# Requests per second and burst, per user (valid token) or else per IP; webhooks per webhook.
[rate_limits.checkout]
per_second = 2
burst = 10

[rate_limits.writes]
per_second = 20
burst = 60

[rate_limits.reads]
per_second = 50
burst = 200

# Requests with a token that does not verify, per IP.
[rate_limits.auth]
per_second = 2
burst = 20

[rate_limits.webhooks]
per_second = 200
burst = 1000

[metrics]
stock_low_threshold = 5
"#;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl Settings {
    /// Defaults, then `souk.toml` in the working directory if present, then the environment.
    pub fn load() -> Result<Settings, ConfigError> {
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .add_source(
                config::File::with_name("souk")
                    .format(config::FileFormat::Toml)
                    .required(false),
            )
            .add_source(
                config::Environment::with_prefix("SOUK")
                    .prefix_separator("__")
                    .separator("__"),
            )
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The built-in defaults alone: what tests start from before pointing at their database.
    pub fn defaults() -> Result<Settings, ConfigError> {
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        Ok(settings)
    }

    /// The shop's shipping and tax rules, as the one pricing function takes them.
    pub fn pricing(&self) -> souk_actors::domain::pricing::PricingRules {
        use souk_actors::domain::money::Money;
        souk_actors::domain::pricing::PricingRules {
            shipping_flat: Money::from_minor(self.shipping.flat_minor),
            free_shipping_from: self.shipping.free_from_minor.map(Money::from_minor),
            tax_rate_bp: self.tax.rate_bp,
            tax_inclusive: self.tax.inclusive,
        }
    }

    fn validate_pricing(&self) -> Result<(), ConfigError> {
        let bound = 0..=100_000_000;
        if !bound.contains(&self.shipping.flat_minor)
            || self
                .shipping
                .free_from_minor
                .is_some_and(|f| !bound.contains(&f))
        {
            return Err(ConfigError::Invalid(
                "shipping.flat_minor and shipping.free_from_minor must be 0..=100000000".into(),
            ));
        }
        if self.returns.window_days > 3650 {
            return Err(ConfigError::Invalid(
                "returns.window_days is at most 3650".into(),
            ));
        }
        if self.checkout.reservation_ttl_secs == 0 || self.checkout.expiry_sweep_ms == 0 {
            return Err(ConfigError::Invalid(
                "checkout.reservation_ttl_secs and checkout.expiry_sweep_ms must be positive"
                    .into(),
            ));
        }
        let c = &self.checkout;
        if c.unpaid_orders_max == 0
            || c.unpaid_units_max == 0
            || !(1..=100).contains(&c.unpaid_product_share_pct)
            || c.unpaid_cooldown_secs > UNPAID_COOLDOWN_SECS_MAX
        {
            return Err(ConfigError::Invalid(format!(
                "checkout.unpaid_orders_max and checkout.unpaid_units_max must be positive, \
                 checkout.unpaid_product_share_pct within 1..=100 and \
                 checkout.unpaid_cooldown_secs at most {UNPAID_COOLDOWN_SECS_MAX}"
            )));
        }
        if self.tax.rate_bp > souk_actors::domain::pricing::TAX_RATE_BP_MAX {
            return Err(ConfigError::Invalid(
                "tax.rate_bp is in basis points and at most 10000 (100 %)".into(),
            ));
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if souk_actors::domain::money::Currency::parse(&self.shop.currency).is_none() {
            return invalid("shop.currency must be a three-letter ISO 4217 code such as USD");
        }
        if self.database.pool_size == 0
            || self.persistence.batch_max == 0
            || self.persistence.queue_max == 0
        {
            return invalid("database.pool_size, persistence.batch_max and persistence.queue_max must be positive");
        }
        if self.actors.mailbox_max == 0 || self.actors.idle_timeout_secs == 0 {
            return invalid("actors.mailbox_max and actors.idle_timeout_secs must be positive");
        }
        if self.http.request_read_timeout_ms == 0 {
            return invalid("http.request_read_timeout_ms must be positive");
        }
        self.validate_pricing()?;
        self.telegram.admin_ids()?;
        self.telegram.topup_amounts()?;
        if let Some(origin) =
            souk_http::middleware::cors::parse_origins(&self.http.cors_origins).err()
        {
            return Err(ConfigError::Invalid(format!(
                "SOUK__HTTP__CORS_ORIGINS: {origin}"
            )));
        }
        if let Some(class) = self.rate_limits.invalid() {
            return Err(ConfigError::Invalid(format!(
                "SOUK__RATE_LIMITS__{}__PER_SECOND must be within 0.001..=1e9 and __BURST positive",
                class.to_ascii_uppercase()
            )));
        }
        for (setting, secret) in self.secrets() {
            match (self.profile, secret_problem(secret)) {
                (_, None) => {}
                (Profile::Dev, Some(problem)) if secret.is_some() => {
                    tracing::warn!("{setting} {problem}; production refuses it");
                }
                (Profile::Dev, Some(_)) => {}
                (Profile::Production, Some(problem)) => {
                    return Err(ConfigError::Invalid(format!(
                        "{setting} {problem}; the production profile needs at least {JWT_SECRET_MIN_BYTES} random bytes (e.g. `openssl rand -hex 32`)"
                    )));
                }
            }
        }
        if let Some((a, b)) = crate::secret_strength::first_reused(&self.secrets()) {
            let problem = format!("{a} and {b} have the same value; each secret must be its own");
            match self.profile {
                Profile::Dev => tracing::warn!("{problem}; production refuses it"),
                Profile::Production => {
                    return Err(ConfigError::Invalid(format!(
                        "{problem} (e.g. a separate `openssl rand -hex 32` for each)"
                    )))
                }
            }
        }
        if self.profile == Profile::Production && self.database.url.is_none() {
            return invalid(
                "the production profile needs SOUK__DATABASE__URL; the private cluster is for dev only",
            );
        }
        Ok(())
    }

    /// Every secret production insists on, with the setting that names it.
    fn secrets(&self) -> [(&'static str, Option<&SecretString>); 3] {
        [
            ("SOUK__AUTH__JWT_SECRET", self.auth.jwt_secret.as_ref()),
            (
                "SOUK__PAYMENTS__WEBHOOK_SECRET",
                self.payments.webhook_secret.as_ref(),
            ),
            (
                "SOUK__TELEGRAM__WEBHOOK_SECRET",
                self.telegram.webhook_secret.as_ref(),
            ),
        ]
    }

    /// The JWT secret: configured, or in dev one generated once and kept in `state_dir`.
    pub fn jwt_secret(&self, state_dir: &Path) -> Result<SecretString, ConfigError> {
        if let Some(secret) = &self.auth.jwt_secret {
            return Ok(secret.clone());
        }
        let path = state_dir.join("jwt_secret");
        let io = |source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= JWT_SECRET_MIN_BYTES => {
                return Ok(SecretString::from(s.trim().to_string()))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = hex::encode(bytes);
        write_private(&path, &secret).map_err(io)?;
        Ok(SecretString::from(secret))
    }

    pub fn database_timeout(&self) -> Duration {
        Duration::from_millis(self.database.timeout_ms)
    }
}

/// What is wrong with a secret for production, if anything.
fn secret_problem(secret: Option<&SecretString>) -> Option<&'static str> {
    match secret.map(|s| s.expose_secret()) {
        None => Some("is missing"),
        Some(s) if is_placeholder(s) => Some("is a placeholder"),
        Some(s) if s.len() < JWT_SECRET_MIN_BYTES => Some("is shorter than 32 bytes"),
        Some(s) => crate::secret_strength::low_entropy(s),
    }
}

/// Values copied from examples and templates, never meant to be used.
fn is_placeholder(secret: &str) -> bool {
    let s = secret.trim().to_ascii_lowercase();
    let known = [
        "change-me",
        "changeme",
        "change_me",
        "secret",
        "password",
        "example",
        "placeholder",
    ];
    known.iter().any(|k| s.contains(k))
        || (s.starts_with("your-") && s.ends_with("-secret"))
        || s.starts_with("<")
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_debug_hides_secrets() {
        let mut s = Settings::defaults().unwrap();
        s.validate().unwrap();
        s.auth.jwt_secret = Some(SecretString::from(
            "super-secret-value-that-must-not-leak".to_string(),
        ));
        assert!(!format!("{s:?}").contains("super-secret"));
    }

    #[test]
    fn production_refuses_a_short_or_missing_secret() {
        let mut s = Settings::defaults().unwrap();
        s.profile = Profile::Production;
        s.database.url = Some(SecretString::from("postgres://x@localhost/db".to_string()));
        assert!(s.validate().is_err());
        s.auth.jwt_secret = Some(SecretString::from("short".to_string()));
        assert!(s.validate().is_err());
        let strong = |i: u8| SecretString::from(format!("{i}f3a9c1e5b7d2048e6a1c3b5d7f9e0a2c"));
        s.auth.jwt_secret = Some(strong(1));
        s.payments.webhook_secret = Some(strong(2));
        s.telegram.webhook_secret = Some(strong(3));
        s.validate().unwrap();
        s.telegram.webhook_secret = Some(SecretString::from("t".repeat(32)));
        assert!(s.validate().is_err(), "low entropy");
        s.telegram.webhook_secret = Some(strong(1));
        assert!(s.validate().is_err(), "reused");
        s.telegram.webhook_secret = Some(strong(3));
        for placeholder in [
            "change-me-change-me-change-me-change-me",
            "your-jwt-secret-your-jwt-secret-your-jwt-secret",
        ] {
            s.auth.jwt_secret = Some(SecretString::from(placeholder.to_string()));
            let error = s.validate().unwrap_err().to_string();
            assert!(error.contains("placeholder"), "{error}");
        }
    }
}

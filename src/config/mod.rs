//! Settings: built-in defaults, then an optional `souk.toml`, then `SOUK__SECTION__KEY`
//! environment variables on top. Secrets are `SecretString`, so `Debug` and logs never show
//! them. The `production` profile refuses to start on dev conveniences (generated secret,
//! private cluster).

mod actors;
mod cluster;
mod database;
mod http;
mod secrets;
mod shop;
mod telegram;
mod validate;

pub use actors::ActorSettings;
pub use cluster::ClusterSettings;
pub use database::{DatabaseSettings, PersistenceSettings};
pub use http::{HttpSettings, MetricsSettings};
pub use secrets::{AuthSettings, JWT_SECRET_MIN_BYTES};
pub use shop::{
    CheckoutSettings, PaymentSettings, ReturnsSettings, ShippingSettings, ShopSettings, TaxSettings,
};
pub use telegram::TelegramSettings;

use serde::Deserialize;

/// Every setting's built-in value; `souk.toml` and `SOUK__SECTION__KEY` override them.
const DEFAULTS: &str = include_str!("defaults.toml");

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
    pub cluster: ClusterSettings,
    pub webhooks: souk_http::webhooks::WebhookSettings,
    /// Tests mount extra routes (a handler that panics) on the real app through this; it is
    /// not configurable from a file or the environment, so production cannot reach it.
    #[doc(hidden)]
    #[serde(skip)]
    pub test_routes: Option<fn(&mut actix_web::web::ServiceConfig)>,
}

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

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

//! The checks `Settings::load` runs after parsing: bounds, lists that must parse, and the
//! production profile's refusals. Each error names the setting to fix.

use super::secrets::{secret_problem, JWT_SECRET_MIN_BYTES};
use super::{ConfigError, Profile, Settings};

impl Settings {
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
        self.validate_cluster()?;
        self.telegram.admin_ids()?;
        self.telegram.topup_amounts()?;
        if let Some(origin) =
            souk_http::middleware::cors::parse_origins(&self.http.cors_origins).err()
        {
            return Err(ConfigError::Invalid(format!(
                "SOUK__HTTP__CORS_ORIGINS: {origin}"
            )));
        }
        if let Some(problem) = self.webhooks.invalid() {
            return invalid(problem);
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
}

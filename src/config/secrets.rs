//! `[auth]` and every secret: the JWT secret (generated once in dev), and what production
//! refuses (missing, placeholder, short, low-entropy or reused secrets).

use super::{ConfigError, Settings};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::Path;

/// The shortest JWT secret production accepts: HS256 wants at least the hash's 32 bytes.
pub const JWT_SECRET_MIN_BYTES: usize = 32;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: Option<SecretString>,
}

impl Settings {
    /// Every secret production insists on, with the setting that names it.
    pub(super) fn secrets(&self) -> [(&'static str, Option<&SecretString>); 3] {
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
}

/// What is wrong with a secret for production, if anything.
pub(super) fn secret_problem(secret: Option<&SecretString>) -> Option<&'static str> {
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

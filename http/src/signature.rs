//! `Souk-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`: the one
//! signature scheme Souk checks, on payment providers' events and on the messages its
//! cluster's nodes send each other, and signs its outgoing webhooks with. Pure: reading a
//! signed request's body is `extract::signed_body`.

use crate::i18n::Msg;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signature's timestamp may be from now: a replayed old request is refused.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;
pub const SIGNATURE_HEADER: &str = "Souk-Signature";

/// A `Souk-Signature` header, `t=<unix>,v1=<hex>[,v1=<hex>...]`, whose timestamp is within
/// the tolerance of now. Any `v1` may match, so a provider rotating its secret can sign with
/// the old and the new one at once.
pub struct Signature {
    t: i64,
    v1: Vec<Vec<u8>>,
}

impl Signature {
    pub fn parse(header: &str, now: i64) -> Result<Signature, Msg> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                Some(("v1", hex_sig)) => {
                    if let Ok(sig) = hex::decode(hex_sig) {
                        v1.push(sig);
                    }
                }
                _ => {}
            }
        }
        let t = timestamp.ok_or_else(|| Msg::new("error-signature-timestamp"))?;
        // `abs_diff` cannot overflow, so no `t` however far off wraps into the tolerance.
        if t.abs_diff(now) > SIGNATURE_TOLERANCE_SECS.unsigned_abs() {
            return Err(
                Msg::new("error-signature-stale").arg("minutes", SIGNATURE_TOLERANCE_SECS / 60)
            );
        }
        if v1.is_empty() {
            return Err(Msg::new("error-signature-no-v1"));
        }
        Ok(Signature { t, v1 })
    }

    /// Whether any `v1` is the MAC of `body` under `secret`; compared in constant time
    /// (`verify_slice`).
    pub fn matches(&self, secret: &[u8], body: &[u8]) -> bool {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(self.t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        self.v1
            .iter()
            .any(|sig| mac.clone().verify_slice(sig).is_ok())
    }
}

/// Checks a whole signature header against the raw body.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> Result<(), Msg> {
    if Signature::parse(header, now)?.matches(secret, body) {
        Ok(())
    } else {
        Err(Msg::new("error-signature-mismatch"))
    }
}

/// The header a provider would send for `body` at `t`; for tests and tools.
pub fn sign(secret: &[u8], body: &[u8], t: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_until_it_is_stale_and_any_v1_may_match() {
        let body = br#"{"a":1}"#;
        let good = sign(b"secret", body, 1_000);
        assert_eq!(verify(b"secret", &good, body, 1_000), Ok(()));
        assert_eq!(verify(b"secret", &good, body, 1_300), Ok(()));
        assert!(verify(b"secret", &good, body, 1_301).is_err());
        assert!(verify(b"other", &good, body, 1_000).is_err());
        assert!(verify(b"secret", &good, br#"{"a":2}"#, 1_000).is_err());
        let old = sign(b"old-secret", body, 1_000);
        let rotated = format!(
            "{good},{}",
            old.split_once(',').map(|(_, v)| v).unwrap_or("")
        );
        assert_eq!(verify(b"old-secret", &rotated, body, 1_000), Ok(()));
        assert_eq!(verify(b"secret", &rotated, body, 1_000), Ok(()));
        for bad in ["", "t=abc,v1=00", "v1=00", "t=1000", "t=1000,v1=zz"] {
            assert!(verify(b"secret", bad, body, 1_000).is_err(), "{bad}");
        }
        for t in [i64::MIN, i64::MIN + 1_000, i64::MAX, 1_000 - i64::MAX] {
            let far = sign(b"secret", body, t);
            assert!(verify(b"secret", &far, body, 1_000).is_err(), "t={t}");
        }
    }
}

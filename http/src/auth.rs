//! JWT bearer tokens (HS256): `sub` is the user id as a string, `role` one of
//! customer < staff < admin, `exp` a Unix time. `Caller::require` is the one way a route
//! asks for a role.

use crate::error::ApiError;
use crate::i18n::Msg;
use dashmap::DashMap;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use souk_actors::domain::ids::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Staff,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "customer" => Some(Role::Customer),
            "staff" => Some(Role::Staff),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// 2^53 − 1, the largest integer a JSON number carries exactly everywhere.
pub const MAX_TOKEN_USER_ID: i64 = 9_007_199_254_740_991;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    exp: i64,
}

/// Who is calling, proven by a valid token.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub user: UserId,
    pub role: Role,
}

impl Caller {
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(role.as_str()))
        }
    }

    /// How this caller is named in the audit log and status history.
    pub fn audit_name(&self) -> String {
        format!("user:{}:{}", self.user, self.role.as_str())
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Tokens that verified lately, by the SHA-256 of their bytes (a token that is not
    /// byte for byte one that verified cannot be found here): a client sends the same token
    /// with every request, and each request asks twice (the rate limiter, then the route),
    /// so most checks are one hash and a lookup instead of an HMAC, base64 and JSON.
    verified: DashMap<[u8; 32], Verified>,
}

/// A verified token's caller, and until when the cache may answer for it.
#[derive(Debug, Clone, Copy)]
struct Verified {
    caller: Caller,
    /// The token's `exp` plus the leeway: past it, the token is checked afresh (and
    /// refused as expired).
    valid_until: i64,
    /// Unix time the entry stops being used, however long the token lives.
    cached_until: i64,
}

/// How long a verified token is answered from memory.
const CACHE_SECS: i64 = 60;
/// Tokens remembered at most (about 100 bytes each); past it the cache starts again empty,
/// so a flood of distinct valid tokens costs verification, never memory.
const CACHE_MAX: usize = 4_096;

impl JwtKeys {
    pub fn new(secret: &SecretString) -> JwtKeys {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 5;
        JwtKeys {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            verified: DashMap::new(),
        }
    }

    pub fn mint(
        &self,
        user: UserId,
        role: Role,
        ttl_secs: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let exp = chrono::Utc::now().timestamp().saturating_add(ttl_secs);
        let claims = Claims {
            sub: user.get().to_string(),
            role,
            exp,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The caller a token proves, or why it proves none.
    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.verified.get(&digest).map(|v| *v) {
            if now <= hit.valid_until && now <= hit.cached_until {
                return Ok(hit.caller);
            }
            self.verified.remove(&digest);
        }
        let (caller, exp) = self.verify_afresh(token)?;
        if self.verified.len() >= CACHE_MAX {
            self.verified.clear();
        }
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(0);
        self.verified.insert(
            digest,
            Verified {
                caller,
                valid_until: exp.saturating_add(leeway),
                cached_until: now.saturating_add(CACHE_SECS),
            },
        );
        Ok(caller)
    }

    /// Signature, expiry and claims checked: the caller and the token's `exp`.
    fn verify_afresh(&self, token: &str) -> Result<(Caller, i64), ApiError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized(Msg::new("error-token-expired"))
                }
                _ => ApiError::unauthorized(Msg::new("error-token-invalid")),
            }
        })?;
        // Ids stay within what JSON clients (JavaScript) represent exactly. (A token's id
        // never moves the shared id sequence: see `store::ensure_user`.)
        let user = data
            .claims
            .sub
            .parse::<UserId>()
            .ok()
            .filter(|u| u.get() <= MAX_TOKEN_USER_ID)
            .ok_or_else(|| ApiError::unauthorized(Msg::new("error-token-sub")))?;
        let caller = Caller {
            user,
            role: data.claims.role,
        };
        Ok((caller, data.claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_and_a_foreign_one_does_not() {
        let keys = JwtKeys::new(&SecretString::from("k".repeat(32)));
        let other = JwtKeys::new(&SecretString::from("j".repeat(32)));
        let token = keys.mint(UserId::new(7).unwrap(), Role::Staff, 60).unwrap();
        let caller = keys.verify(&token).unwrap();
        assert_eq!(caller.user.get(), 7);
        assert!(caller.require(Role::Staff).is_ok());
        assert!(caller.require(Role::Admin).is_err());
        assert!(other.verify(&token).is_err());
        let expired = keys
            .mint(UserId::new(7).unwrap(), Role::Admin, -60)
            .unwrap();
        assert!(keys.verify(&expired).is_err());
    }

    #[test]
    fn a_cached_token_still_expires_and_a_tampered_one_is_never_taken_from_the_cache() {
        let keys = JwtKeys::new(&SecretString::from("k".repeat(32)));
        let token = keys.mint(UserId::new(7).unwrap(), Role::Admin, 60).unwrap();
        assert_eq!(keys.verify(&token).unwrap().user.get(), 7);
        // Served from memory now; one changed byte is another key and verifies afresh.
        assert_eq!(keys.verify(&token).unwrap().role, Role::Admin);
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.verify(&tampered).is_err());
        // An entry past its token's expiry is checked afresh, and refused as expired.
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        keys.verified.alter(&digest, |_, mut v| {
            v.valid_until = chrono::Utc::now().timestamp() - 1;
            v
        });
        assert!(
            keys.verify(&token).is_ok(),
            "the token itself is still valid: verified afresh"
        );
        let short = keys
            .mint(UserId::new(8).unwrap(), Role::Customer, -60)
            .unwrap();
        assert!(keys.verify(&short).is_err());
        assert!(
            keys.verify(&short).is_err(),
            "a refused token is never cached"
        );
    }
}

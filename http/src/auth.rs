//! JWT bearer tokens (HS256): `sub` is the user id as a string, `role` one of
//! customer < staff < admin, `exp` a Unix time. `Caller::require` is the one way a route
//! asks for a role.

use crate::error::ApiError;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
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
}

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

    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::unauthorized("the token has expired"),
                _ => ApiError::unauthorized("the token is not valid"),
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
            .ok_or_else(|| ApiError::unauthorized("the token's sub is not a user id"))?;
        Ok(Caller {
            user,
            role: data.claims.role,
        })
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
}

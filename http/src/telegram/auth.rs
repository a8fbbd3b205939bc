//! `POST /v1/auth/telegram {init_data}`: a Mini App proves who its user is with Telegram's
//! signed `initData` — HMAC-SHA256 over the sorted `key=value` lines (all but `hash`) with
//! the key HMAC-SHA256("WebAppData", bot token), as the Bot API documents — and gets a Souk
//! JWT for that Telegram user. Bad, unsigned or older than the configured age: 401.

use super::update::User;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::i18n::Msg;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use souk_actors::domain::changes::AuditEntry;
use souk_actors::domain::ids::UserId;
use souk_actors::store;

/// Lifetime of the token handed to a Mini App.
const TOKEN_TTL_SECS: i64 = 3600;
/// Clock skew tolerated for an `auth_date` in the future.
const SKEW_SECS: i64 = 60;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The Mini App's `Telegram.WebApp.initData`, as it is.
    init_data: String,
}

/// A Souk JWT for the Telegram user.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    token: String,
    user_id: UserId,
    #[schema(value_type = String)]
    role: crate::auth::Role,
    expires_in: i64,
}

#[utoipa::path(
    post,
    path = "/v1/auth/telegram",
    summary = "Sign a Mini App's Telegram user in with its initData",
    tag = "telegram",
    operation_id = "telegram_sign_in",
    request_body = SignIn,
    responses((status = 200, body = SignedIn))
)]
pub async fn sign_in(state: web::Data<AppState>, body: Json<SignIn>) -> ApiResult<HttpResponse> {
    let bot = &state.telegram;
    let token = bot
        .config
        .api
        .token
        .as_ref()
        .ok_or_else(|| ApiError::unauthorized(Msg::new("error-telegram-sign-in-off")))?;
    let max_age = i64::try_from(bot.config.init_data_max_age.as_secs()).unwrap_or(i64::MAX);
    let user = verify(
        &body.value.init_data,
        token.expose_secret().as_bytes(),
        chrono::Utc::now().timestamp(),
        max_age,
    )
    .ok_or_else(|| ApiError::unauthorized(Msg::new("error-init-data")))?;
    let id = souk_user(&state, &user, None).await?;
    bot.remember_user(user.id, id);
    let role = bot.role_of(user.id);
    let jwt = state
        .keys
        .mint(id, role, TOKEN_TTL_SECS)
        .map_err(|e| ApiError::from(souk_actors::DomainError::Internal(e.to_string())))?;
    Ok(HttpResponse::Ok().json(SignedIn {
        token: jwt,
        user_id: id,
        role,
        expires_in: TOKEN_TTL_SECS,
    }))
}

/// The Souk user of a Telegram user, created on first contact by the one `create_user`
/// (audited as the bot's doing, `request_id` the update's). Its name is the Telegram first
/// name when Souk can keep it: trimmed, at most 200 characters, no control characters.
pub(crate) async fn souk_user(
    state: &AppState,
    from: &User,
    request_id: Option<String>,
) -> ApiResult<UserId> {
    let name: String = from.first_name.trim().chars().take(200).collect();
    let name = Some(name).filter(|n| !n.is_empty() && !n.chars().any(char::is_control));
    let audit = AuditEntry {
        actor: "telegram".into(),
        action: "user.create",
        target: "user:new".into(),
        before: None,
        after: None,
        request_id,
    };
    let user = store::telegram::user_for(&state.pool, from.id, name.as_deref(), &audit);
    state.bounded(user).await
}

/// The Telegram user named by signed, fresh `init_data`; `None` for anything else.
pub fn verify(init_data: &str, bot_token: &[u8], now: i64, max_age_secs: i64) -> Option<User> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(init_data.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let hash_at = pairs.iter().position(|(k, _)| k == "hash")?;
    let (_, hash) = pairs.remove(hash_at);
    let hash = hex::decode(hash).ok()?;
    pairs.sort();
    // Constant-time comparison of the signature.
    mac(&pairs, bot_token)?.verify_slice(&hash).ok()?;
    let find = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let auth_date: i64 = find("auth_date")?.parse().ok()?;
    // Checked: an auth_date however far off is refused, never wrapped into the window.
    let age = now.checked_sub(auth_date)?;
    if age > max_age_secs || age < -SKEW_SECS {
        return None;
    }
    let user: User = serde_json::from_str(find("user")?).ok()?;
    (user.id > 0 && !user.is_bot).then_some(user)
}

/// The MAC Telegram signs `initData` with: HMAC-SHA256 keyed by HMAC-SHA256("WebAppData",
/// bot token), over the sorted `key=value` pairs joined by newlines.
fn mac<K: AsRef<str>, V: AsRef<str>>(sorted: &[(K, V)], bot_token: &[u8]) -> Option<Hmac<Sha256>> {
    let check = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", k.as_ref(), v.as_ref()))
        .collect::<Vec<_>>()
        .join("\n");
    let mut secret = Hmac::<Sha256>::new_from_slice(b"WebAppData").ok()?;
    secret.update(bot_token);
    let key = secret.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(check.as_bytes());
    Some(mac)
}

/// Signs `pairs` as Telegram does (for tests and tools that play the Telegram side).
pub fn sign(pairs: &[(&str, &str)], bot_token: &[u8]) -> Option<String> {
    let mut sorted: Vec<_> = pairs.to_vec();
    sorted.sort();
    let hash = hex::encode(mac(&sorted, bot_token)?.finalize().into_bytes());
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.append_pair("hash", &hash);
    Some(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_fresh_data_verifies_and_anything_else_does_not() {
        let token = b"123:abc";
        let user = r#"{"id":42,"first_name":"Ann"}"#;
        let data = sign(
            &[("auth_date", "1000"), ("user", user), ("query_id", "q")],
            token,
        )
        .unwrap();
        assert_eq!(verify(&data, token, 1000, 60).map(|u| u.id), Some(42));
        assert!(verify(&data, b"123:other", 1000, 60).is_none());
        assert!(verify(&data, token, 1061, 60).is_none(), "too old");
        assert!(verify(&data.replace("Ann", "Bob"), token, 1000, 60).is_none());
        assert!(verify("user=x", token, 1000, 60).is_none());
        assert!(verify("", token, 1000, 60).is_none());
        for far in [i64::MIN, i64::MIN + 1000, i64::MAX] {
            let far = far.to_string();
            let data = sign(&[("auth_date", far.as_str()), ("user", user)], token).unwrap();
            assert!(verify(&data, token, 1000, 60).is_none(), "auth_date {far}");
        }
    }
}

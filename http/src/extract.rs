//! Extractors: everything a handler receives is already parsed and checked. A bad body is
//! 400 (not JSON) or 422 (wrong field, `details.field` names it); a bad token is 401; a bad
//! id in the path is 400; a bad Idempotency-Key is 400.

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::i18n::Msg;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use souk_actors::store::{self, PageRequest};

mod numbers;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| {
            ApiError::from(souk_actors::DomainError::Internal(
                "application state missing".into(),
            ))
        })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let token =
                token.ok_or_else(|| ApiError::unauthorized(Msg::new("error-token-missing")))?;
            let caller = state.keys.verify(token.trim())?;
            if !state.known_users.contains(&caller.user) {
                // Creating a user serializes on a lock in Postgres; taking turns here first
                // means the requests waiting their turn hold no pooled connection, so a crowd
                // of first-time users cannot starve the pool.
                let _turn = state.user_creation.lock().await;
                if !state.known_users.contains(&caller.user) {
                    state
                        .bounded(store::ensure_user(&state.pool, caller.user))
                        .await?;
                    state.known_users.insert(caller.user);
                }
            }
            Ok(caller)
        })
    }
}

/// A caller with at least the staff role. As an extractor it runs before the body is read,
/// so a customer gets 403 whatever they sent.
pub struct Staff(pub Caller);

/// A caller with the admin role; see `Staff`.
pub struct Admin(pub Caller);

fn with_role(
    req: &HttpRequest,
    payload: &mut Payload,
    role: Role,
) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
    let caller = Caller::from_request(req, payload);
    Box::pin(async move {
        let caller = caller.await?;
        caller.require(role)?;
        Ok(caller)
    })
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Staff, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = with_role(req, payload, Role::Staff);
        Box::pin(async move { caller.await.map(Staff) })
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Admin, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = with_role(req, payload, Role::Admin);
        Box::pin(async move { caller.await.map(Admin) })
    }
}

/// A JSON body that keeps its hash, so an Idempotency-Key can tell "same request" from
/// "different request with the same key".
pub struct Json<T> {
    pub value: T,
    pub hash: Vec<u8>,
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Json<T>, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = read_body(req, payload);
        let route = format!("{} {}", req.method(), req.path());
        Box::pin(async move {
            let bytes = bytes.await?;
            let value = parse_json(&bytes)?;
            let mut hasher = Sha256::new();
            hasher.update(route.as_bytes());
            hasher.update([0]);
            hasher.update(&bytes);
            Ok(Json {
                value,
                hash: hasher.finalize().to_vec(),
            })
        })
    }
}

/// The body of a request signed with `secret`. The header is checked before the body is
/// read, so junk without a fresh, well-formed signature costs no read and no MAC.
pub async fn signed_body(
    req: &HttpRequest,
    payload: &mut actix_web::dev::Payload,
    secret: &[u8],
) -> Result<web::Bytes, ApiError> {
    let header = req
        .headers()
        .get(crate::signature::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized(Msg::new("error-signature-missing")))?;
    let signature = crate::signature::Signature::parse(header, chrono::Utc::now().timestamp())
        .map_err(ApiError::unauthorized)?;
    let body = read_body(req, payload).await?;
    if signature.matches(secret, &body) {
        Ok(body)
    } else {
        Err(ApiError::unauthorized(Msg::new("error-signature-mismatch")))
    }
}

/// The raw body, within the body limit (`PayloadConfig`) and the read timeout; each way it
/// can fail is answered in the envelope (413, 408, 400), never as actix-web's plain text.
pub fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl std::future::Future<Output = Result<web::Bytes, ApiError>> + 'static {
    let bytes = web::Bytes::from_request(req, payload);
    async move { bytes.await.map_err(|e| ApiError::framework(&e)) }
}

/// Syntax errors are 400; a well-formed body with a wrong, missing or unknown field is 422.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so an unparseable body (`{"a": 1} x`) is 400 whatever its fields are.
    serde_json::from_slice::<serde_json::Value>(bytes).map_err(ApiError::malformed_json)?;
    // Every body is an object; serde would otherwise take `[5]` for `{"quantity": 5}`.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid("body", Msg::new("error-body-not-object")));
    }
    let bytes = numbers::whole_numbers_as_integers(bytes);
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let field = named_field(&message, &path).unwrap_or(path);
                let field = if field == "." {
                    "body".to_string()
                } else {
                    field
                };
                ApiError::invalid(&field, field_refusal(&message, &field))
            }
            _ => ApiError::malformed_json(inner),
        }
    })
}

/// serde's account of a field it refused, as a message: a missing or unknown field said in
/// each language; any other refusal (a wrong type, a bad value) keeps serde's own words,
/// which name what was expected, after a translated lead.
fn field_refusal(serde_message: &str, field: &str) -> Msg {
    if serde_message.starts_with("missing field `") {
        Msg::new("error-field-missing").arg("field", field)
    } else if serde_message.starts_with("unknown field `") {
        Msg::new("error-field-unknown").arg("field", field)
    } else {
        Msg::new("error-field-not-accepted")
            .arg("field", field)
            .arg("reason", serde_message)
    }
}

/// serde names a missing field only in its message ("missing field `x`"), and the path is
/// then the enclosing object's; an unknown field's path already ends with its name.
fn named_field(message: &str, path: &str) -> Option<String> {
    if message.starts_with("unknown field `") {
        return Some(path.to_string());
    }
    let name = message.strip_prefix("missing field `")?.split('`').next()?;
    Some(if path == "." {
        name.to_string()
    } else {
        format!("{path}.{name}")
    })
}

/// The `Idempotency-Key` header: 1..=255 printable ASCII characters.
pub struct IdempotencyKey(pub String);

pub const IDEMPOTENCY_KEY_MAX: usize = 255;

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<IdempotencyKey, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let bad = |m: Msg| {
            ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                m,
            )
            .with_details(serde_json::json!({ "field": "Idempotency-Key" }))
        };
        let result = match req.headers().get("idempotency-key") {
            None => Err(ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                Msg::new("error-idempotency-key-required"),
            )),
            Some(v) => match v.to_str() {
                Ok(s)
                    if !s.is_empty()
                        && s.len() <= IDEMPOTENCY_KEY_MAX
                        && s.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
                {
                    Ok(IdempotencyKey(s.to_string()))
                }
                _ => Err(bad(Msg::new("error-idempotency-key-shape"))),
            },
        };
        std::future::ready(result)
    }
}

/// Parses a path segment as a positive id.
pub fn path_id<T: std::str::FromStr>(req: &HttpRequest, name: &str) -> Result<T, ApiError> {
    req.match_info()
        .get(name)
        .and_then(|raw| raw.parse::<T>().ok())
        .ok_or_else(|| ApiError::invalid_id(name))
}

/// The query string and the page it asks for (`?limit=&cursor=`).
pub fn page_query(
    req: &HttpRequest,
) -> Result<(std::collections::HashMap<String, String>, PageRequest), ApiError> {
    let q = query_map(req)?;
    let page = page(
        q.get("limit").map(String::as_str),
        q.get("cursor").map(String::as_str),
    )?;
    Ok((q, page))
}

/// `?limit=&cursor=`: limit 1..=100 (default 20); the cursor is opaque to clients.
pub fn page(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => 20,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                ApiError::invalid("limit", Msg::new("error-limit-range").arg("max", 100))
            })?,
    };
    let after = match cursor {
        None | Some("") => None,
        // Exactly the shape this server hands out (a positive integer, no sign, no leading
        // zero), which is the shape the served contract documents.
        Some(raw) => {
            let canonical = raw.starts_with(|c: char| matches!(c, '1'..='9'))
                && raw.bytes().all(|b| b.is_ascii_digit());
            let after = raw.parse::<i64>().ok().filter(|_| canonical);
            Some(
                after
                    .ok_or_else(|| ApiError::invalid("cursor", Msg::new("error-cursor-unknown")))?,
            )
        }
    };
    Ok(PageRequest { limit, after })
}

/// Query strings are parsed into a flat map first so every parameter error names its field.
/// A NUL (`%00`) is refused here for every route: Postgres text cannot hold one, and a
/// filter carrying it would otherwise fail as a database error.
pub fn query_map(req: &HttpRequest) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let bad_query = |message: Msg| {
        ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            message,
        )
    };
    let map =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .map_err(|e| {
                bad_query(Msg::new("error-query-unreadable").arg("reason", e.to_string()))
            })?;
    for (name, value) in &map {
        if name.contains('\0') {
            return Err(bad_query(Msg::new("error-query-name-nul")));
        }
        if value.contains('\0') {
            return Err(ApiError::invalid(
                name,
                Msg::new("error-field-nul").arg("field", name.as_str()),
            ));
        }
    }
    Ok(map)
}

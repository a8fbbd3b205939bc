//! A checking request builder for the endpoint tests: every reply it returns has already
//! been checked for what holds on every response — never a 5xx, always an `x-request-id`,
//! and every error in the one envelope carrying that same request id.

use crate::common::TestApp;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Req<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    token: Option<String>,
    key: Option<String>,
    body: Option<String>,
    headers: Vec<(String, String)>,
}

/// A response whose universal properties have been checked.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl TestApp {
    pub fn req(&self, method: Method, path: impl Into<String>) -> Req<'_> {
        Req {
            app: self,
            method,
            path: path.into(),
            token: None,
            key: None,
            body: None,
            headers: Vec::new(),
        }
    }
}

impl<'a> Req<'a> {
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    /// Sets the `Idempotency-Key` header.
    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    /// A fresh, random `Idempotency-Key`.
    pub fn fresh_key(self) -> Self {
        let key = uuid::Uuid::new_v4().to_string();
        self.key(&key)
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string());
        self
    }

    /// A body sent verbatim as `application/json` (for malformed JSON).
    pub fn raw(mut self, body: &str) -> Self {
        self.body = Some(body.to_string());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub async fn send(self) -> Reply {
        let url = format!("{}{}", self.app.base, self.path);
        let mut req = self.app.http.request(self.method.clone(), url);
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(k) = &self.key {
            req = req.header("idempotency-key", k.as_str());
        }
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        if let Some(body) = self.body {
            if !self
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                req = req.header("content-type", "application/json");
            }
            req = req.body(body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let what = format!("{} {}", self.method, self.path);
        assert!(
            !status.is_server_error(),
            "{what} answered {status}: {text}"
        );
        let rid = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what} answered without x-request-id: {status} {text}"))
            .to_string();
        assert!(!rid.is_empty(), "{what}: empty x-request-id");
        if status.is_client_error() {
            let e = &body["error"];
            assert!(
                e.is_object(),
                "{what} answered {status} outside the error envelope: {text}"
            );
            let code = e["code"].as_str().unwrap_or_default();
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{what}: error code is not snake_case: {text}"
            );
            assert!(
                e["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}: no message: {text}"
            );
            assert!(
                e["details"].is_object(),
                "{what}: details is not an object: {text}"
            );
            assert_eq!(
                e["request_id"].as_str(),
                Some(rid.as_str()),
                "{what}: envelope and header ids differ"
            );
        }
        Reply {
            status,
            headers,
            text,
            body,
        }
    }
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn ok(&self, want: u16) -> &Value {
        assert_eq!(self.status.as_u16(), want, "{}", self.text);
        &self.body
    }

    /// Asserts an error's status and code and returns its details.
    #[track_caller]
    pub fn err(&self, want_status: u16, want_code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), want_status, "{}", self.text);
        assert_eq!(self.body["error"]["code"], want_code, "{}", self.text);
        &self.body["error"]["details"]
    }

    /// Asserts a 422 `invalid_input` naming `field`.
    #[track_caller]
    pub fn invalid(&self, field: &str) {
        let details = self.err(422, "invalid_input");
        assert_eq!(details["field"], field, "{}", self.text);
    }

    /// 422 naming `field` or a field inside it (`shipping_address.city`).
    pub fn invalid_within(&self, field: &str) {
        let details = self.err(422, "invalid_input");
        let named = details["field"].as_str().unwrap_or_default();
        let inside =
            named.starts_with(&format!("{field}.")) || named.starts_with(&format!("{field}["));
        assert!(named == field || inside, "{field}: {}", self.text);
    }

    pub fn request_id(&self) -> &str {
        self.headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Path ids that are not positive 64-bit integers.
pub const BAD_IDS: [&str; 6] = ["abc", "0", "-1", "99999999999999999999", "1.5", "%20"];

/// Ids of the items of a list body.
pub fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

impl TestApp {
    /// Sets a cart line through the checking client and asserts 200.
    pub async fn cart_line(&self, token: &str, product: i64, quantity: i64) -> Value {
        let path = format!("/v1/me/cart/items/{product}");
        let r = self.req(Method::PUT, path).token(token);
        let r = r
            .json(serde_json::json!({ "quantity": quantity }))
            .send()
            .await;
        r.ok(200).clone()
    }

    /// Checks out with `key` through the checking client and asserts 201; returns the order.
    pub async fn buy(&self, token: &str, key: &str) -> Value {
        let r = self
            .req(Method::POST, "/v1/me/checkout")
            .token(token)
            .key(key);
        let r = r.json(crate::common::wallet_checkout()).send().await;
        r.ok(201).clone()
    }

    /// Checks out and returns the new order's id.
    pub async fn buy_id(&self, token: &str, key: &str) -> i64 {
        self.buy(token, key).await["id"].as_i64().expect("order id")
    }
}

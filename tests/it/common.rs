//! Shared set-up: each test gets its own database on the test Postgres (found as
//! DEVELOPERS.md says) and its own Souk on a random loopback port, in its own actix system.

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use souk::config::Settings;
use souk::startup::Background;
use souk_actors::domain::ids::UserId;
use souk_http::auth::{JwtKeys, Role};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::OnceCell;

static SERVER_URL: OnceCell<String> = OnceCell::const_new();
static NEXT_DB: AtomicU64 = AtomicU64::new(0);

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The server where tests create their databases; stale databases of dead test processes
/// are dropped on first use, so the private cluster does not grow run after run.
pub async fn server_url() -> String {
    SERVER_URL
        .get_or_init(|| async {
            let url = souk::pgcluster::test_server_url(&workspace_root())
                .await
                .expect("a test PostgreSQL");
            drop_stale_databases(&url).await;
            url
        })
        .await
        .clone()
}

async fn drop_stale_databases(url: &str) {
    let Ok(client) = souk::db::connect_one(url).await else {
        return;
    };
    let Ok(rows) = client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'souk_test_%' OR datname LIKE 'souk_bench_%'",
            &[],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

/// A fresh, empty database; returns its URL.
pub async fn fresh_database() -> (String, String) {
    let server = server_url().await;
    let name = format!(
        "souk_test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    souk::db::create_database_if_missing(&server, &name)
        .await
        .expect("create test database");
    let (base, _) = server.rsplit_once('/').expect("server url has a database");
    (format!("{base}/{name}"), name)
}

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

pub fn test_settings(db_url: &str) -> Settings {
    let mut s = Settings::defaults().expect("defaults");
    s.http.addr = "127.0.0.1:0".into();
    s.http.workers = 2;
    s.database.url = Some(SecretString::from(db_url.to_string()));
    s.database.timeout_ms = 2000;
    s.persistence.write_timeout_ms = 2000;
    s.auth.jwt_secret = Some(SecretString::from(SECRET.to_string()));
    s.shop.demo_seed = false;
    // Hundreds of buyers share 127.0.0.1 and the admin sets up shops in tight loops; the
    // rate-limit tests lower these again through `TestApp::spawn_with`.
    s.rate_limits = souk_http::middleware::ratelimit::RateLimitSettings::uniform(1_000_000);
    s
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db_url: String,
    pub db_name: String,
    _server: Background,
    keys: JwtKeys,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts Souk on its own thread and actix system, with settings adjusted by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let (db_url, db_name) = fresh_database().await;
        Self::spawn_on(db_url, db_name, tweak).await
    }

    /// Starts Souk on an existing test database (e.g. the one a stopped `TestApp` used).
    pub async fn spawn_on(
        db_url: String,
        db_name: String,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let mut settings = test_settings(&db_url);
        tweak(&mut settings);
        let state_dir = std::env::temp_dir().join(format!("souk-test-{}", std::process::id()));
        let server = Background::start(settings, state_dir)
            .await
            .expect("app starts");
        TestApp {
            base: format!("http://127.0.0.1:{}", server.port),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("client"),
            db_url,
            db_name,
            _server: server,
            keys: JwtKeys::new(&SecretString::from(SECRET.to_string())),
        }
    }

    pub fn token(&self, user: i64, role: &str) -> String {
        let role = Role::parse(role).expect("role");
        self.keys
            .mint(UserId::new(user).expect("user id"), role, 3600)
            .expect("token")
    }

    pub async fn db(&self) -> tokio_postgres::Client {
        souk::db::connect_one(&self.db_url)
            .await
            .expect("db connection")
    }

    /// Sends a request; `token` and `key` (Idempotency-Key) are optional.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// Sends a raw body (for malformed JSON).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .body(body.to_string());
        req = req.header("content-type", "application/json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None, None).await
    }

    // ---- shop set-up through the API ---------------------------------------------------

    pub fn admin(&self) -> String {
        self.token(1, "admin")
    }

    pub async fn category(&self, name: &str) -> i64 {
        let (s, b) = self
            .call(
                Method::POST,
                "/v1/admin/categories",
                Some(&self.admin()),
                None,
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_i64().expect("category id")
    }

    /// Creates a product from a full body (as an admin); returns the created product.
    pub async fn create_product(&self, body: Value) -> Value {
        let (s, b) = self
            .call(
                Method::POST,
                "/v1/admin/products",
                Some(&self.admin()),
                None,
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    /// Creates a product in a new category; returns its id.
    async fn product(&self, category: &str, name: &str, kind: &str, price: i64) -> i64 {
        let cat = self.category(category).await;
        let body = json!({ "category_id": cat, "name": name, "kind": kind, "price_minor": price });
        self.create_product(body).await["id"]
            .as_i64()
            .expect("product id")
    }

    /// A physical product with `stock` units.
    pub async fn physical(&self, price: i64, stock: i64) -> i64 {
        let id = self.product("Apparel", "Shirt", "physical", price).await;
        if stock > 0 {
            self.add_stock(id, json!({ "quantity_delta": stock })).await;
        }
        id
    }

    /// A digital product with the given codes.
    pub async fn digital(&self, price: i64, codes: &[String]) -> i64 {
        let id = self.product("Keys", "Game key", "digital", price).await;
        if !codes.is_empty() {
            self.add_stock(id, json!({ "codes": codes })).await;
        }
        id
    }

    pub async fn add_stock(&self, product: i64, body: Value) -> Value {
        let key = uuid::Uuid::new_v4().to_string();
        let path = format!("/v1/admin/products/{product}/stock");
        let (s, b) = self
            .call(
                Method::POST,
                &path,
                Some(&self.admin()),
                Some(&key),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    /// Creates a customer (through the token's first request) and credits its wallet.
    pub async fn customer(&self, id: i64, balance: i64) -> String {
        let token = self.token(id, "customer");
        let (s, _) = self.get("/v1/me/wallet", Some(&token)).await;
        assert_eq!(s, StatusCode::OK);
        if balance > 0 {
            self.credit(id, balance).await;
        }
        token
    }

    pub async fn credit(&self, user: i64, amount: i64) {
        let key = uuid::Uuid::new_v4().to_string();
        let path = format!("/v1/admin/users/{user}/wallet/credits");
        let body = json!({ "amount_minor": amount, "reason": "test credit" });
        let (s, b) = self
            .call(
                Method::POST,
                &path,
                Some(&self.admin()),
                Some(&key),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    /// Creates a promo code as an admin; answers the promo.
    pub async fn create_promo(&self, body: Value) -> Value {
        let admin = self.admin();
        let (s, b) = self
            .call(
                Method::POST,
                "/v1/admin/promos",
                Some(&admin),
                None,
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    /// Puts a promo code on the customer's cart.
    pub async fn apply_promo(&self, token: &str, code: &str) -> (StatusCode, Value) {
        let body = json!({ "code": code });
        self.call(
            Method::POST,
            "/v1/me/cart/promo",
            Some(token),
            None,
            Some(body),
        )
        .await
    }

    pub async fn put_cart(&self, token: &str, product: i64, quantity: i64) -> (StatusCode, Value) {
        let path = format!("/v1/me/cart/items/{product}");
        self.call(
            Method::PUT,
            &path,
            Some(token),
            None,
            Some(json!({ "quantity": quantity })),
        )
        .await
    }

    pub async fn checkout(&self, token: &str, key: &str) -> (StatusCode, Value) {
        self.checkout_with(token, key, wallet_checkout()).await
    }

    /// The usual checkout, paid by an external provider: the order awaits its payment.
    pub async fn external_checkout(&self, token: &str, key: &str) -> (StatusCode, Value) {
        let mut body = wallet_checkout();
        body["payment"] = json!("external");
        self.checkout_with(token, key, body).await
    }

    async fn checkout_with(&self, token: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/v1/me/checkout",
            Some(token),
            Some(key),
            Some(body),
        )
        .await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let res = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics");
        res.text().await.expect("metrics text")
    }

    /// `souk check` on this test's database: every invariant holds.
    pub async fn assert_invariants(&self) {
        let violations = souk::check::violations(&self.db().await)
            .await
            .expect("check");
        assert_eq!(violations, Vec::<String>::new());
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        self.db()
            .await
            .query_one(sql, &[])
            .await
            .expect("query")
            .get::<_, i64>(0)
    }
}

/// A valid shipping address: physical goods need one at checkout.
pub fn address() -> Value {
    json!({ "name": "Ada Buyer", "line1": "1 Main St", "city": "Springfield",
            "postal_code": "12345", "country": "US" })
}

/// The usual checkout body: wallet payment, shipped to `address()`.
pub fn wallet_checkout() -> Value {
    json!({ "payment": "wallet", "shipping_address": address() })
}

pub fn codes(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:05}")).collect()
}

pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert!(
        body["error"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{body}"
    );
}

/// Tokens for a server started outside the harness with `SECRET`.
pub struct TestKeys {
    pub admin: String,
    keys: JwtKeys,
}

impl TestKeys {
    pub fn new() -> TestKeys {
        let keys = JwtKeys::new(&SecretString::from(SECRET.to_string()));
        let admin = keys
            .mint(UserId::new(1).expect("id"), Role::Admin, 3600)
            .expect("token");
        TestKeys { admin, keys }
    }

    pub fn customer(&self, user: i64) -> String {
        self.keys
            .mint(UserId::new(user).expect("id"), Role::Customer, 3600)
            .expect("token")
    }
}

//! Shared by the fault tests that talk to Souk over real HTTP: the real `souk` binary as a
//! child process (start, SIGKILL, SIGTERM), calls that report a transport failure instead of
//! panicking, and a shop set up through the API. The load and its checks are in `load.rs`.

use crate::common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Each customer's starting balance and the mug's starting stock: enough that the long
/// crash run (20 rounds at full speed) never runs out, since a retried checkout refused for
/// stock or funds would be a right answer that the crash test does not expect.
pub const BALANCE: i64 = 100_000_000;
pub const MUGS: i64 = 1_000_000;

/// The real binary, killed when dropped; its stderr goes to `log`.
pub struct Souk {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Drop for Souk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Souk {
    /// Starts `souk` on `port` against `db_url` and waits until `/v1/ready` answers 200.
    pub async fn start(db_url: &str, port: u16) -> Souk {
        Souk::start_with(db_url, port, &[]).await
    }

    /// `start` with more settings in the environment (`SOUK__…`).
    pub async fn start_with(db_url: &str, port: u16, env: &[(&str, &str)]) -> Souk {
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("souk-{port}.log"));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_souk"));
        // Load from one address and a few users in closed loops: the limits would refuse it.
        for class in ["CHECKOUT", "WRITES", "READS", "AUTH", "WEBHOOKS"] {
            for knob in ["PER_SECOND", "BURST"] {
                cmd.env(format!("SOUK__RATE_LIMITS__{class}__{knob}"), "1000000");
            }
        }
        cmd.envs(env.iter().copied());
        let child = cmd
            .env("SOUK__DATABASE__URL", db_url)
            .env("SOUK__HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env("SOUK__AUTH__JWT_SECRET", SECRET)
            .env("SOUK__SHOP__DEMO_SEED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("souk binary starts");
        let mut souk = Souk {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            if let Ok(res) = http.get(format!("{}/v1/ready", souk.base)).send().await {
                if res.status() == StatusCode::OK {
                    return souk;
                }
            }
            let exited = souk.child.try_wait().expect("try_wait");
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "souk did not become ready ({exited:?}); see {}",
                souk.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn sigkill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    pub fn sigterm(&self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    }

    /// The exit status, if the process exits within `limit`.
    pub async fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

/// An HTTP answer; `replayed` is the `idempotent-replayed` header.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub replayed: bool,
    pub body: Value,
}

/// One request; `None` when it failed at the transport level (no complete answer).
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    m: Method,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: Value,
) -> Option<Reply> {
    let mut req = http.request(m, format!("{base}{path}")).bearer_auth(token);
    if !body.is_null() {
        req = req.json(&body);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.ok()?;
    let status = res.status();
    let replayed = res.headers().contains_key("idempotent-replayed");
    let text = res.text().await.ok()?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Some(Reply {
        status,
        replayed,
        body,
    })
}

/// A call that must be answered with `want`; returns the body.
pub async fn expect(
    http: &reqwest::Client,
    base: &str,
    (m, path): (Method, &str),
    token: &str,
    key: Option<&str>,
    body: Value,
    want: StatusCode,
) -> Value {
    let reply = call(http, base, m, path, token, key, body)
        .await
        .unwrap_or_else(|| panic!("{path}: no answer"));
    assert_eq!(reply.status, want, "{path}: {}", reply.body);
    reply.body
}

pub async fn checkout(http: &reqwest::Client, base: &str, token: &str, key: &str) -> Option<Reply> {
    let body = crate::common::wallet_checkout();
    call(
        http,
        base,
        Method::POST,
        "/v1/me/checkout",
        token,
        Some(key),
        body,
    )
    .await
}

/// A digital product (with codes) and a physical mug, and customers with `BALANCE` each.
pub struct Shop {
    pub digital: i64,
    pub mug: i64,
    pub admin: String,
    pub customers: Vec<(i64, String)>,
}

impl Shop {
    pub async fn open(
        http: &reqwest::Client,
        base: &str,
        admin: &str,
        customers: Vec<(i64, String)>,
        codes: usize,
    ) -> Shop {
        let created = StatusCode::CREATED;
        let cat = (Method::POST, "/v1/admin/categories");
        let cat = expect(
            http,
            base,
            cat,
            admin,
            None,
            json!({"name": "Keys"}),
            created,
        )
        .await;
        let mut ids = Vec::new();
        for (name, kind, price) in [("Key", "digital", 100), ("Mug", "physical", 250)] {
            let body =
                json!({"category_id": cat["id"], "name": name, "kind": kind, "price_minor": price});
            let path = (Method::POST, "/v1/admin/products");
            let p = expect(http, base, path, admin, None, body, created).await;
            ids.push(p["id"].as_i64().expect("product id"));
        }
        let shop = Shop {
            digital: ids[0],
            mug: ids[1],
            admin: admin.to_string(),
            customers,
        };
        shop.add_codes(http, base, "first", codes).await;
        let path = format!("/v1/admin/products/{}/stock", shop.mug);
        let body = json!({"quantity_delta": MUGS});
        let ok = StatusCode::OK;
        expect(
            http,
            base,
            (Method::POST, &path),
            admin,
            Some("mugs"),
            body,
            ok,
        )
        .await;
        for (user, token) in &shop.customers {
            // A token's first request creates its user.
            let ask = (Method::GET, "/v1/me/wallet");
            expect(http, base, ask, token, None, Value::Null, ok).await;
            let path = format!("/v1/admin/users/{user}/wallet/credits");
            let body = json!({"amount_minor": BALANCE, "reason": "load"});
            let key = format!("credit-{user}");
            expect(
                http,
                base,
                (Method::POST, &path),
                admin,
                Some(&key),
                body,
                created,
            )
            .await;
        }
        shop
    }

    pub async fn add_codes(&self, http: &reqwest::Client, base: &str, batch: &str, n: usize) {
        let path = format!("/v1/admin/products/{}/stock", self.digital);
        let body = json!({"codes": codes(&format!("CODE-{batch}"), n)});
        let key = format!("codes-{batch}");
        let post = (Method::POST, path.as_str());
        expect(
            http,
            base,
            post,
            &self.admin,
            Some(&key),
            body,
            StatusCode::OK,
        )
        .await;
    }
}

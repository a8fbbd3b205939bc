//! P18: secrets never reach the logs. The real binary runs with debug logging, a JWT secret,
//! a database password, a payment webhook secret, a Telegram webhook secret and a bot token
//! (whose Bot API is unreachable, so every outbound call fails and is logged); after
//! requests that succeed and fail on every one of those paths, none is in its output.

use crate::common::*;
use crate::external::free_port;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const JWT: &str = "jwt-9c1e6f4b2d8a7e3f5a0b1c2d3e4f5a6b7c8d9e0f";
const DB_PASSWORD: &str = "db-pw-77aa55cc33ee11";
const PAY_SECRET: &str = "whsec-5f1e9d3c7b2a4e6f8d0c1b3a5e7f9d2c";
const TG_SECRET: &str = "tgsec-8a6c4e2f0b9d7e5c3a1f8e6d4c2b0a9f";
const BOT_TOKEN: &str = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr";

/// The test database's URL with a password added (trust authentication ignores it).
fn with_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("url");
    let (userinfo, host) = rest.split_once('@').expect("user in url");
    if userinfo.contains(':') {
        return url.to_string();
    }
    format!("{scheme}://{userinfo}:{DB_PASSWORD}@{host}")
}

#[tokio::test]
async fn no_secret_appears_in_the_log_of_a_full_run() {
    let (db_url, _) = fresh_database().await;
    let db_url = with_password(&db_url);
    let port = free_port();
    let log = std::env::temp_dir().join(format!("souk-secrets-{port}.log"));
    let out = std::fs::File::create(&log).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_souk"))
        .env("SOUK__DATABASE__URL", &db_url)
        .env("SOUK__HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env("SOUK__AUTH__JWT_SECRET", JWT)
        .env("SOUK__PAYMENTS__WEBHOOK_SECRET", PAY_SECRET)
        .env("SOUK__TELEGRAM__WEBHOOK_SECRET", TG_SECRET)
        .env("SOUK__TELEGRAM__BOT_TOKEN", BOT_TOKEN)
        .env(
            "SOUK__TELEGRAM__API_BASE",
            format!("http://127.0.0.1:{}", free_port()),
        )
        .env("SOUK__TELEGRAM__API_RETRIES", "0")
        .env("SOUK__SHOP__DEMO_SEED", "false")
        .env("RUST_LOG", "debug")
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .expect("souk starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http.get(format!("{base}/v1/ready")).send().await, Ok(r) if r.status().is_success())
    {
        assert!(Instant::now() < deadline, "souk did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = souk_http::auth::JwtKeys::new(&secrecy::SecretString::from(JWT.to_string()))
        .mint(
            souk_actors::domain::ids::UserId::new(1).expect("id"),
            souk_http::auth::Role::Admin,
            60,
        )
        .expect("token");
    let _ = http
        .get(format!("{base}/v1/me/wallet"))
        .bearer_auth(&token)
        .send()
        .await;
    let _ = http
        .get(format!("{base}/v1/me/wallet"))
        .bearer_auth("not-a-token")
        .send()
        .await;
    let _ = http
        .post(format!("{base}/v1/admin/categories"))
        .bearer_auth(&token)
        .body("{")
        .send()
        .await;
    let _ = http
        .post(format!("{base}/v1/me/checkout"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "k")
        .json(&crate::common::wallet_checkout())
        .send()
        .await;
    // Payment events: one badly signed, one well signed.
    let event = serde_json::json!({ "event_id": "evt_log", "type": "payment.succeeded",
        "amount_minor": 100, "currency": "USD", "wallet_topup": { "user_id": 1 } })
    .to_string();
    let now = chrono::Utc::now().timestamp();
    for secret in [b"wrong-secret".as_slice(), PAY_SECRET.as_bytes()] {
        let _ = http
            .post(format!("{base}/v1/payments/webhook"))
            .header(
                "Souk-Signature",
                souk_http::routes::payments::sign(secret, event.as_bytes(), now),
            )
            .header("content-type", "application/json")
            .body(event.clone())
            .send()
            .await;
    }
    // Telegram updates: one with a wrong secret, one real (its replies fail: no Bot API).
    let update = serde_json::json!({ "update_id": 7, "message": { "message_id": 1, "date": 0,
        "chat": { "id": 42, "type": "private" }, "from": { "id": 42, "is_bot": false, "first_name": "Log" },
        "text": "/start" } })
    .to_string();
    for secret in ["wrong", TG_SECRET] {
        let _ = http
            .post(format!("{base}/v1/telegram/webhook"))
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .header("content-type", "application/json")
            .body(update.clone())
            .send()
            .await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let status = child.wait().expect("exit");
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.lines().count() > 5,
        "the log is too short to prove anything:\n{text}"
    );
    assert!(!text.contains(JWT), "the JWT secret is in the log");
    assert!(
        !text.contains(PAY_SECRET),
        "the payment webhook secret is in the log"
    );
    assert!(
        !text.contains(TG_SECRET),
        "the Telegram webhook secret is in the log"
    );
    assert!(!text.contains(BOT_TOKEN), "the bot token is in the log");
    assert!(
        !text.contains(BOT_TOKEN.split(':').nth(1).unwrap_or("-")),
        "the secret half of the bot token is in the log"
    );
    assert!(
        text.contains("telegram") || text.contains("Telegram"),
        "the Telegram path did not run, so its log proves nothing:\n{text}"
    );
    assert!(
        !text.contains(DB_PASSWORD),
        "the database password is in the log"
    );
    let _ = std::fs::remove_file(log);
}

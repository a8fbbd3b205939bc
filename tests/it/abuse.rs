//! Issue 13, an attack on the running shop: anonymous input never grows the metrics, junk
//! webhook calls never spend the provider's quota, a trickled body is cut, and no input
//! reaches a 5xx, a database error code or a plain-text answer.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use souk::config::Settings;
use souk_http::middleware::ratelimit::ClassQuota;
use souk_http::routes::payments::sign;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HOOK_SECRET: &str = "whsec-abuse-0123456789-0123456789-abcdef";
const BOT_SECRET: &str = "telegram-secret-for-abuse_0123";

fn webhooks(s: &mut Settings) {
    s.payments.webhook_secret = Some(HOOK_SECRET.to_string().into());
    s.telegram.webhook_secret = Some(BOT_SECRET.to_string().into());
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn topup(event: &str, amount: i64) -> Value {
    json!({ "event_id": event, "type": "payment.succeeded", "amount_minor": amount,
            "currency": "USD", "wallet_topup": { "user_id": 2 } })
}

/// Posts `body` to the payment webhook with `signature` (if any); returns status and body.
async fn payment(app: &TestApp, body: &str, signature: Option<&str>) -> (StatusCode, Value) {
    let mut req = app
        .http
        .post(format!("{}/v1/payments/webhook", app.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(sig) = signature {
        req = req.header("Souk-Signature", sig);
    }
    let res = req.send().await.expect("webhook answers");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn signed_payment(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let raw = body.to_string();
    let sig = sign(HOOK_SECRET.as_bytes(), raw.as_bytes(), now());
    payment(app, &raw, Some(&sig)).await
}

async fn telegram(app: &TestApp, body: &Value, secret: Option<&str>) -> (StatusCode, Value) {
    let mut req = app
        .http
        .post(format!("{}/v1/telegram/webhook", app.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(secret) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    let res = req.send().await.expect("webhook answers");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Every sample line of a Prometheus text page (no comments).
fn series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The values a label takes anywhere on the page.
fn label_values<'a>(metrics: &'a str, label: &str) -> Vec<&'a str> {
    let key = format!("{label}=\"");
    series(metrics)
        .into_iter()
        .filter_map(|l| l.split(key.as_str()).nth(1)?.split('"').next())
        .collect()
}

/// Sends garbage numbered `from..to`: methods, paths, signed events of unknown types and
/// Telegram updates of unknown kinds, each one distinct.
async fn garbage(app: &TestApp, from: usize, to: usize) {
    for i in from..to {
        let method = format!("ZQX{i}{}", "M".repeat(200));
        let method = Method::from_bytes(method.as_bytes()).expect("a token");
        let res = app
            .http
            .request(method, format!("{}/v1/health", app.base))
            .send()
            .await
            .expect("answer");
        assert!(res.status().is_client_error(), "{}", res.status());
        let path = format!("/v1/zqx-{i}/{}", "p".repeat(100));
        assert_eq!(app.get(&path, None).await.0, StatusCode::NOT_FOUND);
        if i % 10 == 0 {
            let mut event = topup(&format!("zqx-event-{i}"), 100);
            event["type"] = json!(format!("zqx.kind.{i}"));
            assert_eq!(signed_payment(app, &event).await.0, 422);
            let update = json!({ "update_id": i, format!("zqx_kind_{i}"): {} });
            assert_eq!(telegram(app, &update, Some(BOT_SECRET)).await.0, 200);
        }
    }
}

#[tokio::test]
async fn garbage_methods_paths_and_events_add_no_metric_series() {
    let app = TestApp::spawn_with(webhooks).await;
    app.customer(2, 0).await;
    garbage(&app, 0, 150).await;
    // The first scrape counts itself; the second is the baseline.
    app.metrics().await;
    let first = app.metrics().await;
    garbage(&app, 150, 300).await;
    let m = app.metrics().await;
    assert!(
        !m.to_lowercase().contains("zqx"),
        "input-derived label:\n{m}"
    );
    let methods = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "other",
    ];
    let http = m
        .lines()
        .filter(|l| l.starts_with("souk_http_request"))
        .collect::<Vec<_>>()
        .join("\n");
    for method in label_values(&http, "method") {
        assert!(methods.contains(&method), "method label {method:?}");
    }
    assert_eq!(
        series(&first).len(),
        series(&m).len(),
        "150 more distinct pieces of garbage added series"
    );
}

/// Junk for the payment webhook: no signature, a wrong one, a stale one, nonsense.
fn junk_signature(i: usize, body: &str) -> Option<String> {
    match i % 4 {
        0 => None,
        1 => Some(sign(b"not-the-secret", body.as_bytes(), now())),
        2 => Some(sign(HOOK_SECRET.as_bytes(), body.as_bytes(), now() - 3_600)),
        _ => Some(format!("t={},v1={}", now(), "ab".repeat(32))),
    }
}

fn flooded(s: &mut Settings) {
    webhooks(s);
    s.rate_limits = souk_http::middleware::ratelimit::RateLimitSettings::uniform(10_000);
    // Nothing refills while the test runs: 40 calls per webhook, 20 junk calls per address.
    s.rate_limits.webhooks = ClassQuota {
        per_second: 0.01,
        burst: 40,
    };
    s.rate_limits.auth = ClassQuota {
        per_second: 0.01,
        burst: 20,
    };
}

#[tokio::test]
async fn a_flood_of_badly_signed_payment_events_never_starves_the_signed_ones() {
    let app = TestApp::spawn_with(flooded).await;
    app.customer(2, 0).await;
    let mut junk_refused = 0;
    for n in 0..28 {
        for j in 0..8 {
            let body = topup(&format!("junk-{n}-{j}"), 100).to_string();
            let (status, answer) = payment(&app, &body, junk_signature(j, &body).as_deref()).await;
            match status.as_u16() {
                401 => assert_error(status, &answer, 401, "unauthorized"),
                429 => {
                    assert_error(status, &answer, 429, "rate_limited");
                    assert_eq!(answer["error"]["details"]["class"], "auth", "{answer}");
                    junk_refused += 1;
                }
                other => panic!("junk answered {other}: {answer}"),
            }
        }
        let (status, answer) = signed_payment(&app, &topup(&format!("real-{n}"), 100)).await;
        assert_eq!(status, StatusCode::OK, "signed event {n}: {answer}");
        assert_eq!(answer["outcome"], "applied", "{answer}");
    }
    assert_eq!(junk_refused, 28 * 8 - 20, "junk beyond the address's burst");
    let token = app.token(2, "customer");
    let (_, wallet) = app.get("/v1/me/wallet", Some(&token)).await;
    assert_eq!(wallet["balance_minor"], 28 * 100, "{wallet}");
}

#[tokio::test]
async fn a_flood_of_updates_without_the_secret_never_starves_telegram() {
    let app = TestApp::spawn_with(flooded).await;
    for n in 0..28 {
        for j in 0..8 {
            let secret = ["wrong-secret", ""][j % 2];
            let secret = (j % 3 != 0).then_some(secret);
            let update = json!({ "update_id": 100_000 + n * 10 + j });
            let (status, answer) = telegram(&app, &update, secret).await;
            assert!(
                [401, 429].contains(&status.as_u16()),
                "junk answered {status}: {answer}"
            );
        }
        let update = json!({ "update_id": n });
        let (status, answer) = telegram(&app, &update, Some(BOT_SECRET)).await;
        assert_eq!(status, StatusCode::OK, "update {n}: {answer}");
    }
}

/// Connects and sends `head`; returns the stream.
async fn raw_request(app: &TestApp, head: &str) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
}

/// Sends one byte every 200 ms until the server answers or closes; returns what it said
/// and when it did.
async fn trickle(mut stream: TcpStream, byte: u8, give_up: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if started.elapsed() > give_up {
            return (String::from_utf8_lossy(&answer).into(), started.elapsed());
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) if answer.is_empty() => {
                // A write after the server closed may fail; the read above then sees it.
                let _ = stream.write_all(&[byte]).await;
            }
            Err(_) => break,
        }
    }
    (String::from_utf8_lossy(&answer).into(), started.elapsed())
}

fn read_timeout_of_one_second(s: &mut Settings) {
    s.http.request_read_timeout_ms = 1_000;
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_with_408_in_the_envelope() {
    let app = TestApp::spawn_with(read_timeout_of_one_second).await;
    let admin = app.admin();
    for framing in ["content-length: 1000", "transfer-encoding: chunked"] {
        let head = format!(
            "POST /v1/admin/categories HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {admin}\r\n\
             content-type: application/json\r\n{framing}\r\n\r\n"
        );
        let mut stream = raw_request(&app, &head).await;
        if framing.starts_with("transfer") {
            stream.write_all(b"3e8\r\n{").await.expect("chunk");
        }
        let (answer, took) = trickle(stream, b' ', Duration::from_secs(8)).await;
        assert!(
            took < Duration::from_secs(4),
            "{framing}: open for {took:?}"
        );
        assert!(answer.starts_with("HTTP/1.1 408"), "{framing}: {answer}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let body: Value = serde_json::from_str(body).expect("a JSON envelope");
        assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    }
    // The same for a route that never reads its body: the connection does not outlive it.
    let head = "POST /v1/health HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n1\r\n";
    let (_, took) = trickle(raw_request(&app, head).await, b'x', Duration::from_secs(8)).await;
    assert!(took < Duration::from_secs(4), "open for {took:?}");
}

#[tokio::test]
async fn headers_that_trickle_in_are_cut_within_the_read_timeout() {
    let app = TestApp::spawn_with(read_timeout_of_one_second).await;
    let stream = raw_request(&app, "GET /v1/health HTTP/1.1\r\nx-slow: ").await;
    let (answer, took) = trickle(stream, b'a', Duration::from_secs(8)).await;
    assert!(took < Duration::from_secs(4), "open for {took:?}: {answer}");
}

#[tokio::test]
async fn a_payment_amount_past_the_money_bound_is_422_naming_amount_minor() {
    let app = TestApp::spawn_with(webhooks).await;
    app.customer(2, 0).await;
    for amount in [i64::MAX, i64::MIN, 1_000_000_000_000_000] {
        let (status, body) = signed_payment(&app, &topup(&format!("huge-{amount}"), amount)).await;
        assert_error(status, &body, 422, "invalid_input");
        assert_eq!(body["error"]["details"]["field"], "amount_minor", "{body}");
    }
    let (status, body) = signed_payment(&app, &topup("fine", 100)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn nul_in_a_query_string_is_a_4xx_in_the_envelope_not_a_database_outage() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let customer = app.customer(2, 0).await;
    for (path, token) in [
        ("/v1/admin/audit?actor=%00", &admin),
        ("/v1/admin/audit?target=a%00b", &admin),
        ("/v1/admin/audit?action=x&actor=%00", &admin),
        ("/v1/admin/orders?status=%00", &admin),
        ("/v1/products?q=%00", &customer),
        ("/v1/me/orders?cursor=%00", &customer),
    ] {
        let (status, body) = app.get(path, Some(token)).await;
        assert!(
            [400, 422].contains(&status.as_u16()),
            "{path}: {status} {body}"
        );
        assert_error(
            status,
            &body,
            status.as_u16(),
            body["error"]["code"].as_str().unwrap_or("?"),
        );
    }
    assert_eq!(app.get("/v1/ready", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_body_past_the_limit_on_the_payment_webhook_is_413_in_the_envelope() {
    let app = TestApp::spawn_with(webhooks).await;
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let sig = sign(HOOK_SECRET.as_bytes(), huge.as_bytes(), now());
    let (status, body) = payment(&app, &huge, Some(&sig)).await;
    assert_error(status, &body, 413, "payload_too_large");
    let (status, body) = telegram(
        &app,
        &json!({ "pad": "x".repeat(300_000) }),
        Some(BOT_SECRET),
    )
    .await;
    assert_error(status, &body, 413, "payload_too_large");
}

#[tokio::test]
async fn a_signature_timestamp_far_from_now_never_wraps_into_the_tolerance() {
    let app = TestApp::spawn_with(webhooks).await;
    app.customer(2, 0).await;
    let body = topup("wrapped", 100).to_string();
    for t in [i64::MIN + now(), i64::MIN, i64::MAX, now() - i64::MAX] {
        let sig = sign(HOOK_SECRET.as_bytes(), body.as_bytes(), t);
        let (status, answer) = payment(&app, &body, Some(&sig)).await;
        assert_error(status, &answer, 401, "unauthorized");
    }
}

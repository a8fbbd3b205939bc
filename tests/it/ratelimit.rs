//! P20: rate limits per route class, keyed by the token's user or else the client's IP; the
//! webhooks by their own rule (authentic calls per webhook, junk per address; `abuse.rs` has
//! the flood). Quotas here refill once per 100 s, so a burst meets exactly its `burst`.

use crate::common::*;
use futures_util::future::join_all;
use reqwest::StatusCode;
use souk_http::middleware::ratelimit::{ClassQuota, RateLimitSettings};

async fn spawn_limited(tweak: impl FnOnce(&mut RateLimitSettings)) -> TestApp {
    TestApp::spawn_with(|s| {
        s.rate_limits = RateLimitSettings::uniform(10_000);
        tweak(&mut s.rate_limits);
    })
    .await
}

/// `burst` at once, then one every 100 s: nothing refills while a test runs, however
/// loaded the machine.
const fn at_once(burst: u32) -> ClassQuota {
    ClassQuota {
        per_second: 0.01,
        burst,
    }
}

const FIVE: ClassQuota = at_once(5);

/// Sends `n` requests at once; returns each status and, for 429s, the checked envelope.
async fn burst(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    n: usize,
) -> (usize, usize) {
    let sends = (0..n).map(|_| {
        let mut req = app
            .http
            .request(method.clone(), format!("{}{}", app.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    });
    let (mut limited, mut passed) = (0, 0);
    for res in join_all(sends).await {
        let res = res.expect("response");
        if res.status() != StatusCode::TOO_MANY_REQUESTS {
            passed += 1;
            continue;
        }
        limited += 1;
        let retry: u64 = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in whole seconds");
        assert!(retry >= 1);
        let status = res.status();
        let body: serde_json::Value = res.json().await.expect("json");
        assert_error(status, &body, 429, "rate_limited");
    }
    (passed, limited)
}

fn counted(metrics: &str, class: &str) -> f64 {
    let series = format!("souk_rate_limited_total{{class=\"{class}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series)?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in the metrics"))
}

#[tokio::test]
async fn a_burst_past_the_quota_gets_exactly_the_excess_refused_with_retry_after() {
    let app = spawn_limited(|r| r.reads = FIVE).await;
    let token = app.token(2, "customer");
    let (passed, limited) = burst(
        &app,
        reqwest::Method::GET,
        "/v1/me/wallet",
        Some(&token),
        12,
    )
    .await;
    assert_eq!((passed, limited), (5, 7));
    let m = app.metrics().await;
    assert_eq!(counted(&m, "reads"), 7.0);
    assert_eq!(counted(&m, "checkout"), 0.0);
}

#[tokio::test]
async fn one_user_spending_the_quota_leaves_other_users_and_anonymous_callers_alone() {
    let app = spawn_limited(|r| r.reads = FIVE).await;
    let (a, b) = (app.token(2, "customer"), app.token(3, "customer"));
    let (_, limited) = burst(&app, reqwest::Method::GET, "/v1/me/cart", Some(&a), 8).await;
    assert_eq!(limited, 3);
    assert_eq!(
        app.get("/v1/me/cart", Some(&a)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(app.get("/v1/me/cart", Some(&b)).await.0, StatusCode::OK);
    assert_eq!(app.get("/v1/products", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn anonymous_callers_are_limited_by_their_address() {
    let app = spawn_limited(|r| r.reads = FIVE).await;
    let (passed, limited) = burst(&app, reqwest::Method::GET, "/v1/products", None, 9).await;
    assert_eq!((passed, limited), (5, 4));
    let (status, _) = app.get("/v1/categories", None).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "same address, same bucket"
    );
    let token = app.token(2, "customer");
    assert_eq!(
        app.get("/v1/products", Some(&token)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn checkouts_have_their_own_quota_apart_from_other_writes() {
    let app = spawn_limited(|r| r.checkout = at_once(2)).await;
    let token = app.customer(2, 0).await;
    for key in ["a", "b"] {
        assert_eq!(
            app.checkout(&token, key).await.0,
            StatusCode::CONFLICT,
            "cart empty"
        );
    }
    let (status, body) = app.checkout(&token, "c").await;
    assert_error(status, &body, 429, "rate_limited");
    assert_eq!(body["error"]["details"]["class"], "checkout");
    let product = app.physical(100, 5).await;
    assert_eq!(app.put_cart(&token, product, 1).await.0, StatusCode::OK);
}

#[tokio::test]
async fn tokens_that_do_not_verify_are_limited_per_address() {
    let app = spawn_limited(|r| r.auth = at_once(3)).await;
    let (passed, limited) = burst(
        &app,
        reqwest::Method::GET,
        "/v1/me/wallet",
        Some("forged"),
        5,
    )
    .await;
    assert_eq!((passed, limited), (3, 2), "three 401s, then 429");
    let token = app.token(2, "customer");
    assert_eq!(
        app.get("/v1/me/wallet", Some(&token)).await.0,
        StatusCode::OK
    );
    assert_eq!(counted(&app.metrics().await, "auth"), 2.0);
}

#[tokio::test]
async fn webhook_calls_that_do_not_verify_spend_the_senders_auth_quota_not_its_writes() {
    let app = spawn_limited(|r| {
        r.writes = at_once(1);
        r.auth = at_once(3);
    })
    .await;
    let (passed, limited) =
        burst(&app, reqwest::Method::POST, "/v1/telegram/webhook", None, 2).await;
    assert_eq!((passed, limited), (2, 0), "two 401s");
    let (passed, limited) =
        burst(&app, reqwest::Method::POST, "/v1/payments/webhook", None, 3).await;
    assert_eq!(
        (passed, limited),
        (1, 2),
        "the address's auth quota is spent"
    );
    assert_eq!(counted(&app.metrics().await, "auth"), 2.0);
    assert_eq!(counted(&app.metrics().await, "webhooks"), 0.0);
    let (_, limited) = burst(&app, reqwest::Method::POST, "/v1/admin/users", None, 3).await;
    assert_eq!(
        limited, 2,
        "the same address's ordinary writes have their own quota"
    );
}

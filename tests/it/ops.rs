//! Operations endpoints, unknown routes, and what every response carries.

use crate::common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_answers_ok_without_a_token() {
    let app = TestApp::spawn().await;
    let r = app.req(Method::GET, "/v1/health").send().await;
    assert_eq!(r.ok(200), &json!({ "status": "ok" }));
}

#[tokio::test]
async fn ready_answers_200_while_postgres_answers() {
    let app = TestApp::spawn().await;
    let r = app.req(Method::GET, "/v1/ready").send().await;
    r.ok(200);
    assert_eq!(r.body["status"], "ready");
}

#[tokio::test]
async fn metrics_are_prometheus_text_counted_by_route_template_not_raw_path() {
    let app = TestApp::spawn().await;
    let product = app.physical(100, 1).await;
    app.req(Method::GET, format!("/v1/products/{product}"))
        .send()
        .await
        .ok(200);
    app.req(Method::GET, "/v1/products/abc")
        .send()
        .await
        .err(400, "invalid_id");
    let r = app.req(Method::GET, "/metrics").send().await;
    r.ok(200);
    let content_type = r.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(r.text.contains("# TYPE souk_http_requests_total counter"));
    let line = |status: &str| {
        format!(
            "souk_http_requests_total{{method=\"GET\",route=\"/v1/products/{{product_id}}\",status=\"{status}\"}} 1"
        )
    };
    assert!(r.text.contains(&line("200")), "{}", r.text);
    assert!(r.text.contains(&line("400")), "{}", r.text);
    assert!(
        !r.text.contains(&format!("/v1/products/{product}\"")),
        "a raw path became a label"
    );
}

#[tokio::test]
async fn unknown_routes_answer_404_not_found_in_the_envelope() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/"),
        (Method::GET, "/nope"),
        (Method::GET, "/v1/nope"),
        (Method::GET, "/v2/products"),
        (Method::GET, "/v1/products/1/extra"),
    ] {
        let r = app.req(method, path).token(&app.admin()).send().await;
        r.err(404, "not_found");
    }
    // A known path with a method it does not serve (POST /v1/health, DELETE /v1/products,
    // PUT /v1/me/cart, once 404 here) is 405 now: tests/it/http_semantics.rs asserts it.
}

#[tokio::test]
async fn every_response_carries_an_x_request_id_and_errors_repeat_it() {
    let app = TestApp::spawn().await;
    let a = app.req(Method::GET, "/v1/health").send().await;
    let b = app.req(Method::GET, "/v1/health").send().await;
    assert_ne!(a.request_id(), b.request_id(), "two requests share an id");
    // The checking client asserts envelope id == header id for every error it sees.
    let r = app.req(Method::GET, "/v1/me/wallet").send().await;
    r.err(401, "unauthorized");
    assert_eq!(r.body["error"]["request_id"], r.request_id());
}

#[tokio::test]
async fn a_sane_client_request_id_is_kept_and_an_insane_one_replaced() {
    let app = TestApp::spawn().await;
    let r = app
        .req(Method::GET, "/v1/products/0")
        .header("x-request-id", "trace-abc-123")
        .send()
        .await;
    r.err(400, "invalid_id");
    assert_eq!(r.request_id(), "trace-abc-123");
    assert_eq!(r.body["error"]["request_id"], "trace-abc-123");

    let long = "x".repeat(200);
    let r = app
        .req(Method::GET, "/v1/health")
        .header("x-request-id", &long)
        .send()
        .await;
    r.ok(200);
    assert_ne!(r.request_id(), long);
    let r = app
        .req(Method::GET, "/v1/health")
        .header("x-request-id", "has space")
        .send()
        .await;
    assert_ne!(r.request_id(), "has space");
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_personal_ones_are_not_cached() {
    let app = TestApp::spawn().await;
    let token = app.customer(2, 0).await;
    let public = app
        .http
        .get(format!("{}/v1/products", app.base))
        .send()
        .await
        .expect("request");
    let personal = app
        .http
        .get(format!("{}/v1/me/wallet", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    for res in [&public, &personal] {
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    }
    assert_eq!(personal.headers()["cache-control"], "no-store");
    assert!(public.headers().get("cache-control").is_none());
}

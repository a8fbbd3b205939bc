//! P25 and P19: no panic reaches a client as a dropped connection, whether a handler or an
//! actor panics; the CORS allow-list admits only the configured origins.

use crate::common::*;
use actix_web::{web, HttpResponse};
use reqwest::{Method, StatusCode};
use std::time::Duration;

async fn panics_at_once() -> HttpResponse {
    panic!("a bug in a handler")
}

async fn panics_after_waiting() -> HttpResponse {
    tokio::time::sleep(Duration::from_millis(5)).await;
    panic!("{}", String::from("a bug after an await"))
}

/// Mounted on the real app through the test-only hook; no production route panics on purpose.
fn panicking_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/test/panic", web::get().to(panics_at_once))
        .route("/test/panic-later", web::post().to(panics_after_waiting));
}

#[tokio::test]
async fn a_handler_that_panics_answers_500_in_the_envelope_with_its_request_id() {
    let app = TestApp::spawn_with(|s| s.test_routes = Some(panicking_routes)).await;
    for (method, path, id) in [
        (Method::GET, "/test/panic", "panic-1"),
        (Method::POST, "/test/panic-later", "panic-2"),
    ] {
        let res = app
            .http
            .request(method, format!("{}{path}", app.base))
            .header("x-request-id", id)
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(res.headers()["x-request-id"], id);
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let status = res.status();
        let body: serde_json::Value = res.json().await.expect("json envelope");
        assert_error(status, &body, 500, "internal");
        assert_eq!(body["error"]["request_id"], id);
        assert!(
            !body.to_string().contains("a bug"),
            "the panic stays in the log"
        );
    }
    assert_eq!(app.get("/v1/health", None).await.0, StatusCode::OK);
    let m = app.metrics().await;
    assert!(m.contains("souk_http_panics_total 2"), "{m}");
    assert!(
        m.contains("souk_http_requests_total{method=\"GET\",route=\"unknown\",status=\"500\"} 1")
    );
}

/// A cart line naming a product id no sequence produces makes loading the user's state
/// panic (a debug assertion on ids read back from the database).
#[tokio::test]
async fn an_actor_that_panics_gives_its_caller_503_at_once_and_restarts_from_committed_state() {
    let app = TestApp::spawn().await;
    let db = app.db().await;
    db.batch_execute(
        "INSERT INTO categories (id, name) VALUES (-1, 'Broken');
         INSERT INTO products (id, category_id, name, kind, price_minor) VALUES (-5, -1, 'Bad', 'physical', 100);
         INSERT INTO users (id) VALUES (900);
         INSERT INTO cart_items (user_id, product_id, quantity) VALUES (900, -5, 1);",
    )
    .await
    .expect("corrupt state");
    let token = app.token(900, "customer");
    let asked = std::time::Instant::now();
    let (status, body) =
        tokio::time::timeout(Duration::from_secs(5), app.get("/v1/me/cart", Some(&token)))
            .await
            .expect("the caller is answered, never left hanging");
    assert!(asked.elapsed() < Duration::from_secs(3));
    assert_error(status, &body, 503, "unavailable");
    let other = app.customer(2, 0).await;
    assert_eq!(
        app.get("/v1/me/cart", Some(&other)).await.0,
        StatusCode::OK,
        "other actors live on"
    );

    db.batch_execute("DELETE FROM cart_items WHERE user_id = 900")
        .await
        .expect("repair");
    let (status, body) = app.get("/v1/me/cart", Some(&token)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a fresh owner loads the repaired state: {body}"
    );
    assert_eq!(body["lines"], serde_json::json!([]));
    let m = app.metrics().await;
    // No owner of user 900 started while its state could not load (the load panicked on
    // its own task); the one that loaded the repaired state and user 2's did.
    assert!(
        m.contains("souk_actors_started_total{kind=\"user\"} 2"),
        "{m}"
    );
    assert!(m.contains("souk_actors_live{kind=\"user\"} 2"), "{m}");
}

fn allow_origin(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn from_origin(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/v1/products", app.base))
        .header("Origin", origin)
        .send()
        .await
        .expect("response")
}

#[tokio::test]
async fn only_allow_listed_origins_get_cors_headers() {
    let app = TestApp::spawn_with(|s| {
        s.http.cors_origins = "https://shop.example, http://localhost:3000".into()
    })
    .await;
    let res = from_origin(&app, "https://shop.example").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(allow_origin(&res).as_deref(), Some("https://shop.example"));
    let res = from_origin(&app, "https://evil.example").await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "non-browser clients still work"
    );
    assert_eq!(allow_origin(&res), None);

    let preflight = app
        .http
        .request(Method::OPTIONS, format!("{}/v1/me/checkout", app.base))
        .header("Origin", "http://localhost:3000")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, idempotency-key",
        )
        .send()
        .await
        .expect("preflight");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        allow_origin(&preflight).as_deref(),
        Some("http://localhost:3000")
    );
    let methods = preflight.headers()["access-control-allow-methods"]
        .to_str()
        .expect("ascii");
    assert!(methods.contains("POST"), "{methods}");
}

#[tokio::test]
async fn by_default_no_origin_gets_cors_headers() {
    let app = TestApp::spawn().await;
    let res = from_origin(&app, "https://shop.example").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(allow_origin(&res), None);
}

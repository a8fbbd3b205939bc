//! HTTP semantics every route shares: a known path asked with a method it does not serve is
//! 405 Method Not Allowed with an `Allow` header naming the methods it serves, in the one
//! error envelope (the checking client asserts the envelope and its request id); a path no
//! route serves is 404. And a JSON integer may be spelled `2.0`, as JSON Schema reads it.

use crate::common::*;
use reqwest::Method;
use serde_json::json;

/// The `Allow` header as a sorted list of method names.
fn allowed(r: &crate::client::Reply) -> Vec<String> {
    let raw = r
        .headers
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("405 without Allow: {}", r.text));
    let mut methods: Vec<String> = raw.split(',').map(|m| m.trim().to_string()).collect();
    methods.sort();
    methods
}

#[tokio::test]
async fn a_known_path_with_an_unserved_method_is_405_naming_the_methods_it_serves() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    for (method, path, serves) in [
        (Method::DELETE, "/v1/products", vec!["GET"]),
        (Method::POST, "/v1/health", vec!["GET"]),
        (Method::PUT, "/v1/me/cart", vec!["DELETE", "GET"]),
        (Method::GET, "/v1/me/checkout", vec!["POST"]),
        (Method::PATCH, "/v1/products/1", vec!["GET"]),
        // A path parameter that is not an id still names the route: the method is what is wrong.
        (Method::DELETE, "/v1/products/abc", vec!["GET"]),
        (Method::POST, "/v1/me/cart/items/7", vec!["DELETE", "PUT"]),
        (
            Method::DELETE,
            "/v1/admin/promos/SAVE10",
            vec!["GET", "PATCH"],
        ),
        (Method::TRACE, "/v1/admin/orders", vec!["GET"]),
        (Method::PUT, "/v1/openapi.json", vec!["GET"]),
        (Method::GET, "/v1/telegram/webhook", vec!["POST"]),
        (Method::POST, "/metrics", vec!["GET"]),
    ] {
        let what = format!("{method} {path}");
        let r = app.req(method.clone(), path).token(&admin).send().await;
        assert_eq!(r.status.as_u16(), 405, "{what}: {}", r.text);
        assert_eq!(allowed(&r), serves, "{what}");
        let details = r.err(405, "method_not_allowed");
        let mut listed: Vec<&str> = details["allowed"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no details.allowed: {}", r.text))
            .iter()
            .filter_map(|m| m.as_str())
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, serves, "{what}");
    }
}

#[tokio::test]
async fn a_405_comes_before_authentication_and_changes_nothing() {
    let app = TestApp::spawn().await;
    // No token: the method is refused for what it is, not asked for credentials it cannot use.
    let r = app.req(Method::DELETE, "/v1/me/wallet").send().await;
    r.err(405, "method_not_allowed");
    assert_eq!(allowed(&r), ["GET"]);
    let r = app
        .req(Method::PUT, "/v1/admin/categories")
        .json(json!({ "name": "Never" }))
        .send()
        .await;
    r.err(405, "method_not_allowed");
    assert_eq!(app.scalar("SELECT count(*) FROM categories").await, 0);
}

#[tokio::test]
async fn an_unknown_path_is_404_whatever_the_method() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/v1/nope"),
        (Method::DELETE, "/v1/nope"),
        (Method::GET, "/v1/products/1/extra"),
        (Method::POST, "/v1/products/"),
        (Method::GET, "/v2/products"),
    ] {
        let r = app.req(method, path).token(&app.admin()).send().await;
        r.err(404, "not_found");
        assert!(r.headers.get("allow").is_none(), "{}", r.text);
    }
}

#[tokio::test]
async fn a_whole_number_spelled_as_a_float_is_the_same_integer() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 0).await;
    let r = app
        .req(Method::PUT, format!("/v1/me/cart/items/{p}"))
        .token(&c)
        .raw(r#"{"quantity": 2.0}"#)
        .send()
        .await;
    assert_eq!(r.ok(200)["lines"][0]["quantity"], 2);
    // A fraction is still no quantity, and neither is a float past exact integers.
    for bad in ["2.5", "1e20", "2.0000000000000004"] {
        app.req(Method::PUT, format!("/v1/me/cart/items/{p}"))
            .token(&c)
            .raw(&format!(r#"{{"quantity": {bad}}}"#))
            .send()
            .await
            .invalid("quantity");
    }
}

//! Bad input on every endpoint that takes a body or a path id: malformed JSON is 400
//! `malformed_json`, well-formed JSON of the wrong shape is 422 `invalid_input` naming the
//! field, a path id that is not a positive i64 is 400 `invalid_id` — and none of it changes
//! anything or reaches a 5xx (the checking client asserts that on every reply).

use crate::client::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Every endpoint with a JSON body, the token it needs, and a body it would accept.
fn body_routes(
    app: &TestApp,
    product: i64,
    customer: &str,
) -> Vec<(Method, String, String, Value)> {
    let admin = app.admin();
    let c = customer.to_string();
    vec![
        (
            Method::POST,
            "/v1/admin/categories".into(),
            admin.clone(),
            json!({ "name": "C" }),
        ),
        (
            Method::POST,
            "/v1/admin/products".into(),
            admin.clone(),
            json!({ "category_id": 1, "name": "P", "kind": "physical", "price_minor": 5 }),
        ),
        (
            Method::PATCH,
            format!("/v1/admin/products/{product}"),
            admin.clone(),
            json!({ "price_minor": 7 }),
        ),
        (
            Method::POST,
            format!("/v1/admin/products/{product}/stock"),
            admin.clone(),
            json!({ "quantity_delta": 1 }),
        ),
        (
            Method::PUT,
            format!("/v1/me/cart/items/{product}"),
            c.clone(),
            json!({ "quantity": 1 }),
        ),
        (
            Method::POST,
            "/v1/admin/users/2/wallet/credits".into(),
            admin.clone(),
            json!({ "amount_minor": 1, "reason": "r" }),
        ),
        (
            Method::POST,
            "/v1/admin/users".into(),
            admin,
            json!({ "display_name": "U" }),
        ),
        (
            Method::POST,
            "/v1/me/checkout".into(),
            c,
            crate::common::wallet_checkout(),
        ),
    ]
}

/// Counts of every table a refused request could have touched.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "categories",
        "products",
        "users",
        "orders",
        "cart_items",
        "wallet_transactions",
        "digital_items",
        "stock_movements",
        "audit_log",
    ] {
        out.push(app.scalar(&format!("SELECT count(*) FROM {table}")).await);
    }
    out.push(
        app.scalar("SELECT sum(price_minor)::bigint FROM products")
            .await,
    );
    out.push(
        app.scalar("SELECT sum(balance_minor)::bigint FROM users")
            .await,
    );
    out
}

async fn shop(app: &TestApp) -> (i64, String) {
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 1000).await;
    app.cart_line(&c, p, 1).await;
    (p, c)
}

#[tokio::test]
async fn malformed_json_is_400_malformed_json_on_every_body_endpoint() {
    let app = TestApp::spawn().await;
    let (p, c) = shop(&app).await;
    let before = fingerprint(&app).await;
    let bodies = [
        "",
        "   ",
        "{",
        "}",
        "not json",
        "{\"quantity\": }",
        "{\"name\": \"x\",}",
        "{'name': 'x'}",
        "{\"name\": \"unterminated}",
        "{\"a\": 1} trailing",
        "{\"a\": 1}{\"b\": 2}",
        "[1,",
        "\u{feff}{}",
        "{\"name\": \"\\x41\"}",
        "{\"name\": \"\\ud800\"}",
        "NaN",
    ];
    // Nesting deeper than the parser's limit is refused as unparseable, never overflows.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for (method, path, token, _) in body_routes(&app, p, &c) {
        for body in bodies.iter().copied().chain([deep.as_str()]) {
            let r = app
                .req(method.clone(), path.clone())
                .token(&token)
                .fresh_key()
                .raw(body);
            let r = r.send().await;
            assert_eq!(
                r.status.as_u16(),
                400,
                "{method} {path} {body:?}: {}",
                r.text
            );
            r.err(400, "malformed_json");
        }
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn well_formed_json_that_is_not_an_object_is_422_naming_the_body() {
    let app = TestApp::spawn().await;
    let (p, c) = shop(&app).await;
    let before = fingerprint(&app).await;
    let shapes = [
        "[]",
        "42",
        "null",
        "\"text\"",
        "true",
        "[{\"quantity\": 1}]",
        "[1]",
        "[null, \"wallet\"]",
        " \n[\"C\"]",
    ];
    for (method, path, token, _) in body_routes(&app, p, &c) {
        for body in shapes {
            let r = app
                .req(method.clone(), path.clone())
                .token(&token)
                .fresh_key()
                .raw(body);
            let r = r.send().await;
            assert_eq!(r.status.as_u16(), 422, "{method} {path} {body}: {}", r.text);
            r.invalid("body");
        }
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn unknown_fields_are_refused_with_422_naming_the_field_on_every_body_endpoint() {
    let app = TestApp::spawn().await;
    let (p, c) = shop(&app).await;
    let before = fingerprint(&app).await;
    for (method, path, token, good) in body_routes(&app, p, &c) {
        for extra in ["surprise", "ID", "__proto__"] {
            let mut body = good.clone();
            body[extra] = json!(1);
            let r = app
                .req(method.clone(), path.clone())
                .token(&token)
                .fresh_key()
                .json(body);
            r.send().await.invalid(extra);
        }
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn missing_and_wrongly_typed_fields_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let (p, c) = shop(&app).await;
    let before = fingerprint(&app).await;
    for (method, path, token, good) in body_routes(&app, p, &c) {
        for (field, _) in good.as_object().unwrap() {
            for wrong in [json!({ "nested": true }), json!([1]), json!(false)] {
                let mut body = good.clone();
                body[field] = wrong;
                let r = app
                    .req(method.clone(), path.clone())
                    .token(&token)
                    .fresh_key()
                    .json(body);
                r.send().await.invalid_within(field);
            }
        }
    }
    // Required fields, one at a time.
    let routes = body_routes(&app, p, &c);
    for (i, field) in [
        (0, "name"),
        (1, "category_id"),
        (1, "kind"),
        (1, "price_minor"),
        (1, "name"),
        (4, "quantity"),
        (5, "amount_minor"),
        (5, "reason"),
        (7, "payment"),
    ] {
        let (method, path, token, good) = &routes[i];
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        let r = app
            .req(method.clone(), path.clone())
            .token(token)
            .fresh_key()
            .json(body);
        r.send().await.invalid(field);
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn every_path_id_that_is_not_a_positive_i64_is_400_invalid_id() {
    let app = TestApp::spawn().await;
    let (_, c) = shop(&app).await;
    let before = fingerprint(&app).await;
    let admin = app.admin();
    let routes: Vec<(Method, &str, &str, &str, Option<Value>)> = vec![
        (Method::GET, "/v1/products/{}", "", "product_id", None),
        (
            Method::PATCH,
            "/v1/admin/products/{}",
            &admin,
            "product_id",
            Some(json!({ "name": "X" })),
        ),
        (
            Method::POST,
            "/v1/admin/products/{}/stock",
            &admin,
            "product_id",
            Some(json!({ "quantity_delta": 1 })),
        ),
        (
            Method::PUT,
            "/v1/me/cart/items/{}",
            &c,
            "product_id",
            Some(json!({ "quantity": 1 })),
        ),
        (
            Method::DELETE,
            "/v1/me/cart/items/{}",
            &c,
            "product_id",
            None,
        ),
        (
            Method::POST,
            "/v1/admin/users/{}/wallet/credits",
            &admin,
            "user_id",
            Some(json!({ "amount_minor": 1, "reason": "r" })),
        ),
        (Method::GET, "/v1/me/orders/{}", &c, "order_id", None),
        (Method::GET, "/v1/admin/orders/{}", &admin, "order_id", None),
    ];
    let more = [
        "00",
        "+",
        "1e3",
        "0x10",
        "9223372036854775808",
        "-9223372036854775808",
        "%E2%82%AC",
    ];
    for (method, template, token, field, body) in &routes {
        for bad in BAD_IDS.iter().chain(more.iter()) {
            let mut r = app
                .req(method.clone(), template.replace("{}", bad))
                .fresh_key();
            if !token.is_empty() {
                r = r.token(token);
            }
            if let Some(b) = body {
                r = r.json(b.clone());
            }
            let r = r.send().await;
            assert_eq!(
                r.err(400, "invalid_id")["field"],
                *field,
                "{method} {template} {bad}"
            );
        }
    }
    assert_eq!(fingerprint(&app).await, before);
    // The largest id is well-formed: it is simply not found.
    let max = i64::MAX;
    app.req(Method::GET, format!("/v1/products/{max}"))
        .send()
        .await
        .err(404, "not_found");
    let r = app
        .req(Method::GET, format!("/v1/me/orders/{max}"))
        .token(&c)
        .send()
        .await;
    r.err(404, "not_found");
}

#[tokio::test]
async fn a_body_over_the_size_limit_is_413_payload_too_large() {
    let app = TestApp::spawn().await;
    let (p, c) = shop(&app).await;
    let before = fingerprint(&app).await;
    let huge = json!({ "name": "x".repeat(300_000) }).to_string();
    for (method, path, token, _) in body_routes(&app, p, &c) {
        let r = app
            .req(method.clone(), path.clone())
            .token(&token)
            .fresh_key()
            .raw(&huge);
        r.send().await.err(413, "payload_too_large");
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn a_body_with_a_non_json_content_type_is_still_judged_as_json() {
    let app = TestApp::spawn().await;
    let (p, c) = shop(&app).await;
    let path = format!("/v1/me/cart/items/{p}");
    let r = app
        .req(Method::PUT, path.clone())
        .token(&c)
        .raw("{\"quantity\": 3}");
    let r = r.header("content-type", "text/plain").send().await;
    assert_eq!(r.ok(200)["lines"][0]["quantity"], 3);
    let r = app.req(Method::PUT, path).token(&c).raw("quantity=3");
    let r = r
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await;
    r.err(400, "malformed_json");
}

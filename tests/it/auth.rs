//! Bearer tokens and roles: missing or invalid tokens are 401 `unauthorized`, a customer on
//! an admin route is 403 `forbidden`; staff manage the catalog and read orders; only admins
//! credit wallets and create users.

use crate::client::*;
use crate::common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use souk_actors::domain::ids::UserId;
use souk_http::auth::{JwtKeys, Role};

/// Every endpoint that needs a token, with a body that would otherwise be accepted.
fn protected(product: i64, order: i64) -> Vec<(Method, String, Option<Value>)> {
    let p = product;
    vec![
        (Method::GET, "/v1/me/cart".into(), None),
        (Method::DELETE, "/v1/me/cart".into(), None),
        (
            Method::PUT,
            format!("/v1/me/cart/items/{p}"),
            Some(json!({ "quantity": 1 })),
        ),
        (Method::DELETE, format!("/v1/me/cart/items/{p}"), None),
        (Method::GET, "/v1/me/wallet".into(), None),
        (Method::GET, "/v1/me/wallet/transactions".into(), None),
        (
            Method::POST,
            "/v1/me/checkout".into(),
            Some(crate::common::wallet_checkout()),
        ),
        (Method::GET, "/v1/me/orders".into(), None),
        (Method::GET, format!("/v1/me/orders/{order}"), None),
    ]
    .into_iter()
    .chain(admin_routes(product, order))
    .collect()
}

/// Every admin endpoint, with a body staff or admins would have accepted.
fn admin_routes(product: i64, order: i64) -> Vec<(Method, String, Option<Value>)> {
    let p = product;
    vec![
        (
            Method::POST,
            "/v1/admin/categories".into(),
            Some(json!({ "name": "Sneaky" })),
        ),
        (
            Method::POST,
            "/v1/admin/products".into(),
            Some(
                json!({ "category_id": 1, "name": "Sneaky", "kind": "physical", "price_minor": 1 }),
            ),
        ),
        (
            Method::PATCH,
            format!("/v1/admin/products/{p}"),
            Some(json!({ "price_minor": 1 })),
        ),
        (
            Method::POST,
            format!("/v1/admin/products/{p}/stock"),
            Some(json!({ "quantity_delta": 99 })),
        ),
        (Method::GET, "/v1/admin/orders".into(), None),
        (Method::GET, format!("/v1/admin/orders/{order}"), None),
        (
            Method::POST,
            "/v1/admin/users/2/wallet/credits".into(),
            Some(json!({ "amount_minor": 99, "reason": "sneaky" })),
        ),
        (
            Method::POST,
            "/v1/admin/users".into(),
            Some(json!({ "display_name": "Sneaky" })),
        ),
    ]
}

async fn send(
    app: &TestApp,
    token: Option<&str>,
    route: &(Method, String, Option<Value>),
) -> Reply {
    let (method, path, body) = route;
    let mut r = app.req(method.clone(), path.clone()).fresh_key();
    if let Some(t) = token {
        r = r.token(t);
    }
    if let Some(b) = body {
        r = r.json(b.clone());
    }
    r.send().await
}

/// A shop with one product (price 100, stock 5) and one order of customer 2.
async fn shop(app: &TestApp) -> (i64, i64, String) {
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 1000).await;
    app.cart_line(&c, p, 1).await;
    let order = app.buy_id(&c, "first").await;
    (p, order, c)
}

/// What a refused request must not have changed.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT count(*) FROM categories",
        "SELECT count(*) FROM products",
        "SELECT sum(price_minor)::bigint FROM products",
        "SELECT sum(stock_on_hand)::bigint FROM products",
        "SELECT count(*) FROM users",
        "SELECT sum(balance_minor)::bigint FROM users",
        "SELECT count(*) FROM orders",
        "SELECT count(*) FROM cart_items",
    ] {
        out.push(app.scalar(sql).await);
    }
    out
}

fn claims_token(claims: Value, secret: &str, alg: Algorithm) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes());
    encode(&Header::new(alg), &claims, &key).expect("token")
}

#[tokio::test]
async fn requests_without_a_token_are_401_unauthorized_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (p, order, _) = shop(&app).await;
    let before = fingerprint(&app).await;
    for route in protected(p, order) {
        send(&app, None, &route).await.err(401, "unauthorized");
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn garbage_expired_and_foreign_tokens_are_401_unauthorized() {
    let app = TestApp::spawn().await;
    let (p, order, _) = shop(&app).await;
    let exp = chrono::Utc::now().timestamp() + 3600;
    let valid = app.token(2, "customer");
    let mut parts = valid.split('.');
    let (_, payload) = (parts.next().unwrap(), parts.next().unwrap());
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let expired = JwtKeys::new(&SecretString::from(SECRET.to_string()))
        .mint(UserId::new(2).unwrap(), Role::Admin, -120)
        .unwrap();
    let foreign = JwtKeys::new(&SecretString::from(
        "another-secret-another-secret-0123456789".to_string(),
    ))
    .mint(UserId::new(1).unwrap(), Role::Admin, 3600)
    .unwrap();
    let tokens = vec![
        "garbage".to_string(),
        "a.b.c".to_string(),
        String::new(),
        format!("{valid}x"),
        alg_none,
        expired,
        foreign,
        claims_token(
            json!({ "sub": "1", "role": "admin", "exp": exp }),
            SECRET,
            Algorithm::HS512,
        ),
        claims_token(
            json!({ "sub": "abc", "role": "customer", "exp": exp }),
            SECRET,
            Algorithm::HS256,
        ),
        claims_token(
            json!({ "sub": "0", "role": "customer", "exp": exp }),
            SECRET,
            Algorithm::HS256,
        ),
        claims_token(
            json!({ "sub": "-1", "role": "customer", "exp": exp }),
            SECRET,
            Algorithm::HS256,
        ),
        claims_token(
            json!({ "sub": 2, "role": "customer", "exp": exp }),
            SECRET,
            Algorithm::HS256,
        ),
        claims_token(
            json!({ "sub": "99999999999999999999", "role": "customer", "exp": exp }),
            SECRET,
            Algorithm::HS256,
        ),
        claims_token(
            json!({ "sub": "1", "role": "root", "exp": exp }),
            SECRET,
            Algorithm::HS256,
        ),
        claims_token(json!({ "sub": "1", "exp": exp }), SECRET, Algorithm::HS256),
        claims_token(
            json!({ "sub": "1", "role": "admin" }),
            SECRET,
            Algorithm::HS256,
        ),
        claims_token(
            json!({ "role": "admin", "exp": exp }),
            SECRET,
            Algorithm::HS256,
        ),
    ];
    let before = fingerprint(&app).await;
    let routes = protected(p, order);
    for token in &tokens {
        for route in [&routes[4], &routes[6], &routes[10], &routes[15]] {
            let r = send(&app, Some(token), route).await;
            r.err(401, "unauthorized");
        }
    }
    // Other schemes and a bare "Bearer" are not tokens either.
    for header in [
        format!("Basic {valid}"),
        format!("bearer{valid}"),
        "Bearer".into(),
        "Bearer ".into(),
    ] {
        let r = app
            .req(Method::GET, "/v1/me/wallet")
            .header("authorization", &header)
            .send()
            .await;
        r.err(401, "unauthorized");
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn customers_are_403_forbidden_on_every_admin_route_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (p, order, c) = shop(&app).await;
    let before = fingerprint(&app).await;
    for route in admin_routes(p, order) {
        let r = send(&app, Some(&c), &route).await;
        let details = r.err(403, "forbidden");
        assert!(
            details["required_role"] == "staff" || details["required_role"] == "admin",
            "{details}"
        );
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn staff_manage_the_catalog_and_read_orders_but_cannot_credit_or_create_users() {
    let app = TestApp::spawn().await;
    let (p, order, _) = shop(&app).await;
    let staff = app.token(60, "staff");
    let routes = admin_routes(p, order);
    for route in &routes[..6] {
        let r = send(&app, Some(&staff), route).await;
        assert!(r.status.is_success(), "{} {}: {}", route.0, route.1, r.text);
    }
    let stock = app
        .req(Method::GET, format!("/v1/products/{p}"))
        .send()
        .await;
    assert_eq!(stock.ok(200)["stock_available"], 4 + 99);
    assert_eq!(stock.body["price_minor"], 1);
    let before = fingerprint(&app).await;
    for route in &routes[6..] {
        let r = send(&app, Some(&staff), route).await;
        assert_eq!(r.err(403, "forbidden")["required_role"], "admin");
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn admins_may_do_everything_staff_may_and_credit_and_create_users() {
    let app = TestApp::spawn().await;
    let (p, order, c) = shop(&app).await;
    for route in admin_routes(p, order) {
        let r = send(&app, Some(&app.admin()), &route).await;
        assert!(r.status.is_success(), "{} {}: {}", route.0, route.1, r.text);
    }
    let wallet = app.req(Method::GET, "/v1/me/wallet").token(&c).send().await;
    assert_eq!(wallet.ok(200)["balance_minor"], 1000 - 100 + 99);
}

#[tokio::test]
async fn staff_and_admins_use_the_customer_endpoints_as_themselves() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    for (user, role) in [(70, "staff"), (71, "admin")] {
        let token = app.token(user, role);
        let path = format!("/v1/me/cart/items/{p}");
        let r = app
            .req(Method::PUT, path)
            .token(&token)
            .json(json!({ "quantity": 1 }));
        assert_eq!(r.send().await.ok(200)["lines"][0]["product_id"], p);
        let wallet = app
            .req(Method::GET, "/v1/me/wallet")
            .token(&token)
            .send()
            .await;
        assert_eq!(wallet.ok(200)["balance_minor"], 0);
    }
}

#[tokio::test]
async fn the_public_catalog_and_operations_need_no_token() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    for path in [
        "/v1/health",
        "/v1/ready",
        "/metrics",
        "/v1/categories",
        "/v1/products",
    ] {
        app.req(Method::GET, path).send().await.ok(200);
    }
    app.req(Method::GET, format!("/v1/products/{p}"))
        .send()
        .await
        .ok(200);
    // A bad token on a public route is ignored rather than refused.
    app.req(Method::GET, "/v1/products")
        .token("garbage")
        .send()
        .await
        .ok(200);
}

#[tokio::test]
async fn a_customer_is_refused_with_403_before_the_body_or_key_is_looked_at() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    let (s, b) = app
        .raw(
            reqwest::Method::POST,
            "/v1/admin/products/1/stock",
            Some(&c),
            None,
            "{nonsense",
        )
        .await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = app
        .raw(
            reqwest::Method::POST,
            "/v1/admin/users/2/wallet/credits",
            Some(&c),
            None,
            "[]",
        )
        .await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = app
        .raw(
            reqwest::Method::POST,
            "/v1/admin/users",
            Some(&c),
            None,
            "{",
        )
        .await;
    assert_error(s, &b, 403, "forbidden");
}

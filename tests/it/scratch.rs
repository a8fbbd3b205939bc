use crate::common::*;
use reqwest::Method;
use serde_json::json;

async fn show(app: &TestApp, m: Method, p: &str, tok: Option<&str>, key: Option<&str>, body: Option<&str>) {
    let mut r = app.http.request(m.clone(), format!("{}{}", app.base, p));
    if let Some(t) = tok { r = r.bearer_auth(t); }
    if let Some(k) = key { r = r.header("idempotency-key", k); }
    if let Some(b) = body { r = r.header("content-type", "application/json").body(b.to_string()); }
    let res = r.send().await.unwrap();
    let s = res.status();
    let h = res.headers().get("x-request-id").is_some();
    let t = res.text().await.unwrap();
    println!("{m} {p} {body:?} => {s} rid={h} {t}");
}

#[tokio::test]
async fn scratch() {
    let app = TestApp::spawn().await;
    let a = app.admin();
    let shirt = app.physical(100, 3).await;
    let c = app.customer(5, 1000).await;
    show(&app, Method::DELETE, "/v1/products", None, None, None).await;
    show(&app, Method::POST, "/v1/health", None, None, None).await;
    show(&app, Method::GET, "/nope", None, None, None).await;
    show(&app, Method::PUT, &format!("/v1/me/cart/items/{shirt}"), Some(&c), None, Some(r#"{"quantity":1} xx"#)).await;
    show(&app, Method::PUT, &format!("/v1/me/cart/items/{shirt}"), Some(&c), None, Some(r#"{}"#)).await;
    show(&app, Method::PUT, &format!("/v1/me/cart/items/{shirt}"), Some(&c), None, Some(r#"{"quantity":99999999999999999999}"#)).await;
    show(&app, Method::PUT, &format!("/v1/me/cart/items/{shirt}"), Some(&c), None, Some(r#""#)).await;
    show(&app, Method::PUT, &format!("/v1/me/cart/items/{shirt}"), Some(&c), None, None).await;
    show(&app, Method::GET, "/v1/products?q=%00", None, None, None).await;
    show(&app, Method::GET, "/v1/products?q=a%ZZ", None, None, None).await;
    show(&app, Method::GET, "/v1/products?limit=1&limit=2", None, None, None).await;
    show(&app, Method::GET, "/v1/products/%20", None, None, None).await;
    show(&app, Method::GET, "/v1/products/1.5", None, None, None).await;
    show(&app, Method::GET, "/metrics", None, None, None).await;
    show(&app, Method::POST, "/v1/me/checkout", Some(&c), Some("k1"), Some(r#"{"payment":"wallet","shipping_address":{"line1":"x"}}"#)).await;
    show(&app, Method::POST, "/v1/admin/products", Some(&a), None, Some(&json!({"category_id": 1, "name":"x","kind":"physical","price_minor":5,"description":"line1\nline2"}).to_string())).await;
    show(&app, Method::POST, &format!("/v1/admin/products/{shirt}/stock"), Some(&c), None, Some(r#"{"quantity_delta":1}"#)).await;
    show(&app, Method::POST, "/v1/admin/users/99999/wallet/credits", Some(&a), Some("k2"), Some(r#"{"amount_minor":1,"reason":"x"}"#)).await;
    show(&app, Method::POST, "/v1/admin/categories", Some(&a), None, Some(r#"{"name":"x","parent_id":99999999}"#)).await;
    show(&app, Method::GET, "/v1/products?category_id=99999999999999999999", None, None, None).await;
    show(&app, Method::GET, "/v1/me/wallet", Some("garbage"), None, None).await;
    show(&app, Method::POST, "/v1/admin/users", Some(&a), None, Some(r#"{"display_name":"Ann","telegram_id":99999999999999999999}"#)).await;
    show(&app, Method::GET, "/v1/admin/orders?status=paid&limit=0", Some(&a), None, None).await;
    let big = app.token(9223372036854775807, "customer");
    show(&app, Method::GET, "/v1/me/wallet", Some(&big), None, None).await;
    show(&app, Method::POST, "/v1/admin/users", Some(&a), None, Some(r#"{}"#)).await;
}

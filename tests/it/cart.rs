//! The caller's cart: `GET /v1/me/cart`, `PUT`/`DELETE /v1/me/cart/items/{id}`, `DELETE /v1/me/cart`.

use crate::client::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn put(app: &TestApp, token: &str, product: impl std::fmt::Display, body: Value) -> Reply {
    app.req(Method::PUT, format!("/v1/me/cart/items/{product}"))
        .token(token)
        .json(body)
        .send()
        .await
}

async fn cart(app: &TestApp, token: &str) -> Value {
    app.req(Method::GET, "/v1/me/cart")
        .token(token)
        .send()
        .await
        .ok(200)
        .clone()
}

fn quantities(cart: &Value) -> Vec<(i64, i64)> {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["product_id"].as_i64().unwrap(),
                l["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_cart_is_empty_and_fully_shaped() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    let want = json!({
        "lines": [], "subtotal_minor": 0, "discount_minor": 0, "shipping_minor": 0,
        "tax_minor": 0, "total_minor": 0, "tax_included_minor": 0, "currency": "USD",
        "promo_code": null, "promo_refusal": null, "total_stars": null
    });
    assert_eq!(cart(&app, &c).await, want);
}

#[tokio::test]
async fn a_cart_line_is_set_replaced_and_priced() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(2500, 5).await;
    let key = app.digital(1999, &codes("K", 3)).await;
    let c = app.customer(2, 0).await;

    let r = put(&app, &c, shirt, json!({ "quantity": 2 })).await;
    let want_line = json!({ "product_id": shirt, "name": "Shirt", "kind": "physical", "quantity": 2,
        "unit_price_minor": 2500, "unit_price_stars": null, "line_total_minor": 5000,
        "available": 5 });
    assert_eq!(r.ok(200)["lines"], json!([want_line]));
    assert_eq!(r.body["subtotal_minor"], 5000);
    assert_eq!(r.body["total_minor"], 5000);

    let r = put(&app, &c, shirt, json!({ "quantity": 3 })).await;
    assert_eq!(
        quantities(r.ok(200)),
        [(shirt, 3)],
        "PUT sets the line, it does not add"
    );
    let r = put(&app, &c, key, json!({ "quantity": 100 })).await;
    assert_eq!(quantities(r.ok(200)), [(shirt, 3), (key, 100)]);
    assert_eq!(
        r.body["lines"][1]["available"], 3,
        "more than in stock may be in a cart"
    );
    assert_eq!(r.body["subtotal_minor"], 3 * 2500 + 100 * 1999);
    assert_eq!(r.body["total_minor"], 3 * 2500 + 100 * 1999);
    assert_eq!(cart(&app, &c).await, r.body, "GET shows what PUT answered");
    assert_eq!(
        app.scalar("SELECT count(*) FROM cart_items WHERE user_id = 2")
            .await,
        2
    );
}

#[tokio::test]
async fn cart_lines_are_removed_one_at_a_time_or_all_at_once() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.physical(100, 5).await, app.physical(200, 5).await);
    let c = app.customer(2, 0).await;
    put(&app, &c, a, json!({ "quantity": 1 })).await.ok(200);
    put(&app, &c, b, json!({ "quantity": 2 })).await.ok(200);

    let r = app
        .req(Method::DELETE, format!("/v1/me/cart/items/{a}"))
        .token(&c)
        .send()
        .await;
    assert_eq!(quantities(r.ok(200)), [(b, 2)]);
    assert_eq!(r.body["total_minor"], 400);
    let r = app
        .req(Method::DELETE, format!("/v1/me/cart/items/{a}"))
        .token(&c)
        .send()
        .await;
    assert_eq!(
        quantities(r.ok(200)),
        [(b, 2)],
        "removing an absent line is harmless"
    );
    let r = app
        .req(Method::DELETE, "/v1/me/cart/items/999999")
        .token(&c)
        .send()
        .await;
    assert_eq!(quantities(r.ok(200)), [(b, 2)]);

    put(&app, &c, a, json!({ "quantity": 4 })).await.ok(200);
    let r = app
        .req(Method::DELETE, "/v1/me/cart")
        .token(&c)
        .send()
        .await;
    assert_eq!(r.ok(200)["lines"], json!([]));
    assert_eq!(r.body["total_minor"], 0);
    assert_eq!(cart(&app, &c).await["lines"], json!([]));
    assert_eq!(app.scalar("SELECT count(*) FROM cart_items").await, 0);
    let r = app
        .req(Method::DELETE, "/v1/me/cart")
        .token(&c)
        .send()
        .await;
    assert_eq!(
        r.ok(200)["lines"],
        json!([]),
        "clearing an empty cart is harmless"
    );
}

#[tokio::test]
async fn cart_quantities_outside_1_to_100_are_refused_and_the_line_is_kept() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 0).await;
    put(&app, &c, p, json!({ "quantity": 2 })).await.ok(200);
    for bad in [
        json!(0),
        json!(-1),
        json!(101),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(1e20),
        json!(1.5),
        json!("2"),
        json!(null),
        json!(true),
    ] {
        put(&app, &c, p, json!({ "quantity": bad }))
            .await
            .invalid("quantity");
    }
    put(&app, &c, p, json!({})).await.invalid("quantity");
    put(&app, &c, p, json!({ "quantity": 1, "note": "gift" }))
        .await
        .invalid("note");
    assert_eq!(quantities(&cart(&app, &c).await), [(p, 2)]);
    put(&app, &c, p, json!({ "quantity": 1 })).await.ok(200);
    put(&app, &c, p, json!({ "quantity": 100 })).await.ok(200);
    assert_eq!(quantities(&cart(&app, &c).await), [(p, 100)]);
}

#[tokio::test]
async fn an_unknown_or_inactive_product_cannot_go_in_the_cart() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 0).await;
    let r = put(&app, &c, 999_999, json!({ "quantity": 1 })).await;
    r.err(404, "not_found");
    let path = format!("/v1/admin/products/{p}");
    let off = app
        .req(Method::PATCH, path)
        .token(&app.admin())
        .json(json!({ "active": false }));
    off.send().await.ok(200);
    let r = put(&app, &c, p, json!({ "quantity": 1 })).await;
    assert_eq!(r.err(409, "product_inactive")["product_id"], p);
    assert_eq!(cart(&app, &c).await["lines"], json!([]));
}

#[tokio::test]
async fn cart_item_paths_with_bad_product_ids_are_400_invalid_id() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 0).await;
    for bad in BAD_IDS {
        let r = put(&app, &c, bad, json!({ "quantity": 1 })).await;
        assert_eq!(r.err(400, "invalid_id")["field"], "product_id");
        let path = format!("/v1/me/cart/items/{bad}");
        let r = app.req(Method::DELETE, path).token(&c).send().await;
        assert_eq!(r.err(400, "invalid_id")["field"], "product_id");
    }
}

#[tokio::test]
async fn each_customer_sees_and_changes_only_their_own_cart() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let (ann, bob) = (app.customer(2, 0).await, app.customer(3, 0).await);
    put(&app, &ann, p, json!({ "quantity": 3 })).await.ok(200);
    assert_eq!(cart(&app, &bob).await["lines"], json!([]));
    app.req(Method::DELETE, "/v1/me/cart")
        .token(&bob)
        .send()
        .await
        .ok(200);
    assert_eq!(quantities(&cart(&app, &ann).await), [(p, 3)]);
}

#[tokio::test]
async fn the_cart_shows_current_prices_and_availability() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 0).await;
    put(&app, &c, p, json!({ "quantity": 2 })).await.ok(200);
    let path = format!("/v1/admin/products/{p}");
    let reprice = app
        .req(Method::PATCH, path)
        .token(&app.admin())
        .json(json!({ "price_minor": 150 }));
    reprice.send().await.ok(200);
    app.add_stock(p, json!({ "quantity_delta": -4 })).await;
    let now = cart(&app, &c).await;
    assert_eq!(now["lines"][0]["unit_price_minor"], 150);
    assert_eq!(now["lines"][0]["line_total_minor"], 300);
    assert_eq!(now["lines"][0]["available"], 1);
    assert_eq!(now["total_minor"], 300);
}

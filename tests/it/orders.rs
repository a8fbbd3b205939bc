//! `POST /v1/me/checkout` ⚑ and the order reads: `/v1/me/orders[/{id}]`, `/v1/admin/orders[/{id}]`.

use crate::client::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn checkout(app: &TestApp, token: &str, body: Value) -> Reply {
    let r = app
        .req(Method::POST, "/v1/me/checkout")
        .token(token)
        .fresh_key();
    r.json(body).send().await
}

async fn get(app: &TestApp, token: &str, path: impl Into<String>) -> Reply {
    app.req(Method::GET, path).token(token).send().await
}

/// Balance, stock of `product`, cart lines and order count: what a refused checkout must not move.
async fn state(app: &TestApp, token: &str, product: i64) -> (Value, Value, Value, i64) {
    let wallet = get(app, token, "/v1/me/wallet").await.ok(200)["balance_minor"].clone();
    let p = get(app, token, format!("/v1/products/{product}")).await;
    let cart = get(app, token, "/v1/me/cart").await.ok(200)["lines"].clone();
    let orders = app.scalar("SELECT count(*) FROM orders").await;
    (wallet, p.ok(200)["stock_available"].clone(), cart, orders)
}

#[tokio::test]
async fn checkout_turns_the_cart_into_a_paid_order_and_debits_the_wallet() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(2500, 5).await;
    let key = app.digital(1999, &codes("KEY", 3)).await;
    let c = app.customer(2, 10_000).await;
    app.cart_line(&c, shirt, 2).await;
    app.cart_line(&c, key, 1).await;
    let r = checkout(&app, &c, crate::common::wallet_checkout()).await;
    let order = r.ok(201).clone();
    assert_eq!(order["status"], "paid");
    assert_eq!(order["currency"], "USD");
    assert_eq!(order["subtotal_minor"], 6999);
    assert_eq!(order["discount_minor"], 0);
    assert_eq!(order["total_minor"], 6999);
    assert_eq!(order["lines"][0]["product_id"], shirt);
    assert_eq!(order["lines"][0]["quantity"], 2);
    assert_eq!(order["lines"][0]["unit_price_minor"], 2500);
    assert!(
        order["lines"][0].get("delivered_items").is_none(),
        "physical goods deliver no keys"
    );
    assert_eq!(order["lines"][1]["delivered_items"], json!(["KEY-00000"]));

    let (wallet, stock, cart, orders) = state(&app, &c, shirt).await;
    assert_eq!(
        (wallet, stock, cart, orders),
        (json!(3001), json!(3), json!([]), 1)
    );
    let id = order["id"].as_i64().unwrap();
    assert_eq!(
        get(&app, &c, format!("/v1/me/orders/{id}")).await.ok(200),
        &order
    );
    let mine = get(&app, &c, "/v1/me/orders").await;
    assert_eq!(mine.ok(200)["items"], json!([order]));
}

#[tokio::test]
async fn checkout_of_an_empty_cart_is_409_cart_empty() {
    let app = TestApp::spawn().await;
    let c = app.customer(2, 1000).await;
    checkout(&app, &c, crate::common::wallet_checkout())
        .await
        .err(409, "cart_empty");
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn checkout_beyond_stock_is_409_out_of_stock_with_details_and_moves_nothing() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 2).await;
    let c = app.customer(2, 10_000).await;
    app.cart_line(&c, p, 3).await;
    let before = state(&app, &c, p).await;
    let r = checkout(&app, &c, crate::common::wallet_checkout()).await;
    let details = r.err(409, "out_of_stock");
    assert_eq!(
        details,
        &json!({ "product_id": p, "requested": 3, "available": 2 })
    );
    assert_eq!(state(&app, &c, p).await, before);
}

#[tokio::test]
async fn checkout_beyond_the_balance_is_402_insufficient_funds_and_moves_nothing() {
    let app = TestApp::spawn().await;
    let p = app.physical(150, 5).await;
    let c = app.customer(2, 100).await;
    app.cart_line(&c, p, 1).await;
    let before = state(&app, &c, p).await;
    let r = checkout(&app, &c, crate::common::wallet_checkout()).await;
    let details = r.err(402, "insufficient_funds");
    assert_eq!(
        details,
        &json!({ "required_minor": 150, "balance_minor": 100 })
    );
    assert_eq!(state(&app, &c, p).await, before);
    assert_eq!(before.1, 5, "the reservation was released");
}

#[tokio::test]
async fn checkout_with_a_deactivated_product_in_the_cart_is_409_product_inactive() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 1000).await;
    app.cart_line(&c, p, 1).await;
    let path = format!("/v1/admin/products/{p}");
    let off = app
        .req(Method::PATCH, path)
        .token(&app.admin())
        .json(json!({ "active": false }));
    off.send().await.ok(200);
    let r = checkout(&app, &c, crate::common::wallet_checkout()).await;
    assert_eq!(r.err(409, "product_inactive")["product_id"], p);
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 2")
            .await,
        1000
    );
}

#[tokio::test]
async fn checkout_payment_other_than_wallet_and_unknown_promo_codes_are_422() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 1000).await;
    app.cart_line(&c, p, 1).await;
    for body in [
        json!({ "payment": "card" }),
        json!({ "payment": "" }),
        json!({ "payment": "WALLET" }),
        json!({ "payment": 1 }),
        json!({ "payment": null }),
        json!({}),
    ] {
        checkout(&app, &c, body).await.invalid("payment");
    }
    checkout(&app, &c, json!({ "payment": "wallet", "coupon": "X" }))
        .await
        .invalid("coupon");
    let long = "x".repeat(1000);
    for (code, reason) in [
        ("SAVE10", "unknown"),
        ("", "malformed"),
        ("nul\u{0}", "malformed"),
        (long.as_str(), "malformed"),
    ] {
        let mut body = crate::common::wallet_checkout();
        body["promo_code"] = json!(code);
        let r = checkout(&app, &c, body).await;
        assert_eq!(r.err(422, "promo_invalid")["reason"], reason, "{code:?}");
    }
    let before = state(&app, &c, p).await;
    assert_eq!((before.0.as_i64(), before.3), (Some(1000), 0));
}

#[tokio::test]
async fn checkout_keeps_a_valid_shipping_address_and_refuses_a_bad_one() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 1000).await;
    app.cart_line(&c, p, 1).await;
    let address = json!({ "name": "Ann", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "de" });
    let mut bad = address.clone();
    bad["country"] = json!("Germany");
    let body = json!({ "payment": "wallet", "shipping_address": bad });
    let details = checkout(&app, &c, body)
        .await
        .err(422, "invalid_input")
        .clone();
    assert_eq!(details["field"], "shipping_address.country");
    let body = json!({ "payment": "wallet", "shipping_address": { "line1": "1 Main St" } });
    checkout(&app, &c, body).await.err(422, "invalid_input");
    let body = json!({ "payment": "wallet", "shipping_address": address });
    let order = checkout(&app, &c, body).await.ok(201).clone();
    assert_eq!(order["shipping_address"]["country"], "DE");
    let id = order["id"].as_i64().unwrap();
    let (_, stored) = app.get(&format!("/v1/me/orders/{id}"), Some(&c)).await;
    assert_eq!(stored["shipping_address"], order["shipping_address"]);
}

#[tokio::test]
async fn checkout_needs_a_valid_idempotency_key() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let c = app.customer(2, 1000).await;
    app.cart_line(&c, p, 1).await;
    let body = crate::common::wallet_checkout();
    let r = app
        .req(Method::POST, "/v1/me/checkout")
        .token(&c)
        .json(body.clone());
    r.send().await.err(400, "idempotency_key_required");
    let long = "k".repeat(256);
    for bad in ["", "a\tb", "clé", long.as_str()] {
        let r = app
            .req(Method::POST, "/v1/me/checkout")
            .token(&c)
            .key(bad)
            .json(body.clone());
        let details = r.send().await.err(400, "invalid_idempotency_key").clone();
        assert_eq!(details["field"], "Idempotency-Key");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 0);
    let order = app.buy(&c, &"k".repeat(255)).await;
    assert_eq!(order["status"], "paid");
}

#[tokio::test]
async fn someone_elses_order_is_404_and_bad_order_ids_are_400() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let (ann, bob) = (app.customer(2, 1000).await, app.customer(3, 1000).await);
    app.cart_line(&ann, p, 1).await;
    let id = app.buy_id(&ann, "ann-1").await;
    get(&app, &bob, format!("/v1/me/orders/{id}"))
        .await
        .err(404, "not_found");
    assert_eq!(
        get(&app, &bob, "/v1/me/orders").await.ok(200)["items"],
        json!([])
    );
    get(&app, &ann, "/v1/me/orders/999999")
        .await
        .err(404, "not_found");
    for bad in BAD_IDS {
        let r = get(&app, &ann, format!("/v1/me/orders/{bad}")).await;
        assert_eq!(r.err(400, "invalid_id")["field"], "order_id");
        let r = get(&app, &app.admin(), format!("/v1/admin/orders/{bad}")).await;
        assert_eq!(r.err(400, "invalid_id")["field"], "order_id");
    }
    get(&app, &app.admin(), "/v1/admin/orders/999999")
        .await
        .err(404, "not_found");
}

#[tokio::test]
async fn my_orders_are_listed_newest_first_and_paged() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 10).await;
    let (ann, bob) = (app.customer(2, 1000).await, app.customer(3, 1000).await);
    let mut made = Vec::new();
    for i in 0..3 {
        app.cart_line(&ann, p, 1).await;
        made.push(app.buy_id(&ann, &format!("ann-{i}")).await);
    }
    app.cart_line(&bob, p, 1).await;
    app.buy(&bob, "bob-1").await;
    made.reverse();
    let first = get(&app, &ann, "/v1/me/orders?limit=2").await;
    assert_eq!(ids(first.ok(200)), made[..2]);
    let cursor = first.body["next_cursor"].as_str().expect("next page");
    let second = get(&app, &ann, format!("/v1/me/orders?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(second.ok(200)), made[2..]);
    assert!(second.body["next_cursor"].is_null());
    for bad in ["limit=0", "limit=101", "limit=x", "cursor=x", "cursor=0"] {
        get(&app, &ann, format!("/v1/me/orders?{bad}"))
            .await
            .err(422, "invalid_input");
    }
}

#[tokio::test]
async fn staff_list_all_orders_by_status_and_bad_statuses_are_422() {
    let app = TestApp::spawn().await;
    let p = app.physical(100, 5).await;
    let (ann, bob) = (app.customer(2, 1000).await, app.customer(3, 1000).await);
    app.cart_line(&ann, p, 1).await;
    let a = app.buy_id(&ann, "a").await;
    app.cart_line(&bob, p, 1).await;
    let b = app.buy_id(&bob, "b").await;
    let staff = app.token(50, "staff");
    for token in [&staff, &app.admin()] {
        assert_eq!(
            ids(get(&app, token, "/v1/admin/orders").await.ok(200)),
            [b, a]
        );
        let paid = get(&app, token, "/v1/admin/orders?status=paid").await;
        assert_eq!(ids(paid.ok(200)), [b, a]);
        let shipped = get(&app, token, "/v1/admin/orders?status=shipped").await;
        assert_eq!(ids(shipped.ok(200)), Vec::<i64>::new());
        let one = get(&app, token, "/v1/admin/orders?limit=1").await;
        assert_eq!(ids(one.ok(200)), [b]);
        for bad in ["bogus", "PAID", "paid%00", "1"] {
            get(&app, token, format!("/v1/admin/orders?status={bad}"))
                .await
                .invalid("status");
        }
        get(&app, token, "/v1/admin/orders?limit=0")
            .await
            .invalid("limit");
    }
    let r = get(&app, &ann, "/v1/admin/orders").await;
    assert_eq!(r.err(403, "forbidden")["required_role"], "staff");
    get(&app, &ann, format!("/v1/admin/orders/{a}"))
        .await
        .err(403, "forbidden");
}

#[tokio::test]
async fn delivered_keys_are_shown_to_the_owner_and_admins_but_not_to_staff() {
    let app = TestApp::spawn().await;
    let key = app.digital(100, &codes("K", 2)).await;
    let c = app.customer(2, 1000).await;
    app.cart_line(&c, key, 2).await;
    let id = app.buy_id(&c, "k").await;
    let keys = json!(["K-00000", "K-00001"]);
    let own = get(&app, &c, format!("/v1/me/orders/{id}")).await;
    assert_eq!(own.ok(200)["lines"][0]["delivered_items"], keys);
    let admin = get(&app, &app.admin(), format!("/v1/admin/orders/{id}")).await;
    assert_eq!(admin.ok(200)["lines"][0]["delivered_items"], keys);
    let staff = app.token(50, "staff");
    let seen = get(&app, &staff, format!("/v1/admin/orders/{id}")).await;
    let line = &seen.ok(200)["lines"][0];
    assert!(line.get("delivered_items").is_none(), "{line}");
    assert_eq!(line["quantity"], 2);
    let list = get(&app, &staff, "/v1/admin/orders").await;
    assert!(list.ok(200)["items"][0]["lines"][0]
        .get("delivered_items")
        .is_none());
}

//! Promo codes (P6): admin CRUD, every rule at its boundary, the claim given back when a
//! checkout fails, and 200 buyers racing for a code limited to 10.

use crate::common::{assert_error, codes, wallet_checkout, TestApp};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn create(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/admin/promos",
        Some(&app.admin()),
        None,
        Some(body),
    )
    .await
}

async fn checkout_with(app: &TestApp, token: &str, code: &str) -> (StatusCode, Value) {
    let mut body = wallet_checkout();
    body["promo_code"] = json!(code);
    let key = uuid::Uuid::new_v4().to_string();
    app.call(
        Method::POST,
        "/v1/me/checkout",
        Some(token),
        Some(&key),
        Some(body),
    )
    .await
}

fn refused(s: StatusCode, b: &Value, reason: &str) {
    assert_error(s, b, 422, "promo_invalid");
    assert_eq!(b["error"]["details"]["reason"], reason, "{b}");
}

#[tokio::test]
async fn admins_create_list_read_and_change_promos_and_every_change_is_audited() {
    let app = TestApp::spawn().await;
    let created = app
        .create_promo(
            json!({ "code": "spring-10", "kind": "percent", "value": 10, "max_redemptions": 5 }),
        )
        .await;
    assert_eq!(created["code"], "SPRING-10", "codes are stored upper-case");
    assert_eq!(
        (created["active"].clone(), created["redemptions"].clone()),
        (json!(true), json!(0))
    );

    let (s, b) = create(
        &app,
        json!({ "code": "Spring-10", "kind": "fixed", "value": 5 }),
    )
    .await;
    assert_error(s, &b, 409, "promo_exists");

    for (body, field) in [
        (
            json!({ "code": "PCT0", "kind": "percent", "value": 0 }),
            "value",
        ),
        (
            json!({ "code": "PCT101", "kind": "percent", "value": 101 }),
            "value",
        ),
        (
            json!({ "code": "FIX0", "kind": "fixed", "value": 0 }),
            "value",
        ),
        (
            json!({ "code": "KIND", "kind": "bogo", "value": 5 }),
            "kind",
        ),
        (json!({ "code": "a", "kind": "fixed", "value": 5 }), "code"),
        (
            json!({ "code": "has space", "kind": "fixed", "value": 5 }),
            "code",
        ),
        (
            json!({ "code": "WIN", "kind": "fixed", "value": 5,
                    "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z" }),
            "ends_at",
        ),
        (
            json!({ "code": "LIM", "kind": "fixed", "value": 5, "max_per_user": 0 }),
            "max_per_user",
        ),
    ] {
        let (s, b) = create(&app, body.clone()).await;
        assert_error(s, &b, 422, "invalid_input");
        assert_eq!(b["error"]["details"]["field"], field, "{body}");
    }

    let customer = app.customer(2, 0).await;
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/admin/promos",
            Some(&customer),
            None,
            Some(json!({ "code": "MINE", "kind": "percent", "value": 100 })),
        )
        .await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = app.get("/v1/admin/promos", None).await;
    assert_error(s, &b, 401, "unauthorized");

    let (s, list) = app.get("/v1/admin/promos", Some(&app.admin())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    let (s, changed) = app
        .call(
            Method::PATCH,
            "/v1/admin/promos/spring-10",
            Some(&app.admin()),
            None,
            Some(json!({ "value": 20, "max_redemptions": null, "active": false })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(
        (
            changed["value"].clone(),
            changed["max_redemptions"].clone(),
            changed["active"].clone()
        ),
        (json!(20), Value::Null, json!(false))
    );
    let (_, read) = app
        .get("/v1/admin/promos/SPRING-10", Some(&app.admin()))
        .await;
    assert_eq!(read["value"], 20);
    let (s, b) = app
        .call(
            Method::PATCH,
            "/v1/admin/promos/SPRING-10",
            Some(&app.admin()),
            None,
            Some(json!({ "kind": "percent", "value": 300 })),
        )
        .await;
    assert_error(s, &b, 422, "invalid_input");
    let (s, b) = app.get("/v1/admin/promos/NOPE", Some(&app.admin())).await;
    assert_error(s, &b, 404, "not_found");
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE target = 'promo:SPRING-10'")
            .await,
        2
    );
}

#[tokio::test]
async fn every_promo_rule_refuses_at_its_boundary_with_a_clear_reason() {
    let app = TestApp::spawn().await;
    let key = app.digital(1_000, &codes("RULE", 10)).await;
    let customer = app.customer(2, 10_000).await;
    app.put_cart(&customer, key, 1).await;

    app.create_promo(json!({ "code": "OFF", "kind": "fixed", "value": 5, "active": false }))
        .await;
    app.create_promo(
        json!({ "code": "SOON", "kind": "fixed", "value": 5, "starts_at": "2999-01-01T00:00:00Z" }),
    )
    .await;
    app.create_promo(
        json!({ "code": "OVER", "kind": "fixed", "value": 5, "ends_at": "2001-01-01T00:00:00Z" }),
    )
    .await;
    app.create_promo(
        json!({ "code": "MIN1001", "kind": "fixed", "value": 5, "min_subtotal_minor": 1_001 }),
    )
    .await;
    app.create_promo(
        json!({ "code": "MIN1000", "kind": "percent", "value": 100, "min_subtotal_minor": 1_000 }),
    )
    .await;
    app.create_promo(json!({ "code": "BIG", "kind": "fixed", "value": 5_000 }))
        .await;

    let (s, b) = app.apply_promo(&customer, "GHOST").await;
    refused(s, &b, "unknown");
    for (code, reason) in [
        ("OFF", "inactive"),
        ("SOON", "not_started"),
        ("OVER", "expired"),
        ("MIN1001", "below_minimum"),
    ] {
        let (s, b) = app.apply_promo(&customer, code).await;
        refused(s, &b, reason);
        let (s, b) = checkout_with(&app, &customer, code).await;
        refused(s, &b, reason);
    }
    let (_, cart) = app.get("/v1/me/cart", Some(&customer)).await;
    assert_eq!(
        cart["promo_code"],
        Value::Null,
        "a refused code is not kept"
    );

    // At the minimum exactly, a 100 % code takes the goods to zero, never below.
    let (s, cart) = app.apply_promo(&customer, "min1000").await;
    assert_eq!(s, StatusCode::OK, "{cart}");
    assert_eq!(
        (
            cart["promo_code"].clone(),
            cart["discount_minor"].clone(),
            cart["total_minor"].clone()
        ),
        (json!("MIN1000"), json!(1_000), json!(0))
    );
    // A fixed amount above the goods is capped at them.
    let (_, cart) = app.apply_promo(&customer, "BIG").await;
    assert_eq!(
        (cart["discount_minor"].clone(), cart["total_minor"].clone()),
        (json!(1_000), json!(0))
    );

    // Lowering the cart below a code's minimum keeps the code but says why it gives nothing,
    // and checkout refuses it rather than charging more than the customer saw.
    app.call(
        Method::PATCH,
        "/v1/admin/promos/BIG",
        Some(&app.admin()),
        None,
        Some(json!({ "min_subtotal_minor": 2_000 })),
    )
    .await;
    let (_, cart) = app.get("/v1/me/cart", Some(&customer)).await;
    assert_eq!(cart["promo_refusal"]["reason"], "below_minimum", "{cart}");
    assert_eq!(cart["discount_minor"], 0);
    let (s, b) = app.checkout(&customer, "with-cart-code").await;
    refused(s, &b, "below_minimum");
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn per_user_and_total_limits_count_committed_redemptions() {
    let app = TestApp::spawn().await;
    let key = app.digital(500, &codes("LIM", 10)).await;
    app.create_promo(json!({ "code": "ONCE", "kind": "percent", "value": 50, "max_per_user": 1 }))
        .await;
    app.create_promo(
        json!({ "code": "FIRST", "kind": "fixed", "value": 100, "max_redemptions": 1 }),
    )
    .await;
    let (a, b) = (app.customer(2, 10_000).await, app.customer(3, 10_000).await);

    app.put_cart(&a, key, 1).await;
    let (s, order) = checkout_with(&app, &a, "ONCE").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(
        (
            order["discount_minor"].clone(),
            order["total_minor"].clone(),
            order["promo_code"].clone()
        ),
        (json!(250), json!(250), json!("ONCE"))
    );
    app.put_cart(&a, key, 1).await;
    let (s, body) = checkout_with(&app, &a, "ONCE").await;
    refused(s, &body, "per_user_limit");

    let (s, order) = checkout_with(&app, &a, "FIRST").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    app.put_cart(&b, key, 1).await;
    let (s, body) = checkout_with(&app, &b, "FIRST").await;
    refused(s, &body, "exhausted");

    assert_eq!(
        app.scalar("SELECT count(*) FROM promo_redemptions").await,
        2
    );
    assert_eq!(app.scalar("SELECT sum(redemptions) FROM promos").await, 2);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_checkout_that_fails_gives_its_promo_claim_back() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 1).await;
    app.create_promo(
        json!({ "code": "SOLO", "kind": "fixed", "value": 100, "max_redemptions": 1 }),
    )
    .await;
    let poor = app.customer(2, 10).await;
    let rich = app.customer(3, 10_000).await;

    app.put_cart(&poor, shirt, 1).await;
    let (s, b) = checkout_with(&app, &poor, "SOLO").await;
    assert_error(s, &b, 402, "insufficient_funds");
    app.put_cart(&rich, shirt, 1).await;
    let (s, order) = checkout_with(&app, &rich, "SOLO").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["total_minor"], 900);
    assert_eq!(
        app.scalar("SELECT redemptions::bigint FROM promos WHERE code = 'SOLO'")
            .await,
        1
    );
}

#[tokio::test]
async fn two_hundred_buyers_race_for_a_code_limited_to_ten_and_exactly_ten_get_it() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(100, 1_000).await;
    app.create_promo(
        json!({ "code": "FLASH", "kind": "fixed", "value": 50, "max_redemptions": 10 }),
    )
    .await;
    // Setting up is not the race: 16 at a time, so a slow machine never times it out.
    let buyers: Vec<String> = futures_util::stream::iter(100..300)
        .map(|i| {
            let app = &app;
            async move {
                let token = app.customer(i, 1_000).await;
                app.put_cart(&token, shirt, 1).await;
                token
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let results =
        futures_util::future::join_all(buyers.iter().map(|t| checkout_with(&app, t, "FLASH")))
            .await;
    let mut won = 0;
    for (s, b) in &results {
        if *s == StatusCode::CREATED {
            won += 1;
            assert_eq!(b["total_minor"], 50);
        } else {
            refused(*s, b, "exhausted");
        }
    }
    assert_eq!(won, 10);
    assert_eq!(
        app.scalar("SELECT count(*) FROM promo_redemptions").await,
        10
    );
    assert_eq!(
        app.scalar("SELECT redemptions::bigint FROM promos").await,
        10
    );
    assert_eq!(app.scalar("SELECT count(*) FROM orders").await, 10);
    assert_eq!(app.scalar("SELECT stock_on_hand FROM products").await, 990);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_promo_that_covers_the_whole_cart_makes_a_free_wallet_order_and_no_free_external_one() {
    let app = TestApp::spawn().await;
    // Four keys, so one buyer may hold two unpaid (half of what is for sale).
    let key = app.digital(80, &codes("FREE", 4)).await;
    app.create_promo(json!({ "code": "BIGGIFT", "kind": "fixed", "value": 250 }))
        .await;
    let c = app.customer(2, 1_000).await;
    let (s, b) = app.put_cart(&c, key, 2).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.apply_promo(&c, "BIGGIFT").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["total_minor"], 0, "{b}");
    // Nothing for a provider to pay: refused, and nothing is held.
    let (s, b) = app.external_checkout(&c, "free-external").await;
    assert_error(s, &b, 422, "invalid_input");
    assert_eq!(b["error"]["details"]["field"], "payment", "{b}");
    let (s, order) = app.checkout(&c, "free-wallet").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total_minor"], 0);
    assert_eq!(
        order["lines"][0]["delivered_items"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let (_, wallet) = app.get("/v1/me/wallet", Some(&c)).await;
    assert_eq!(
        wallet["balance_minor"], 1_000,
        "a free order debits nothing"
    );
    app.assert_invariants().await;
}

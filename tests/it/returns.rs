//! Returns and exchanges of delivered physical goods: the happy path to a refund, exchanges
//! only for an in-stock sibling SKU (the clothing store's defect), and every refusal.

use crate::common::{assert_error, codes, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Three sizes of one tee: S (5), M (0), L (2).
async fn tees(app: &TestApp) -> (i64, i64, i64) {
    let cat = app.category("Tees").await;
    let mut ids = Vec::new();
    for (size, stock) in [("S", 5), ("M", 0), ("L", 2)] {
        let body = json!({ "category_id": cat, "name": format!("Tee {size}"), "kind": "physical",
                           "price_minor": 1_000, "group_id": 42, "options": { "size": size } });
        let id = app.create_product(body).await["id"].as_i64().unwrap();
        if stock > 0 {
            app.add_stock(id, json!({ "quantity_delta": stock })).await;
        }
        ids.push(id);
    }
    (ids[0], ids[1], ids[2])
}

async fn move_to(app: &TestApp, order: i64, to: &str) {
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/admin/orders/{order}/transitions"),
            Some(&app.admin()),
            None,
            Some(json!({ "to": to })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// A delivered order of `quantity` units of `product`.
async fn delivered(app: &TestApp, token: &str, product: i64, quantity: i64) -> i64 {
    app.put_cart(token, product, quantity).await;
    let (s, order) = app.checkout(token, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    let id = order["id"].as_i64().unwrap();
    move_to(app, id, "shipped").await;
    move_to(app, id, "delivered").await;
    id
}

async fn ask(app: &TestApp, token: &str, order: i64, lines: Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/v1/me/orders/{order}/returns"),
        Some(token),
        None,
        Some(json!({ "lines": lines, "reason": "does not fit" })),
    )
    .await
}

async fn staff_step(app: &TestApp, id: i64, step: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/v1/admin/returns/{id}/{step}"),
        Some(&app.admin()),
        None,
        Some(json!({ "note": format!("{step} by the warehouse") })),
    )
    .await
}

async fn stock(app: &TestApp, product: i64) -> i64 {
    app.get(&format!("/v1/products/{product}"), None).await.1["stock_available"]
        .as_i64()
        .unwrap()
}

async fn status(app: &TestApp, token: &str, order: i64) -> Value {
    app.get(&format!("/v1/me/orders/{order}"), Some(token))
        .await
        .1["status"]
        .clone()
}

#[tokio::test]
async fn a_return_is_requested_approved_received_and_refunded() {
    let app = TestApp::spawn().await;
    let (s_, _, _) = tees(&app).await;
    let c = app.customer(2, 10_000).await;
    let order = delivered(&app, &c, s_, 2).await;
    assert_eq!(stock(&app, s_).await, 3);

    let (s, ret) = ask(
        &app,
        &c,
        order,
        json!([{ "product_id": s_, "quantity": 1 }]),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{ret}");
    assert_eq!(ret["status"], "requested");
    assert_eq!(status(&app, &c, order).await, "return_requested");
    let id = ret["id"].as_i64().unwrap();
    // One open return per order.
    let (s, b) = ask(
        &app,
        &c,
        order,
        json!([{ "product_id": s_, "quantity": 1 }]),
    )
    .await;
    assert_error(s, &b, 409, "invalid_transition");
    // Receiving before approval is refused.
    let (s, b) = staff_step(&app, id, "receive").await;
    assert_error(s, &b, 422, "invalid_input");

    let (s, b) = staff_step(&app, id, "approve").await;
    assert_eq!(
        (s, b["status"].clone()),
        (StatusCode::OK, json!("approved")),
        "{b}"
    );
    assert_eq!(
        stock(&app, s_).await,
        3,
        "stock comes back only when the goods do"
    );
    let (s, b) = staff_step(&app, id, "receive").await;
    assert_eq!(
        (s, b["status"].clone()),
        (StatusCode::OK, json!("received")),
        "{b}"
    );
    assert_eq!(stock(&app, s_).await, 4);
    assert_eq!(status(&app, &c, order).await, "returned");

    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/admin/orders/{order}/refunds"),
            Some(&app.admin()),
            Some("refund-return"),
            Some(json!({ "amount_minor": 1_000, "reason": "returned one tee" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, wallet) = app.get("/v1/me/wallet", Some(&c)).await;
    assert_eq!(wallet["balance_minor"], 10_000 - 2_000 + 1_000);

    let (_, mine) = app
        .get(&format!("/v1/me/orders/{order}/returns"), Some(&c))
        .await;
    assert_eq!(mine["items"][0]["status"], "received");
    let (_, listed) = app
        .get("/v1/admin/returns?status=received", Some(&app.admin()))
        .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'return.%'")
            .await,
        3
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn an_exchange_must_be_an_in_stock_sibling_and_holds_its_stock_until_rejected() {
    let app = TestApp::spawn().await;
    let (s_, m, l) = tees(&app).await;
    let other = app.physical(1_000, 9).await;
    let c = app.customer(2, 10_000).await;
    let order = delivered(&app, &c, s_, 1).await;

    let (s, b) = ask(
        &app,
        &c,
        order,
        json!([{ "product_id": s_, "quantity": 1, "exchange_product_id": m }]),
    )
    .await;
    assert_error(s, &b, 409, "out_of_stock");
    for not_a_sibling in [other, s_] {
        let line =
            json!([{ "product_id": s_, "quantity": 1, "exchange_product_id": not_a_sibling }]);
        let (s, b) = ask(&app, &c, order, line).await;
        assert_error(s, &b, 422, "invalid_input");
        assert_eq!(b["error"]["details"]["field"], "lines.exchange_product_id");
    }
    assert_eq!(
        status(&app, &c, order).await,
        "delivered",
        "a refused request changes nothing"
    );

    let (s, ret) = ask(
        &app,
        &c,
        order,
        json!([{ "product_id": s_, "quantity": 1, "exchange_product_id": l }]),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{ret}");
    assert_eq!(ret["lines"][0]["exchange_product_id"], l);
    assert_eq!(stock(&app, l).await, 1, "the exchange's L is held for it");

    let (s, b) = staff_step(&app, ret["id"].as_i64().unwrap(), "reject").await;
    assert_eq!(
        (s, b["status"].clone()),
        (StatusCode::OK, json!("rejected")),
        "{b}"
    );
    assert_eq!(stock(&app, l).await, 2);
    assert_eq!(status(&app, &c, order).await, "delivered");
    app.assert_invariants().await;
}

#[tokio::test]
async fn returns_are_refused_before_delivery_after_the_window_and_for_bad_lines() {
    let app = TestApp::spawn().await;
    let (s_, m, _) = tees(&app).await;
    let key = app.digital(100, &codes("RET", 2)).await;
    let c = app.customer(2, 10_000).await;

    app.put_cart(&c, s_, 1).await;
    let (_, paid) = app.checkout(&c, "not-yet").await;
    let paid = paid["id"].as_i64().unwrap();
    let (s, b) = ask(&app, &c, paid, json!([{ "product_id": s_, "quantity": 1 }])).await;
    assert_error(s, &b, 409, "invalid_transition");

    let order = delivered(&app, &c, s_, 2).await;
    for (lines, field) in [
        (
            json!([{ "product_id": s_, "quantity": 3 }]),
            "lines.quantity",
        ),
        (
            json!([{ "product_id": m, "quantity": 1 }]),
            "lines.product_id",
        ),
        (json!([]), "lines"),
        (
            json!([{ "product_id": s_, "quantity": 0 }]),
            "lines.quantity",
        ),
        (
            json!([{ "product_id": 0, "quantity": 1 }]),
            "lines.product_id",
        ),
    ] {
        let (s, b) = ask(&app, &c, order, lines.clone()).await;
        assert_error(s, &b, 422, "invalid_input");
        assert_eq!(b["error"]["details"]["field"], field, "{lines}");
    }
    let stranger = app.customer(3, 0).await;
    let (s, b) = ask(
        &app,
        &stranger,
        order,
        json!([{ "product_id": s_, "quantity": 1 }]),
    )
    .await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = app
        .get(&format!("/v1/me/orders/{order}/returns"), Some(&stranger))
        .await;
    assert_error(s, &b, 404, "not_found");

    // License keys are not returned.
    app.call(Method::DELETE, "/v1/me/cart", Some(&c), None, None)
        .await;
    let digital = delivered(&app, &c, key, 1).await;
    let (s, b) = ask(
        &app,
        &c,
        digital,
        json!([{ "product_id": key, "quantity": 1 }]),
    )
    .await;
    assert_error(s, &b, 422, "invalid_input");

    // Outside the window (0 days: every delivery is already too old).
    let late = TestApp::spawn_with(|s| s.returns.window_days = 0).await;
    let (s_, _, _) = tees(&late).await;
    let c = late.customer(2, 10_000).await;
    let order = delivered(&late, &c, s_, 1).await;
    let (s, b) = ask(
        &late,
        &c,
        order,
        json!([{ "product_id": s_, "quantity": 1 }]),
    )
    .await;
    assert_error(s, &b, 422, "invalid_input");
    assert_eq!(b["error"]["details"]["field"], "order");
    assert_eq!(status(&late, &c, order).await, "delivered");
}

#[tokio::test]
async fn staff_cannot_move_an_order_with_an_open_return_around_the_returns_flow() {
    let app = TestApp::spawn().await;
    let (s_, _, _) = tees(&app).await;
    let c = app.customer(2, 10_000).await;
    let order = delivered(&app, &c, s_, 2).await;
    let (s, ret) = ask(
        &app,
        &c,
        order,
        json!([{ "product_id": s_, "quantity": 2 }]),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{ret}");
    let id = ret["id"].as_i64().unwrap();
    assert_eq!(staff_step(&app, id, "approve").await.0, StatusCode::OK);
    // A bare move back to delivered would leave the approved return unreceivable.
    let (s, b) = app
        .call(
            Method::POST,
            &format!("/v1/admin/orders/{order}/transitions"),
            Some(&app.admin()),
            None,
            Some(json!({ "to": "delivered" })),
        )
        .await;
    assert_error(s, &b, 409, "invalid_transition");
    assert_eq!(b["error"]["details"]["reason"], "needs_its_own_endpoint");
    let (s, b) = staff_step(&app, id, "receive").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(stock(&app, s_).await, 5);
    assert_eq!(status(&app, &c, order).await, "returned");
    app.assert_invariants().await;
}

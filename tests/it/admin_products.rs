//! Admin product creation and `PATCH /v1/admin/products/{id}`.

use crate::client::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn create(app: &TestApp, body: Value) -> Reply {
    app.req(Method::POST, "/v1/admin/products")
        .token(&app.admin())
        .json(body)
        .send()
        .await
}

async fn patch(app: &TestApp, id: impl std::fmt::Display, body: Value) -> Reply {
    app.req(Method::PATCH, format!("/v1/admin/products/{id}"))
        .token(&app.admin())
        .json(body)
        .send()
        .await
}

async fn product(app: &TestApp, id: i64) -> Value {
    let r = app
        .req(Method::GET, format!("/v1/products/{id}"))
        .send()
        .await;
    let mut page = r.ok(200).clone();
    // The product as the admin endpoints return it: without the page's variant siblings.
    page.as_object_mut().unwrap().remove("siblings");
    page
}

/// A valid product body with `field` replaced (or removed when `value` is `None`).
fn body_with(cat: i64, field: &str, value: Option<Value>) -> Value {
    let mut b =
        json!({ "category_id": cat, "name": "Shirt", "kind": "physical", "price_minor": 100 });
    match value {
        Some(v) => b[field] = v,
        None => {
            b.as_object_mut().unwrap().remove(field);
        }
    }
    b
}

#[tokio::test]
async fn product_prices_outside_1_to_100_000_000_are_refused() {
    let app = TestApp::spawn().await;
    let cat = app.category("C").await;
    for bad in [
        json!(0),
        json!(-1),
        json!(100_000_001),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(1.5),
        json!("100"),
        json!(null),
        json!(1e20),
        json!(18446744073709551615u64),
    ] {
        create(&app, body_with(cat, "price_minor", Some(bad)))
            .await
            .invalid("price_minor");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 0);
    for good in [1, 100_000_000] {
        let r = create(&app, body_with(cat, "price_minor", Some(json!(good)))).await;
        assert_eq!(r.ok(201)["price_minor"], good);
    }
}

#[tokio::test]
async fn product_names_kinds_categories_descriptions_and_image_urls_are_checked() {
    let app = TestApp::spawn().await;
    let cat = app.category("C").await;
    let cases = [
        ("name", Some(json!("")), "name"),
        ("name", Some(json!("  ")), "name"),
        ("name", Some(json!("n".repeat(201))), "name"),
        ("name", Some(json!("tab\there")), "name"),
        ("name", Some(json!(["Shirt"])), "name"),
        ("name", None, "name"),
        ("kind", Some(json!("service")), "kind"),
        ("kind", Some(json!("Digital")), "kind"),
        ("kind", Some(json!(1)), "kind"),
        ("kind", None, "kind"),
        ("category_id", Some(json!(0)), "category_id"),
        ("category_id", Some(json!(-3)), "category_id"),
        ("category_id", Some(json!(999_999)), "category_id"),
        ("category_id", Some(json!("1")), "category_id"),
        ("category_id", None, "category_id"),
        ("price_minor", None, "price_minor"),
        ("description", Some(json!("d".repeat(5001))), "description"),
        ("description", Some(json!("nul\u{0}")), "description"),
        ("description", Some(json!(7)), "description"),
        (
            "image_url",
            Some(json!("ftp://img.example/a.png")),
            "image_url",
        ),
        ("image_url", Some(json!("javascript:alert(1)")), "image_url"),
        (
            "image_url",
            Some(json!("https://img.example/a b.png")),
            "image_url",
        ),
        ("image_url", Some(json!("")), "image_url"),
        (
            "image_url",
            Some(json!(format!("https://{}", "i".repeat(2000)))),
            "image_url",
        ),
        ("image_url", Some(json!(false)), "image_url"),
    ];
    for (field, value, named) in cases {
        create(&app, body_with(cat, field, value))
            .await
            .invalid(named);
    }
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 0);
    let long = body_with(cat, "name", Some(json!("n".repeat(200))));
    create(&app, long).await.ok(201);
    let empty_description = body_with(cat, "description", Some(json!("")));
    assert_eq!(
        create(&app, empty_description).await.ok(201)["description"],
        ""
    );
}

#[tokio::test]
async fn unknown_fields_in_a_product_are_refused_with_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let cat = app.category("C").await;
    for field in ["stock", "stock_available", "id", "currency", "Name"] {
        create(&app, body_with(cat, field, Some(json!(1))))
            .await
            .invalid(field);
    }
    let id = app.physical(100, 0).await;
    for field in ["kind", "category_id", "stock_available", "id"] {
        patch(&app, id, json!({ field: 1 })).await.invalid(field);
    }
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 1);
}

#[tokio::test]
async fn patching_a_product_changes_only_the_fields_sent() {
    let app = TestApp::spawn().await;
    let cat = app.category("C").await;
    let body = json!({ "category_id": cat, "name": "Mug", "description": "White", "kind": "physical",
                       "price_minor": 900, "image_url": "https://img.example/mug.png" });
    let before = create(&app, body).await.ok(201).clone();
    let id = before["id"].as_i64().unwrap();

    let r = patch(&app, id, json!({ "price_minor": 1200, "name": "Big mug" })).await;
    let after = r.ok(200).clone();
    assert_eq!(after["price_minor"], 1200);
    assert_eq!(after["name"], "Big mug");
    for kept in [
        "description",
        "image_url",
        "active",
        "kind",
        "category_id",
        "created_at",
    ] {
        assert_eq!(after[kept], before[kept], "{kept} changed");
    }
    assert_eq!(product(&app, id).await, after);

    let r = patch(
        &app,
        id,
        json!({ "description": "Blue", "image_url": "http://img.example/b.png" }),
    )
    .await;
    assert_eq!(r.ok(200)["description"], "Blue");
    assert_eq!(r.body["image_url"], "http://img.example/b.png");
    assert_eq!(r.body["price_minor"], 1200);

    let r = patch(&app, id, json!({})).await;
    assert_eq!(
        r.ok(200)["name"],
        "Big mug",
        "an empty patch changes nothing"
    );
    assert_eq!(r.body["image_url"], "http://img.example/b.png");
}

#[tokio::test]
async fn patching_image_url_to_null_clears_it_and_leaving_it_out_keeps_it() {
    let app = TestApp::spawn().await;
    let cat = app.category("C").await;
    let body = body_with(cat, "image_url", Some(json!("https://img.example/a.png")));
    let id = create(&app, body).await.ok(201)["id"].as_i64().unwrap();
    patch(&app, id, json!({ "name": "Renamed" })).await.ok(200);
    assert_eq!(
        product(&app, id).await["image_url"],
        "https://img.example/a.png"
    );
    let r = patch(&app, id, json!({ "image_url": null })).await;
    assert!(r.ok(200)["image_url"].is_null(), "{}", r.text);
    let read = product(&app, id).await;
    assert!(read["image_url"].is_null());
    assert_eq!(read["name"], "Renamed");
}

#[tokio::test]
async fn a_deactivated_product_leaves_the_public_list_and_cannot_go_in_a_cart() {
    let app = TestApp::spawn().await;
    let id = app.physical(300, 5).await;
    let other = app.physical(300, 5).await;
    let c = app.customer(2, 0).await;

    let r = patch(&app, id, json!({ "active": false })).await;
    assert_eq!(r.ok(200)["active"], false);
    let list = app.req(Method::GET, "/v1/products").send().await;
    assert_eq!(ids(list.ok(200)), [other]);
    assert_eq!(
        product(&app, id).await["active"],
        false,
        "still readable by id"
    );
    let (s, b) = app.put_cart(&c, id, 1).await;
    assert_error(s, &b, 409, "product_inactive");
    assert_eq!(b["error"]["details"]["product_id"], id);
    let cart = app.req(Method::GET, "/v1/me/cart").token(&c).send().await;
    assert_eq!(cart.ok(200)["lines"], json!([]));

    patch(&app, id, json!({ "active": true })).await.ok(200);
    let list = app.req(Method::GET, "/v1/products").send().await;
    assert_eq!(ids(list.ok(200)), [id, other]);
    assert_eq!(app.put_cart(&c, id, 1).await.0.as_u16(), 200);
}

#[tokio::test]
async fn patch_refuses_bad_values_and_bad_or_unknown_ids() {
    let app = TestApp::spawn().await;
    let id = app.physical(500, 0).await;
    for (body, field) in [
        (json!({ "price_minor": 0 }), "price_minor"),
        (json!({ "price_minor": -10 }), "price_minor"),
        (json!({ "price_minor": 100_000_001 }), "price_minor"),
        (json!({ "price_minor": 1e20 }), "price_minor"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x".repeat(201) }), "name"),
        (json!({ "active": "yes" }), "active"),
        (json!({ "active": 0 }), "active"),
        (json!({ "description": "d".repeat(5001) }), "description"),
        (json!({ "image_url": 5 }), "image_url"),
        (json!({ "image_url": "not a url" }), "image_url"),
    ] {
        patch(&app, id, body).await.invalid(field);
    }
    let p = product(&app, id).await;
    assert_eq!(
        (p["price_minor"].as_i64(), p["name"].as_str()),
        (Some(500), Some("Shirt"))
    );
    assert_eq!(p["active"], true);
    for bad in BAD_IDS {
        let r = patch(&app, bad, json!({ "name": "X" })).await;
        assert_eq!(r.err(400, "invalid_id")["field"], "product_id");
    }
    patch(&app, 999_999, json!({ "name": "X" }))
        .await
        .err(404, "not_found");
}

#[tokio::test]
async fn a_description_may_span_lines_but_not_hold_other_control_characters() {
    let app = TestApp::spawn().await;
    let cat = app.category("Mugs").await;
    let admin = app.admin();
    let mut body = json!({ "category_id": cat, "name": "Mug", "kind": "physical", "price_minor": 900,
                           "description": "Holds 350 ml.\nDishwasher safe." });
    let (s, p) = app
        .call(
            reqwest::Method::POST,
            "/v1/admin/products",
            Some(&admin),
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{p}");
    assert_eq!(p["description"], "Holds 350 ml.\nDishwasher safe.");
    body["description"] = json!("bell\u{7}");
    let (s, b) = app
        .call(
            reqwest::Method::POST,
            "/v1/admin/products",
            Some(&admin),
            None,
            Some(body),
        )
        .await;
    assert_error(s, &b, 422, "invalid_input");
    assert_eq!(b["error"]["details"]["field"], "description");
}

#[tokio::test]
async fn a_stars_price_is_whole_stars_from_1_to_100_000_and_null_takes_it_away() {
    let app = TestApp::spawn().await;
    let cat = app.category("C").await;
    for bad in [
        json!(0),
        json!(-1),
        json!(100_001),
        json!(1.5),
        json!("50"),
        json!(i64::MAX),
    ] {
        create(&app, body_with(cat, "price_stars", Some(bad)))
            .await
            .invalid("price_stars");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM products").await, 0);
    // Without one, a product has no Stars price.
    let plain = create(&app, body_with(cat, "price_stars", None)).await;
    assert!(plain.ok(201)["price_stars"].is_null(), "{}", plain.text);

    let r = create(&app, body_with(cat, "price_stars", Some(json!(100_000)))).await;
    let id = r.ok(201)["id"].as_i64().unwrap();
    assert_eq!(product(&app, id).await["price_stars"], 100_000);
    patch(&app, id, json!({ "price_stars": 0 }))
        .await
        .invalid("price_stars");
    // Absent leaves it, a number sets it, null takes it away.
    patch(&app, id, json!({ "name": "Key" })).await.ok(200);
    assert_eq!(product(&app, id).await["price_stars"], 100_000);
    let r = patch(&app, id, json!({ "price_stars": 1 })).await;
    assert_eq!(r.ok(200)["price_stars"], 1);
    let r = patch(&app, id, json!({ "price_stars": null })).await;
    assert!(r.ok(200)["price_stars"].is_null(), "{}", r.text);
    let read = product(&app, id).await;
    assert!(read["price_stars"].is_null());
    assert_eq!(
        read["price_minor"], 100,
        "the shop-currency price is untouched"
    );
}

//! Product variants: SKUs sharing a `group_id`, each with its own options and its own stock
//! owner; a product page lists its active siblings.

use crate::common::{assert_error, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn sku(app: &TestApp, category: i64, size: &str, stock: i64) -> i64 {
    let body = json!({ "category_id": category, "name": format!("Tee {size}"), "kind": "physical",
                       "price_minor": 2_000, "group_id": 7, "options": { "size": size, "color": "black" } });
    let b = app.create_product(body).await;
    assert_eq!(
        (b["group_id"].clone(), b["options"]["size"].clone()),
        (json!(7), json!(size))
    );
    let id = b["id"].as_i64().unwrap();
    app.add_stock(id, json!({ "quantity_delta": stock })).await;
    id
}

fn sibling_ids(page: &Value) -> Vec<i64> {
    page["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

async fn patch(app: &TestApp, id: i64, body: Value) -> (StatusCode, Value) {
    app.call(
        Method::PATCH,
        &format!("/v1/admin/products/{id}"),
        Some(&app.admin()),
        None,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_product_page_lists_its_siblings_and_each_sku_keeps_its_own_stock() {
    let app = TestApp::spawn().await;
    let cat = app.category("Tees").await;
    let (s_, m, l) = (
        sku(&app, cat, "S", 3).await,
        sku(&app, cat, "M", 5).await,
        sku(&app, cat, "L", 1).await,
    );
    let alone = app.physical(100, 1).await;

    let (_, page) = app.get(&format!("/v1/products/{s_}"), None).await;
    assert_eq!(sibling_ids(&page), [m, l]);
    let m_entry = &page["siblings"][0];
    assert_eq!(
        (
            m_entry["options"].clone(),
            m_entry["stock_available"].clone(),
            m_entry["price_minor"].clone()
        ),
        (
            json!({ "size": "M", "color": "black" }),
            json!(5),
            json!(2_000)
        )
    );
    let (_, page) = app.get(&format!("/v1/products/{alone}"), None).await;
    assert_eq!(page["siblings"], json!([]));

    // Buying an M moves the M's stock only, and the S page shows it at once.
    let c = app.customer(2, 10_000).await;
    app.put_cart(&c, m, 2).await;
    assert_eq!(app.checkout(&c, "tee").await.0, StatusCode::CREATED);
    let (_, page) = app.get(&format!("/v1/products/{s_}"), None).await;
    assert_eq!(page["siblings"][0]["stock_available"], 3);
    assert_eq!(page["stock_available"], 3);

    // An inactive SKU or one taken out of the group is no longer offered as a sibling.
    assert_eq!(
        patch(&app, m, json!({ "active": false })).await.0,
        StatusCode::OK
    );
    let (s, b) = patch(&app, l, json!({ "group_id": null, "options": {} })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, page) = app.get(&format!("/v1/products/{s_}"), None).await;
    assert_eq!(sibling_ids(&page), Vec::<i64>::new());
    let (_, page) = app.get(&format!("/v1/products/{l}"), None).await;
    assert_eq!(
        (page["group_id"].clone(), page["options"].clone()),
        (Value::Null, json!({}))
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn bad_variant_fields_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let cat = app.category("Tees").await;
    let p = sku(&app, cat, "S", 1).await;
    let many: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    for (body, field) in [
        (json!({ "group_id": 0 }), "group_id"),
        (json!({ "group_id": -3 }), "group_id"),
        (json!({ "options": many }), "options"),
        (json!({ "options": { "size": "" } }), "options"),
        (json!({ "options": { "size": "M\u{7}" } }), "options"),
        (json!({ "options": { "size": 5 } }), "options"),
        (json!({ "options": ["M"] }), "options"),
    ] {
        let (s, b) = patch(&app, p, body.clone()).await;
        assert_error(s, &b, 422, "invalid_input");
        assert!(
            b["error"]["details"]["field"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{body}: {b}"
        );
    }
}

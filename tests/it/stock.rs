//! `POST /v1/admin/products/{id}/stock` ⚑: quantity deltas for physical goods, codes for
//! digital goods, and what each refuses.

use crate::client::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn stock(app: &TestApp, product: impl std::fmt::Display, body: Value) -> Reply {
    app.req(Method::POST, format!("/v1/admin/products/{product}/stock"))
        .token(&app.admin())
        .fresh_key()
        .json(body)
        .send()
        .await
}

async fn available(app: &TestApp, product: i64) -> i64 {
    let r = app
        .req(Method::GET, format!("/v1/products/{product}"))
        .send()
        .await;
    r.ok(200)["stock_available"].as_i64().unwrap()
}

#[tokio::test]
async fn physical_stock_moves_by_quantity_delta_and_reports_what_is_available() {
    let app = TestApp::spawn().await;
    let id = app.physical(100, 0).await;
    let r = stock(&app, id, json!({ "quantity_delta": 5 })).await;
    assert_eq!(
        r.ok(200),
        &json!({ "accepted": 5, "rejected": [], "stock_available": 5 })
    );
    let r = stock(&app, id, json!({ "quantity_delta": -2 })).await;
    assert_eq!(r.ok(200)["stock_available"], 3);
    assert_eq!(available(&app, id).await, 3);
    let on_hand = format!("SELECT stock_on_hand FROM products WHERE id = {id}");
    assert_eq!(app.scalar(&on_hand).await, 3);
    let r = stock(&app, id, json!({ "quantity_delta": 1_000_000 })).await;
    assert_eq!(r.ok(200)["stock_available"], 1_000_003);
    let r = stock(&app, id, json!({ "quantity_delta": -1_000_000 })).await;
    assert_eq!(r.ok(200)["stock_available"], 3);
    let r = stock(&app, id, json!({ "quantity_delta": -3 })).await;
    assert_eq!(r.ok(200)["stock_available"], 0);
    assert_eq!(app.scalar(&on_hand).await, 0);
}

#[tokio::test]
async fn stock_that_would_go_negative_is_refused_with_409_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let id = app.physical(100, 3).await;
    let r = stock(&app, id, json!({ "quantity_delta": -4 })).await;
    let details = r.err(409, "stock_would_go_negative");
    assert_eq!(details["available"], 3);
    assert_eq!(details["quantity_delta"], -4);
    assert_eq!(available(&app, id).await, 3);
    let empty = app.physical(100, 0).await;
    stock(&app, empty, json!({ "quantity_delta": -1 }))
        .await
        .err(409, "stock_would_go_negative");
    assert_eq!(available(&app, empty).await, 0);
}

#[tokio::test]
async fn zero_huge_and_non_integer_quantity_deltas_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.physical(100, 7).await;
    for bad in [
        json!(0),
        json!(1_000_001),
        json!(-1_000_001),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(i64::MIN + 1),
        json!(1e20),
        json!(1.5),
        json!("5"),
        json!([5]),
    ] {
        stock(&app, id, json!({ "quantity_delta": bad }))
            .await
            .invalid("quantity_delta");
    }
    assert_eq!(available(&app, id).await, 7);
}

#[tokio::test]
async fn digital_codes_are_added_and_each_refused_one_is_named_by_index() {
    let app = TestApp::spawn().await;
    let id = app.digital(100, &[]).await;
    let codes = json!([
        "KEY-AAA-1",     // 0 ok
        "KEY-AAA-1",     // 1 duplicate within the request
        "ab",            // 2 too short
        "has space",     // 3 unprintable (whitespace)
        "tab\there",     // 4 control
        "",              // 5 empty
        "k".repeat(501), // 6 too long
        "KEY-BBB-2",     // 7 ok
        "del\u{7f}x",    // 8 control
        "nul\u{0}x",     // 9 control
        "k".repeat(500), // 10 ok: longest allowed
        "ключ-1",        // 11 ok: printable, not ASCII
    ]);
    let r = stock(&app, id, json!({ "codes": codes })).await;
    let want = json!({
        "accepted": 4,
        "rejected": [
            { "code_index": 1, "reason": "duplicate" },
            { "code_index": 2, "reason": "invalid" },
            { "code_index": 3, "reason": "invalid" },
            { "code_index": 4, "reason": "invalid" },
            { "code_index": 5, "reason": "invalid" },
            { "code_index": 6, "reason": "invalid" },
            { "code_index": 8, "reason": "invalid" },
            { "code_index": 9, "reason": "invalid" },
        ],
        "stock_available": 4,
    });
    assert_eq!(r.ok(200), &want);
    assert_eq!(available(&app, id).await, 4);

    // Codes that already exist are duplicates too; the rest are added.
    let r = stock(
        &app,
        id,
        json!({ "codes": ["NEW-3", "KEY-AAA-1", "KEY-BBB-2"] }),
    )
    .await;
    let want = json!({
        "accepted": 1,
        "rejected": [
            { "code_index": 1, "reason": "duplicate" },
            { "code_index": 2, "reason": "duplicate" },
        ],
        "stock_available": 5,
    });
    assert_eq!(r.ok(200), &want);
    let count = format!("SELECT count(*) FROM digital_items WHERE product_id = {id}");
    assert_eq!(app.scalar(&count).await, 5);
}

#[tokio::test]
async fn a_code_belonging_to_another_product_is_a_duplicate() {
    let app = TestApp::spawn().await;
    let first = app.digital(100, &["SHARED-1".to_string()]).await;
    let second = app.digital(100, &[]).await;
    let r = stock(&app, second, json!({ "codes": ["SHARED-1"] })).await;
    let want = json!({ "accepted": 0, "rejected": [{ "code_index": 0, "reason": "duplicate" }], "stock_available": 0 });
    assert_eq!(r.ok(200), &want);
    assert_eq!(available(&app, first).await, 1);
    assert_eq!(available(&app, second).await, 0);
}

#[tokio::test]
async fn a_digital_product_given_quantity_delta_is_refused_with_422_and_vice_versa() {
    let app = TestApp::spawn().await;
    let digital = app.digital(100, &codes("D", 2)).await;
    let physical = app.physical(100, 2).await;
    stock(&app, digital, json!({ "quantity_delta": 5 }))
        .await
        .invalid("codes");
    stock(&app, physical, json!({ "codes": ["CODE-1"] }))
        .await
        .invalid("quantity_delta");
    for body in [
        json!({}),
        json!({ "quantity_delta": 1, "codes": ["CODE-1"] }),
    ] {
        stock(&app, physical, body.clone()).await.invalid("body");
        stock(&app, digital, body).await.invalid("body");
    }
    assert_eq!(available(&app, digital).await, 2);
    assert_eq!(available(&app, physical).await, 2);
    assert_eq!(app.scalar("SELECT count(*) FROM digital_items").await, 2);
}

#[tokio::test]
async fn empty_oversized_and_mistyped_code_lists_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.digital(100, &[]).await;
    stock(&app, id, json!({ "codes": [] }))
        .await
        .invalid("codes");
    stock(&app, id, json!({ "codes": codes("BULK", 1001) }))
        .await
        .invalid("codes");
    stock(&app, id, json!({ "codes": "ABC-1" }))
        .await
        .invalid("codes");
    stock(&app, id, json!({ "codes": [1, 2] }))
        .await
        .invalid("codes[0]");
    stock(&app, id, json!({ "codes": ["OK-1", null] }))
        .await
        .invalid("codes[1]");
    assert_eq!(available(&app, id).await, 0);
    let r = stock(&app, id, json!({ "codes": codes("BULK", 1000) })).await;
    assert_eq!(r.ok(200)["accepted"], 1000);
    assert_eq!(available(&app, id).await, 1000);
}

#[tokio::test]
async fn stock_for_a_malformed_or_unknown_product_id_is_400_or_404() {
    let app = TestApp::spawn().await;
    for bad in BAD_IDS {
        let r = stock(&app, bad, json!({ "quantity_delta": 1 })).await;
        assert_eq!(r.err(400, "invalid_id")["field"], "product_id");
    }
    stock(&app, 999_999, json!({ "quantity_delta": 1 }))
        .await
        .err(404, "not_found");
    stock(&app, 999_999, json!({ "codes": ["CODE-1"] }))
        .await
        .err(404, "not_found");
    assert_eq!(app.scalar("SELECT count(*) FROM digital_items").await, 0);
}

#[tokio::test]
async fn stock_changes_need_a_valid_idempotency_key_and_a_retry_is_applied_once() {
    let app = TestApp::spawn().await;
    let id = app.physical(100, 0).await;
    let path = format!("/v1/admin/products/{id}/stock");
    let send = |key: Option<&str>, delta: i64| {
        let mut r = app.req(Method::POST, path.clone()).token(&app.admin());
        if let Some(k) = key {
            r = r.key(k);
        }
        r.json(json!({ "quantity_delta": delta })).send()
    };
    send(None, 5).await.err(400, "idempotency_key_required");
    let long = "k".repeat(256);
    for bad in ["", "a\tb", "clé", long.as_str()] {
        let r = send(Some(bad), 5).await;
        assert_eq!(
            r.err(400, "invalid_idempotency_key")["field"],
            "Idempotency-Key"
        );
    }
    assert_eq!(available(&app, id).await, 0);

    let first = send(Some("restock-1"), 5).await;
    first.ok(200);
    let again = send(Some("restock-1"), 5).await;
    assert_eq!(again.ok(200), &first.body, "the first answer is replayed");
    assert_eq!(available(&app, id).await, 5, "applied once");
    send(Some("restock-1"), 6)
        .await
        .err(422, "idempotency_key_reused");
    let max = "k".repeat(255);
    send(Some(&max), 1).await.ok(200);
    assert_eq!(available(&app, id).await, 6);
}

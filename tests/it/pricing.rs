//! The one pricing function over HTTP (P7, I7): the cart preview and the order show the same
//! subtotal, discount, shipping and tax, under the shop's configured rules.

use crate::common::{address, assert_error, codes, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PARTS: [&str; 6] = [
    "subtotal_minor",
    "discount_minor",
    "shipping_minor",
    "tax_minor",
    "total_minor",
    "tax_included_minor",
];

fn parts(v: &Value) -> Vec<Value> {
    PARTS.iter().map(|p| v[*p].clone()).collect()
}

async fn shop(inclusive: bool) -> TestApp {
    TestApp::spawn_with(|s| {
        s.shipping.flat_minor = 500;
        s.shipping.free_from_minor = Some(5_000);
        s.tax.rate_bp = 2_000;
        s.tax.inclusive = inclusive;
    })
    .await
}

async fn set_promo(app: &TestApp, token: &str, code: &str) -> Value {
    let (s, cart) = app
        .call(
            Method::POST,
            "/v1/me/cart/promo",
            Some(token),
            None,
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{cart}");
    cart
}

#[tokio::test]
async fn the_cart_preview_and_the_order_agree_on_every_part_with_promo_shipping_and_tax() {
    let app = shop(false).await;
    let shirt = app.physical(1_000, 10).await;
    let key = app.digital(333, &codes("PRICE", 3)).await;
    app.create_promo(json!({ "code": "TENOFF", "kind": "percent", "value": 10 }))
        .await;
    let c = app.customer(2, 100_000).await;
    app.put_cart(&c, shirt, 2).await;
    app.put_cart(&c, key, 1).await;
    let preview = set_promo(&app, &c, "TENOFF").await;
    // Goods 2333, 10 % off = 233.3 → 233; 2100 < 5000 so shipping 500; tax 20 % of 2600 = 520.
    assert_eq!(
        parts(&preview),
        [2_333, 233, 500, 520, 3_120, 0].map(|n| json!(n)).to_vec()
    );
    let (s, order) = app.checkout(&c, "priced").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(parts(&order), parts(&preview));
    assert_eq!(order["promo_code"], "TENOFF");
    assert_eq!(
        app.scalar("SELECT balance_minor FROM users WHERE id = 2")
            .await,
        100_000 - 3_120
    );
    // The cart is empty again and its code is used up with it.
    let (_, cart) = app.get("/v1/me/cart", Some(&c)).await;
    assert_eq!(
        (cart["total_minor"].clone(), cart["promo_code"].clone()),
        (json!(0), Value::Null)
    );

    // Free shipping from 5000 of goods; digital-only orders never pay shipping.
    app.put_cart(&c, shirt, 5).await;
    let (_, cart) = app.get("/v1/me/cart", Some(&c)).await;
    assert_eq!(
        (cart["shipping_minor"].clone(), cart["tax_minor"].clone()),
        (json!(0), json!(1_000))
    );
    app.call(Method::DELETE, "/v1/me/cart", Some(&c), None, None)
        .await;
    app.put_cart(&c, key, 1).await;
    let (_, cart) = app.get("/v1/me/cart", Some(&c)).await;
    // 20 % of 333 = 66.6 → 67.
    assert_eq!(
        parts(&cart),
        [333, 0, 0, 67, 400, 0].map(|n| json!(n)).to_vec()
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn with_inclusive_tax_the_total_is_the_price_and_the_order_says_how_much_is_tax() {
    let app = shop(true).await;
    let key = app.digital(1_200, &codes("INCL", 2)).await;
    let c = app.customer(2, 10_000).await;
    app.put_cart(&c, key, 1).await;
    let (_, preview) = app.get("/v1/me/cart", Some(&c)).await;
    assert_eq!(
        parts(&preview),
        [1_200, 0, 0, 0, 1_200, 200].map(|n| json!(n)).to_vec()
    );
    let (s, order) = app.checkout(&c, "inclusive").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(parts(&order), parts(&preview));
    let id = order["id"].as_i64().unwrap();
    let (_, stored) = app.get(&format!("/v1/me/orders/{id}"), Some(&c)).await;
    assert_eq!(parts(&stored), parts(&order));
}

#[tokio::test]
async fn physical_goods_need_a_shipping_address_and_digital_goods_do_not() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 10).await;
    let key = app.digital(100, &codes("ADDR", 2)).await;
    let c = app.customer(2, 10_000).await;
    app.put_cart(&c, shirt, 1).await;
    let bare = json!({ "payment": "wallet" });
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/me/checkout",
            Some(&c),
            Some("no-address"),
            Some(bare.clone()),
        )
        .await;
    assert_error(s, &b, 422, "invalid_input");
    assert_eq!(b["error"]["details"]["field"], "shipping_address");
    assert_eq!(
        app.scalar("SELECT stock_on_hand FROM products WHERE kind = 'physical'")
            .await,
        10
    );

    app.call(Method::DELETE, "/v1/me/cart", Some(&c), None, None)
        .await;
    app.put_cart(&c, key, 1).await;
    let (s, order) = app
        .call(
            Method::POST,
            "/v1/me/checkout",
            Some(&c),
            Some("digital"),
            Some(bare),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["shipping_address"], Value::Null);

    app.put_cart(&c, shirt, 1).await;
    let body = json!({ "payment": "wallet", "shipping_address": address() });
    let (s, order) = app
        .call(
            Method::POST,
            "/v1/me/checkout",
            Some(&c),
            Some("shirt"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["shipping_address"]["city"], "Springfield");
}

/// The preview and the order over random carts, promos and rules (seeded, so a failure
/// repeats): every part agrees, and the parts add up with none negative.
#[tokio::test]
async fn random_carts_promos_and_rules_price_the_same_in_the_preview_and_the_order() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x50_0C);
    for round in 0..2 {
        let (flat, free, bp, inclusive) = (
            rng.random_range(0..2_000),
            rng.random_bool(0.5).then(|| rng.random_range(1..20_000)),
            rng.random_range(0..=3_000),
            rng.random_bool(0.5),
        );
        let app = TestApp::spawn_with(|s| {
            s.shipping.flat_minor = flat;
            s.shipping.free_from_minor = free;
            s.tax.rate_bp = bp;
            s.tax.inclusive = inclusive;
        })
        .await;
        let mut products = Vec::new();
        for i in 0..4 {
            let price = rng.random_range(1..5_000);
            products.push(if i % 2 == 0 {
                app.physical(price, 1_000).await
            } else {
                app.digital(price, &codes(&format!("R{round}P{i}"), 30))
                    .await
            });
        }
        for (i, (kind, value)) in [("percent", 15), ("fixed", 700), ("percent", 100)]
            .iter()
            .enumerate()
        {
            app.create_promo(json!({ "code": format!("RND{i}"), "kind": kind, "value": value }))
                .await;
        }
        let c = app.customer(2, 100_000_000).await;
        for cart in 0..6 {
            for &p in &products {
                if rng.random_bool(0.6) {
                    app.put_cart(&c, p, rng.random_range(1..4)).await;
                }
            }
            app.put_cart(&c, products[0], 1).await;
            let promo = rng.random_range(0..4);
            let preview = if promo < 3 {
                set_promo(&app, &c, &format!("RND{promo}")).await
            } else {
                app.get("/v1/me/cart", Some(&c)).await.1
            };
            let (s, order) = app.checkout(&c, &format!("rnd-{round}-{cart}")).await;
            assert_eq!(s, StatusCode::CREATED, "{order}");
            assert_eq!(parts(&order), parts(&preview), "round {round} cart {cart}");
            let n = |k: &str| order[k].as_i64().unwrap();
            assert_eq!(
                n("total_minor"),
                n("subtotal_minor") - n("discount_minor") + n("shipping_minor") + n("tax_minor")
            );
            assert!(PARTS.iter().all(|p| n(p) >= 0), "{order}");
        }
        app.assert_invariants().await;
    }
}

//! Issue 13, item 9: hoarding. An order awaiting an external payment holds stock with no
//! money moved, so one buyer may hold only so much unpaid: 3 orders, 20 units, half of any
//! product's units for sale (the defaults). A refusal takes nothing; cancelling or letting a
//! hold lapse does not renew it; wallet checkouts are not bounded.

use crate::common::*;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// Fills the cart with `lines` and checks out with an external payment.
async fn hold(app: &TestApp, token: &str, lines: &[(i64, i64)], key: &str) -> (StatusCode, Value) {
    for &(product, quantity) in lines {
        let (s, b) = app.put_cart(token, product, quantity).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    app.external_checkout(token, key).await
}

/// A refusal for an unpaid bound: 409 `unpaid_limit` naming the setting, `max` and `held`.
fn assert_unpaid_limit(answer: &(StatusCode, Value), setting: &str, max: i64, held: i64) {
    assert_error(answer.0, &answer.1, 409, "unpaid_limit");
    let details = &answer.1["error"]["details"];
    assert_eq!(
        (
            details["limit"].as_str(),
            details["max"].as_i64(),
            details["held"].as_i64()
        ),
        (Some(setting), Some(max), Some(held)),
        "{}",
        answer.1
    );
}

async fn available(app: &TestApp, product: i64) -> i64 {
    let (_, page) = app.get(&format!("/v1/products/{product}"), None).await;
    page["stock_available"].as_i64().expect("stock_available")
}

async fn cancel(app: &TestApp, token: &str, order: &Value) {
    let id = order["id"].as_i64().expect("order id");
    let path = format!("/v1/me/orders/{id}/cancel");
    let key = format!("cancel-{id}");
    let (s, b) = app
        .call(Method::POST, &path, Some(token), Some(&key), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

const SHARE: &str = "SOUK__CHECKOUT__UNPAID_PRODUCT_SHARE_PCT";
const ORDERS: &str = "SOUK__CHECKOUT__UNPAID_ORDERS_MAX";
const UNITS: &str = "SOUK__CHECKOUT__UNPAID_UNITS_MAX";

#[tokio::test]
async fn a_buyer_with_an_empty_wallet_cannot_hold_every_unit_of_a_product() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 10).await;
    let key = app.digital(500, &codes("HOARD", 4)).await;
    let single = app.physical(9_000, 1).await;
    let hoarder = app.customer(20, 0).await;

    let all = hold(&app, &hoarder, &[(shirt, 10)], "all").await;
    assert_unpaid_limit(&all, SHARE, 5, 0);
    assert_eq!(all.1["error"]["details"]["product_id"], shirt);
    assert_eq!(all.1["error"]["details"]["requested"], 10);
    // The shirt is fine, the key is not: the shirt's reservation is released too.
    let both = hold(&app, &hoarder, &[(shirt, 5), (key, 4)], "both").await;
    assert_unpaid_limit(&both, SHARE, 2, 0);
    assert_eq!(both.1["error"]["details"]["product_id"], key);
    assert_eq!(
        (available(&app, shirt).await, available(&app, key).await),
        (10, 4)
    );
    let (_, cart) = app.get("/v1/me/cart", Some(&hoarder)).await;
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(2), "{cart}");

    let half = hold(&app, &hoarder, &[(shirt, 5), (key, 2)], "half").await;
    assert_eq!(half.0, StatusCode::CREATED, "{}", half.1);
    // What the buyer holds still counts as for sale: the share stays half of 10, not of 5.
    let more = hold(&app, &hoarder, &[(shirt, 1)], "more").await;
    assert_unpaid_limit(&more, SHARE, 5, 5);
    app.call(Method::DELETE, "/v1/me/cart", Some(&hoarder), None, None)
        .await;
    // A product with one unit can still be bought unpaid (the share has a floor of 1).
    let one = hold(&app, &hoarder, &[(single, 1)], "single").await;
    assert_eq!(one.0, StatusCode::CREATED, "{}", one.1);

    // The other half stays on sale: another unpaid buyer may hold half of what is left, and
    // a paying buyer takes the rest.
    let other = app.customer(21, 0).await;
    let rest = hold(&app, &other, &[(shirt, 3)], "rest").await;
    assert_unpaid_limit(&rest, SHARE, 2, 0);
    let rest = hold(&app, &other, &[(shirt, 2)], "rest-2").await;
    assert_eq!(rest.0, StatusCode::CREATED, "{}", rest.1);
    let paying = app.customer(27, 100_000).await;
    app.put_cart(&paying, shirt, 3).await;
    app.put_cart(&paying, key, 2).await;
    let (s, b) = app.checkout(&paying, "the-rest").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_buyer_may_have_three_unpaid_orders_and_cancelling_one_does_not_free_its_slot() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 100).await;
    let buyer = app.customer(22, 0).await;
    let mut orders = Vec::new();
    for i in 0..3 {
        let (s, order) = hold(&app, &buyer, &[(shirt, 1)], &format!("order-{i}")).await;
        assert_eq!(s, StatusCode::CREATED, "{order}");
        orders.push(order);
    }
    let fourth = hold(&app, &buyer, &[(shirt, 1)], "order-3").await;
    assert_unpaid_limit(&fourth, ORDERS, 3, 3);
    assert_eq!(available(&app, shirt).await, 97, "the refusal took nothing");
    // Cancel and check out again would renew a hold: the cancelled order counts on until
    // its window (and the cooldown after it) has passed.
    cancel(&app, &buyer, &orders[0]).await;
    let again = hold(&app, &buyer, &[(shirt, 1)], "order-4").await;
    assert_unpaid_limit(&again, ORDERS, 3, 3);
    assert_eq!(
        app.scalar("SELECT count(*) FROM orders WHERE user_id = 22")
            .await,
        3
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_buyer_may_hold_twenty_unpaid_units_over_all_orders() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 10_000).await;
    let mug = app.physical(700, 10_000).await;
    let buyer = app.customer(23, 0).await;
    // The incident: 100 units in one unpaid order.
    let bulk = hold(&app, &buyer, &[(shirt, 100)], "bulk").await;
    assert_unpaid_limit(&bulk, UNITS, 20, 0);
    assert_eq!(bulk.1["error"]["details"]["requested"], 100);
    app.call(Method::DELETE, "/v1/me/cart", Some(&buyer), None, None)
        .await;
    let first = hold(&app, &buyer, &[(shirt, 15)], "first").await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    let over = hold(&app, &buyer, &[(mug, 6)], "over").await;
    assert_unpaid_limit(&over, UNITS, 20, 15);
    assert_eq!(available(&app, mug).await, 10_000);
    let fits = hold(&app, &buyer, &[(mug, 5)], "fits").await;
    assert_eq!(fits.0, StatusCode::CREATED, "{}", fits.1);
    app.assert_invariants().await;
}

#[tokio::test]
async fn letting_a_hold_lapse_or_cancelling_it_and_checking_out_again_does_not_renew_it() {
    const COOLDOWN_SECS: u64 = 3;
    let app = TestApp::spawn_with(|s| {
        s.checkout.reservation_ttl_secs = 1;
        s.checkout.unpaid_cooldown_secs = COOLDOWN_SECS;
        s.checkout.expiry_sweep_ms = 100;
    })
    .await;
    let lamp = app.physical(5_000, 2).await;
    let buyer = app.customer(24, 0).await;
    let (s, order) = hold(&app, &buyer, &[(lamp, 1)], "lamp-1").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    // The hold lapses (the sweep cancels it) and the lamp is back on sale, yet the lapsed
    // order counts until the cooldown after its window has passed.
    let id = order["id"].as_i64().expect("order id");
    let lapsed = format!("SELECT count(*) FROM orders WHERE id = {id} AND status = 'cancelled'");
    for _ in 0..50 {
        if app.scalar(&lapsed).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.scalar(&lapsed).await, 1, "the hold lapsed");
    assert_eq!(available(&app, lamp).await, 2);
    let renewed = hold(&app, &buyer, &[(lamp, 1)], "lamp-2").await;
    assert_unpaid_limit(&renewed, SHARE, 1, 1);

    // Past its window and the cooldown, the lapsed order no longer counts.
    tokio::time::sleep(Duration::from_secs(COOLDOWN_SECS + 1)).await;
    let (s, order) = hold(&app, &buyer, &[(lamp, 1)], "lamp-3").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    cancel(&app, &buyer, &order).await;
    let renewed = hold(&app, &buyer, &[(lamp, 1)], "lamp-4").await;
    assert_unpaid_limit(&renewed, SHARE, 1, 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_external_checkouts_of_one_buyer_never_pass_the_caps() {
    let app = TestApp::spawn().await;
    let products = [
        app.physical(100, 1_000).await,
        app.physical(200, 1_000).await,
        app.physical(300, 12).await,
    ];
    let buyer = app.customer(25, 0).await;
    // 8 clients of one account, each filling the cart and checking out 10 times at once.
    let clients = (0..8).map(|c| {
        let (app, buyer) = (&app, &buyer);
        async move {
            let mut answers = Vec::new();
            for i in 0..10 {
                let product = products[(c + i) % 3];
                app.put_cart(buyer, product, 1 + ((c + i) as i64 % 3)).await;
                let answer = app
                    .external_checkout(buyer, &format!("hammer-{c}-{i}"))
                    .await;
                if answer.0 != StatusCode::CREATED {
                    // A refused line stays in the cart; take it out so the next tries differ.
                    let line = format!("/v1/me/cart/items/{product}");
                    app.call(Method::DELETE, &line, Some(buyer), None, None)
                        .await;
                }
                answers.push(answer);
            }
            answers
        }
    });
    let answers: Vec<_> = join_all(clients).await.into_iter().flatten().collect();
    let mut created = 0;
    let mut refused = 0;
    for (status, body) in &answers {
        match (status.as_u16(), body["error"]["code"].as_str()) {
            (201, _) => created += 1,
            (409, Some("unpaid_limit")) => refused += 1,
            // Another attempt took the cart first, or the buyer's own holds left too few units.
            (409, Some("cart_empty" | "out_of_stock")) => {}
            other => panic!("unexpected answer {other:?}: {body}"),
        }
    }
    assert!(
        created >= 1 && refused >= 1,
        "{created} created, {refused} refused"
    );
    let held = |sql: &str| {
        format!("{sql} FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.user_id = 25 AND o.status = 'pending_payment'")
    };
    let orders = app.scalar(&held("SELECT count(DISTINCT o.id)")).await;
    let units = app
        .scalar(&held("SELECT coalesce(sum(l.quantity), 0)::bigint"))
        .await;
    assert_eq!(orders, created);
    assert!(orders <= 3, "{orders} unpaid orders");
    assert!(units <= 20, "{units} unpaid units");
    let scarce = app
        .scalar(&held(&format!(
            "SELECT coalesce(sum(l.quantity) FILTER (WHERE l.product_id = {}), 0)::bigint",
            products[2]
        )))
        .await;
    assert!(scarce <= 6, "{scarce} of 12 units of one product held");
    app.assert_invariants().await;
}

#[tokio::test]
async fn wallet_checkouts_are_not_bounded_by_the_unpaid_limits() {
    let app = TestApp::spawn().await;
    let shirt = app.physical(1_000, 100).await;
    let lamp = app.physical(2_000, 4).await;
    let buyer = app.customer(26, 100_000).await;
    for i in 0..3 {
        let (s, b) = hold(&app, &buyer, &[(shirt, 5)], &format!("unpaid-{i}")).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    // At every unpaid bound, the buyer still pays from the wallet for all of a product.
    app.put_cart(&buyer, lamp, 4).await;
    app.put_cart(&buyer, shirt, 30).await;
    let (s, b) = app.checkout(&buyer, "paid-now").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "paid");
    assert_eq!(available(&app, lamp).await, 0);
    app.assert_invariants().await;
}

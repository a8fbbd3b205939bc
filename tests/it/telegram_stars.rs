//! Orders paid in Telegram Stars (issue 18): the bot's "Pay in Stars", `POST /v1/me/checkout`
//! with `"payment": "stars"`, the pre-checkout query of an order's invoice, its payment
//! (once per charge id), and its refund through `refundStarPayment` (once per order).

use crate::common::{assert_error, codes, TestApp};
use crate::fake_bot_api::Mode;
use crate::telegram_harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// A shop that takes Stars.
async fn stars_shop() -> Shop {
    Shop::open_with(|s| s.telegram.stars = true).await
}

/// A digital product at 5.00 USD or `stars` Stars (none when `None`), with `keys` codes.
async fn key_product(app: &TestApp, stars: Option<i64>, keys: &[String]) -> i64 {
    let category = app.category("Keys").await;
    let product = app
        .create_product(
            json!({ "category_id": category, "name": "Game key", "kind": "digital",
                                "price_minor": 500, "price_stars": stars }),
        )
        .await["id"]
        .as_i64()
        .expect("product id");
    if !keys.is_empty() {
        app.add_stock(product, json!({ "codes": keys })).await;
    }
    product
}

/// The HTTP token of the Souk user behind Telegram user `telegram_id` (who talks to the bot).
async fn token_of(shop: &Shop, telegram_id: i64) -> String {
    shop.say(telegram_id, "/start").await;
    shop.app.token(shop.user_of(telegram_id).await, "customer")
}

async fn put_cart(app: &TestApp, token: &str, product: i64, quantity: i64) {
    let (s, b) = app.put_cart(token, product, quantity).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

async fn stars_checkout(app: &TestApp, token: &str, key: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/me/checkout",
        Some(token),
        Some(key),
        Some(json!({ "payment": "stars" })),
    )
    .await
}

fn pre_checkout(shop: &Shop, from: i64, currency: &str, amount: i64, payload: &str) -> Value {
    json!({ "update_id": shop.update_id(), "pre_checkout_query": {
        "id": format!("pcq-{}", shop.update_id()), "from": { "id": from, "first_name": "S" },
        "currency": currency, "total_amount": amount, "invoice_payload": payload,
    }})
}

fn payment(shop: &Shop, from: i64, stars: i64, payload: &str, charge: &str) -> Value {
    json!({ "update_id": shop.update_id(), "message": {
        "message_id": 9, "from": { "id": from, "first_name": "S" }, "chat": { "id": from },
        "successful_payment": { "currency": "XTR", "total_amount": stars, "invoice_payload": payload,
            "telegram_payment_charge_id": charge, "provider_payment_charge_id": "" },
    }})
}

/// How Telegram answered the pre-checkout query `update` carries: `ok` and its reason.
async fn answer_to(shop: &Shop, update: &Value) -> (bool, String) {
    let before = shop.api.count();
    assert_eq!(shop.post(update).await, StatusCode::OK);
    let answer = shop
        .api
        .since(before)
        .into_iter()
        .find(|c| c.method == "answerPreCheckoutQuery")
        .expect("an answer to the pre-checkout query");
    let reason = answer.body["error_message"].as_str().unwrap_or_default();
    (answer.body["ok"] == true, reason.to_string())
}

async fn status_of(app: &TestApp, order: i64) -> String {
    let db = app.db().await;
    let sql = "SELECT status FROM orders WHERE id = $1";
    db.query_one(sql, &[&order]).await.unwrap().get(0)
}

async fn stars_refund(app: &TestApp, order: i64) -> (StatusCode, Value) {
    let path = format!("/v1/admin/orders/{order}/stars-refund");
    let body = json!({ "reason": "asked for it back" });
    app.call(Method::POST, &path, Some(&app.admin()), None, Some(body))
        .await
}

#[tokio::test]
async fn a_stars_order_in_the_bot_pays_once_delivers_its_keys_and_refunds_once() {
    let shop = stars_shop().await;
    // Six keys, so two may be held unpaid by one buyer (half of what is for sale).
    let keys = codes("STARKEY", 6);
    let product = key_product(&shop.app, Some(50), &keys).await;
    let token = token_of(&shop, 3101).await;
    put_cart(&shop.app, &token, product, 2).await;
    let (_, cart) = shop.app.get("/v1/me/cart", Some(&token)).await;
    assert_eq!(cart["total_stars"], 100, "{cart}");
    assert_eq!(cart["lines"][0]["unit_price_stars"], 50, "{cart}");

    let calls = shop.say(3101, "/cart").await;
    let (cart_screen, data) = find_button(&calls, "Checkout");
    let calls = shop.press(3101, &data, &cart_screen).await;
    let (confirmation, pay) = find_button(&calls, "Pay 100 Stars");
    let calls = shop.press(3101, &pay, &confirmation).await;
    let invoice = calls
        .iter()
        .find(|c| c.method == "sendInvoice")
        .unwrap_or_else(|| panic!("an invoice: {calls:?}"))
        .clone();
    // The fake Bot API refuses what Telegram refuses; it took this one.
    assert_eq!(invoice.body["currency"], "XTR");
    assert_eq!(invoice.body["provider_token"], "");
    assert_eq!(
        invoice.body["prices"],
        json!([{ "label": invoice.body["title"], "amount": 100 }])
    );
    let payload = invoice.body["payload"].as_str().unwrap().to_string();
    let order: i64 = payload.strip_prefix("order:").unwrap().parse().unwrap();
    assert_eq!(status_of(&shop.app, order).await, "pending_payment");
    let held =
        "SELECT count(*) FROM digital_items WHERE order_id IS NOT NULL AND delivered_at IS NULL";
    assert_eq!(shop.app.scalar(held).await, 2, "the order's keys are held");
    // A second press sends the same order's invoice again: still one order.
    let calls = shop.press(3101, &pay, &confirmation).await;
    let again = calls
        .iter()
        .find(|c| c.method == "sendInvoice")
        .expect("the invoice again");
    assert_eq!(again.body["payload"], invoice.body["payload"]);
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 1);

    assert_eq!(
        answer_to(&shop, &pre_checkout(&shop, 3101, "XTR", 100, &payload)).await,
        (true, String::new())
    );
    let (ok, why) = answer_to(&shop, &pre_checkout(&shop, 3101, "XTR", 99, &payload)).await;
    assert!(!ok && why.contains("total"), "{why}");
    // Someone else's order is not theirs to pay.
    shop.say(3102, "/start").await;
    let (ok, why) = answer_to(&shop, &pre_checkout(&shop, 3102, "XTR", 100, &payload)).await;
    assert!(!ok && why.contains("not for one of your orders"), "{why}");

    let before = shop.api.count();
    assert_eq!(
        shop.post(&payment(&shop, 3101, 100, &payload, "stxOrder1"))
            .await,
        StatusCode::OK
    );
    let said = texts(&shop.api.since(before));
    assert!(
        said.contains(&format!("Order #{order} is paid: 100 ⭐")),
        "{said}"
    );
    let delivered = keys.iter().filter(|k| said.contains(k.as_str())).count();
    assert_eq!(delivered, 2, "{said}");
    // The same payment delivered again, under another update: applied once.
    let before = shop.api.count();
    assert_eq!(
        shop.post(&payment(&shop, 3101, 100, &payload, "stxOrder1"))
            .await,
        StatusCode::OK
    );
    let said = texts(&shop.api.since(before));
    assert!(said.contains("already applied"), "{said}");
    assert!(!keys.iter().any(|k| said.contains(k.as_str())), "{said}");
    assert_eq!(status_of(&shop.app, order).await, "paid");
    let applied =
        "SELECT count(*) FROM payment_events WHERE outcome = 'applied' AND currency = 'XTR'";
    assert_eq!(shop.app.scalar(applied).await, 1);
    // A paid order's invoice is not approved again.
    let (ok, why) = answer_to(&shop, &pre_checkout(&shop, 3101, "XTR", 100, &payload)).await;
    assert!(!ok && why.contains("already paid"), "{why}");
    // Stars do not go to the wallet: the wallet refund refuses the order.
    let (s, b) = shop
        .app
        .call(
            Method::POST,
            &format!("/v1/admin/orders/{order}/refunds"),
            Some(&shop.app.admin()),
            Some("stars-wallet-refund"),
            Some(json!({ "reason": "no" })),
        )
        .await;
    assert_error(s, &b, 422, "invalid_input");

    // Two refund requests at once: Telegram is asked once, and the order is refunded once.
    shop.api.set_mode(Mode::Slow(Duration::from_millis(200)));
    let ((s1, b1), (s2, b2)) = tokio::join!(
        stars_refund(&shop.app, order),
        stars_refund(&shop.app, order)
    );
    shop.api.set_mode(Mode::Ok);
    let mut statuses = [s1.as_u16(), s2.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{b1} {b2}");
    let refunded = if s1 == StatusCode::OK { &b1 } else { &b2 };
    assert_eq!(refunded["status"], "refunded", "{refunded}");
    let calls = shop.api.of("refundStarPayment");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].body["user_id"], 3101);
    assert_eq!(calls[0].body["telegram_payment_charge_id"], "stxOrder1");
    // Asked again once done: refused by the transition table, no second call.
    let (s, b) = stars_refund(&shop.app, order).await;
    assert_error(s, &b, 409, "invalid_transition");
    assert_eq!(shop.api.of("refundStarPayment").len(), 1);
    let done = "SELECT count(*) FROM star_refunds WHERE state = 'done'";
    assert_eq!(shop.app.scalar(done).await, 1);
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn an_invoice_for_an_order_cancelled_or_past_its_time_is_refused_with_the_reason() {
    let shop = stars_shop().await;
    let product = key_product(&shop.app, Some(30), &codes("LATE", 4)).await;
    let token = token_of(&shop, 3201).await;

    put_cart(&shop.app, &token, product, 1).await;
    let (s, placed) = stars_checkout(&shop.app, &token, "stars-cancel").await;
    assert_eq!(s, StatusCode::CREATED, "{placed}");
    let order = placed["id"].as_i64().unwrap();
    let payload = format!("order:{order}");
    let (s, b) = shop
        .app
        .call(
            Method::POST,
            &format!("/v1/me/orders/{order}/cancel"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (ok, why) = answer_to(&shop, &pre_checkout(&shop, 3201, "XTR", 30, &payload)).await;
    assert!(!ok && why.contains("cancelled"), "{why}");
    // Paid anyway (Telegram charged before the cancel): the order's price goes to the
    // wallet, as for any payment that arrives too late.
    let before = shop.api.count();
    shop.post(&payment(&shop, 3201, 30, &payload, "stxLate1"))
        .await;
    assert!(texts(&shop.api.since(before)).contains("went to your shop wallet"));
    assert_eq!(shop.balance(3201).await, 500);

    put_cart(&shop.app, &token, product, 1).await;
    let (s, placed) = stars_checkout(&shop.app, &token, "stars-expired").await;
    assert_eq!(s, StatusCode::CREATED, "{placed}");
    let order = placed["id"].as_i64().unwrap();
    let db = shop.app.db().await;
    db.execute(
        "UPDATE orders SET payment_due_at = now() - interval '1 second' WHERE id = $1",
        &[&order],
    )
    .await
    .unwrap();
    let payload = format!("order:{order}");
    let (ok, why) = answer_to(&shop, &pre_checkout(&shop, 3201, "XTR", 30, &payload)).await;
    assert!(!ok && why.contains("ran out"), "{why}");
    // A payload Souk did not make is not an order's invoice.
    let (ok, _) = answer_to(&shop, &pre_checkout(&shop, 3201, "XTR", 30, "order:0")).await;
    assert!(!ok);
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn stars_checkout_over_http_answers_an_invoice_link_or_says_why_not() {
    let shop = stars_shop().await;
    let priced = key_product(&shop.app, Some(40), &codes("LINK", 3)).await;
    let unpriced = key_product(&shop.app, None, &codes("NOSTARS", 1)).await;
    let shirt = shop.app.physical(900, 5).await;
    let token = token_of(&shop, 3301).await;

    put_cart(&shop.app, &token, priced, 1).await;
    put_cart(&shop.app, &token, unpriced, 1).await;
    let (_, cart) = shop.app.get("/v1/me/cart", Some(&token)).await;
    assert!(cart["total_stars"].is_null(), "{cart}");
    let (s, b) = stars_checkout(&shop.app, &token, "stars-unpriced").await;
    assert_error(s, &b, 422, "stars_unavailable");
    assert_eq!(b["error"]["details"]["reason"], "no_stars_price", "{b}");
    assert_eq!(b["error"]["details"]["product_id"], unpriced, "{b}");

    shop.app
        .call(
            Method::DELETE,
            &format!("/v1/me/cart/items/{unpriced}"),
            Some(&token),
            None,
            None,
        )
        .await;
    put_cart(&shop.app, &token, shirt, 1).await;
    let (s, b) = stars_checkout(&shop.app, &token, "stars-physical").await;
    assert_error(s, &b, 422, "stars_unavailable");
    assert_eq!(b["error"]["details"]["reason"], "physical", "{b}");
    shop.app
        .call(
            Method::DELETE,
            &format!("/v1/me/cart/items/{shirt}"),
            Some(&token),
            None,
            None,
        )
        .await;

    let (s, placed) = stars_checkout(&shop.app, &token, "stars-link").await;
    assert_eq!(s, StatusCode::CREATED, "{placed}");
    assert_eq!(placed["payment"], "stars");
    assert_eq!(placed["status"], "pending_payment");
    assert_eq!(placed["total_stars"], 40);
    let link = placed["invoice_link"].as_str().expect("an invoice link");
    assert!(link.starts_with("https://t.me/"), "{link}");
    let made = shop.api.of("createInvoiceLink");
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].body["payload"], format!("order:{}", placed["id"]));
    assert_eq!(made[0].body["prices"][0]["amount"], 40);
    // The same key again: the same order, with a link of its own.
    let (s, again) = stars_checkout(&shop.app, &token, "stars-link").await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert_eq!(again["id"], placed["id"]);
    assert!(again["invoice_link"].is_string(), "{again}");
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 1);
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn stars_checkout_is_refused_when_the_shop_takes_no_stars() {
    let shop = Shop::open().await;
    let product = key_product(&shop.app, Some(40), &codes("OFF", 1)).await;
    let token = token_of(&shop, 3401).await;
    put_cart(&shop.app, &token, product, 1).await;
    let (s, b) = stars_checkout(&shop.app, &token, "stars-off").await;
    assert_error(s, &b, 422, "stars_unavailable");
    assert_eq!(b["error"]["details"]["reason"], "disabled", "{b}");
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 0);
    // Nor does the bot offer it.
    let calls = shop.say(3401, "/cart").await;
    let (cart, data) = find_button(&calls, "Checkout");
    let calls = shop.press(3401, &data, &cart).await;
    assert!(
        !calls.iter().any(|c| c.body.to_string().contains("Stars")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_refund_telegram_refuses_is_reported_and_not_marked_done() {
    let shop = stars_shop().await;
    let product = key_product(&shop.app, Some(25), &codes("REFUSE", 2)).await;
    let token = token_of(&shop, 3501).await;
    put_cart(&shop.app, &token, product, 1).await;
    let (s, placed) = stars_checkout(&shop.app, &token, "stars-refuse").await;
    assert_eq!(s, StatusCode::CREATED, "{placed}");
    let order = placed["id"].as_i64().unwrap();
    let payload = format!("order:{order}");
    shop.post(&payment(&shop, 3501, 25, &payload, "stxRefuse1"))
        .await;

    shop.api.refuse("refundStarPayment");
    let (s, b) = stars_refund(&shop.app, order).await;
    assert_error(s, &b, 502, "refund_refused");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CHARGE_NOT_FOUND"),
        "{b}"
    );
    let (_, now) = shop
        .app
        .get(&format!("/v1/me/orders/{order}"), Some(&token))
        .await;
    assert_eq!(now["status"], "paid", "{now}");
    let refused = "SELECT count(*) FROM star_refunds WHERE state = 'refused'";
    assert_eq!(shop.app.scalar(refused).await, 1);

    // Asked again once Telegram takes it: refunded.
    shop.api.allow("refundStarPayment");
    let (s, b) = stars_refund(&shop.app, order).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "refunded");
    assert_eq!(shop.api.of("refundStarPayment").len(), 2);
    shop.app.assert_invariants().await;
}

fn address_of(street: &str, post_code: &str, country: &str) -> Value {
    json!({ "country_code": country, "state": "", "city": "Springfield",
            "street_line1": street, "street_line2": "", "post_code": post_code })
}

#[tokio::test]
async fn a_physical_cart_paid_through_the_invoice_ships_to_its_address_at_the_carts_total() {
    let shop = Shop::open_with(|s| {
        s.shipping.flat_minor = 490;
        s.tax.rate_bp = 1000;
    })
    .await;
    let shirt = shop.app.physical(2500, 4).await;
    let token = token_of(&shop, 3601).await;
    put_cart(&shop.app, &token, shirt, 2).await;
    let (_, cart) = shop.app.get("/v1/me/cart", Some(&token)).await;
    let total = cart["total_minor"].as_i64().unwrap();
    assert_eq!(cart["shipping_minor"], 490, "{cart}");

    let calls = shop.say(3601, "/cart").await;
    let (cart_screen, data) = find_button(&calls, "Checkout");
    let calls = shop.press(3601, &data, &cart_screen).await;
    // A cart that ships is paid by card with its address, not from the wallet.
    assert!(!texts(&calls).contains("from wallet"));
    let (confirmation, pay) = find_button(&calls, "by card, with delivery");
    let calls = shop.press(3601, &pay, &confirmation).await;
    let invoice = calls
        .iter()
        .find(|c| c.method == "sendInvoice")
        .unwrap_or_else(|| panic!("an invoice: {calls:?}"))
        .clone();
    assert_eq!(invoice.body["currency"], "USD");
    assert_eq!(invoice.body["need_shipping_address"], true);
    assert_eq!(invoice.body["is_flexible"], true);
    let payload = invoice.body["payload"].as_str().unwrap().to_string();
    let invoiced: i64 = invoice.body["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .sum();

    // The shipping query: a bad address is refused with what is wrong; a good one gets the
    // delivery the pricing function charges.
    let shipping_query = |address: Value| {
        json!({ "update_id": shop.update_id(), "shipping_query": {
            "id": format!("sq-{}", shop.update_id()), "from": { "id": 3601, "first_name": "Ship" },
            "invoice_payload": payload, "shipping_address": address,
        }})
    };
    let before = shop.api.count();
    shop.post(&shipping_query(address_of("1 Main St", "12345", "USA")))
        .await;
    let answer = shop
        .api
        .since(before)
        .into_iter()
        .find(|c| c.method == "answerShippingQuery")
        .unwrap();
    assert_eq!(answer.body["ok"], false, "{}", answer.body);
    assert!(
        answer.body["error_message"]
            .as_str()
            .unwrap()
            .contains("country"),
        "{}",
        answer.body
    );
    let before = shop.api.count();
    shop.post(&shipping_query(address_of("1 Main St", "12345", "US")))
        .await;
    let answer = shop
        .api
        .since(before)
        .into_iter()
        .find(|c| c.method == "answerShippingQuery")
        .unwrap();
    assert_eq!(answer.body["ok"], true, "{}", answer.body);
    let delivery = answer.body["shipping_options"][0]["prices"][0]["amount"]
        .as_i64()
        .unwrap();
    assert_eq!(
        invoiced + delivery,
        total,
        "the invoice charges what the cart showed"
    );

    let order_info =
        json!({ "name": "Ada Buyer", "shipping_address": address_of("1 Main St", "12345", "US") });
    let pre_checkout = |amount: i64, info: &Value| {
        json!({ "update_id": shop.update_id(), "pre_checkout_query": {
            "id": format!("pcq-{}", shop.update_id()), "from": { "id": 3601, "first_name": "Ship" },
            "currency": "USD", "total_amount": amount, "invoice_payload": payload,
            "shipping_option_id": "standard", "order_info": info,
        }})
    };
    // An address the API would refuse is refused before any money moves.
    let bad = json!({ "name": "", "shipping_address": address_of("1 Main St", "12345", "US") });
    let (ok, why) = answer_to(&shop, &pre_checkout(total, &bad)).await;
    assert!(!ok && why.contains("name"), "{why}");
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 0);
    let (ok, why) = answer_to(&shop, &pre_checkout(total, &order_info)).await;
    assert!(ok, "{why}");
    // Redelivered, the query finds the order it placed.
    let (ok, why) = answer_to(&shop, &pre_checkout(total, &order_info)).await;
    assert!(ok, "{why}");
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 1);

    let paid = |charge: &str| {
        json!({ "update_id": shop.update_id(), "message": {
            "message_id": 9, "from": { "id": 3601, "first_name": "Ship" }, "chat": { "id": 3601 },
            "successful_payment": { "currency": "USD", "total_amount": total, "invoice_payload": payload,
                "telegram_payment_charge_id": charge, "provider_payment_charge_id": "prov-1",
                "shipping_option_id": "standard", "order_info": order_info },
        }})
    };
    let before = shop.api.count();
    shop.post(&paid("cardCharge1")).await;
    let said = texts(&shop.api.since(before));
    assert!(
        said.contains("is paid") && said.contains("1 Main St"),
        "{said}"
    );
    shop.post(&paid("cardCharge1")).await;
    let (_, orders) = shop.app.get("/v1/me/orders", Some(&token)).await;
    let order = &orders["items"][0];
    assert_eq!(orders["items"].as_array().unwrap().len(), 1, "{orders}");
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["total_minor"], total, "{order}");
    assert_eq!(order["paid_minor"], total, "{order}");
    assert_eq!(order["shipping_address"]["name"], "Ada Buyer", "{order}");
    assert_eq!(order["shipping_address"]["country"], "US", "{order}");
    assert_eq!(shop.balance(3601).await, 0, "paid once, nothing credited");
    shop.app.assert_invariants().await;
}

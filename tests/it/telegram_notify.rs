//! The buyer hears about their order in their Telegram chat, from the outbox: once per
//! event, whether the order came through the bot or the HTTP API, and never again to a
//! user who blocked the bot.

use crate::common::*;
use crate::fake_bot_api::Call;
use crate::telegram_harness::{find_button, texts, Shop};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use souk_actors::domain::ids::ProductId;
use souk_http::telegram::callback::Action;
use std::time::Duration;

const BUYER: i64 = 5_001;

/// A Telegram user who started the bot, with money, and a paid wallet order of theirs made
/// over the HTTP API; answers the order id.
pub async fn paid_order(shop: &Shop, telegram_id: i64) -> i64 {
    shop.say(telegram_id, "/start").await;
    let user = shop.user_of(telegram_id).await;
    let app = &shop.app;
    app.credit(user, 10_000).await;
    let product = app.physical(1_500, 5).await;
    let token = app.token(user, "customer");
    let (s, b) = app.put_cart(&token, product, 1).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, order) = app.checkout(&token, &format!("order-{telegram_id}")).await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    order["id"].as_i64().expect("order id")
}

pub async fn move_to(app: &TestApp, order: i64, to: &str, note: Option<&str>) -> Value {
    let path = format!("/v1/admin/orders/{order}/transitions");
    let (s, b) = app
        .call(
            Method::POST,
            &path,
            Some(&app.token(1, "staff")),
            None,
            Some(json!({ "to": to, "note": note })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// Messages the bot sent to `chat` on its own (not as an answer to an update).
fn notices(calls: &[Call], chat: i64, containing: &str) -> usize {
    calls
        .iter()
        .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .filter(|c| c.text().contains(containing))
        .count()
}

#[tokio::test]
async fn a_buyer_hears_once_when_staff_ship_and_deliver_their_order() {
    let shop = Shop::open().await;
    let order = paid_order(&shop, BUYER).await;
    // The wallet checkout was answered where it was made: no message about its payment.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(notices(&shop.api.calls(), BUYER, "Payment received"), 0);

    move_to(&shop.app, order, "shipped", Some("tracking AB123")).await;
    shop.api
        .wait_for("the shipping notice", Duration::from_secs(10), |c| {
            notices(c, BUYER, "is on its way") == 1
        })
        .await;
    let calls = shop.api.calls();
    let shipped: Vec<&Call> = calls
        .iter()
        .filter(|c| c.body["chat_id"] == BUYER && c.text().contains("on its way"))
        .collect();
    assert!(
        shipped[0].text().contains(&format!("#{order}")) && shipped[0].text().contains("AB123"),
        "{}",
        shipped[0].text()
    );

    // A redelivered update changes nothing and sends nothing new.
    let update = shop.message(BUYER, "/start");
    assert_eq!(shop.post(&update).await, StatusCode::OK);
    let before = shop.api.count();
    assert_eq!(shop.post(&update).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        shop.api.count(),
        before,
        "a redelivered update sent something"
    );

    move_to(&shop.app, order, "delivered", None).await;
    shop.api
        .wait_for("the delivery notice", Duration::from_secs(10), |c| {
            notices(c, BUYER, "was delivered") == 1
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = shop.api.calls();
    assert_eq!(notices(&calls, BUYER, "is on its way"), 1, "sent once");
    assert_eq!(notices(&calls, BUYER, "was delivered"), 1, "sent once");
    let metrics = shop.app.metrics().await;
    assert!(
        metrics.contains(
            "souk_telegram_notifications_total{kind=\"order.status_changed\",outcome=\"sent\"} 2"
        ),
        "{metrics}"
    );
    assert_eq!(
        shop.app
            .scalar("SELECT count(*) FROM telegram_notifications WHERE state = 'sent'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_buyer_who_blocked_the_bot_is_counted_as_failed_and_not_tried_again() {
    let shop = Shop::open().await;
    let order = paid_order(&shop, BUYER).await;
    shop.api.block(BUYER);
    let before = shop.api.count();
    move_to(&shop.app, order, "shipped", None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while shop
        .app
        .scalar("SELECT count(*) FROM users WHERE telegram_blocked_at IS NOT NULL")
        .await
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the block was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Delivered while blocked: nothing is queued for a user who blocked the bot.
    move_to(&shop.app, order, "delivered", None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tries = notices(&shop.api.since(before), BUYER, "");
    assert_eq!(tries, 1, "one attempt, answered 403, and no retry");
    assert_eq!(
        shop.app
            .scalar("SELECT count(*) FROM telegram_notifications WHERE state = 'failed'")
            .await,
        1
    );
    assert!(shop.app.metrics().await.contains(
        "souk_telegram_notifications_total{kind=\"order.status_changed\",outcome=\"blocked\"} 1"
    ));
    // Writing to the bot again unblocks: the next notice is sent.
    shop.say(BUYER, "/start").await;
    assert_eq!(
        shop.app
            .scalar("SELECT count(*) FROM users WHERE telegram_blocked_at IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn an_unpaid_order_whose_window_closes_tells_its_buyer() {
    let shop = Shop::open_with(|s| {
        s.checkout.reservation_ttl_secs = 1;
        s.checkout.expiry_sweep_ms = 100;
    })
    .await;
    shop.say(BUYER, "/start").await;
    let user = shop.user_of(BUYER).await;
    let app = &shop.app;
    let product = app.physical(900, 5).await;
    let token = app.token(user, "customer");
    app.put_cart(&token, product, 1).await;
    let (s, order) = app.external_checkout(&token, "unpaid").await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    let id = order["id"].as_i64().expect("id");
    shop.api
        .wait_for("the cancellation notice", Duration::from_secs(10), |c| {
            notices(c, BUYER, &format!("Order #{id} was cancelled")) == 1
        })
        .await;
}

#[tokio::test]
async fn notify_me_on_a_sold_out_product_fires_once_when_it_is_restocked() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let product = app.physical(2_500, 0).await;
    let menu = shop.say(BUYER, "/start").await;
    let card = Action::Product {
        id: ProductId::new(product).expect("id"),
        qty: 1,
    }
    .encode();
    let shown = shop.press(BUYER, &card, &menu[0]).await;
    assert!(texts(&shown).contains("Sold out"), "{}", texts(&shown));
    let (on, data) = find_button(&shown, "Notify me");
    let pressed = shop.press(BUYER, &data, &on).await;
    // The card now says so, and a second press (or a redelivery) adds nothing.
    find_button(&pressed, "You will hear when it is back");
    shop.press(BUYER, &data, &on).await;
    assert_eq!(app.scalar("SELECT count(*) FROM stock_watches").await, 1);

    app.add_stock(product, json!({ "quantity_delta": 3 })).await;
    shop.api
        .wait_for("the restock notice", Duration::from_secs(10), |c| {
            notices(c, BUYER, "is back in stock") == 1
        })
        .await;
    let calls = shop.api.calls();
    let notice = calls
        .iter()
        .find(|c| c.text().contains("is back in stock"))
        .expect("notice");
    let (_, view) = find_button(std::slice::from_ref(notice), "View");
    assert_eq!(view, card, "the notice opens the product's card");

    // Once: the watch is gone, so the next restock tells nobody.
    app.add_stock(product, json!({ "quantity_delta": 2 })).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(notices(&shop.api.calls(), BUYER, "is back in stock"), 1);
    assert_eq!(app.scalar("SELECT count(*) FROM stock_watches").await, 0);
}

//! Hostile and unlucky input to the webhook (P21, P26): wrong secrets, malformed JSON,
//! unknown update kinds, crafted button data, huge messages, and redelivered updates.

use crate::common::codes;
use crate::telegram_harness::*;
use reqwest::StatusCode;
use serde_json::json;
use souk_actors::domain::ids::ProductId;
use souk_http::telegram::callback::Action;
use std::time::Duration;

fn data(action: Action) -> String {
    action.encode()
}

fn product(id: i64) -> ProductId {
    ProductId::new(id).unwrap()
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_401_and_nothing_is_processed_or_sent() {
    let shop = Shop::open().await;
    let update = shop.message(8001, "/start").to_string();
    for secret in [None, Some(""), Some("wrong"), Some(&WEBHOOK_SECRET[..10])] {
        let (status, body) = shop.post_raw(&update, secret).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    assert_eq!(shop.api.count(), 0);
    assert_eq!(
        shop.app
            .scalar("SELECT count(*) FROM users WHERE telegram_id IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        shop.app
            .scalar("SELECT count(*) FROM telegram_updates")
            .await,
        0
    );
    // No secret configured: nothing is accepted at all.
    let open = Shop::open_with(|s| s.telegram.webhook_secret = None).await;
    let (status, _) = open.post_raw(&update, Some(WEBHOOK_SECRET)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(shop
        .app
        .metrics()
        .await
        .contains("souk_telegram_updates_total{kind=\"unsupported\",outcome=\"unauthorized\"} 4"));
}

#[tokio::test]
async fn malformed_json_is_400_and_every_well_formed_update_is_200_even_unknown_kinds() {
    let shop = Shop::open().await;
    for bad in [
        "{",
        "not json",
        "{\"update_id\": 1} x",
        "[1,2]",
        "{\"update_id\": \"1\"}",
        "",
    ] {
        let (status, body) = shop.post_raw(bad, Some(WEBHOOK_SECRET)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let odd = [
        json!({ "update_id": 501, "edited_message": { "message_id": 1, "chat": { "id": 1 } } }),
        json!({ "update_id": 502, "channel_post": { "message_id": 1, "chat": { "id": -100 } } }),
        json!({ "update_id": 503, "poll": { "id": "p" } }),
        json!({ "update_id": 504, "message": "not an object" }),
        json!({ "update_id": 505, "message": { "message_id": 1, "chat": { "id": 1 }, "from": { "id": 1, "is_bot": true } , "text": "/start" } }),
        json!({ "update_id": 506, "message": { "message_id": 1, "chat": { "id": 9 }, "from": { "id": 9 }, "sticker": {} } }),
        json!({ "update_id": 507, "callback_query": { "id": "q", "from": { "id": 9 } } }),
        json!({ "update_id": -1 }),
    ];
    for update in &odd {
        assert_eq!(shop.post(update).await, StatusCode::OK, "{update}");
    }
    let said = texts(&shop.api.calls());
    assert!(said.contains("only read text"), "{said}");
    let recorded = "SELECT count(*) FROM telegram_updates WHERE update_id BETWEEN 501 AND 507";
    assert_eq!(shop.app.scalar(recorded).await, 7);
    // Records past Telegram's redelivery window are pruned as updates go by.
    let old = "INSERT INTO telegram_updates (update_id, kind, applied_at) VALUES (3, 'message', now() - interval '8 days')";
    shop.app.db().await.execute(old, &[]).await.unwrap();
    assert_eq!(
        shop.post(&json!({ "update_id": 2048, "poll": {} })).await,
        StatusCode::OK
    );
    let kept = "SELECT count(*) FROM telegram_updates WHERE update_id = 3";
    assert_eq!(shop.app.scalar(kept).await, 0);
    assert_eq!(shop.app.scalar(recorded).await, 7);
}

#[tokio::test]
async fn crafted_stale_or_oversized_button_data_gets_the_out_of_date_alert_and_changes_nothing() {
    let shop = Shop::open().await;
    let real = shop.app.digital(100, &codes("CRAFT", 3)).await;
    let calls = shop.say(8101, "/start").await;
    let (menu, _) = find_button(&calls, "Catalog");
    let crafted = [
        String::new(),
        "p_1".into(),
        "0m".into(),
        "2p:1:1".into(),
        "1p:1".into(),
        "1p:-5:1".into(),
        format!("1p:{}:1", "z".repeat(13)),
        "x".repeat(4096),
        "1a:1;DROP TABLE users:1".into(),
        data(Action::Product {
            id: product(987_654),
            qty: 1,
        }),
        data(Action::Add {
            id: product(987_654),
            qty: 3,
        }),
        data(Action::Add {
            id: product(i64::MAX),
            qty: 100,
        }),
        data(Action::TopUp { amount: 1 }),
        data(Action::Keys {
            order: souk_actors::domain::ids::OrderId::new(5).unwrap(),
        }),
    ];
    for data in &crafted {
        let calls = shop.press(8101, data, &menu).await;
        let answers = answers(&calls);
        assert_eq!(answers.len(), 1, "{data}: {calls:?}");
        assert_eq!(answers[0].body["text"], STALE, "{data}");
        assert_eq!(answers[0].body["show_alert"], true);
        assert!(
            calls.iter().any(|c| c.text().contains("Welcome")),
            "the menu follows"
        );
    }
    assert_eq!(shop.app.scalar("SELECT count(*) FROM cart_items").await, 0);
    // Something real still works afterwards.
    let calls = shop
        .press(
            8101,
            &data(Action::Add {
                id: product(real),
                qty: 2,
            }),
            &menu,
        )
        .await;
    assert!(answers(&calls)[0].body["text"]
        .as_str()
        .unwrap()
        .contains("Added"));
    assert_eq!(
        shop.app
            .scalar("SELECT sum(quantity)::bigint FROM cart_items")
            .await,
        2
    );
}

#[tokio::test]
async fn five_thousand_lines_of_codes_in_one_message_are_each_accepted_or_named() {
    let shop = Shop::open().await;
    let id = shop.app.digital(100, &[]).await;
    shop.say(ADMIN, "/admin").await;
    let menu = shop.api.calls().pop().unwrap();
    shop.press(ADMIN, &data(Action::AdminCodes { id: product(id) }), &menu)
        .await;
    let mut lines = codes("BULK", 4990);
    lines.extend(codes("BULK", 5)); // duplicates of the first five
    lines.extend(["ab", "has space", "x", "tab\there", "y"].map(String::from));
    assert_eq!(lines.len(), 5000);
    let before = shop.api.count();
    assert_eq!(
        shop.post(&shop.message(ADMIN, &lines.join("\n"))).await,
        StatusCode::OK
    );
    shop.api
        .wait_for("the codes reply", Duration::from_secs(30), |calls| {
            calls[before..].iter().any(|c| c.text().contains("Added"))
        })
        .await;
    let reply = texts(&shop.api.since(before));
    assert!(reply.contains("Added 4990 code(s)"), "{reply}");
    assert!(reply.contains("Rejected 10:"), "{reply}");
    assert!(reply.contains("line 4991: duplicate"), "{reply}");
    assert!(reply.contains("line 4996: invalid"), "{reply}");
    let count = format!("SELECT count(*) FROM digital_items WHERE product_id = {id}");
    assert_eq!(shop.app.scalar(&count).await, 4990);
}

#[tokio::test]
async fn the_same_update_delivered_ten_times_at_once_has_one_effect_and_one_set_of_replies() {
    let shop = Shop::open().await;
    let id = shop.app.digital(100, &codes("DUP", 5)).await;
    let calls = shop.say(8201, "/start").await;
    shop.app.credit(shop.user_of(8201).await, 10_000).await;
    let (menu, _) = find_button(&calls, "Catalog");
    let add = shop.press_update(
        8201,
        &data(Action::Add {
            id: product(id),
            qty: 1,
        }),
        menu.message_id,
        false,
    );
    let pay = shop.press_update(
        8201,
        &data(Action::Pay { confirmation: 77 }),
        menu.message_id,
        false,
    );
    for update in [&add, &pay] {
        let before = shop.api.count();
        let statuses = futures_util::future::join_all((0..10).map(|_| shop.post(update))).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        let calls = shop.api.since(before);
        assert_eq!(answers(&calls).len(), 1, "{calls:?}");
    }
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 1);
    let sold = format!(
        "SELECT count(*) FROM digital_items WHERE product_id = {id} AND order_id IS NOT NULL"
    );
    assert_eq!(
        shop.app.scalar(&sold).await,
        1,
        "one unit: the add applied once"
    );
    let keys_sent = shop
        .api
        .of("sendMessage")
        .iter()
        .filter(|c| c.text().contains("DUP-"))
        .count();
    assert_eq!(keys_sent, 1);
    assert!(shop
        .app
        .metrics()
        .await
        .contains("souk_telegram_updates_total{kind=\"callback_query\",outcome=\"duplicate\"} 18"));
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn cart_buttons_carry_the_new_quantity_so_pressing_one_twice_changes_it_once() {
    let shop = Shop::open().await;
    let id = shop.app.digital(100, &codes("TWICE", 5)).await;
    let calls = shop.say(8301, "/start").await;
    let (menu, _) = find_button(&calls, "Catalog");
    let calls = shop
        .press(
            8301,
            &data(Action::Product {
                id: product(id),
                qty: 2,
            }),
            &menu,
        )
        .await;
    let (card, add) = find_button(&calls, "Add 2 to cart");
    shop.press(8301, &add, &card).await;
    let calls = shop.press(8301, &add, &card).await;
    assert!(
        texts(&calls).contains("In your cart: 2"),
        "{}",
        texts(&calls)
    );
    let calls = shop.say(8301, "/cart").await;
    let (cart, more) = find_button(&calls, "+");
    shop.press(8301, &more, &cart).await;
    shop.press(8301, &more, &cart).await;
    assert_eq!(
        shop.app
            .scalar("SELECT sum(quantity)::bigint FROM cart_items")
            .await,
        3
    );
    let (cart, less) = find_button(&shop.api.calls(), "− Game key");
    shop.press(8301, &less, &cart).await;
    assert_eq!(
        shop.app
            .scalar("SELECT sum(quantity)::bigint FROM cart_items")
            .await,
        2
    );
}

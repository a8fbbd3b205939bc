//! The bot's customer and admin flows end to end: real Souk, real Postgres, a fake Bot API.

use crate::common::codes;
use crate::telegram_harness::*;
use reqwest::Method;
use serde_json::json;

/// /start → catalog → category → product → add → cart → checkout; returns the calls of
/// the confirmation and the Pay button's data.
async fn to_confirmation(
    shop: &Shop,
    user: i64,
    product_label: &str,
) -> (crate::fake_bot_api::Call, String) {
    let calls = shop.say(user, "/start").await;
    let (menu, data) = find_button(&calls, "Catalog");
    let calls = shop.press(user, &data, &menu).await;
    let (list, data) = find_button(&calls, "Keys");
    let calls = shop.press(user, &data, &list).await;
    let (list, data) = find_button(&calls, product_label);
    let calls = shop.press(user, &data, &list).await;
    let (card, data) = find_button(&calls, "Add 1 to cart");
    let calls = shop.press(user, &data, &card).await;
    assert_eq!(answers(&calls).len(), 1);
    assert!(answers(&calls)[0].body["text"]
        .as_str()
        .unwrap()
        .contains("Added"));
    let (card, data) = find_button(&shop.api.calls(), "Cart");
    let calls = shop.press(user, &data, &card).await;
    assert!(
        texts(&calls).contains("Total: 5.00 USD"),
        "{}",
        texts(&calls)
    );
    let (cart, data) = find_button(&calls, "Checkout");
    let calls = shop.press(user, &data, &cart).await;
    find_button(&calls, "Pay 5.00 USD from wallet")
}

#[tokio::test]
async fn a_customer_browses_adds_pays_from_the_wallet_and_gets_the_key_in_the_chat() {
    let shop = Shop::open().await;
    let keys = codes("TGKEY", 2);
    shop.app.digital(500, &keys).await;
    shop.say(1001, "/start").await;
    shop.app.credit(shop.user_of(1001).await, 1200).await;
    let (confirmation, pay) = to_confirmation(&shop, 1001, "Game key").await;
    let calls = shop.press(1001, &pay, &confirmation).await;
    assert_eq!(answers(&calls).len(), 1, "{calls:?}");
    let said = texts(&calls);
    assert!(said.contains("is paid: 5.00 USD"), "{said}");
    let delivered: Vec<_> = keys.iter().filter(|k| said.contains(k.as_str())).collect();
    assert_eq!(delivered.len(), 1, "{said}");
    assert_eq!(shop.balance(1001).await, 700);
    // A double tap on the same confirmation replays the first answer: still one order.
    let calls = shop.press(1001, &pay, &confirmation).await;
    assert!(answers(&calls)[0].body["text"]
        .as_str()
        .unwrap()
        .contains("already paid"));
    assert!(!texts(&calls).contains(delivered[0].as_str()));
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 1);
    assert_eq!(shop.balance(1001).await, 700);
    // /orders re-sends the keys on request.
    let calls = shop.say(1001, "/orders").await;
    let (list, data) = find_button(&calls, "Keys of #");
    let calls = shop.press(1001, &data, &list).await;
    assert!(texts(&calls).contains(delivered[0].as_str()));
    // The cart is empty after the order; /wallet shows the debit.
    assert!(texts(&shop.say(1001, "/cart").await).contains("empty"));
    assert!(texts(&shop.say(1001, "/wallet").await).contains("Balance: 7.00 USD"));
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn checkout_refusals_say_what_happened_and_what_to_do_next() {
    let shop = Shop::open().await;
    shop.app.digital(500, &codes("POOR", 1)).await;
    shop.say(1002, "/start").await;
    let (confirmation, pay) = to_confirmation(&shop, 1002, "Game key").await;
    let calls = shop.press(1002, &pay, &confirmation).await;
    let alert = &answers(&calls)[0].body;
    assert_eq!(alert["show_alert"], true);
    assert!(
        alert["text"].as_str().unwrap().contains("/wallet"),
        "{alert}"
    );
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn a_top_up_invoice_is_approved_while_valid_and_the_payment_is_credited_once() {
    let shop = Shop::open().await;
    let calls = shop.say(2001, "/wallet").await;
    let (wallet, data) = find_button(&calls, "+5.00 USD");
    let calls = shop.press(2001, &data, &wallet).await;
    let invoice = calls
        .iter()
        .find(|c| c.method == "sendInvoice")
        .expect("an invoice");
    assert_eq!(invoice.body["prices"][0]["amount"], 500);
    let payload = invoice.body["payload"].as_str().unwrap().to_string();
    let pre_checkout = |amount: i64| {
        json!({ "update_id": shop.update_id(), "pre_checkout_query": {
            "id": format!("pcq{amount}"), "from": { "id": 2001, "first_name": "P" },
            "currency": "USD", "total_amount": amount, "invoice_payload": payload,
        }})
    };
    let before = shop.api.count();
    shop.post(&pre_checkout(500)).await;
    shop.post(&pre_checkout(50_000)).await;
    let answers = shop.api.since(before);
    assert_eq!(answers[0].method, "answerPreCheckoutQuery");
    assert_eq!(answers[0].body["ok"], true);
    assert_eq!(
        answers[1].body["ok"], false,
        "a changed amount is not this invoice"
    );
    let paid = |update_id: i64| {
        json!({ "update_id": update_id, "message": {
            "message_id": 9, "from": { "id": 2001, "first_name": "P" }, "chat": { "id": 2001 },
            "successful_payment": { "currency": "USD", "total_amount": 500, "invoice_payload": payload,
                "telegram_payment_charge_id": "tg-charge-1", "provider_payment_charge_id": "p-1" },
        }})
    };
    let first = paid(shop.update_id());
    let before = shop.api.count();
    shop.post(&first).await;
    assert!(texts(&shop.api.since(before)).contains("Balance: 5.00 USD"));
    // The same update again, and the same charge under another update id: credited once.
    let before = shop.api.count();
    shop.post(&first).await;
    assert_eq!(
        shop.api.count(),
        before,
        "a redelivered update sends nothing"
    );
    shop.post(&paid(shop.update_id())).await;
    assert_eq!(shop.balance(2001).await, 500);
    let credits = "SELECT count(*) FROM wallet_transactions WHERE kind = 'credit'";
    assert_eq!(shop.app.scalar(credits).await, 1);
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn maintenance_stops_checkout_and_top_up_in_the_bot_while_browsing_works() {
    let shop = Shop::open().await;
    shop.app.digital(500, &codes("MNT", 2)).await;
    let calls = shop.say(ADMIN, "/admin").await;
    let (menu, data) = find_button(&calls, "Maintenance on");
    let calls = shop.press(ADMIN, &data, &menu).await;
    assert!(
        texts(&calls).contains("Maintenance is ON"),
        "{}",
        texts(&calls)
    );
    let (status, body) = shop.app.get("/v1/maintenance", None).await;
    assert_eq!(
        (status.as_u16(), body["enabled"].clone()),
        (200, json!(true))
    );
    shop.say(4001, "/start").await;
    shop.app.credit(shop.user_of(4001).await, 5000).await;
    let calls = shop.say(4001, "/catalog").await;
    let (list, data) = find_button(&calls, "Keys");
    let calls = shop.press(4001, &data, &list).await;
    let (list, data) = find_button(&calls, "Game key");
    let calls = shop.press(4001, &data, &list).await;
    let (card, data) = find_button(&calls, "Add 1 to cart");
    shop.press(4001, &data, &card).await;
    let calls = shop.say(4001, "/cart").await;
    let (cart, data) = find_button(&calls, "Checkout");
    let calls = shop.press(4001, &data, &cart).await;
    assert!(texts(&calls).contains("maintenance"), "{}", texts(&calls));
    assert_eq!(answers(&calls).len(), 1);
    let calls = shop.say(4001, "/wallet").await;
    let (wallet, data) = find_button(&calls, "+5.00");
    let calls = shop.press(4001, &data, &wallet).await;
    assert!(calls.iter().all(|c| c.method != "sendInvoice"));
    assert!(texts(&calls).contains("maintenance"));
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn a_product_image_is_sent_as_a_photo_and_a_failed_photo_falls_back_to_text() {
    let shop = Shop::open().await;
    let cat = shop.app.category("Posters").await;
    let body = json!({ "category_id": cat, "name": "Poster", "kind": "physical", "price_minor": 900,
        "image_url": "https://example.com/poster.png", "description": "A fine poster" });
    shop.app.create_product(body).await;
    let calls = shop.say(5001, "/catalog").await;
    let (list, data) = find_button(&calls, "Posters");
    let calls = shop.press(5001, &data, &list).await;
    let (list, data) = find_button(&calls, "Poster");
    let calls = shop.press(5001, &data, &list).await;
    let photo = calls
        .iter()
        .find(|c| c.method == "sendPhoto")
        .expect("a photo");
    assert!(photo.text().contains("A fine poster"));
    shop.api.refuse("sendPhoto");
    let calls = shop.press(5001, &data, &list).await;
    let methods: Vec<_> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["answerCallbackQuery", "sendPhoto", "sendMessage"]);
    assert!(calls[2].text().contains("Poster"));
}

#[tokio::test]
async fn a_mini_app_signs_in_with_init_data_and_bad_or_stale_data_is_401() {
    let shop = Shop::open().await;
    let now = chrono::Utc::now().timestamp().to_string();
    let user = r#"{"id":6001,"first_name":"Mia"}"#;
    let signed = souk_http::telegram::auth::sign(
        &[("auth_date", &now), ("user", user)],
        BOT_TOKEN.as_bytes(),
    )
    .unwrap();
    let sign_in = |init_data: String| {
        let body = json!({ "init_data": init_data });
        shop.app
            .call(Method::POST, "/v1/auth/telegram", None, None, Some(body))
    };
    let (s, body) = sign_in(signed).await;
    assert_eq!(s.as_u16(), 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let (s, _) = shop.app.get("/v1/me/wallet", Some(token)).await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(body["user_id"].as_i64(), Some(shop.user_of(6001).await));
    let old = (chrono::Utc::now().timestamp() - 2 * 86_400).to_string();
    let stale = souk_http::telegram::auth::sign(
        &[("auth_date", &old), ("user", user)],
        BOT_TOKEN.as_bytes(),
    )
    .unwrap();
    let forged =
        souk_http::telegram::auth::sign(&[("auth_date", &now), ("user", user)], b"another:token")
            .unwrap();
    for bad in [
        stale,
        forged,
        "user=%7B%7D&hash=00".to_string(),
        String::new(),
    ] {
        let (s, body) = sign_in(bad).await;
        assert_eq!(s.as_u16(), 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
}

/// A bot user is made by the one `create_user`: once, however many first contacts race,
/// named from Telegram and audited as the bot's doing.
#[tokio::test]
async fn racing_first_contacts_create_one_audited_user() {
    let shop = Shop::open().await;
    let updates: Vec<_> = (0..6).map(|_| shop.message(3001, "/start")).collect();
    futures_util::future::join_all(updates.iter().map(|u| shop.post(u))).await;
    let users =
        "SELECT count(*) FROM users WHERE telegram_id = 3001 AND display_name = 'User 3001'";
    assert_eq!(shop.app.scalar(users).await, 1);
    let user = shop.user_of(3001).await;
    let audited = format!(
        "SELECT count(*) FROM audit_log WHERE action = 'user.create' AND actor = 'telegram' AND target = 'user:{user}'"
    );
    assert_eq!(shop.app.scalar(&audited).await, 1);
}

/// A second press of a refused Pay button tells the same refusal again and is counted as a
/// replay, as a repeated `POST /v1/me/checkout` is.
#[tokio::test]
async fn a_repeated_refused_payment_is_told_again_and_counted_as_a_replay() {
    let shop = Shop::open().await;
    shop.app.digital(500, &codes("TWICE", 1)).await;
    let (confirmation, pay) = to_confirmation(&shop, 3002, "Game key").await;
    let mut told = Vec::new();
    for _ in 0..2 {
        let calls = shop.press(3002, &pay, &confirmation).await;
        told.push(answers(&calls)[0].body["text"].clone());
    }
    assert!(told[0].as_str().unwrap().contains("/wallet"), "{told:?}");
    assert_eq!(told[0], told[1]);
    let m = shop.app.metrics().await;
    let checkouts = |outcome: &str| {
        sample(
            &m,
            &format!("souk_checkouts_total{{outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(checkouts("insufficient_funds"), 1);
    assert_eq!(checkouts("idempotent_replay"), 1);
    assert_eq!(shop.app.scalar("SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn with_stars_on_a_top_up_is_an_xtr_invoice_credited_once_at_the_invoices_rate() {
    let shop = Shop::open_with(|s| {
        s.telegram.stars = true;
        s.telegram.minor_per_star = 2;
        s.telegram.topup_amounts_stars = "50,100".into();
        // A fiat provider token is configured, and still not sent with Stars.
        s.telegram.payment_provider_token = Some(secrecy::SecretString::from(
            "284685063:TEST:fiat".to_string(),
        ));
    })
    .await;
    let calls = shop.say(2101, "/wallet").await;
    let (wallet, data) = find_button(&calls, "+100 ⭐ (2.00 USD)");
    let calls = shop.press(2101, &data, &wallet).await;
    let invoice = calls
        .iter()
        .find(|c| c.method == "sendInvoice")
        .expect("an invoice");
    // The fake Bot API refuses what Telegram refuses (it answered, so it took this one).
    assert_eq!(invoice.body["currency"], "XTR");
    assert_eq!(invoice.body["provider_token"], "");
    assert_eq!(invoice.body["prices"].as_array().map(Vec::len), Some(1));
    assert_eq!(invoice.body["prices"][0]["amount"], 100);
    assert!(
        invoice.body["description"]
            .as_str()
            .unwrap()
            .contains("2.00 USD"),
        "{}",
        invoice.body
    );
    let payload = invoice.body["payload"].as_str().unwrap().to_string();
    let pre_checkout = |currency: &str, amount: i64| {
        json!({ "update_id": shop.update_id(), "pre_checkout_query": {
            "id": format!("pcq-{currency}-{amount}"), "from": { "id": 2101, "first_name": "S" },
            "currency": currency, "total_amount": amount, "invoice_payload": payload,
        }})
    };
    let before = shop.api.count();
    shop.post(&pre_checkout("XTR", 100)).await;
    shop.post(&pre_checkout("XTR", 1)).await;
    shop.post(&pre_checkout("USD", 100)).await;
    let answers: Vec<serde_json::Value> = shop
        .api
        .since(before)
        .into_iter()
        .map(|c| c.body["ok"].clone())
        .collect();
    assert_eq!(answers, [json!(true), json!(false), json!(false)]);

    let paid = |update_id: i64, charge: &str| {
        json!({ "update_id": update_id, "message": {
            "message_id": 9, "from": { "id": 2101, "first_name": "S" }, "chat": { "id": 2101 },
            "successful_payment": { "currency": "XTR", "total_amount": 100, "invoice_payload": payload,
                "telegram_payment_charge_id": charge, "provider_payment_charge_id": "" },
        }})
    };
    let before = shop.api.count();
    shop.post(&paid(shop.update_id(), "stxCharge1")).await;
    let said = texts(&shop.api.since(before));
    assert!(
        said.contains("2.00 USD added to your wallet for 100 ⭐"),
        "{said}"
    );
    // The same charge again, under another update: credited once.
    shop.post(&paid(shop.update_id(), "stxCharge1")).await;
    assert_eq!(shop.balance(2101).await, 200);
    let credits = "SELECT count(*) FROM wallet_transactions WHERE kind = 'credit'";
    assert_eq!(shop.app.scalar(credits).await, 1);
    shop.app.assert_invariants().await;
}

//! The bot speaks English, Russian and German: every screen a customer can reach renders in
//! each language with no message id or placeholder left in it, and callback data (which
//! carries ids, never text) stays within Telegram's 64 bytes in every language. The user's
//! Telegram language is followed until they choose one with /language.

use crate::fake_bot_api::Call;
use crate::telegram_crawl::{crawl_checking, thirty_products};
use crate::telegram_harness::*;
use serde_json::json;

/// The texts a call shows people: its message and its buttons' labels.
fn shown(call: &Call) -> Vec<String> {
    let mut texts: Vec<String> = call.buttons().into_iter().map(|(label, _)| label).collect();
    for field in ["text", "caption", "title", "description"] {
        if let Some(text) = call.body[field].as_str() {
            texts.push(text.to_string());
        }
    }
    texts
}

fn cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// A message that says something in the language (not only names, prices and emoji).
fn speaks(call: &Call, lang: &str) -> bool {
    let Some(text) = call.body["text"].as_str() else {
        return true;
    };
    match lang {
        "ru" => cyrillic(text),
        _ => !cyrillic(text),
    }
}

#[tokio::test]
async fn every_customer_screen_renders_in_each_language_with_no_id_left() {
    let shop = Shop::open().await;
    thirty_products(&shop).await;
    shop.app
        .digital(100, &crate::common::codes("LANG", 6))
        .await;
    for (user, lang) in [(9101, "en"), (9102, "ru"), (9103, "de")] {
        // The user's Telegram app speaks `lang`: every update says so.
        shop.say(user, "/start").await;
        shop.app.credit(shop.user_of(user).await, 100_000).await;
        let db = shop.app.db().await;
        db.execute(
            "UPDATE users SET language = $2 WHERE telegram_id = $1",
            &[&user, &lang],
        )
        .await
        .unwrap();
        let all = std::sync::Mutex::new(String::new());
        let (presses, _) = crawl_checking(&shop, user, |call| {
            all.lock().unwrap().push_str(&shown(call).join("\n"));
            for text in shown(call) {
                assert!(
                    !text.contains("bot-") && !text.contains("{$") && !text.contains("{ $"),
                    "{lang}: a message id or placeholder is shown: {text:?}"
                );
            }
            assert!(speaks(call, lang), "{lang}: {:?}", call.body);
            for (label, data) in call.buttons() {
                assert!(data.len() <= 64, "{lang}: {label}: {data}");
            }
        })
        .await;
        assert!(presses > 40, "{lang}: only {presses} presses");
        let all = all.into_inner().unwrap();
        let words = match lang {
            "en" => ["Catalog", "Cart", "Wallet"],
            "ru" => ["Каталог", "Корзина", "Кошелёк"],
            _ => ["Katalog", "Warenkorb", "Guthaben"],
        };
        for word in words {
            assert!(all.contains(word), "{lang}: '{word}' never shown");
        }
    }
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn the_bot_follows_the_telegram_language_until_the_user_chooses_one() {
    let shop = Shop::open().await;
    let from_de = |text: &str| {
        json!({ "update_id": shop.update_id(), "message": {
            "message_id": shop.update_id(), "date": 0, "text": text,
            "chat": { "id": 9201, "type": "private" },
            "from": { "id": 9201, "is_bot": false, "first_name": "Hanna", "language_code": "de-AT" },
        }})
    };
    let before = shop.api.count();
    shop.post(&from_de("/start")).await;
    let said = texts(&shop.api.since(before));
    assert!(said.contains("Willkommen im Shop"), "{said}");

    let before = shop.api.count();
    shop.post(&from_de("/language")).await;
    let calls = shop.api.since(before);
    let (chooser, data) = find_button(&calls, "Русский");
    for name in ["English", "Deutsch"] {
        find_button(&calls, name);
    }
    let calls = shop.press(9201, &data, &chooser).await;
    let answered = answers(&calls)[0].body["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(answered.contains("по-русски"), "{answered}");
    assert!(
        texts(&calls).contains("Добро пожаловать"),
        "{}",
        texts(&calls)
    );
    // From now on Russian, though the app still says German.
    let before = shop.api.count();
    shop.post(&from_de("/help")).await;
    let said = texts(&shop.api.since(before));
    assert!(said.contains("Что я умею"), "{said}");
    let language = "SELECT count(*) FROM users WHERE telegram_id = 9201 AND language = 'ru'";
    assert_eq!(shop.app.scalar(language).await, 1);
}

#[tokio::test]
async fn a_notification_speaks_the_telegram_language_of_a_buyer_who_never_chose_one() {
    let shop = Shop::open().await;
    let shirt = shop.app.physical(900, 3).await;
    let hello = json!({ "update_id": shop.update_id(), "message": {
        "message_id": 1, "date": 0, "text": "/start", "chat": { "id": 9301, "type": "private" },
        "from": { "id": 9301, "is_bot": false, "first_name": "Olga", "language_code": "ru" },
    }});
    shop.post(&hello).await;
    let user = shop.user_of(9301).await;
    shop.app.credit(user, 5_000).await;
    let token = shop.app.token(user, "customer");
    shop.app.put_cart(&token, shirt, 1).await;
    let (_, order) = shop.app.checkout(&token, "ru-notice").await;
    let order = order["id"].as_i64().unwrap();
    let path = format!("/v1/admin/orders/{order}/transitions");
    let admin = shop.app.admin();
    for to in ["processing", "shipped"] {
        let body = json!({ "to": to });
        let (s, b) = shop
            .app
            .call(reqwest::Method::POST, &path, Some(&admin), None, Some(body))
            .await;
        assert_eq!(s.as_u16(), 200, "{b}");
    }
    shop.api
        .wait_for(
            "the shipping notice",
            std::time::Duration::from_secs(10),
            |calls| {
                calls.iter().any(|c| {
                    let text = c.text();
                    c.body["chat_id"] == 9301
                        && text.contains("в пути")
                        && text.contains(&order.to_string())
                })
            },
        )
        .await;
}

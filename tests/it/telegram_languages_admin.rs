//! The admin screens, a broadcast's report and a buyer's order news in Russian and German:
//! an admin reads the bot in their Telegram app's language (or the one they chose), and a
//! notification, sent outside any conversation, in the language its recipient chose.

use crate::fake_bot_api::Call;
use crate::telegram_harness::{find_button, texts, Shop, ADMIN};
use crate::telegram_notify::{move_to, paid_order};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const BUYER: i64 = 5_301;

/// Every text (messages and button answers) and button label of `calls`.
fn everything(calls: &[Call]) -> String {
    let labels = calls.iter().flat_map(Call::buttons).map(|(label, _)| label);
    let mut all = texts(calls);
    for label in labels {
        all.push('\n');
        all.push_str(&label);
    }
    all
}

fn assert_said_in_full(calls: &[Call]) {
    let all = everything(calls);
    assert!(!all.is_empty(), "nothing was said");
    for leak in ["bot-", "{$", "{ $"] {
        assert!(!all.contains(leak), "{leak:?} leaked into: {all}");
    }
}

/// A message from `from` whose Telegram app speaks `lang`.
async fn say_in(shop: &Shop, lang: &str, from: i64, text: &str) -> Vec<Call> {
    let mut update = shop.message(from, text);
    update["message"]["from"]["language_code"] = json!(lang);
    post(shop, &update).await
}

/// A press of the button labelled `label` by `from`, whose Telegram app speaks `lang`.
async fn press_in(shop: &Shop, lang: &str, from: i64, calls: &[Call], label: &str) -> Vec<Call> {
    let (on, data) = find_button(calls, label);
    let mut update = shop.press_update(from, &data, on.message_id, on.is_photo());
    update["callback_query"]["from"]["language_code"] = json!(lang);
    post(shop, &update).await
}

async fn post(shop: &Shop, update: &Value) -> Vec<Call> {
    let before = shop.api.count();
    assert_eq!(shop.post(update).await, StatusCode::OK);
    shop.api.since(before)
}

async fn choose_language(shop: &Shop, telegram_id: i64, lang: &str) {
    let db = shop.app.db().await;
    let chosen = db
        .execute(
            "UPDATE users SET language = $2 WHERE telegram_id = $1",
            &[&telegram_id, &lang],
        )
        .await
        .unwrap();
    assert_eq!(chosen, 1);
}

#[tokio::test]
async fn an_admin_works_the_admin_screens_in_russian_and_german() {
    let shop = Shop::open().await;
    let product = shop.app.physical(900, 2).await;

    let calls = say_in(&shop, "ru", ADMIN, "/admin").await;
    assert!(
        texts(&calls).contains("Администрирование. Режим обслуживания выключен."),
        "{}",
        texts(&calls)
    );
    assert_said_in_full(&calls);
    let calls = press_in(&shop, "ru", ADMIN, &calls, "Мало на складе").await;
    assert!(
        texts(&calls).contains("Товары, которых осталось не больше"),
        "{}",
        texts(&calls)
    );
    assert!(texts(&calls).contains(&format!("(#{product}): 2")));
    assert_said_in_full(&calls);

    let calls = say_in(&shop, "de", ADMIN, "/admin").await;
    assert!(
        texts(&calls).contains("Verwaltung. Der Wartungsmodus ist aus."),
        "{}",
        texts(&calls)
    );
    let calls = press_in(&shop, "de", ADMIN, &calls, "Bestand ändern").await;
    assert!(texts(&calls).contains("Wählen Sie ein physisches Produkt"));
    let calls = press_in(&shop, "de", ADMIN, &calls, "(noch 2)").await;
    assert!(texts(&calls).contains("2 auf Lager"), "{}", texts(&calls));
    let calls = press_in(&shop, "de", ADMIN, &calls, "-10").await;
    let alert = calls
        .iter()
        .find(|c| c.method == "answerCallbackQuery")
        .map(|c| c.body["text"].to_string())
        .unwrap_or_default();
    assert!(alert.contains("nicht unter null"), "{alert}");
    assert_said_in_full(&calls);
    let calls = press_in(&shop, "de", ADMIN, &calls, "+10").await;
    assert!(texts(&calls).contains("12 auf Lager"), "{}", texts(&calls));
    assert_said_in_full(&calls);
}

#[tokio::test]
async fn a_broadcast_is_asked_in_german_and_its_report_comes_in_the_language_the_admin_chose() {
    let shop = Shop::open().await;
    shop.say(31, "/start").await;
    let calls = say_in(&shop, "de", ADMIN, "/broadcast").await;
    assert!(
        texts(&calls).contains("höchstens 4096 Zeichen"),
        "{}",
        texts(&calls)
    );
    // The admin's own text is not translated; what the bot says around it is.
    let calls = say_in(&shop, "de", ADMIN, "Frühlingsrabatt!").await;
    assert_eq!(calls[0].text(), "Frühlingsrabatt!");
    assert!(texts(&calls).contains("Vorschau der Rundnachricht"));
    assert_said_in_full(&calls);
    choose_language(&shop, ADMIN, "ru").await;
    let calls = press_in(&shop, "de", ADMIN, &calls, "An 2 senden").await;
    assert!(
        texts(&calls).contains("отправляется 2 пользователям"),
        "the language chosen in the bot wins over the app's: {}",
        texts(&calls)
    );
    shop.api
        .wait_for("the report", Duration::from_secs(15), |c| {
            c.iter()
                .any(|c| c.body["chat_id"] == ADMIN && c.text().contains("завершена"))
        })
        .await;
    let calls = shop.api.calls();
    let report: Vec<Call> = calls
        .into_iter()
        .filter(|c| c.body["chat_id"] == ADMIN && c.text().contains("завершена"))
        .collect();
    assert!(
        report[0].text().contains("доставлено 2, не доставлено 0"),
        "{}",
        report[0].text()
    );
    assert_said_in_full(&report);
}

async fn notice(shop: &Shop, chat: i64, containing: &str) -> Call {
    shop.api
        .wait_for(containing, Duration::from_secs(10), |c| {
            c.iter()
                .any(|c| c.body["chat_id"] == chat && c.text().contains(containing))
        })
        .await;
    let calls = shop.api.calls();
    let found = calls
        .iter()
        .find(|c| c.body["chat_id"] == chat && c.text().contains(containing));
    found
        .cloned()
        .unwrap_or_else(|| panic!("no {containing:?}"))
}

#[tokio::test]
async fn a_buyer_hears_of_their_order_in_the_language_they_chose() {
    let shop = Shop::open().await;
    let order = paid_order(&shop, BUYER).await;
    choose_language(&shop, BUYER, "ru").await;
    move_to(&shop.app, order, "shipped", Some("трек AB123")).await;
    let shipped = notice(&shop, BUYER, "уже в пути").await;
    assert_eq!(
        shipped.text(),
        format!("📦 Заказ №{order} уже в пути (трек AB123).")
    );

    choose_language(&shop, BUYER, "de").await;
    move_to(&shop.app, order, "delivered", None).await;
    let delivered = notice(&shop, BUYER, "zugestellt").await;
    assert_eq!(
        delivered.text(),
        format!("✅ Bestellung #{order} wurde zugestellt.")
    );
    assert_said_in_full(&[shipped, delivered]);
}

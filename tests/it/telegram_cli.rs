//! `souk telegram set-webhook` and `souk telegram info` against the fake Bot API, and the
//! defaults an operator starts from (P25: no admin until one is configured).

use crate::fake_bot_api::FakeBotApi;
use crate::telegram_harness::{BOT_TOKEN, WEBHOOK_SECRET};
use secrecy::SecretString;
use souk::config::Settings;

fn settings(api: &FakeBotApi) -> Settings {
    let mut s = Settings::defaults().unwrap();
    s.telegram.bot_token = Some(SecretString::from(BOT_TOKEN.to_string()));
    s.telegram.webhook_secret = Some(SecretString::from(WEBHOOK_SECRET.to_string()));
    s.telegram.api_base = api.base.clone();
    s
}

#[tokio::test]
async fn set_webhook_registers_the_url_with_the_secret_and_the_update_kinds_used() {
    let api = FakeBotApi::start();
    let s = settings(&api);
    souk::telegram_cli::set_webhook(&s, "https://shop.example.com/v1/telegram/webhook")
        .await
        .unwrap();
    let call = api.of("setWebhook").pop().expect("setWebhook was called");
    assert_eq!(
        call.body["url"],
        "https://shop.example.com/v1/telegram/webhook"
    );
    assert_eq!(call.body["secret_token"], WEBHOOK_SECRET);
    assert_eq!(
        call.body["allowed_updates"],
        serde_json::json!([
            "message",
            "callback_query",
            "pre_checkout_query",
            "shipping_query"
        ])
    );
    let info = souk::telegram_cli::info(&s).await.unwrap();
    assert!(info.contains("pending_update_count"), "{info}");
    // Refused before anything is sent: plain http, or no secret to register.
    assert!(
        souk::telegram_cli::set_webhook(&s, "http://insecure.example.com")
            .await
            .is_err()
    );
    let mut no_secret = settings(&api);
    no_secret.telegram.webhook_secret = None;
    assert!(
        souk::telegram_cli::set_webhook(&no_secret, "https://a.example.com")
            .await
            .is_err()
    );
    assert_eq!(api.of("setWebhook").len(), 1);
}

#[tokio::test]
async fn set_menu_button_makes_the_menu_open_the_mini_app() {
    let api = FakeBotApi::start();
    let s = settings(&api);
    let said = souk::telegram_cli::set_menu_button(&s, "https://shop.example.com/app/", "Shop")
        .await
        .unwrap();
    assert!(said.contains("https://shop.example.com/app/"), "{said}");
    let call = api
        .of("setChatMenuButton")
        .pop()
        .expect("setChatMenuButton");
    assert_eq!(
        call.body["menu_button"],
        serde_json::json!({ "type": "web_app", "text": "Shop",
                            "web_app": { "url": "https://shop.example.com/app/" } })
    );
    // Refused before anything is sent: plain http, or no label.
    for (url, text) in [
        ("http://shop.example.com/app/", "Shop"),
        ("https://shop.example.com/app/", " "),
    ] {
        assert!(souk::telegram_cli::set_menu_button(&s, url, text)
            .await
            .is_err());
    }
    assert_eq!(api.of("setChatMenuButton").len(), 1);
}

#[test]
fn by_default_no_one_is_an_admin_and_a_bad_admin_list_is_refused() {
    let mut s = Settings::defaults().unwrap();
    assert_eq!(s.telegram.admin_ids().unwrap(), Vec::<i64>::new());
    s.telegram.admin_ids = " 12, 34 ".into();
    assert_eq!(s.telegram.admin_ids().unwrap(), vec![12, 34]);
    s.telegram.admin_ids = "12,abc".into();
    assert!(s.validate().is_err());
}

//! Set-up of the Mini App's browser tests: a shop to buy from, initData signed as Telegram
//! signs it, and the stand-in `Telegram.WebApp` a page finds instead of Telegram's script.

use crate::browser::Browser;
use crate::common::TestApp;
use crate::telegram_harness::{Shop, BOT_TOKEN};
use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Telegram's dark theme, so a screenshot shows the page following `themeParams`.
pub fn dark_theme() -> Value {
    json!({ "bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499",
            "link_color": "#6ab3f3", "button_color": "#5288c1", "button_text_color": "#ffffff",
            "secondary_bg_color": "#232e3c", "destructive_text_color": "#ec3942" })
}

/// `initData` as Telegram signs it for `telegram_id`, fresh now.
pub fn init_data(telegram_id: i64, first_name: &str, language: &str) -> String {
    let now = chrono::Utc::now().timestamp().to_string();
    let user = json!({ "id": telegram_id, "first_name": first_name, "language_code": language });
    let user = user.to_string();
    let pairs = [
        ("auth_date", now.as_str()),
        ("query_id", "AAHdF6IQ"),
        ("user", &user),
    ];
    souk_http::telegram::auth::sign(&pairs, BOT_TOKEN.as_bytes()).expect("signed initData")
}

/// The stand-in for telegram-web-app.js: what a page sees inside Telegram, plus a record of
/// every API call the page makes (`window.__calls`), so a test can count and replay them,
/// and `window.__expire`, which sends the next call with a token Souk refuses.
pub fn stand_in(init_data: &str, language: &str) -> String {
    let unsafe_data =
        json!({ "user": { "id": 1, "first_name": "Mia", "language_code": language } });
    format!(
        r#"(() => {{
  window.__calls = [];
  const send = window.fetch.bind(window);
  window.fetch = (url, init = {{}}) => {{
    if (window.__expire && init.headers && init.headers.Authorization) {{
      window.__expire = false;
      init = {{ ...init, headers: {{ ...init.headers, Authorization: 'Bearer expired' }} }};
    }}
    window.__calls.push({{ url: String(url), method: init.method || 'GET',
      headers: init.headers || {{}}, body: init.body || null }});
    return send(url, init);
  }};
  window.Telegram = {{ WebApp: {{
    initData: {init}, initDataUnsafe: {unsafe_data}, themeParams: {theme},
    colorScheme: 'dark', platform: 'souk-test', version: '8.0', invoices: [], isReady: false,
    ready() {{ this.isReady = true; }}, expand() {{}}, onEvent() {{}}, offEvent() {{}},
    openInvoice(url, callback) {{ this.invoices.push(url); callback('cancelled'); }},
    BackButton: {{ isVisible: false, show() {{ this.isVisible = true; }},
      hide() {{ this.isVisible = false; }}, onClick() {{}} }},
  }} }};
}})();"#,
        init = json!(init_data),
        theme = dark_theme(),
    )
}

pub struct Seeded {
    pub user: i64,
    pub token: String,
    pub product: i64,
    pub codes: Vec<String>,
}

/// Two categories; in "Games" ten products before the one bought (so it is on the second
/// page), which has a Deluxe sibling; a buyer known by Telegram id with 100.00 in the wallet.
pub async fn seed(app: &TestApp, telegram_id: i64) -> Seeded {
    let games = app.category("Games").await;
    app.category("Gift cards").await;
    for n in 1..=10 {
        let body = json!({ "category_id": games, "name": format!("Arcade Classic {n:02}"),
                           "kind": "digital", "price_minor": 499 + n });
        app.create_product(body).await;
    }
    let edition = |name: &str, edition: &str, price: i64| {
        json!({ "category_id": games, "name": name, "kind": "digital", "price_minor": price,
                "price_stars": price / 40, "group_id": 42, "options": { "edition": edition },
                "description": "A space trading game. The key activates on Steam." })
    };
    let product = app
        .create_product(edition("Star Quest", "Standard", 1_999))
        .await["id"]
        .as_i64()
        .expect("id");
    let deluxe = app
        .create_product(edition("Star Quest Deluxe", "Deluxe", 2_999))
        .await["id"]
        .as_i64()
        .expect("id");
    let codes = crate::common::codes("SQ-7F3K", 3);
    app.add_stock(product, json!({ "codes": codes })).await;
    app.add_stock(deluxe, json!({ "codes": ["SQD-0001"] }))
        .await;
    app.create_promo(json!({ "code": "WELCOME", "kind": "percent", "value": 10 }))
        .await;
    let (s, user) = app
        .call(
            Method::POST,
            "/v1/admin/users",
            Some(&app.admin()),
            None,
            Some(json!({ "display_name": "Mia", "telegram_id": telegram_id })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let user = user["id"].as_i64().expect("user id");
    app.credit(user, 10_000).await;
    Seeded {
        user,
        token: app.token(user, "customer"),
        product,
        codes,
    }
}

pub async fn open(shop: &Shop, stand_in: &str, at: &str) -> Browser {
    let browser = Browser::start(stand_in).await;
    browser.goto(&format!("{}/app/{at}", shop.app.base)).await;
    browser
}

pub async fn signed_in(browser: &Browser) {
    browser
        .until(
            "the signed-in first page",
            "document.documentElement.dataset.ready === '1'",
        )
        .await;
}

/// The checkouts the page sent, as it sent them.
pub async fn checkouts(browser: &Browser) -> Vec<Value> {
    let calls = browser.js("return window.__calls;", vec![]).await;
    let calls = calls.as_array().cloned().unwrap_or_default();
    calls
        .into_iter()
        .filter(|c| c["method"] == "POST" && c["url"].as_str() == Some("/v1/me/checkout"))
        .collect()
}

pub async fn type_into(browser: &Browser, css: &str, text: &str) {
    let input = browser
        .client
        .find(Locator::Css(css))
        .await
        .expect("the field");
    input.clear().await.expect("cleared");
    input.send_keys(text).await.expect("typed");
}

//! The Mini App at `/app/` in a real headless Chromium, against a real Souk and Postgres: a
//! stand-in `Telegram.WebApp` (injected before the page's scripts) carries initData signed
//! with the bot's token, as Telegram's client would. Screenshots land in `target/mini-app/`.

use crate::mini_app_harness::{checkouts, init_data, open, seed, signed_in, stand_in, type_into};
use crate::telegram_harness::Shop;
use fantoccini::actions::InputSource;
use fantoccini::actions::{MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_telegram_buyer_signs_in_browses_pays_from_the_wallet_and_sees_the_key() {
    let shop = Shop::open().await;
    let seeded = seed(&shop.app, 6001).await;
    let browser = open(&shop, &stand_in(&init_data(6001, "Mia", "en"), "en"), "").await;
    signed_in(&browser).await;
    let ready = browser.js("return Telegram.WebApp.isReady;", vec![]).await;
    assert_eq!(ready, json!(true), "the page tells Telegram it is ready");
    let background = browser
        .js(
            "return getComputedStyle(document.body).backgroundColor;",
            vec![],
        )
        .await;
    assert_eq!(
        background, "rgb(23, 33, 43)",
        "the page follows themeParams"
    );
    browser.screenshot("home.png").await;

    browser.click_text("#categories", "Games").await;
    let shown = "document.querySelector('#view').dataset.route";
    browser
        .until("the category", &format!("{shown}?.startsWith('#/c/')"))
        .await;
    let cards = "document.querySelectorAll('#products .card').length";
    browser
        .until("the first page", &format!("{cards} === 10"))
        .await;
    browser.click_text("#products", "More").await;
    browser
        .until("the second page", &format!("{cards} === 12"))
        .await;
    browser.click_text("#products", "Star Quest").await;
    browser
        .until(
            "the product page",
            "document.querySelector('#product-name')",
        )
        .await;
    let page = browser.text("main").await;
    for shown in [
        "Star Quest",
        "$19.99",
        "3 in stock",
        "49 ★",
        "Also available",
        "Deluxe",
    ] {
        assert!(page.contains(shown), "'{shown}' is not on {page:?}");
    }
    browser.screenshot("product.png").await;

    // The page's token ran out: it signs in again with initData and adds the line anyway.
    browser.js("window.__expire = true;", vec![]).await;
    browser.click("#add").await;
    browser
        .until(
            "the line in the cart",
            "document.querySelector('[data-tab=cart]').innerText === 'Cart (1)'",
        )
        .await;
    let sign_ins = "window.__calls.filter((c) => c.url === '/v1/auth/telegram').length";
    assert_eq!(browser.js(&format!("return {sign_ins};"), vec![]).await, 2);
    browser.click("[data-tab=cart]").await;
    browser
        .until("the cart", "document.querySelector('#pay-wallet')")
        .await;
    let (_, refused) = shop.app.apply_promo(&seeded.token, "GHOST").await;
    let message = refused["error"]["message"].as_str().expect("a message");
    type_into(&browser, "#promo", "GHOST").await;
    browser.click(".promo button").await;
    browser
        .until("the refusal", "document.querySelector('#notice').innerText")
        .await;
    assert_eq!(browser.text("#notice").await, message);
    type_into(&browser, "#promo", "WELCOME").await;
    browser.click(".promo button").await;
    browser
        .until(
            "the code on the cart",
            "document.querySelector('main').innerText.includes('Promo WELCOME applied')",
        )
        .await;
    browser.screenshot("cart.png").await;

    browser.click("#pay-wallet").await;
    let key = browser
        .until(
            "the delivered key",
            "document.querySelector('.key')?.innerText",
        )
        .await;
    assert!(
        seeded
            .codes
            .contains(&key.as_str().unwrap_or_default().to_string()),
        "{key}"
    );
    browser.screenshot("order.png").await;

    let orders = format!(
        "SELECT count(*) FROM orders WHERE user_id = {}",
        seeded.user
    );
    assert_eq!(shop.app.scalar(&orders).await, 1);
    let (_, list) = shop.app.get("/v1/me/orders", Some(&seeded.token)).await;
    let order = &list["items"][0];
    assert_eq!(order["promo_code"], "WELCOME");
    assert_eq!(order["lines"][0]["delivered_items"][0], key);
    let total = order["total_minor"].as_i64().expect("a total");
    assert!(total < 1_999, "the code took its share: {order}");
    let (_, wallet) = shop.app.get("/v1/me/wallet", Some(&seeded.token)).await;
    assert_eq!(wallet["balance_minor"], 10_000 - total);
    browser.click("[data-tab=orders]").await;
    browser
        .until(
            "the orders list",
            "document.querySelector('#orders .card')?.innerText",
        )
        .await;
    browser.close().await;
    shop.app.assert_invariants().await;
}

/// The tabs' labels, in order.
const TABS: &str = "return [...document.querySelectorAll('#tabs a')].map((a) => a.textContent);";

#[tokio::test]
async fn a_russian_buyer_sees_the_page_in_russian_and_the_apis_refusals_too() {
    let shop = Shop::open().await;
    let seeded = seed(&shop.app, 6201).await;
    let browser = open(&shop, &stand_in(&init_data(6201, "Мия", "ru"), "ru"), "").await;
    signed_in(&browser).await;
    let lang = browser
        .js("return document.documentElement.lang;", vec![])
        .await;
    assert_eq!(lang, "ru", "<html lang> follows the user's language");
    assert_eq!(
        browser.js(TABS, vec![]).await,
        json!(["Магазин", "Корзина", "Заказы"])
    );
    let home = browser.text("main").await;
    for shown in [
        "Категории",
        "Все товары",
        "Games",
        "Нет в наличии",
        "5,00",
        "Ещё",
    ] {
        assert!(home.contains(shown), "'{shown}' is not on {home:?}");
    }

    browser
        .goto(&format!("{}/app/#/p/{}", shop.app.base, seeded.product))
        .await;
    signed_in(&browser).await;
    browser
        .until("the product page", "document.querySelector('#add')")
        .await;
    let page = browser.text("main").await;
    // Russian plurals and Russian money: 3 штуки, "19,99 $".
    for shown in [
        "Star Quest",
        "19,99",
        "В наличии 3 штуки",
        "Другие варианты",
    ] {
        assert!(page.contains(shown), "'{shown}' is not on {page:?}");
    }
    assert_eq!(browser.text("#add").await, "В корзину");
    browser.click("#add").await;
    browser
        .until(
            "the line in the cart",
            "document.querySelector('[data-tab=cart]').innerText === 'Корзина (1)'",
        )
        .await;
    assert_eq!(browser.text("#notice").await, "Добавлено в корзину.");
    browser.click("[data-tab=cart]").await;
    browser
        .until("the cart", "document.querySelector('#pay-wallet')")
        .await;
    assert_eq!(browser.text("main h2").await, "Корзина");
    assert_eq!(browser.text("#pay-wallet").await, "Оплатить из кошелька");
    assert_eq!(browser.text(".promo button").await, "Применить");
    assert_eq!(browser.text("#pay-stars").await, "Оплатить 49 звёздами");
    let cart = browser.text("main").await;
    for shown in ["Сумма", "Итого", "В кошельке: 100,00"] {
        assert!(cart.contains(shown), "'{shown}' is not on {cart:?}");
    }

    // A refusal is the API's own message in the user's language.
    let refusal = |lang: &'static str| {
        let req = shop
            .app
            .http
            .post(format!("{}/v1/me/cart/promo", shop.app.base))
            .bearer_auth(&seeded.token)
            .header("accept-language", lang)
            .json(&json!({ "code": "GHOST" }));
        async move {
            let res = req.send().await.expect("request");
            let body: serde_json::Value = res.json().await.expect("an envelope");
            body["error"]["message"]
                .as_str()
                .expect("a message")
                .to_string()
        }
    };
    let (russian, english) = (refusal("ru").await, refusal("en").await);
    assert_ne!(russian, english, "the API answers in Russian");
    type_into(&browser, "#promo", "GHOST").await;
    browser.click(".promo button").await;
    browser
        .until("the refusal", "document.querySelector('#notice').innerText")
        .await;
    assert_eq!(browser.text("#notice").await, russian);
    browser.screenshot("cart-ru.png").await;
    browser.close().await;
}

#[tokio::test]
async fn a_crafted_init_data_is_refused_and_the_page_says_so() {
    let shop = Shop::open().await;
    // Signed for Mia, then claimed for someone else: the signature no longer holds.
    let crafted = init_data(6002, "Mia", "en").replace("%22id%22%3A6002", "%22id%22%3A6003");
    assert!(crafted.contains("6003"), "{crafted}");
    let (s, refused) = shop
        .app
        .call(
            Method::POST,
            "/v1/auth/telegram",
            None,
            None,
            Some(json!({ "init_data": crafted })),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{refused}");
    let browser = open(&shop, &stand_in(&crafted, "en"), "").await;
    browser
        .until(
            "the refusal",
            "document.documentElement.dataset.ready === 'refused'",
        )
        .await;
    assert_eq!(
        browser.text("#notice").await,
        refused["error"]["message"].as_str().expect("a message")
    );
    assert_eq!(browser.text("main h2").await, "Sign-in failed.");
    browser.close().await;
    let users = "SELECT count(*) FROM users WHERE telegram_id IN (6002, 6003)";
    assert_eq!(shop.app.scalar(users).await, 0, "nobody was signed in");
}

#[tokio::test]
async fn a_double_tapped_checkout_makes_one_order_and_a_retry_with_its_key_replays_it() {
    let shop = Shop::open().await;
    let seeded = seed(&shop.app, 6004).await;
    let (s, cart) = shop.app.put_cart(&seeded.token, seeded.product, 1).await;
    assert_eq!(s, StatusCode::OK, "{cart}");
    let browser = open(
        &shop,
        &stand_in(&init_data(6004, "Mia", "de"), "de"),
        "#/cart",
    )
    .await;
    browser
        .until("the cart", "document.querySelector('#pay-wallet')")
        .await;
    // The page speaks German: <html lang>, tabs, headings, buttons and money.
    let lang = browser
        .js("return document.documentElement.lang;", vec![])
        .await;
    assert_eq!(lang, "de");
    let tabs = browser.js(TABS, vec![]).await;
    assert_eq!(tabs, json!(["Shop", "Warenkorb (1)", "Bestellungen"]));
    assert_eq!(browser.text("main h2").await, "Warenkorb");
    assert_eq!(browser.text("#pay-wallet").await, "Mit Guthaben bezahlen");
    assert_eq!(browser.text(".promo button").await, "Einlösen");
    let cart = browser.text("main").await;
    for shown in ["Zwischensumme", "Gesamt", "19,99"] {
        assert!(cart.contains(shown), "'{shown}' is not on {cart:?}");
    }

    // Two taps as fast as input goes: press, release, press, release, no pause.
    let button = browser
        .client
        .find(Locator::Css("#pay-wallet"))
        .await
        .expect("the pay button");
    let tap = PointerAction::Down {
        button: MOUSE_BUTTON_LEFT,
    };
    let lift = PointerAction::Up {
        button: MOUSE_BUTTON_LEFT,
    };
    let taps = MouseActions::new("finger".into())
        .then(PointerAction::MoveToElement {
            element: button,
            duration: None,
            x: 0,
            y: 0,
        })
        .then(tap.clone())
        .then(lift.clone())
        .then(tap)
        .then(lift);
    browser
        .client
        .perform_actions(taps)
        .await
        .expect("two taps");
    browser
        .until(
            "the delivered key",
            "document.querySelector('.key')?.innerText",
        )
        .await;
    assert!(browser
        .text("#order-title")
        .await
        .starts_with("Bestellung #"));
    assert_eq!(browser.text("#order-status").await, "bezahlt");
    assert_eq!(browser.text(".keys h3").await, "Ihre Schlüssel");

    let sent = checkouts(&browser).await;
    assert_eq!(sent.len(), 1, "one request for two taps: {sent:?}");
    let key = sent[0]["headers"]["Idempotency-Key"]
        .as_str()
        .expect("a key");
    assert_eq!(
        sent[0]["headers"]["Accept-Language"], "de",
        "the user's language"
    );
    let body = sent[0]["body"].as_str().expect("a body");
    let orders = format!(
        "SELECT count(*) FROM orders WHERE user_id = {}",
        seeded.user
    );
    assert_eq!(shop.app.scalar(&orders).await, 1);
    let order_id: i64 = browser
        .js("return Number(location.hash.split('/').pop());", vec![])
        .await
        .as_i64()
        .expect("the order page");

    // The page's request, sent again as a client whose answer was lost would send it.
    let path = "/v1/me/checkout";
    let (s, replay) = shop
        .app
        .raw(Method::POST, path, Some(&seeded.token), Some(key), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{replay}");
    assert_eq!(replay["id"], order_id, "the same order, replayed");
    assert_eq!(shop.app.scalar(&orders).await, 1);
    let delivered = format!("SELECT count(*) FROM digital_items WHERE order_id = {order_id}");
    assert_eq!(shop.app.scalar(&delivered).await, 1);
    let (_, wallet) = shop.app.get("/v1/me/wallet", Some(&seeded.token)).await;
    assert_eq!(wallet["balance_minor"], 10_000 - 1_999, "charged once");
    browser.close().await;
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn outside_telegram_a_pasted_token_signs_in_and_a_bad_one_is_refused() {
    let shop = Shop::open().await;
    let games = shop.app.category("Games").await;
    let body =
        json!({ "category_id": games, "name": "Solo", "kind": "digital", "price_minor": 100 });
    shop.app.create_product(body).await;
    let token = shop.app.customer(9001, 0).await;
    let (_, refused) = shop.app.get("/v1/me/wallet", Some("not-a-token")).await;

    // No Telegram at all: nothing is injected before the page's scripts.
    let browser = open(&shop, "", "").await;
    browser
        .until("the token form", "document.querySelector('#token')")
        .await;
    type_into(&browser, "#token", "not-a-token").await;
    browser.click("form button").await;
    browser
        .until("the refusal", "document.querySelector('#notice').innerText")
        .await;
    assert_eq!(
        browser.text("#notice").await,
        refused["error"]["message"].as_str().expect("a message")
    );
    type_into(&browser, "#token", &token).await;
    browser.click("form button").await;
    signed_in(&browser).await;
    assert!(browser.text("#products").await.contains("Solo"));
    // The token lasts the tab's session: a reload signs in without asking again.
    browser.client.refresh().await.expect("reload");
    signed_in(&browser).await;
    assert!(browser.text("main").await.contains("Solo"));
    browser.close().await;
}

#[tokio::test]
async fn a_buyer_pays_in_stars_through_telegrams_invoice_and_sees_the_key() {
    let shop = Shop::open_with(|s| s.telegram.stars = true).await;
    let seeded = seed(&shop.app, 6101).await;
    // Telegram's invoice sheet stays open until the test has paid through the bot.
    let stand_in = stand_in(&init_data(6101, "Mia", "en"), "en").replace(
        "callback('cancelled');",
        "window.__invoiceClosed = callback;",
    );
    let browser = open(&shop, &stand_in, &format!("#/p/{}", seeded.product)).await;
    signed_in(&browser).await;
    browser
        .until("the product page", "document.querySelector('#add')")
        .await;
    browser.click("#add").await;
    browser
        .until(
            "the line in the cart",
            "document.querySelector('[data-tab=cart]').innerText === 'Cart (1)'",
        )
        .await;
    browser.click("[data-tab=cart]").await;
    browser
        .until("the Stars button", "document.querySelector('#pay-stars')")
        .await;
    assert!(browser.text("#pay-stars").await.contains("49"));
    browser.click("#pay-stars").await;
    let link = browser
        .until("the invoice", "Telegram.WebApp.invoices[0]")
        .await;
    assert!(
        link.as_str()
            .unwrap_or_default()
            .starts_with("https://t.me/"),
        "{link}"
    );

    // Telegram tells the bot, which pays the order; then the sheet closes as paid.
    let (_, orders) = shop.app.get("/v1/me/orders", Some(&seeded.token)).await;
    let order = &orders["items"][0];
    assert_eq!(order["payment"], "stars", "{order}");
    assert_eq!(order["total_stars"], 49, "{order}");
    let payload = format!("order:{}", order["id"]);
    let from = json!({ "id": 6101, "first_name": "Mia" });
    let query = json!({ "update_id": shop.update_id(), "pre_checkout_query": {
        "id": "pcq-mini", "from": from, "currency": "XTR", "total_amount": 49,
        "invoice_payload": payload } });
    assert_eq!(shop.post(&query).await, StatusCode::OK);
    let approved = shop.api.of("answerPreCheckoutQuery");
    assert_eq!(approved[0].body["ok"], true, "{:?}", approved[0].body);
    let paid = json!({ "update_id": shop.update_id(), "message": { "message_id": 5,
        "from": from, "chat": { "id": 6101 }, "successful_payment": { "currency": "XTR",
        "total_amount": 49, "invoice_payload": payload, "telegram_payment_charge_id": "stxMini1",
        "provider_payment_charge_id": "" } } });
    assert_eq!(shop.post(&paid).await, StatusCode::OK);
    browser.js("window.__invoiceClosed('paid');", vec![]).await;
    let key = browser
        .until(
            "the delivered key",
            "document.querySelector('.key')?.innerText",
        )
        .await;
    assert!(
        seeded
            .codes
            .contains(&key.as_str().unwrap_or_default().to_string()),
        "{key}"
    );
    assert_eq!(browser.text("#order-stars").await, "49 ★");
    browser.screenshot("stars-order.png").await;
    browser.close().await;
    shop.app.assert_invariants().await;
}

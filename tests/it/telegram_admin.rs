//! Admins in the bot (P19, P25): codes, stock, low stock, and refusals for everyone else.

use crate::common::codes;
use crate::telegram_harness::*;
use serde_json::json;
use souk_actors::domain::ids::ProductId;
use souk_http::telegram::callback::Action;

#[tokio::test]
async fn an_admin_adds_codes_and_each_rejected_line_is_named_with_its_reason() {
    let shop = Shop::open().await;
    let product = shop.app.digital(300, &codes("OLD", 1)).await;
    let calls = shop.say(ADMIN, "/admin").await;
    let (menu, data) = find_button(&calls, "Add codes");
    let calls = shop.press(ADMIN, &data, &menu).await;
    let (list, data) = find_button(&calls, "Game key");
    let calls = shop.press(ADMIN, &data, &list).await;
    assert!(texts(&calls).contains("one per line"), "{}", texts(&calls));
    // The step is kept by the user's actor and written through, so it survives a restart.
    let step = format!(
        "SELECT count(*) FROM telegram_sessions WHERE step->>'kind' = 'await_codes' AND step->>'product' = '{product}'"
    );
    assert_eq!(shop.app.scalar(&step).await, 1);
    // Another Souk process on the same database (fresh actors) picks the dialogue up; from
    // here on the updates go to it, as they would after a restart.
    let restarted = restarted(&shop).await;
    let reply = post_to(
        &shop,
        restarted.port,
        "NEW-0001\nNEW-0001\nx\nOLD-00000\n\nNEW-0002\n",
    )
    .await;
    assert!(reply.contains("Added 2 code(s)"), "{reply}");
    assert!(reply.contains("3 available now"), "{reply}");
    assert!(reply.contains("line 2: duplicate"), "{reply}");
    assert!(reply.contains("line 3: invalid"), "{reply}");
    assert!(reply.contains("line 4: duplicate"), "{reply}");
    // The dialogue is over: more text is not taken as codes.
    assert!(post_to(&shop, restarted.port, "NEW-0003")
        .await
        .contains("didn't understand"));
    assert_eq!(
        shop.app.scalar("SELECT count(*) FROM digital_items").await,
        3
    );
}

#[tokio::test]
async fn a_non_admin_is_refused_at_every_admin_step_and_their_state_is_cleared() {
    let shop = Shop::open().await;
    let product = shop.app.digital(300, &[]).await;
    let calls = shop.say(3001, "/admin").await;
    assert!(texts(&calls).contains("Not allowed"));
    // A forwarded admin button.
    let calls = shop.say(3001, "/start").await;
    let (menu, _) = find_button(&calls, "Catalog");
    let forged = Action::AdminCodes {
        id: ProductId::new(product).unwrap(),
    }
    .encode();
    let calls = shop.press(3001, &forged, &menu).await;
    assert_eq!(answers(&calls).len(), 1);
    assert_eq!(answers(&calls)[0].body["text"], "Not allowed.");
    // A dialogue left from when this user was trusted (or written by anyone else).
    let db = shop.app.db().await;
    db.execute("INSERT INTO users (telegram_id) VALUES (3002)", &[])
        .await
        .unwrap();
    db.execute(
        "INSERT INTO telegram_sessions (user_id, step) SELECT id, $1 FROM users WHERE telegram_id = 3002",
        &[&json!({ "kind": "await_codes", "product": product })],
    ).await.unwrap();
    let calls = shop.say(3002, "STOLEN-1").await;
    assert!(texts(&calls).contains("Not allowed"));
    let cleared = "SELECT count(*) FROM telegram_sessions s JOIN users u ON u.id = s.user_id
                   WHERE u.telegram_id = 3002 AND s.step IS NULL";
    assert_eq!(shop.app.scalar(cleared).await, 1);
    assert_eq!(
        shop.app.scalar("SELECT count(*) FROM digital_items").await,
        0
    );
}

/// A second Souk on the shop's database, as after a restart: no actor has any state yet.
async fn restarted(shop: &Shop) -> souk::startup::Background {
    let mut settings = crate::common::test_settings(&shop.app.db_url);
    settings.telegram.bot_token = Some(secrecy::SecretString::from(BOT_TOKEN.to_string()));
    settings.telegram.webhook_secret =
        Some(secrecy::SecretString::from(WEBHOOK_SECRET.to_string()));
    settings.telegram.api_base = shop.api.base.clone();
    settings.telegram.admin_ids = ADMIN.to_string();
    let dir = std::env::temp_dir().join(format!("souk-test-{}", std::process::id()));
    souk::startup::Background::start(settings, dir)
        .await
        .expect("second process starts")
}

/// Posts a message to the Souk listening on `port`; returns what the bot said.
async fn post_to(shop: &Shop, port: u16, text: &str) -> String {
    let url = format!("http://127.0.0.1:{port}/v1/telegram/webhook");
    let before = shop.api.count();
    let res = shop
        .app
        .http
        .post(url)
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .json(&shop.message(ADMIN, text))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    texts(&shop.api.since(before))
}

#[tokio::test]
async fn an_admin_adjusts_physical_stock_never_below_zero_and_sees_the_low_stock_list() {
    let shop = Shop::open().await;
    let id = shop.app.physical(100, 3).await;
    shop.app.digital(100, &codes("PLENTY", 8)).await;
    let calls = shop.say(ADMIN, "/admin").await;
    let (menu, data) = find_button(&calls, "Low stock");
    let calls = shop.press(ADMIN, &data, &menu).await;
    assert!(
        texts(&calls).contains(&format!("Shirt (#{id}): 3")),
        "{}",
        texts(&calls)
    );
    assert!(!texts(&calls).contains("Game key"), "8 codes are not low");
    let (_, data) = find_button(&calls, "Admin");
    let calls = shop.press(ADMIN, &data, &menu).await;
    let (menu, data) = find_button(&calls, "Adjust stock");
    let calls = shop.press(ADMIN, &data, &menu).await;
    let (list, data) = find_button(&calls, "Shirt");
    let calls = shop.press(ADMIN, &data, &list).await;
    let (card, plus_ten) = find_button(&calls, "+10");
    let calls = shop.press(ADMIN, &plus_ten, &card).await;
    assert!(texts(&calls).contains("13 in stock"), "{}", texts(&calls));
    let (card, minus_ten) = find_button(&calls, "-10");
    shop.press(ADMIN, &minus_ten, &card).await;
    let calls = shop.press(ADMIN, &minus_ten, &card).await;
    assert_eq!(
        answers(&calls)[0].body["text"],
        "Stock cannot go below zero."
    );
    assert!(texts(&calls).contains("3 in stock"), "{}", texts(&calls));
    let on_hand = format!("SELECT stock_on_hand FROM products WHERE id = {id}");
    assert_eq!(shop.app.scalar(&on_hand).await, 3);
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'stock.change' AND actor LIKE 'user:%:admin'";
    assert!(shop.app.scalar(audited).await >= 2);
    shop.app.assert_invariants().await;
}

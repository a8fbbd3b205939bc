//! Attacks on the running shop through the bot's doors: forged top-up payments, crafted
//! admin buttons, and a token that tried to push the user ids past what tokens carry.

use crate::common::SECRET;
use crate::fake_bot_api::Call;
use crate::telegram_harness::*;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use souk_actors::domain::ids::{ProductId, UserId};
use souk_http::telegram::callback::Action;
use souk_http::telegram::invoice::{Invoice, InvoiceKey};

/// Asks the bot for a top-up invoice as `user` and returns its payload.
async fn invoice(shop: &Shop, user: i64, button: &str) -> String {
    let calls = shop.say(user, "/wallet").await;
    let (wallet, data) = find_button(&calls, button);
    let calls = shop.press(user, &data, &wallet).await;
    let sent = calls
        .iter()
        .find(|c| c.method == "sendInvoice")
        .expect("an invoice");
    sent.body["payload"].as_str().expect("payload").to_string()
}

/// A payload Souk issued to `user` for `amount` two hours ago (the TTL is one).
fn stale_payload(user: i64, amount: i64) -> String {
    let key = InvoiceKey::derive(&SecretString::from(SECRET.to_string())).unwrap();
    let invoice = Invoice {
        user: UserId::new(user).unwrap(),
        amount,
        currency: "USD".into(),
        credit_minor: amount,
        issued: chrono::Utc::now().timestamp() - 7_200,
    };
    invoice.payload(&key)
}

async fn post_collect(shop: &Shop, update: &Value) -> Vec<Call> {
    let before = shop.api.count();
    shop.post(update).await;
    shop.api.since(before)
}

fn pre_checkout(shop: &Shop, from: i64, currency: &str, amount: i64, payload: &str) -> Value {
    json!({ "update_id": shop.update_id(), "pre_checkout_query": {
        "id": format!("pcq-{}", shop.update_id()), "from": { "id": from, "first_name": "P" },
        "currency": currency, "total_amount": amount, "invoice_payload": payload,
    }})
}

fn paid(shop: &Shop, from: i64, charge: &str, currency: &str, amount: i64, payload: &str) -> Value {
    json!({ "update_id": shop.update_id(), "message": {
        "message_id": shop.update_id(), "from": { "id": from, "first_name": "P" },
        "chat": { "id": from },
        "successful_payment": { "currency": currency, "total_amount": amount,
            "invoice_payload": payload, "telegram_payment_charge_id": charge,
            "provider_payment_charge_id": format!("p-{charge}") },
    }})
}

#[tokio::test]
async fn a_forged_stale_or_foreign_top_up_credits_nothing_and_a_genuine_one_is_credited_once() {
    let shop = Shop::open().await;
    let mine = invoice(&shop, 2101, "+5.00 USD").await;
    let theirs = invoice(&shop, 2102, "+10.00 USD").await;
    let stale = stale_payload(shop.user_of(2101).await, 500);
    let tampered = mine.replacen(":500:", ":50000:", 1);
    assert_ne!(tampered, mine);
    let forgeries = [
        ("forged-amount", "USD", 50_000, &mine),
        ("tampered-payload", "USD", 50_000, &tampered),
        ("wrong-currency", "EUR", 500, &mine),
        ("stale-invoice", "USD", 500, &stale),
        ("another-users-invoice", "USD", 1_000, &theirs),
    ];
    for (charge, currency, amount, payload) in forgeries {
        let calls =
            post_collect(&shop, &pre_checkout(&shop, 2101, currency, amount, payload)).await;
        let answer = &calls[0].body;
        assert_eq!(calls[0].method, "answerPreCheckoutQuery");
        assert_eq!(answer["ok"], false, "{charge}: {answer}");
        assert!(answer["error_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        let calls =
            post_collect(&shop, &paid(&shop, 2101, charge, currency, amount, payload)).await;
        let said = texts(&calls);
        assert!(said.contains("Nothing was added"), "{charge}: {said}");
        assert!(
            said.contains(charge),
            "{charge}: the buyer gets an id to quote: {said}"
        );
    }
    assert_eq!(shop.balance(2101).await, 0);
    let credits = "SELECT count(*) FROM wallet_transactions WHERE kind = 'credit'";
    assert_eq!(shop.app.scalar(credits).await, 0);
    let rejected = "SELECT count(*) FROM payment_events WHERE outcome = 'rejected'
                    AND event_id LIKE 'telegram:%' AND reason IS NOT NULL";
    assert_eq!(shop.app.scalar(rejected).await, 5);
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'payment.event'";
    assert_eq!(shop.app.scalar(audited).await, 5);

    // The genuine payment is approved, credited, and credited once however often it comes.
    let calls = post_collect(&shop, &pre_checkout(&shop, 2101, "USD", 500, &mine)).await;
    assert_eq!(calls[0].body["ok"], true, "{:?}", calls[0].body);
    let calls = post_collect(&shop, &paid(&shop, 2101, "tg-good", "USD", 500, &mine)).await;
    assert!(
        texts(&calls).contains("Balance: 5.00 USD"),
        "{}",
        texts(&calls)
    );
    let calls = post_collect(&shop, &paid(&shop, 2101, "tg-good", "USD", 500, &mine)).await;
    assert!(texts(&calls).contains("already added"), "{}", texts(&calls));
    assert_eq!(shop.balance(2101).await, 500);
    assert_eq!(shop.app.scalar(credits).await, 1);
    let m = shop.app.metrics().await;
    assert_eq!(
        sample(&m, "souk_telegram_payments_total{outcome=\"rejected\"}"),
        5,
        "{m}"
    );
    assert_eq!(
        sample(&m, "souk_telegram_payments_total{outcome=\"credited\"}"),
        1,
        "{m}"
    );
    assert_eq!(
        sample(&m, "souk_telegram_payments_total{outcome=\"duplicate\"}"),
        1,
        "{m}"
    );
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn an_invoice_past_its_ttl_is_refused_at_pre_checkout() {
    let shop = Shop::open_with(|s| s.telegram.invoice_ttl_secs = 1).await;
    let payload = invoice(&shop, 2201, "+5.00 USD").await;
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let calls = post_collect(&shop, &pre_checkout(&shop, 2201, "USD", 500, &payload)).await;
    assert_eq!(calls[0].body["ok"], false, "{:?}", calls[0].body);
    assert!(calls[0].body["error_message"]
        .as_str()
        .is_some_and(|m| m.contains("expired")));
}

#[tokio::test]
async fn the_bots_stock_button_is_held_to_the_same_bound_as_the_http_api() {
    let shop = Shop::open().await;
    let id = shop.app.physical(100, 3).await;
    let calls = shop.say(ADMIN, "/admin").await;
    let (menu, data) = find_button(&calls, "Adjust stock");
    let calls = shop.press(ADMIN, &data, &menu).await;
    let (list, data) = find_button(&calls, "Shirt");
    let calls = shop.press(ADMIN, &data, &list).await;
    let (card, _) = find_button(&calls, "+10");
    let product = ProductId::new(id).unwrap();
    let crafted = |delta: i64| Action::AdminAdjust { id: product, delta }.encode();
    let on_hand = format!("SELECT stock_on_hand FROM products WHERE id = {id}");
    let huge = [
        1_000_000_000_000,
        1_000_001,
        -1_000_001,
        -1_000_000_000_000,
        i64::MAX,
        i64::MIN,
    ];
    for delta in huge {
        // A crafted button pressed again and again is refused every time.
        for _ in 0..2 {
            let calls = shop.press(ADMIN, &crafted(delta), &card).await;
            let alert = &answers(&calls)[0].body;
            assert_eq!(alert["show_alert"], true, "{delta}: {alert}");
            let text = alert["text"].as_str().unwrap_or("");
            assert!(text.contains("at most ±1000000"), "{delta}: {alert}");
        }
    }
    assert_eq!(shop.app.scalar(&on_hand).await, 3);
    // At the bound both doors accept, and one past it both refuse in the same words.
    let calls = shop.press(ADMIN, &crafted(1_000_000), &card).await;
    assert_eq!(answers(&calls)[0].body["text"], "Stock +1000000");
    assert_eq!(shop.app.scalar(&on_hand).await, 1_000_003);
    let key = uuid::Uuid::new_v4().to_string();
    let (s, body) = shop
        .app
        .call(
            Method::POST,
            &format!("/v1/admin/products/{id}/stock"),
            Some(&shop.app.admin()),
            Some(&key),
            Some(json!({ "quantity_delta": 1_000_001 })),
        )
        .await;
    assert_eq!(s.as_u16(), 422, "{body}");
    assert_eq!(body["error"]["details"]["field"], "quantity_delta");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("at most ±1000000")));
    shop.app.assert_invariants().await;
}

#[tokio::test]
async fn a_token_for_the_largest_user_id_never_pushes_new_users_past_the_token_limit() {
    let shop = Shop::open().await;
    let max = souk_http::auth::MAX_TOKEN_USER_ID;
    let huge = shop.app.token(max, "customer");
    let (s, body) = shop.app.get("/v1/me/wallet", Some(&huge)).await;
    assert_eq!(s.as_u16(), 200, "{body}");

    let now = chrono::Utc::now().timestamp().to_string();
    let user = r#"{"id":6101,"first_name":"Mia"}"#;
    let init_data = souk_http::telegram::auth::sign(
        &[("auth_date", &now), ("user", user)],
        BOT_TOKEN.as_bytes(),
    )
    .unwrap();
    let body = json!({ "init_data": init_data });
    let (s, signed_in) = shop
        .app
        .call(Method::POST, "/v1/auth/telegram", None, None, Some(body))
        .await;
    assert_eq!(s.as_u16(), 200, "{signed_in}");
    let id = signed_in["user_id"].as_i64().unwrap();
    assert!(id < max, "a new user took id {id}");
    let token = signed_in["token"].as_str().unwrap();
    let (s, body) = shop.app.get("/v1/me/wallet", Some(token)).await;
    assert_eq!(s.as_u16(), 200, "Souk accepts the token it issued: {body}");
    // A user the bot meets first, and one an admin creates, get small ids too.
    shop.say(6102, "/start").await;
    assert!(shop.user_of(6102).await < max);
    let (s, created) = shop
        .app
        .call(
            Method::POST,
            "/v1/admin/users",
            Some(&shop.app.admin()),
            None,
            Some(json!({ "display_name": "Created" })),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{created}");
    assert!(created["id"].as_i64().unwrap() < max, "{created}");
}

//! The steps that go through the Telegram webhook (on the fake Bot API): a wallet checkout
//! from the bot's cart, and a wallet top-up paid in Stars through a genuine invoice. They
//! change the same model as the HTTP steps.

use super::model::{Line, Payment};
use super::run::{fill_cart, record_order};
use super::world::{World, MINOR_PER_STAR, TG_USER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use souk_actors::domain::ids::ProductId;
use souk_http::telegram::callback::Action;
use std::time::{Duration, Instant};

/// Fills the cart with the bot's "Add" buttons and pays with "Pay from wallet".
pub async fn checkout(w: &mut World, lines: &[Line], double_tap: bool) {
    let user = w.bot_user;
    let token = w.model.users[user].token.clone();
    fill_cart(w, &token, &[]).await;
    for l in lines {
        let id = ProductId::new(w.model.products[l.product].id).expect("product id");
        let qty = u8::try_from(l.qty).expect("a small quantity");
        let text = press(w, &Action::Add { id, qty }.encode()).await;
        if !text.contains("Added") {
            w.finding("bot cart", format!("Add to cart answered {text:?}"));
        }
    }
    let expect = w.model.checkout(user, lines, Payment::Wallet, None);
    let pay = Action::Pay {
        confirmation: w.update_id(),
    }
    .encode();
    let text = press(w, &pay).await;
    let (status, body) = as_http(&text);
    w.answered("bot checkout", expect, status, &body);
    if !status.is_success() {
        return;
    }
    let souk_user = w.model.users[user].id;
    let row =
        w.db.query_one(
            "SELECT max(id) FROM orders WHERE user_id = $1",
            &[&souk_user],
        )
        .await
        .expect("the bot's order");
    let id: i64 = row.get(0);
    let path = format!("/v1/admin/orders/{id}");
    let (_, order) = w.app().get(&path, Some(&w.app().admin())).await;
    if double_tap {
        let again = press(w, &pay).await;
        if !again.contains("already paid") {
            w.finding(
                "bot double tap",
                format!("a second tap on Pay answered {again:?}"),
            );
        }
    }
    record_order(w, (id, user), lines, Payment::Wallet, None, &order);
}

/// The bot's answer to a checkout, as the HTTP status and error code it stands for.
fn as_http(text: &str) -> (StatusCode, Value) {
    let refused = |status: StatusCode, code: &str| {
        let body = json!({ "error": { "code": code, "message": text } });
        (status, body)
    };
    if text.contains("Paid") {
        (StatusCode::CREATED, Value::Null)
    } else if text.contains("/wallet") {
        refused(StatusCode::PAYMENT_REQUIRED, "insufficient_funds")
    } else if text.contains("sold out") || text.contains("only") {
        refused(StatusCode::CONFLICT, "out_of_stock")
    } else {
        refused(StatusCode::IM_A_TEAPOT, "unrecognised_bot_answer")
    }
}

/// Presses a button and returns the text of the bot's answer to it.
async fn press(w: &mut World, data: &str) -> String {
    let (update, query) = w.press(data);
    w.bot_post(&update).await;
    w.bot_answer(&query).await
}

/// Asks for an invoice of `amount` Stars in /wallet, then pays it through Telegram (once,
/// or with the payment arriving twice: the same update again, or the same charge in a new
/// update); each Star adds `MINOR_PER_STAR` to the wallet.
pub async fn top_up(w: &mut World, amount: i64, again: bool) {
    let before = w.api.count();
    let (update, _) = w.press(&Action::TopUp { amount }.encode());
    w.bot_post(&update).await;
    let Some(invoice) = wait_call(w, before, |c| c.method == "sendInvoice").await else {
        w.finding("bot invoice", "no invoice was sent for a top-up".into());
        return;
    };
    let payload = invoice.body["payload"].as_str().unwrap_or("").to_string();
    let charge = format!("tg-charge-{}-{}", w.seed, w.step);
    let paid = |update_id: i64| {
        json!({ "update_id": update_id, "message": {
            "message_id": update_id, "date": 0, "chat": { "id": TG_USER, "type": "private" },
            "from": { "id": TG_USER, "is_bot": false, "first_name": "Model" },
            "successful_payment": { "currency": "XTR", "total_amount": amount,
                "invoice_payload": payload, "telegram_payment_charge_id": charge,
                "provider_payment_charge_id": "" } } })
    };
    let first = paid(w.update_id());
    let before = w.api.count();
    w.bot_post(&first).await;
    if wait_call(w, before, |c| c.text().contains("Balance"))
        .await
        .is_none()
    {
        w.finding(
            "bot top-up",
            "the bot did not show the balance after a payment".into(),
        );
    }
    let user = w.bot_user;
    w.model.users[user].balance += amount * MINOR_PER_STAR;
    if again {
        let second = if w.step % 2 == 0 {
            first
        } else {
            paid(w.update_id())
        };
        w.bot_post(&second).await;
    }
}

pub async fn wait_call(
    w: &World,
    since: usize,
    found: impl Fn(&crate::fake_bot_api::Call) -> bool,
) -> Option<crate::fake_bot_api::Call> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(call) = w.api.since(since).into_iter().find(|c| found(c)) {
            return Some(call);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

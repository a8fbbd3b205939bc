//! The payment provider's webhook: signed events paying an order (on time, late, twice,
//! with a wrong amount or currency, or failing) and wallet top-ups, each receipt compared
//! with the outcome the model expects.

use super::gen::PayHow;
use super::model::Event;
use super::world::{World, HOOK_SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub async fn signed(w: &World, body: &Value) -> (StatusCode, Value) {
    let raw = body.to_string();
    let t = chrono::Utc::now().timestamp();
    let signature = souk_http::routes::payments::sign(HOOK_SECRET.as_bytes(), raw.as_bytes(), t);
    let res = w
        .app()
        .http
        .post(format!("{}/v1/payments/webhook", w.app().base))
        .header("content-type", "application/json")
        .header("Souk-Signature", signature)
        .body(raw)
        .send()
        .await
        .expect("the payment webhook answers");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn event_id(w: &World) -> String {
    format!("evt-{}-{}", w.seed, w.step)
}

pub async fn top_up(w: &mut World, user: usize, amount: i64) {
    let body = json!({ "event_id": event_id(w), "type": "payment.succeeded", "amount_minor": amount,
                       "currency": "USD", "wallet_topup": { "user_id": w.model.users[user].id } });
    let (s, b) = signed(w, &body).await;
    if check_receipt(w, "top-up event", s, &b, "applied", false) {
        w.model.users[user].balance += amount;
    }
}

/// Compares a webhook receipt with the outcome the model expects.
fn check_receipt(
    w: &mut World,
    what: &str,
    s: StatusCode,
    b: &Value,
    outcome: &str,
    duplicate: bool,
) -> bool {
    println!(
        "    -> {} {} duplicate {}",
        s.as_u16(),
        b["outcome"],
        b["duplicate"]
    );
    let fits = s == StatusCode::OK && b["outcome"] == outcome && b["duplicate"] == duplicate;
    if !fits {
        w.finding(
            &format!("{what}: receipt"),
            format!("{what}: the model expects outcome {outcome} (duplicate {duplicate}), Souk answered {s} {b}"),
        );
    }
    fits
}

pub async fn pay(w: &mut World, i: usize, how: PayHow) {
    let o = &w.model.orders[i];
    let (amount, currency) = match how {
        PayHow::Total | PayHow::Failed => (o.total, "USD"),
        PayHow::WrongAmount => (o.total + 1 + (w.step as i64 % 7) * 10, "USD"),
        PayHow::WrongCurrency => (o.total, "EUR"),
    };
    let succeeded = how != PayHow::Failed;
    let outcome = w.model.payment(i, amount, currency == "USD", succeeded);
    let kind = if succeeded {
        "payment.succeeded"
    } else {
        "payment.failed"
    };
    let body = json!({ "event_id": event_id(w), "type": kind, "amount_minor": amount,
                       "currency": currency, "order_id": o.id });
    let (s, b) = signed(w, &body).await;
    if check_receipt(w, "payment event", s, &b, outcome, false) {
        w.model.commit_payment(i, outcome, amount);
    }
    let outcome = b["outcome"].as_str().unwrap_or("").to_string();
    w.model.orders[i].events.push(Event { body, outcome });
}

pub async fn redeliver(w: &mut World, i: usize, event: usize) {
    let e = &w.model.orders[i].events[event];
    let (body, outcome) = (e.body.clone(), e.outcome.clone());
    let (s, b) = signed(w, &body).await;
    check_receipt(w, "payment event redelivered", s, &b, &outcome, true);
}

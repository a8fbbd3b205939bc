//! The steps of orders paid in Telegram Stars: checkout with `"payment": "stars"`, the
//! pre-checkout query and the `successful_payment` of an order's invoice (posted to the
//! bot's webhook from the buyer's Telegram account, as Telegram sends them), and the
//! refund through `refundStarPayment`, which the fake Bot API may refuse.

use super::bot::wait_call;
use super::model::{Charge, Expect, Line, Payment};
use super::model_stars::StarsOutcome;
use super::run::{fill_cart, post_checkout, record_order};
use super::world::World;
use reqwest::{Method, StatusCode};
use serde_json::json;

pub async fn checkout(
    w: &mut World,
    user: usize,
    lines: &[Line],
    promo: Option<usize>,
    replay: bool,
) {
    let token = w.model.users[user].token.clone();
    fill_cart(w, &token, lines).await;
    let mut body = json!({ "payment": "stars" });
    if let Some(p) = promo {
        body["promo_code"] = json!(w.model.promos[p].code);
    }
    let expect = w.model.stars_checkout(user, lines, promo);
    let key = uuid::Uuid::new_v4().to_string();
    let (s, b) = post_checkout(w, &token, &key, &body).await;
    if s == StatusCode::CONFLICT && b["error"]["code"] == "unpaid_limit" {
        // A bound on unpaid holds, as for external orders: refused, nothing changed.
        println!("    refused: unpaid_limit");
        return;
    }
    w.answered("stars checkout", expect, s, &b);
    if !s.is_success() {
        return;
    }
    let id = b["id"].as_i64().unwrap_or(0);
    if !b["invoice_link"].is_string() {
        w.finding(
            "invoice link",
            format!("order {id} was answered without one: {b}"),
        );
    }
    if replay {
        let (s2, again) = post_checkout(w, &token, &key, &body).await;
        if !s2.is_success() || again["id"] != b["id"] || !again["invoice_link"].is_string() {
            w.finding(
                "replayed stars checkout",
                format!("the same checkout sent again answered {s2} {again}, not order {id} with a link"),
            );
        }
    }
    record_order(w, (id, user), lines, Payment::Stars, promo, &b);
    let shown = b["total_stars"].as_i64();
    let Some(order) = w.model.orders.last() else {
        return;
    };
    if shown != order.total_stars {
        let want = order.total_stars;
        w.finding(
            "total in Stars",
            format!("order {id} costs {shown:?} Stars; the model says {want:?} (Stars prices less the promo's share, rounded up for the buyer)"),
        );
        if let Some(o) = w.model.orders.last_mut() {
            o.total_stars = shown;
        }
    }
}

/// Telegram's `successful_payment` of `total_stars + off` Stars for order `i`.
pub async fn pay(w: &mut World, i: usize, off: i64) {
    let stars = (w.model.orders[i].total_stars.unwrap_or(1) + off).max(1);
    let charge = format!("stx-{}-{}", w.seed, w.step);
    let outcome = w.model.stars_payment(i, stars, &charge);
    let recorded = send_payment(w, i, stars, &charge, outcome).await;
    if recorded.as_deref() == Some(outcome.recorded()) {
        w.model.commit_stars_payment(i, outcome);
    } else {
        w.finding(
            "stars payment recorded",
            format!(
                "charge {charge} of {stars} Stars for order {} was recorded as {recorded:?}; the model says {}",
                w.model.orders[i].id,
                outcome.recorded()
            ),
        );
    }
    w.model.orders[i].charges.push(Charge {
        id: charge,
        stars,
        outcome: recorded.unwrap_or_default(),
    });
}

/// The same charge delivered again: applied once, recorded as the first time.
pub async fn redeliver(w: &mut World, i: usize, c: usize) {
    let first = &w.model.orders[i].charges[c];
    let (charge, stars, was) = (first.id.clone(), first.stars, first.outcome.clone());
    let recorded = send_payment(w, i, stars, &charge, StarsOutcome::Duplicate).await;
    if recorded.as_deref() != Some(was.as_str()) {
        w.finding(
            "stars payment redelivered",
            format!("charge {charge} is now recorded as {recorded:?}, first as {was}"),
        );
    }
}

/// Posts the payment from the buyer's Telegram account, checks the bot's answer, and
/// returns what Postgres recorded for the charge.
async fn send_payment(
    w: &mut World,
    i: usize,
    stars: i64,
    charge: &str,
    outcome: StarsOutcome,
) -> Option<String> {
    let (id, tg) = (
        w.model.orders[i].id,
        w.model.users[w.model.orders[i].user].tg,
    );
    let update_id = w.update_id();
    let update = json!({ "update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": { "id": tg, "type": "private" },
        "from": { "id": tg, "is_bot": false, "first_name": "Model" },
        "successful_payment": { "currency": "XTR", "total_amount": stars,
            "invoice_payload": format!("order:{id}"), "telegram_payment_charge_id": charge,
            "provider_payment_charge_id": "" } } });
    let before = w.api.count();
    w.bot_post(&update).await;
    let want = outcome.says(id, stars);
    let to_buyer = |c: &crate::fake_bot_api::Call| c.body["chat_id"] == tg;
    if wait_call(w, before, |c| to_buyer(c) && c.text().contains(&want))
        .await
        .is_none()
    {
        let said: Vec<String> = w
            .api
            .since(before)
            .iter()
            .filter(|c| to_buyer(c))
            .map(|c| c.text())
            .collect();
        w.finding(
            &format!("bot's answer to a Stars payment ({outcome:?})"),
            format!("the model expects {want:?}, the bot said {said:?}"),
        );
    }
    println!("    -> {outcome:?}");
    let event = format!("telegram:{charge}");
    w.db.query_opt(
        "SELECT outcome FROM payment_events WHERE event_id = $1",
        &[&event],
    )
    .await
    .expect("a payment event")
    .map(|r| r.get(0))
}

/// The pre-checkout query of order `i`'s invoice for `total_stars + off` Stars, from its
/// buyer or (`stranger`) from another customer.
pub async fn pre_checkout(w: &mut World, i: usize, stranger: bool, off: i64) {
    let o = &w.model.orders[i];
    let user = match stranger {
        true => (o.user + 1) % w.model.users.len(),
        false => o.user,
    };
    let (id, tg) = (o.id, w.model.users[user].tg);
    let stars = (o.total_stars.unwrap_or(1) + off).max(1);
    let want = w.model.pre_checkout_ok(i, user, stars);
    let query = format!("pcq-{}-{}", w.seed, w.step);
    let update = json!({ "update_id": w.update_id(), "pre_checkout_query": {
        "id": query, "from": { "id": tg, "is_bot": false, "first_name": "Model" },
        "currency": "XTR", "total_amount": stars, "invoice_payload": format!("order:{id}") } });
    let before = w.api.count();
    w.bot_post(&update).await;
    let answer = wait_call(w, before, |c| {
        c.method == "answerPreCheckoutQuery" && c.body["pre_checkout_query_id"] == query
    })
    .await;
    let Some(answer) = answer else {
        w.finding("pre-checkout", format!("query {query} was not answered"));
        return;
    };
    println!(
        "    -> ok {} {}",
        answer.body["ok"], answer.body["error_message"]
    );
    if answer.body["ok"] != want {
        w.finding(
            &format!("pre-checkout ok {}", !want),
            format!(
                "the query for order {id} ({stars} Stars) was answered {}; the model says ok {want}",
                answer.body
            ),
        );
    }
}

/// `POST /v1/admin/orders/{id}/stars-refund`; `refused`: Telegram refuses this call, and
/// with `then_allowed` the refund is asked again once Telegram takes it.
pub async fn refund(w: &mut World, i: usize, refused: bool, then_allowed: bool) {
    let expect = w.model.stars_refund(i, refused);
    let id = w.model.orders[i].id;
    let calls = w.api.of("refundStarPayment").len();
    if refused {
        w.api.refuse("refundStarPayment");
    }
    let path = format!("/v1/admin/orders/{id}/stars-refund");
    let body = json!({ "reason": "model stars refund" });
    let (s, b) = w
        .call(Method::POST, &path, &w.app().admin(), Some(body))
        .await;
    w.api.allow("refundStarPayment");
    let what = format!("stars refund of order {id}");
    if w.answered(&what, expect, s, &b) {
        w.model.commit_stars_refund(i);
        if b["status"] != "refunded" {
            w.finding("stars refund answer", format!("{what} answered {b}"));
        }
    } else if expect == Expect::No(502, "refund_refused") && s == StatusCode::BAD_GATEWAY {
        w.model.orders[i].star_refund = Some("refused");
    }
    let called = (w.api.of("refundStarPayment").len() - calls) as i64;
    let want = i64::from(matches!(expect, Expect::Ok | Expect::No(502, _)));
    if called != want {
        w.finding(
            "refundStarPayment calls",
            format!("{what} called refundStarPayment {called} time(s); the model says {want}"),
        );
    }
    if refused && then_allowed {
        println!("    Telegram takes refunds again; asked once more");
        Box::pin(refund(w, i, false, false)).await;
    }
}

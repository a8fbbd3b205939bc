//! Runs one step against Souk over HTTP and compares each answer with the model's
//! expectation; the model takes the step only when Souk did what the model says it must.

use super::gen::Step;
use super::model::{Expect, Kind, Line, Payment, Return, ReturnStatus};
use super::world::World;
use super::{money_back, payments, stars};
use crate::common::address;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use souk_actors::domain::status::OrderStatus;
use std::time::{Duration, Instant};

pub async fn run(w: &mut World, step: &Step) {
    match step.clone() {
        Step::Checkout {
            user,
            lines,
            payment,
            promo,
            replay,
        } => checkout(w, user, &lines, payment, promo, replay).await,
        Step::StarsCheckout {
            user,
            lines,
            promo,
            replay,
        } => stars::checkout(w, user, &lines, promo, replay).await,
        Step::StarsPay { order, off } => stars::pay(w, order, off).await,
        Step::StarsRedeliver { order, charge } => stars::redeliver(w, order, charge).await,
        Step::PreCheckout {
            order,
            stranger,
            off,
        } => stars::pre_checkout(w, order, stranger, off).await,
        Step::StarsRefund {
            order,
            refused,
            then_allowed,
        } => stars::refund(w, order, refused, then_allowed).await,
        Step::BotCheckout { lines, double_tap } => {
            super::bot::checkout(w, &lines, double_tap).await
        }
        Step::BotTopUp { amount, again } => super::bot::top_up(w, amount, again).await,
        Step::Credit { user, amount } => credit(w, user, amount).await,
        Step::WebhookTopUp { user, amount } => payments::top_up(w, user, amount).await,
        Step::Pay { order, how } => payments::pay(w, order, how).await,
        Step::Redeliver { order, event } => payments::redeliver(w, order, event).await,
        Step::Refund { order, amount } => money_back::refund(w, order, amount).await,
        Step::Cancel { order, staff } => money_back::cancel(w, order, staff).await,
        Step::Advance { order, to } => advance(w, order, to).await,
        Step::ReturnRequest { order, line } => return_request(w, order, line).await,
        Step::Return { order, step } => {
            let id = w.model.orders[order].ret.as_ref().map_or(0, |r| r.id);
            let path = format!("/v1/admin/returns/{id}/{}", step.as_str());
            let expect = w.model.return_step(order, step);
            let body = json!({ "note": "model" });
            let (s, b) = w.call(Method::POST, &path, &w.staff(), Some(body)).await;
            let what = format!("{} of return {id}", step.as_str());
            if w.answered(&what, expect, s, &b) {
                w.model.commit_return_step(order, step);
            }
        }
        Step::Expire { order } => expire(w, order).await,
        Step::Restart => w.restart().await,
        Step::AddStock { product, n } => add_stock(w, product, n).await,
    }
}

/// The step as the log shows it: real ids and the model's view of the order it touches.
pub fn describe(w: &World, step: &Step) -> String {
    let m = &w.model;
    let order = |i: usize| {
        let o = &m.orders[i];
        format!(
            "order {} ({}, {}, total {}{}, paid {}, refunded {}, kept {}{})",
            o.id,
            o.status,
            o.payment.as_str(),
            o.total,
            o.total_stars
                .map(|s| format!(" = {s} Stars"))
                .unwrap_or_default(),
            o.paid,
            o.refunded,
            m.kept(o),
            o.promo
                .map(|p| format!(", promo {}", m.promos[p].code))
                .unwrap_or_default()
        )
    };
    let lines = |lines: &[Line]| {
        lines
            .iter()
            .map(|l| {
                let p = &m.products[l.product];
                let stars = p.stars.map(|s| format!("/{s}⭐")).unwrap_or_default();
                format!("{}×{}@{}{stars}{:?}", l.qty, p.id, p.price, p.kind)
            })
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let user = |u: usize| m.users[u].id;
    match step {
        Step::Checkout {
            user: u,
            lines: l,
            promo,
            replay,
            ..
        } => format!(
            "user {} buys {}{}{}",
            user(*u),
            lines(l),
            promo
                .map(|p| format!(" with {}", m.promos[p].code))
                .unwrap_or_default(),
            if *replay { ", sent twice" } else { "" }
        ),
        Step::StarsCheckout {
            user: u,
            lines: l,
            promo,
            replay,
        } => format!(
            "user {} buys {} in Stars{}{}",
            user(*u),
            lines(l),
            promo
                .map(|p| format!(" with {}", m.promos[p].code))
                .unwrap_or_default(),
            if *replay { ", sent twice" } else { "" }
        ),
        Step::StarsPay { order: o, off } => {
            format!("Telegram pays total_stars{off:+} for {}", order(*o))
        }
        Step::StarsRedeliver { order: o, charge } => {
            format!("Telegram payment #{charge} again for {}", order(*o))
        }
        Step::PreCheckout {
            order: o,
            stranger,
            off,
        } => format!(
            "pre-checkout of total_stars{off:+}{} for {}",
            if *stranger {
                " from another customer"
            } else {
                ""
            },
            order(*o)
        ),
        Step::StarsRefund {
            order: o,
            refused,
            then_allowed,
        } => format!(
            "stars refund of {}{}",
            order(*o),
            match (refused, then_allowed) {
                (true, true) => ", Telegram refuses, then takes it",
                (true, false) => ", Telegram refuses",
                _ => "",
            }
        ),
        Step::BotCheckout {
            lines: l,
            double_tap,
        } => format!(
            "bot user {} buys {}{}",
            user(w.bot_user),
            lines(l),
            if *double_tap { ", taps Pay twice" } else { "" }
        ),
        Step::BotTopUp { amount, again } => format!(
            "bot user {} tops up {amount} Stars{}",
            user(w.bot_user),
            if *again {
                ", the payment arrives twice"
            } else {
                ""
            }
        ),
        Step::Credit { user: u, amount } => format!("admin credits user {} {amount}", user(*u)),
        Step::WebhookTopUp { user: u, amount } => {
            format!("provider tops up user {} {amount}", user(*u))
        }
        Step::Pay { order: o, how } => format!("{how:?} payment for {}", order(*o)),
        Step::Redeliver { order: o, event } => {
            format!("payment event #{event} again for {}", order(*o))
        }
        Step::Refund { order: o, amount } => format!("refund {amount:?} of {}", order(*o)),
        Step::Cancel { order: o, .. } => {
            format!("cancel {}: refund {}", order(*o), m.cancel_refund(*o))
        }
        Step::Advance { order: o, to } => format!("move {} to {to}", order(*o)),
        Step::ReturnRequest { order: o, line } => {
            format!("return {} of {}", lines(&[*line]), order(*o))
        }
        Step::Return { order: o, step } => format!("{step:?} the return of {}", order(*o)),
        Step::Expire { order: o } => format!("the payment window of {} closes", order(*o)),
        Step::Restart => "Souk restarts".into(),
        Step::AddStock { product, n } => {
            format!("admin adds {n} to product {}", m.products[*product].id)
        }
    }
}

async fn checkout(
    w: &mut World,
    user: usize,
    lines: &[Line],
    payment: Payment,
    promo: Option<usize>,
    replay: bool,
) {
    let token = w.model.users[user].token.clone();
    fill_cart(w, &token, lines).await;
    let mut body = json!({ "payment": payment.as_str(), "shipping_address": address() });
    if let Some(p) = promo {
        body["promo_code"] = json!(w.model.promos[p].code);
    }
    let expect = w.model.checkout(user, lines, payment, promo);
    let key = uuid::Uuid::new_v4().to_string();
    let (s, b) = post_checkout(w, &token, &key, &body).await;
    if payment == Payment::External
        && s == StatusCode::CONFLICT
        && b["error"]["code"] == "unpaid_limit"
    {
        // A per-user limit on unpaid holds: refused, nothing changed.
        println!("    refused: unpaid_limit");
        return;
    }
    w.answered("checkout", expect, s, &b);
    if !s.is_success() {
        return;
    }
    let id = b["id"].as_i64().unwrap_or(0);
    if replay {
        let (s2, again) = post_checkout(w, &token, &key, &body).await;
        if !s2.is_success() || again["id"] != b["id"] {
            w.finding(
                "replayed checkout",
                format!("the same checkout sent again answered {s2} {again}, not order {id}"),
            );
        }
    }
    record_order(w, (id, user), lines, payment, promo, &b);
}

pub async fn post_checkout(w: &World, token: &str, key: &str, body: &Value) -> (StatusCode, Value) {
    w.app()
        .call(
            Method::POST,
            "/v1/me/checkout",
            Some(token),
            Some(key),
            Some(body.clone()),
        )
        .await
}

/// Clears the cart and puts `lines` in it.
pub async fn fill_cart(w: &mut World, token: &str, lines: &[Line]) {
    let (s, b) = w.call(Method::DELETE, "/v1/me/cart", token, None).await;
    if !s.is_success() {
        w.finding("cart", format!("clearing the cart answered {s} {b}"));
    }
    for l in lines {
        let path = format!("/v1/me/cart/items/{}", w.model.products[l.product].id);
        let body = json!({ "quantity": l.qty });
        let (s, b) = w.call(Method::PUT, &path, token, Some(body)).await;
        if !s.is_success() {
            w.finding("cart", format!("{path} answered {s} {b}"));
        }
    }
}

/// An order Souk created (as the model expected or not): the model takes it as Souk
/// answered it, after comparing its total and its delivered keys with the rules.
pub fn record_order(
    w: &mut World,
    (id, user): (i64, usize),
    lines: &[Line],
    payment: Payment,
    promo: Option<usize>,
    answer: &Value,
) {
    let mut order = w
        .model
        .new_order((id, user), lines.to_vec(), payment, promo);
    let total = answer["total_minor"].as_i64().unwrap_or(-1);
    if total != order.total {
        w.finding(
            "order total",
            format!("order {id} totals {total}; the model says {}", order.total),
        );
        order.total = total;
        order.paid = if payment == Payment::Wallet { total } else { 0 };
    }
    for line in answer["lines"].as_array().into_iter().flatten() {
        let product = line["product_id"].as_i64().unwrap_or(0);
        let is_key = w
            .model
            .products
            .iter()
            .any(|p| p.id == product && p.kind == Kind::Key);
        let shown = line["delivered_items"].as_array().map_or(0, Vec::len) as i64;
        let want = if is_key && payment == Payment::Wallet {
            line["quantity"].as_i64().unwrap_or(0)
        } else {
            0
        };
        if shown != want {
            w.finding(
                "keys delivered at checkout",
                format!(
                    "order {id} shows {shown} keys of product {product}; the model says {want}"
                ),
            );
        }
    }
    w.model.commit_checkout(order);
}

async fn credit(w: &mut World, user: usize, amount: i64) {
    let path = format!("/v1/admin/users/{}/wallet/credits", w.model.users[user].id);
    let body = json!({ "amount_minor": amount, "reason": "model credit" });
    let (s, b) = w
        .call(Method::POST, &path, &w.app().admin(), Some(body))
        .await;
    if w.answered("credit", Expect::Ok, s, &b) {
        w.model.users[user].balance += amount;
    }
}

async fn advance(w: &mut World, i: usize, to: OrderStatus) {
    let expect = w.model.advance(i, to);
    let path = format!("/v1/admin/orders/{}/transitions", w.model.orders[i].id);
    let body = json!({ "to": to.as_str() });
    let (s, b) = w.call(Method::POST, &path, &w.staff(), Some(body)).await;
    let what = format!("move of order {} to {to}", w.model.orders[i].id);
    if w.answered(&what, expect, s, &b) {
        w.model.orders[i].status = to;
    }
}

async fn return_request(w: &mut World, i: usize, line: Line) {
    let expect = w.model.return_request(i);
    let o = &w.model.orders[i];
    let path = format!("/v1/me/orders/{}/returns", o.id);
    let token = w.model.users[o.user].token.clone();
    let body = json!({ "lines": [{ "product_id": w.model.products[line.product].id,
                                   "quantity": line.qty }], "reason": "model return" });
    let (s, b) = w.call(Method::POST, &path, &token, Some(body)).await;
    let what = format!("return request of order {}", w.model.orders[i].id);
    if w.answered(&what, expect, s, &b) {
        let o = &mut w.model.orders[i];
        o.status = OrderStatus::ReturnRequested;
        o.ret = Some(Return {
            id: b["id"].as_i64().unwrap_or(0),
            status: ReturnStatus::Requested,
            line,
        });
    }
}

/// The payment window closes: the test moves `payment_due_at` into the past (so runs do
/// not depend on the clock) and waits for the sweep to cancel the order.
async fn expire(w: &mut World, i: usize) {
    let id = w.model.orders[i].id;
    w.db.execute(
        "UPDATE orders SET payment_due_at = now() - interval '1 second'
         WHERE id = $1 AND status = 'pending_payment'",
        &[&id],
    )
    .await
    .expect("close the payment window");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = String::new();
    while Instant::now() < deadline {
        let row =
            w.db.query_one("SELECT status FROM orders WHERE id = $1", &[&id])
                .await
                .expect("order status");
        status = row.get(0);
        if status == "cancelled" {
            println!("    -> cancelled by the sweep");
            w.model.commit_cancel(i);
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    w.finding(
        "expiry",
        format!("order {id} is still {status} 10 s after its payment window closed"),
    );
}

async fn add_stock(w: &mut World, product: usize, n: i64) {
    let p = &w.model.products[product];
    let body = match p.kind {
        Kind::Physical => json!({ "quantity_delta": n }),
        Kind::Key => {
            json!({ "codes": crate::common::codes(&format!("K{product}-{}", w.step), n as usize) })
        }
    };
    let path = format!("/v1/admin/products/{}/stock", p.id);
    let (s, b) = w
        .call(Method::POST, &path, &w.app().admin(), Some(body))
        .await;
    if w.answered("add stock", Expect::Ok, s, &b) {
        w.model.products[product].stock += n;
    }
}

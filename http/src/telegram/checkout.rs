//! Checkout in the bot: "Checkout" sends a confirmation with the total; its "Pay from
//! wallet" button carries the id of the update that created the confirmation, and that id
//! is the Idempotency-Key. So a double tap, or a retried update, replays the first answer
//! (P3): one order. Payment is the same `once` gate and `Checkout` actor message as
//! `POST /v1/me/checkout`, so stock, funds and the order commit together (P1, P4). Keys are
//! sent after the commit; if sending fails the order stands and /orders re-sends them.

use super::callback::Action;
use super::screens::{button, Ctx, Screen};
use super::{money, queries::PAGE_SIZE};
use crate::error::{ApiError, ApiResult};
use crate::extract::IdempotencyKey;
use crate::idempotency::{once, Answer, Served};
use actix_web::http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use souk_actors::domain::changes::AuditEntry;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::ids::OrderId;
use souk_actors::entity::user::GetBalance;
use souk_actors::flows::checkout::Checkout;
use souk_actors::store::{self, PageRequest, ShowItems};

pub async fn confirm(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    ctx.state.maintenance.guard(&ctx.caller)?;
    let body = crate::routes::cart::render(ctx.state, ctx.caller.user).await?;
    let cart = serde_json::to_value(body).unwrap_or_default();
    let lines = cart["lines"].as_array().map_or(0, Vec::len);
    if lines == 0 {
        ctx.answer(Some("Your cart is empty."), true);
        return super::shop::cart(ctx).await;
    }
    let total = cart["total_minor"].as_i64().unwrap_or(0);
    let balance = ctx
        .state
        .registry
        .user(ctx.caller.user, GetBalance)
        .await?
        .minor();
    let currency = ctx.currency().to_string();
    let text = format!(
        "Please confirm your order: {lines} line(s), total {}.\nYour wallet balance: {}.",
        money(total, &currency),
        money(balance, &currency)
    );
    let screen = Screen::text(text)
        .row(vec![button(
            format!("💳 Pay {} from wallet", money(total, &currency)),
            Action::Pay {
                confirmation: ctx.update_id,
            },
        )])
        .row(vec![button("⬅ Back to cart", Action::Cart)]);
    // A new message: its button's key belongs to this confirmation alone.
    ctx.send(screen);
    Ok(())
}

pub async fn pay(ctx: &mut Ctx<'_>, confirmation: i64) -> ApiResult<()> {
    let state = ctx.state;
    let (status, body, served) = match run(ctx, confirmation).await {
        Ok(answer) => answer,
        Err(e) => {
            count(ctx, e.code);
            return Err(e);
        }
    };
    let currency = ctx.currency().to_string();
    if status == StatusCode::CREATED {
        let id = body["id"].as_i64().unwrap_or(0);
        if matches!(served, Served::Replayed) {
            count(ctx, "idempotent_replay");
            ctx.answer(Some(&format!("Order #{id} is already paid.")), false);
            return Ok(());
        }
        count(ctx, "ok");
        let total = money(body["total_minor"].as_i64().unwrap_or(0), &currency);
        ctx.answer(Some("Paid — thank you!"), false);
        ctx.show(
            Screen::text(format!("✅ Order #{id} is paid: {total}.")).row(vec![
                button("📦 My orders", Action::Orders),
                button("⬅ Menu", Action::Menu),
            ]),
        );
        send_keys(ctx, &body);
        return Ok(());
    }
    let code = body["error"]["code"].as_str().unwrap_or("");
    count(ctx, code);
    let details = &body["error"]["details"];
    let text = match code {
        "out_of_stock" => {
            let name = match details["product_id"]
                .as_i64()
                .and_then(souk_actors::domain::ids::ProductId::new)
            {
                Some(id) => state
                    .registry
                    .catalog
                    .get(&state.pool, id, &state.currency)
                    .await
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|_| "an item".into()),
                None => "an item".into(),
            };
            match details["available"].as_i64().unwrap_or(0) {
                0 => format!("Sorry, '{name}' is sold out. Remove it from your cart and check out again."),
                n => format!("Sorry, only {n} left of '{name}'. Lower the quantity in your cart and check out again."),
            }
        }
        "insufficient_funds" => format!(
            "Your wallet has {} but the order needs {}. Top up in /wallet, then check out again.",
            money(details["balance_minor"].as_i64().unwrap_or(0), &currency),
            money(details["required_minor"].as_i64().unwrap_or(0), &currency),
        ),
        "cart_empty" => "Your cart is empty — nothing to pay.".to_string(),
        _ => body["error"]["message"]
            .as_str()
            .unwrap_or("The order could not be placed.")
            .to_string(),
    };
    ctx.answer(Some(&text), true);
    // The confirmation loses its button: its key holds this refusal from now on.
    ctx.show(Screen::text(text).row(vec![
        button("🛒 Cart", Action::Cart),
        button("💳 Wallet", Action::Wallet),
    ]));
    Ok(())
}

/// The checkout of `POST /v1/me/checkout`, keyed by the confirmation. Refusals (4xx) are
/// answers like any other (stored and replayed); 5xx is an error to report.
async fn run(ctx: &Ctx<'_>, confirmation: i64) -> ApiResult<(StatusCode, Value, Served)> {
    let state = ctx.state;
    state.maintenance.guard(&ctx.caller)?;
    let caller = ctx.caller;
    let request_id = format!("telegram-update-{}", ctx.update_id);
    let actor = caller.audit_name();
    let audit = AuditEntry {
        actor: actor.clone(),
        action: "order.checkout",
        target: format!("user:{}", caller.user),
        before: None,
        after: None,
        request_id: Some(request_id.clone()),
    };
    let key = IdempotencyKey(format!("telegram-checkout-{confirmation}"));
    let hash = Sha256::digest(b"telegram: pay from wallet").to_vec();
    let registry = state.registry.clone();
    let result = once(state, caller, key, hash, &request_id, |draft| async move {
        let meta = WriteMeta {
            idempotency: Some(draft),
            audit: Some(audit),
        };
        // The bot takes no address: a cart with physical goods is refused with the reason
        // (checkout needs a shipping_address), and the promo on the cart, if any, applies.
        let checkout = Checkout {
            meta,
            actor,
            shipping_address: None,
            promo: None,
            payment: souk_actors::domain::model::PaymentMethod::Wallet,
        };
        let order = registry.user(caller.user, checkout).await?;
        Answer::new(StatusCode::CREATED, order)
    })
    .await;
    match result {
        Ok((response, served)) => {
            let status = response.status();
            let bytes = actix_web::body::to_bytes(response.into_body())
                .await
                .map_err(|_| ApiError::unavailable("the order's answer could not be read"))?;
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            Ok((status, body, served))
        }
        Err(e) if e.status.is_client_error() => Ok((e.status, e.body(&request_id), Served::Fresh)),
        Err(e) => Err(e),
    }
}

fn count(ctx: &Ctx<'_>, code: &str) {
    let outcome = match code {
        "ok" | "idempotent_replay" | "out_of_stock" | "insufficient_funds" | "cart_empty"
        | "unavailable" | "overloaded" | "maintenance" => code,
        "" => "error",
        _ => "invalid",
    };
    ctx.state
        .metrics
        .checkouts
        .with_label_values(&[outcome])
        .inc();
}

/// The delivered keys of an order (JSON as the HTTP API returns it), as chat messages.
fn send_keys(ctx: &mut Ctx<'_>, order: &Value) {
    let id = order["id"].as_i64().unwrap_or(0);
    let mut text = format!("🔑 Your keys for order #{id}:\n");
    let mut any = false;
    for line in order["lines"].as_array().into_iter().flatten() {
        let items = line["delivered_items"].as_array();
        for key in items.into_iter().flatten().filter_map(Value::as_str) {
            text.push_str(&format!(
                "{}: {key}\n",
                line["name"].as_str().unwrap_or("?")
            ));
            any = true;
        }
    }
    if any {
        ctx.say(&text);
    }
}

pub async fn orders(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    let state = ctx.state;
    let page = PageRequest {
        limit: PAGE_SIZE,
        after: None,
    };
    let list = state
        .bounded(store::list_orders(
            &state.pool,
            Some(ctx.caller.user),
            None,
            page,
            ShowItems::Yes,
        ))
        .await?;
    let orders = serde_json::to_value(&list.items).unwrap_or_default();
    let orders = orders.as_array().cloned().unwrap_or_default();
    if orders.is_empty() {
        ctx.show(Screen::text("You have no orders yet.").row(vec![
            button("🛍 Catalog", Action::Categories { page: 0 }),
            button("⬅ Menu", Action::Menu),
        ]));
        return Ok(());
    }
    let currency = ctx.currency().to_string();
    let mut screen = Screen::text("");
    let mut text = String::from("Your latest orders:\n");
    for order in &orders {
        let id = order["id"].as_i64().unwrap_or(0);
        let total = money(order["total_minor"].as_i64().unwrap_or(0), &currency);
        let status = order["status"].as_str().unwrap_or("?");
        text.push_str(&format!("#{id} — {status} — {total}\n"));
        let has_keys = order["lines"].as_array().into_iter().flatten().any(|l| {
            l["delivered_items"]
                .as_array()
                .is_some_and(|items| !items.is_empty())
        });
        if let (true, Some(order)) = (has_keys, OrderId::new(id)) {
            screen = screen.row(vec![button(
                format!("🔑 Keys of #{id}"),
                Action::Keys { order },
            )]);
        }
    }
    screen.text = text;
    ctx.show(screen.row(vec![button("⬅ Menu", Action::Menu)]));
    Ok(())
}

/// Re-sends an order's keys; someone else's order is "not found", like the HTTP API.
pub async fn keys(ctx: &mut Ctx<'_>, order: OrderId) -> ApiResult<()> {
    let state = ctx.state;
    let order = state
        .bounded(store::get_order(
            &state.pool,
            order,
            Some(ctx.caller.user),
            ShowItems::Yes,
        ))
        .await?;
    let order = serde_json::to_value(&order).unwrap_or_default();
    ctx.answer(Some("Here are your keys again."), false);
    send_keys(ctx, &order);
    Ok(())
}

//! Checkout in the bot: "Checkout" sends a confirmation with the total; its "Pay from
//! wallet" button carries the id of the update that created the confirmation, and that id
//! is the Idempotency-Key. So a double tap, or a retried update, replays the first answer
//! (P3): one order. Payment is the same Idempotency-Key gate and `Checkout` actor message
//! as `POST /v1/me/checkout`, so stock, funds and the order commit together (P1, P4), and
//! its outcome is counted by the same `checkout_outcome::label`. Everything the buyer is
//! told is read from typed values: the order, or the refusal's code and typed details. Keys
//! are sent after the commit; if sending fails the order stands and /orders re-sends them.

use super::callback::Action;
use super::screens::{button, Ctx, Screen};
use super::shop::priced_cart;
use super::{money, PAGE_SIZE};
use crate::checkout_outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::IdempotencyKey;
use crate::idempotency::{decode, keyed, Answer, Keyed};
use actix_web::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use souk_actors::domain::address::ShippingAddress;
use souk_actors::domain::changes::AuditEntry;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::ids::{OrderId, ProductId};
use souk_actors::domain::model::{Order, PaymentMethod, ProductKind};
use souk_actors::domain::money::Money;
use souk_actors::domain::status::OrderStatus;
use souk_actors::entity::user::GetBalance;
use souk_actors::flows::checkout::Checkout;
use souk_actors::store::{self, PageRequest, ShowItems};
use souk_actors::DomainError;

pub async fn confirm(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    ctx.state.maintenance.guard(&ctx.caller)?;
    let cart = priced_cart(ctx).await?;
    let lines = cart.lines.len();
    if lines == 0 {
        ctx.answer(Some(&ctx.t("bot-cart-empty")), true);
        return super::shop::cart(ctx).await;
    }
    let total = cart.total_minor.minor();
    let balance = ctx
        .state
        .registry
        .user(ctx.caller.user, GetBalance)
        .await?
        .minor();
    let currency = ctx.currency().to_string();
    let args = [
        ("lines", i64::try_from(lines).unwrap_or(i64::MAX).into()),
        ("total", money(total, &currency).into()),
        ("balance", money(balance, &currency).into()),
    ];
    let text = ctx.tr("bot-confirm", &args);
    let ships = cart.lines.iter().any(|l| l.kind == ProductKind::Physical);
    let confirmation = ctx.update_id;
    // Physical goods need an address: with a payments provider the invoice asks for it;
    // without one, the wallet button says why the bot cannot take the order.
    let mut screen = match ships && super::shipped::enabled(ctx.bot) {
        true => Screen::text(text).row(vec![button(
            ctx.tr(
                "bot-button-pay-card",
                &[("total", money(total, &currency).into())],
            ),
            Action::PayShipped { confirmation },
        )]),
        false => Screen::text(text).row(vec![button(
            ctx.tr(
                "bot-button-pay-wallet",
                &[("total", money(total, &currency).into())],
            ),
            Action::Pay { confirmation },
        )]),
    };
    // Digital goods priced in Stars may be paid in Stars instead (Telegram's rule for them).
    if let Some(stars) = cart.total_stars.filter(|_| super::stars::enabled(ctx.bot)) {
        screen = screen.row(vec![button(
            ctx.tr("bot-button-pay-stars", &[("stars", stars.into())]),
            Action::PayStars { confirmation },
        )]);
    }
    let screen = screen.row(vec![button(ctx.t("bot-button-back-to-cart"), Action::Cart)]);
    // A new message: its button's key belongs to this confirmation alone.
    ctx.send(screen);
    Ok(())
}

pub async fn pay(ctx: &mut Ctx<'_>, confirmation: i64, payment: PaymentMethod) -> ApiResult<()> {
    let result = run(ctx, confirmation, payment).await;
    let refusal = match result {
        Ok(Keyed::Fresh(answer)) if payment == PaymentMethod::Stars => {
            return invoice(ctx, &answer.value);
        }
        Ok(Keyed::Fresh(answer)) => {
            paid(ctx, &answer.value);
            return Ok(());
        }
        Ok(Keyed::Replayed(stored)) => match decode::<Placed>(&stored)? {
            Ok(placed) => return placed_before(ctx, placed.id).await,
            Err(refused) => Refusal::read(&refused.code, refused.message, &refused.details)?,
        },
        // A refusal (4xx) is an answer like any other (stored, and told again on a replay);
        // 5xx is an error to report.
        Err(e) if e.status.is_client_error() => {
            Refusal::read(e.code, e.message_in(ctx.lang), &e.details)?
        }
        Err(e) => return Err(e),
    };
    let text = tell(ctx, refusal).await;
    ctx.answer(Some(&text), true);
    // The confirmation loses its button: its key holds this refusal from now on.
    ctx.show(Screen::text(text).row(vec![
        button(ctx.t("bot-button-cart"), Action::Cart),
        button(ctx.t("bot-button-wallet"), Action::Wallet),
    ]));
    Ok(())
}

/// An order placed just now to be paid in Stars: its invoice, in the chat.
fn invoice(ctx: &mut Ctx<'_>, order: &Order) -> ApiResult<()> {
    ctx.answer(Some(&ctx.t("bot-invoice-here")), false);
    let args = [
        ("order", order.id.get().into()),
        ("stars", order.total_stars.unwrap_or_default().into()),
    ];
    ctx.show(
        Screen::text(ctx.tr("bot-stars-order-placed", &args))
            .row(vec![button(ctx.t("bot-button-orders"), Action::Orders)]),
    );
    super::stars::send_invoice(ctx, order)
}

/// A second press (or a redelivered one) of a button whose order was placed: an order still
/// waiting for its Stars gets its invoice again; any other is told where it stands.
async fn placed_before(ctx: &mut Ctx<'_>, id: OrderId) -> ApiResult<()> {
    let order = own_order(ctx, id, ShowItems::No).await?;
    if order.payment == PaymentMethod::Stars && order.status == OrderStatus::PendingPayment {
        ctx.answer(Some(&ctx.t("bot-invoice-again")), false);
        return super::stars::send_invoice(ctx, &order);
    }
    let status = ctx.tr("bot-status", &[("status", order.status.as_str().into())]);
    let args = [("order", id.get().into()), ("status", status.into())];
    let text = ctx.tr("bot-order-already", &args);
    ctx.answer(Some(&text), false);
    Ok(())
}

/// An order placed just now: the thanks, then its keys.
fn paid(ctx: &mut Ctx<'_>, order: &Order) {
    let total = money(order.total_minor.minor(), ctx.currency());
    ctx.answer(Some(&ctx.t("bot-paid-thanks")), false);
    let args = [("order", order.id.get().into()), ("total", total.into())];
    ctx.show(Screen::text(ctx.tr("bot-order-paid", &args)).row(vec![
        button(ctx.t("bot-button-orders"), Action::Orders),
        button(ctx.t("bot-button-menu"), Action::Menu),
    ]));
    send_keys(ctx, order);
}

/// What a replayed checkout's stored order is read for: which order the key placed.
#[derive(Deserialize)]
struct Placed {
    id: OrderId,
}

/// Why a checkout was refused, with the details the buyer is told, typed.
enum Refusal {
    OutOfStock {
        product_id: ProductId,
        available: i64,
    },
    InsufficientFunds {
        balance_minor: Money,
        required_minor: Money,
    },
    CartEmpty,
    /// Any other refusal is told in the words of the error envelope.
    Other(String),
}

/// The details of the refusals told with their figures (as `error.rs` writes them).
#[derive(Deserialize)]
struct OutOfStock {
    product_id: ProductId,
    available: i64,
}

#[derive(Deserialize)]
struct InsufficientFunds {
    balance_minor: Money,
    required_minor: Money,
}

impl Refusal {
    /// A refusal from its code and details, whether it was refused now or is a stored
    /// answer replayed; details that do not read as the code's are an error, not zeros.
    fn read(code: &str, message: String, details: &Value) -> ApiResult<Refusal> {
        Ok(match code {
            "out_of_stock" => {
                let d: OutOfStock = details_of(code, details)?;
                Refusal::OutOfStock {
                    product_id: d.product_id,
                    available: d.available,
                }
            }
            "insufficient_funds" => {
                let d: InsufficientFunds = details_of(code, details)?;
                Refusal::InsufficientFunds {
                    balance_minor: d.balance_minor,
                    required_minor: d.required_minor,
                }
            }
            "cart_empty" => Refusal::CartEmpty,
            _ => Refusal::Other(message),
        })
    }
}

fn details_of<T: DeserializeOwned>(code: &str, details: &Value) -> ApiResult<T> {
    T::deserialize(details).map_err(|e| {
        ApiError::from(DomainError::Internal(format!(
            "the details of a {code} refusal could not be read: {e}"
        )))
    })
}

/// What the buyer is told about a refusal, and what to do next.
async fn tell(ctx: &Ctx<'_>, refusal: Refusal) -> String {
    let currency = ctx.currency();
    match refusal {
        Refusal::OutOfStock {
            product_id,
            available,
        } => {
            let state = ctx.state;
            // The refusal is told even if the product cannot be read right now.
            let name = state
                .registry
                .catalog
                .get(&state.pool, product_id, &state.currency)
                .await
                .map(|p| p.name.clone())
                .unwrap_or_else(|_| ctx.t("bot-an-item"));
            let args = [("name", name.into()), ("count", available.into())];
            match available {
                0 => ctx.tr("bot-refused-sold-out", &args),
                _ => ctx.tr("bot-refused-only-left", &args),
            }
        }
        Refusal::InsufficientFunds {
            balance_minor,
            required_minor,
        } => {
            let args = [
                ("balance", money(balance_minor.minor(), currency).into()),
                ("required", money(required_minor.minor(), currency).into()),
            ];
            ctx.tr("bot-refused-funds", &args)
        }
        Refusal::CartEmpty => ctx.t("bot-refused-cart-empty"),
        Refusal::Other(message) => message,
    }
}

/// The checkout of a confirmation's button: its key, and what it pays with.
async fn run(ctx: &Ctx<'_>, confirmation: i64, payment: PaymentMethod) -> ApiResult<Keyed<Order>> {
    // Each button of a confirmation has its own key: a second press of either replays it.
    let (key, request): (_, &[u8]) = match payment {
        PaymentMethod::Stars => (
            format!("telegram-stars-{confirmation}"),
            b"telegram: pay in stars",
        ),
        PaymentMethod::Wallet | PaymentMethod::External => (
            format!("telegram-checkout-{confirmation}"),
            b"telegram: pay from wallet",
        ),
    };
    let allowed = match payment {
        PaymentMethod::Stars => super::stars::require_enabled(ctx.bot),
        PaymentMethod::Wallet | PaymentMethod::External => Ok(()),
    };
    // The bot's wallet button takes no address: a cart with physical goods is refused with
    // the reason (checkout needs a shipping_address); the promo on the cart, if any, applies.
    let placing = Placing {
        key,
        request,
        payment,
        shipping_address: None,
        allowed,
    };
    place(ctx, placing).await
}

/// A checkout the bot places, the same as `POST /v1/me/checkout`'s.
pub(super) struct Placing {
    /// The Idempotency-Key, from the message the buyer pressed.
    pub key: String,
    /// What the key's request is, for the key's request hash.
    pub request: &'static [u8],
    pub payment: PaymentMethod,
    pub shipping_address: Option<ShippingAddress>,
    /// A refusal decided before the checkout, kept under the key like any other.
    pub allowed: ApiResult<()>,
}

/// Places a checkout under its key: the order placed now, or the key's stored answer (an
/// order or a refusal); a refusal made now is an `Err`. Counted like the HTTP API's.
pub(super) async fn place(ctx: &Ctx<'_>, p: Placing) -> ApiResult<Keyed<Order>> {
    let state = ctx.state;
    let result = async {
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
        let (key, hash) = (IdempotencyKey(p.key), Sha256::digest(p.request).to_vec());
        let shop = state.shop.clone();
        keyed(
            state,
            caller,
            key,
            hash,
            &request_id,
            ctx.lang,
            |draft| async move {
                p.allowed?;
                let checkout = Checkout {
                    meta: WriteMeta {
                        idempotency: Some(draft),
                        audit: Some(audit),
                    },
                    actor,
                    shipping_address: p.shipping_address,
                    promo: None,
                    payment: p.payment,
                };
                let order = shop.checkout(caller.user, checkout).await?;
                Answer::new(StatusCode::CREATED, order)
            },
        )
        .await
    }
    .await;
    checkout_outcome::count(&state.metrics.checkouts, result.as_ref().map(Keyed::served));
    result
}

/// The delivered keys of an order, as one chat message (none if it has none).
pub(super) fn send_keys(ctx: &mut Ctx<'_>, order: &Order) {
    let mut text = ctx.tr("bot-keys-of", &[("order", order.id.get().into())]);
    text.push('\n');
    let mut any = false;
    for line in &order.lines {
        for key in line.delivered_items.iter().flatten() {
            text.push_str(&format!("{}: {key}\n", line.name));
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
    if list.items.is_empty() {
        ctx.show(Screen::text(ctx.t("bot-orders-none")).row(vec![
            button(ctx.t("bot-button-catalog"), Action::Categories { page: 0 }),
            button(ctx.t("bot-button-menu"), Action::Menu),
        ]));
        return Ok(());
    }
    let currency = ctx.currency().to_string();
    let mut screen = Screen::text("");
    let mut text = ctx.t("bot-orders-latest");
    text.push('\n');
    for order in &list.items {
        let id = order.id;
        let total = match order.total_stars {
            Some(stars) if order.payment == PaymentMethod::Stars => format!("{stars} ⭐"),
            _ => money(order.total_minor.minor(), &currency),
        };
        let status = ctx.tr("bot-status", &[("status", order.status.as_str().into())]);
        text.push_str(&format!("#{id} — {status} — {total}\n"));
        let has_keys = order.lines.iter().any(|l| {
            l.delivered_items
                .as_ref()
                .is_some_and(|items| !items.is_empty())
        });
        if has_keys {
            screen = screen.row(vec![button(
                ctx.tr("bot-button-keys-of", &[("order", id.get().into())]),
                Action::Keys { order: id },
            )]);
        }
    }
    screen.text = text;
    ctx.show(screen.row(vec![button(ctx.t("bot-button-menu"), Action::Menu)]));
    Ok(())
}

/// One of the caller's orders as committed; someone else's is "not found", like the HTTP
/// API's.
pub(super) async fn own_order(ctx: &Ctx<'_>, id: OrderId, show: ShowItems) -> ApiResult<Order> {
    let state = ctx.state;
    state
        .bounded(store::get_order(
            &state.pool,
            id,
            Some(ctx.caller.user),
            show,
        ))
        .await
}

/// Re-sends an order's keys; someone else's order is "not found", like the HTTP API.
pub async fn keys(ctx: &mut Ctx<'_>, order: OrderId) -> ApiResult<()> {
    let order = own_order(ctx, order, ShowItems::Yes).await?;
    ctx.answer(Some(&ctx.t("bot-keys-again")), false);
    send_keys(ctx, &order);
    Ok(())
}

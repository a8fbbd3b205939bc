//! Physical goods in the bot: paid through an invoice in the shop currency (the configured
//! payments provider) that asks for the buyer's name and shipping address. Telegram sends
//! the address twice before it charges: in a shipping query (`is_flexible`), answered with
//! the delivery the one pricing function charges for this cart, or refused with what is
//! wrong with the address; and in the pre-checkout query, where the order is placed as the
//! HTTP API places one (`Checkout`, `pending_payment`, its stock held), with that address
//! validated like the HTTP API's, before Telegram takes any money. The payment then pays
//! that order once per charge id, through `payments::receive` like any external payment.
//!
//! The invoice's payload names only the confirmation it was made from (`ship:<update id>`):
//! the confirmation's Idempotency-Key places one order however often the query comes, and
//! every figure is checked against the cart and the order as committed, never the payload.

use super::checkout::{self, own_order, Placing};
use super::payments;
use super::screens::{clip, Ctx};
use super::shop::priced_cart;
use super::update::{PreCheckoutQuery, ShippingQuery, SuccessfulPayment, TelegramAddress};
use super::{money, Bot};
use crate::error::{ApiError, ApiResult};
use crate::extract::IdempotencyKey;
use crate::i18n::Msg;
use crate::idempotency::{decode, Keyed};
use serde::Deserialize;
use serde_json::{json, Value};
use souk_actors::domain::address::ShippingAddress;
use souk_actors::domain::ids::OrderId;
use souk_actors::domain::model::{Order, PaymentMethod};
use souk_actors::domain::money::Money;
use souk_actors::domain::payment::{EventOutcome, PaymentTarget};
use souk_actors::domain::status::OrderStatus;
use souk_actors::flows;
use souk_actors::flows::cart::PricedCart;
use souk_actors::store::{self, ShowItems};

const PAYLOAD_PREFIX: &str = "ship:";
/// The one delivery option offered: Souk's shipping does not depend on the address.
const DELIVERY: &str = "standard";

/// Whether the bot can take a card payment with a shipping address.
pub fn enabled(bot: &Bot) -> bool {
    bot.provider_token().is_some() && bot.config.api.token.is_some()
}

/// The confirmation an invoice payload names, if it is one of these invoices.
pub fn confirmation_of(payload: &str) -> Option<i64> {
    let id = payload.strip_prefix(PAYLOAD_PREFIX)?;
    let confirmation: i64 = id.parse().ok().filter(|c| *c > 0)?;
    // Only the canonical spelling.
    (confirmation.to_string() == id).then_some(confirmation)
}

/// The invoice's prices: the goods after any discount and the tax added on top; delivery
/// comes from the shipping option, so together they are the cart's total.
fn prices(ctx: &Ctx<'_>, cart: &PricedCart) -> Vec<Value> {
    let goods = cart.subtotal_minor.minor() - cart.discount_minor.minor();
    let mut prices = vec![json!({ "label": ctx.t("bot-invoice-goods"), "amount": goods })];
    if cart.tax_minor > Money::ZERO {
        prices.push(json!({ "label": ctx.t("bot-invoice-tax"), "amount": cart.tax_minor.minor() }));
    }
    prices
}

/// The delivery option for this cart, priced by the one pricing function.
fn delivery(ctx: &Ctx<'_>, cart: &PricedCart) -> Value {
    let label = match cart.shipping_minor {
        Money::ZERO => ctx.t("bot-delivery-free"),
        _ => ctx.t("bot-delivery"),
    };
    json!({ "id": DELIVERY, "title": label,
            "prices": [{ "label": label, "amount": cart.shipping_minor.minor() }] })
}

/// "Pay by card": an invoice for the cart as priced now, asking for name and address.
pub async fn invoice(ctx: &mut Ctx<'_>, confirmation: i64) -> ApiResult<()> {
    ctx.state.maintenance.guard(&ctx.caller)?;
    let Some(provider) = ctx.bot.provider_token() else {
        ctx.stale();
        return Ok(());
    };
    let cart = priced_cart(ctx).await?;
    if cart.lines.is_empty() {
        ctx.answer(Some(&ctx.t("bot-cart-empty")), true);
        return super::shop::cart(ctx).await;
    }
    let names: Vec<String> = cart
        .lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity, l.name))
        .collect();
    ctx.answer(None, false);
    ctx.raw(
        "sendInvoice",
        json!({
            "chat_id": ctx.chat_id,
            "title": ctx.t("bot-invoice-title-order"),
            "description": clip(&names.join(", "), 255),
            "payload": format!("{PAYLOAD_PREFIX}{confirmation}"),
            "provider_token": provider,
            "currency": cart.currency,
            "prices": prices(ctx, &cart),
            "need_name": true,
            "need_shipping_address": true,
            "is_flexible": true,
        }),
    );
    Ok(())
}

/// The address as Souk keeps one, validated like the HTTP API's; `name` is the buyer's.
fn address_of(name: &str, a: &TelegramAddress) -> Result<ShippingAddress, Msg> {
    let line2 = Some(a.street_line2.trim()).filter(|l| !l.is_empty());
    ShippingAddress::parse(
        name,
        &a.street_line1,
        line2,
        &a.city,
        &a.post_code,
        &a.country_code,
    )
    .map_err(|e| ApiError::from(e).message)
}

/// The shipping query: the delivery this cart pays for, or why the address will not do.
pub async fn shipping(ctx: &mut Ctx<'_>, q: &ShippingQuery) -> ApiResult<()> {
    let checked = address_of("buyer", &q.shipping_address);
    let body = match checked {
        Err(problem) => {
            let problem = ctx.say_msg(&problem);
            let text = ctx.tr("bot-address-check", &[("problem", problem.into())]);
            json!({ "shipping_query_id": q.id, "ok": false, "error_message": text })
        }
        Ok(_) => {
            let cart = priced_cart(ctx).await?;
            json!({ "shipping_query_id": q.id, "ok": true,
                    "shipping_options": [delivery(ctx, &cart)] })
        }
    };
    ctx.raw("answerShippingQuery", body);
    Ok(())
}

/// The pre-checkout query: the order is placed now, for the address given, if the cart
/// still costs what Telegram is about to charge; otherwise the buyer is told why not.
pub async fn pre_checkout(
    ctx: &mut Ctx<'_>,
    q: &PreCheckoutQuery,
    confirmation: i64,
) -> ApiResult<()> {
    let refusal = match place(ctx, q, confirmation).await {
        Ok(_) => None,
        Err(Refused(reason)) => Some(ctx.say_msg(&reason)),
    };
    payments::answer_pre_checkout(ctx, &q.id, refusal.as_deref());
    Ok(())
}

/// Why a pre-checkout query is refused, said in the buyer's language when it is answered.
struct Refused(Msg);

impl Refused {
    fn because(id: &'static str) -> Refused {
        Refused(Msg::new(id))
    }
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Refused {
        // A server error is still an answer Telegram needs within its 10 seconds.
        Refused(match e.status.is_client_error() {
            true => e.message,
            false => Msg::new("bot-payment-try-again"),
        })
    }
}

/// The order this invoice places (or placed): `pending_payment`, at the address given,
/// for exactly what Telegram charges.
async fn place(ctx: &Ctx<'_>, q: &PreCheckoutQuery, confirmation: i64) -> Result<Order, Refused> {
    let info = q.order_info.clone().unwrap_or_default();
    let name = info.name.clone().unwrap_or_default();
    let Some(address) = info.shipping_address.as_ref() else {
        return Err(Refused::because("bot-address-needed"));
    };
    let address = address_of(&name, address).map_err(Refused)?;
    let state = ctx.state;
    state.maintenance.guard(&ctx.caller)?;
    let key = IdempotencyKey(format!("telegram-ship-{confirmation}"));
    let placed = match stored_order(ctx, &key).await? {
        Some(order) => order,
        None => {
            // The cart must still be the one invoiced: the same currency and total.
            let cart = priced_cart(ctx).await?;
            if cart.currency != q.currency || cart.total_minor.minor() != q.total_amount {
                return Err(Refused::because("bot-cart-changed"));
            }
            let placing = Placing {
                key: key.0.clone(),
                request: b"telegram: pay by card with delivery",
                payment: PaymentMethod::External,
                shipping_address: Some(address.clone()),
                allowed: Ok(()),
            };
            match checkout::place(ctx, placing).await? {
                Keyed::Fresh(answer) => answer.value,
                // Another delivery of this query placed it meanwhile.
                Keyed::Replayed(_) => stored_order(ctx, &key)
                    .await?
                    .ok_or_else(|| Refused::because("bot-payment-try-again"))?,
            }
        }
    };
    if placed.shipping_address.as_ref() != Some(&address) {
        return Err(Refused(
            Msg::new("bot-invoice-other-address").arg("order", placed.id.get()),
        ));
    }
    if placed.status != OrderStatus::PendingPayment {
        return Err(Refused(
            Msg::new("bot-order-is")
                .arg("order", placed.id.get())
                .arg("status", placed.status.as_str()),
        ));
    }
    if placed.total_minor.minor() != q.total_amount || placed.currency != q.currency {
        return Err(Refused::because("bot-cart-changed"));
    }
    Ok(placed)
}

/// The order a key already placed, read as committed (its status may have moved on); a
/// checkout the key refused is told again.
async fn stored_order(ctx: &Ctx<'_>, key: &IdempotencyKey) -> Result<Option<Order>, Refused> {
    let state = ctx.state;
    let found = state
        .bounded(store::idempotency::find(
            &state.pool,
            ctx.caller.user,
            &key.0,
        ))
        .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    let order = match decode::<Placed>(&found.answer)? {
        Ok(placed) => placed.id,
        // Told again as it was first said.
        Err(refused) => {
            return Err(Refused(
                Msg::new("bot-as-said").arg("text", refused.message),
            ))
        }
    };
    Ok(Some(own_order(ctx, order, ShowItems::No).await?))
}

/// What a stored checkout answer is read for.
#[derive(Deserialize)]
struct Placed {
    id: OrderId,
}

/// The payment of such an invoice: the order its pre-checkout query placed is paid once per
/// charge id. A payment no order is waiting for (it expired meanwhile) goes to the wallet
/// by the same rule as any late payment, so no money is lost.
pub async fn paid(
    ctx: &mut Ctx<'_>,
    payment: &SuccessfulPayment,
    confirmation: i64,
) -> ApiResult<()> {
    let charge = payments::charge_id(payment);
    let key = IdempotencyKey(format!("telegram-ship-{confirmation}"));
    let order = stored_order(ctx, &key).await.ok().flatten();
    let (target, about) = match &order {
        Some(order) => (
            PaymentTarget::Order(order.id),
            format!("order:{}", order.id),
        ),
        None => (
            PaymentTarget::WalletTopup(ctx.caller.user),
            format!("user:{}", ctx.caller.user),
        ),
    };
    let currency = clip(&payment.currency, 8);
    let event = payments::event(&charge, payment.total_amount, currency, target);
    let audit = payments::audit(ctx, about);
    let receipt = flows::payments::receive(&ctx.state.registry, event, audit).await?;
    let paid = money(payment.total_amount, &payment.currency);
    let text = match (receipt.outcome, receipt.duplicate, &order) {
        (_, true, _) => {
            ctx.bot.count_payment("duplicate");
            ctx.t("bot-payment-already-received")
        }
        (EventOutcome::Applied, false, Some(order)) => {
            ctx.bot.count_payment("credited");
            let to = order
                .shipping_address
                .as_ref()
                .map(|a| format!("{}, {} {}, {}", a.line1, a.postal_code, a.city, a.country))
                .unwrap_or_default();
            let args = [
                ("order", order.id.get().into()),
                ("amount", paid.into()),
                ("address", to.into()),
            ];
            ctx.tr("bot-shipped-order-paid", &args)
        }
        (EventOutcome::Applied | EventOutcome::CreditedWallet, false, _) => {
            ctx.bot.count_payment("credited");
            ctx.tr("bot-payment-to-wallet", &[("amount", paid.into())])
        }
        (EventOutcome::Rejected | EventOutcome::Noted, false, _) => {
            ctx.bot.count_payment("rejected");
            tracing::error!(update_id = ctx.update_id, %charge, reason = ?receipt.reason,
                "a Telegram card payment does not match its order; nothing was applied");
            ctx.tr(
                "bot-payment-unmatched",
                &[("charge", charge.clone().into())],
            )
        }
    };
    ctx.say(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_payloads_name_a_confirmation() {
        assert_eq!(confirmation_of("ship:42"), Some(42));
        for payload in [
            "ship:042", "ship:0", "ship:-1", "ship:", "order:42", "ship:4 2",
        ] {
            assert_eq!(confirmation_of(payload), None, "{payload}");
        }
    }
}

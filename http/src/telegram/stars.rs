//! Orders paid in Telegram Stars: Telegram requires digital goods sold in bots and Mini
//! Apps to be paid in Stars (`XTR`, no provider token, one price, whole Stars). Such an
//! order is an external payment like any other: checkout places it `pending_payment` with
//! its keys held (`flows::checkout`), an invoice names it (`order:<id>`, nothing else: every
//! figure is checked against the order as committed, not the payload), the pre-checkout
//! query is approved only while the order is still payable, and the payment goes through
//! `payments::receive` keyed by its `telegram_payment_charge_id`, so it pays once (I4).
//! A refund calls `refundStarPayment` once per order, claimed in Postgres first
//! (`store::star_refunds`).

use super::checkout::{own_order, send_keys};
use super::payments;
use super::screens::{clip, Ctx};
use super::update::{PreCheckoutQuery, SuccessfulPayment};
use super::Bot;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::i18n::{self, Lang, Msg};
use crate::state::AppState;
use actix_web::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use souk_actors::domain::changes::{AuditEntry, WriteMeta};
use souk_actors::domain::ids::OrderId;
use souk_actors::domain::model::{Order, PaymentMethod};
use souk_actors::domain::payment::{EventOutcome, PaymentTarget};
use souk_actors::domain::stars::{StarsRefusal, XTR};
use souk_actors::domain::status::OrderStatus;
use souk_actors::flows;
use souk_actors::flows::refunds::RefundedInStars;
use souk_actors::store::star_refunds::{self, Claim, StarRefund, StarRefundState};
use souk_actors::store::{self, ShowItems};
use souk_actors::DomainError;

/// What an order's invoice payload starts with; top-up payloads start with `topup:`.
const PAYLOAD_PREFIX: &str = "order:";

/// Whether the shop takes Stars: `SOUK__TELEGRAM__STARS` and a bot to invoice through.
pub fn enabled(bot: &Bot) -> bool {
    bot.config.minor_per_star.is_some() && bot.config.api.token.is_some()
}

/// Refused before anything is reserved when the shop takes no Stars.
pub fn require_enabled(bot: &Bot) -> ApiResult<()> {
    match enabled(bot) {
        true => Ok(()),
        false => Err(ApiError::from(DomainError::NotInStars {
            reason: StarsRefusal::Disabled,
            product_id: None,
        })),
    }
}

/// The order an invoice payload names, if it names one.
pub fn order_of(payload: &str) -> Option<OrderId> {
    let id = payload.strip_prefix(PAYLOAD_PREFIX)?;
    // Only the canonical spelling: "order:07" is not an invoice Souk made.
    let order = OrderId::new(id.parse().ok()?)?;
    (order.to_string() == id).then_some(order)
}

/// What an order's invoice is made of, read from the order or from its stored JSON.
#[derive(Deserialize)]
pub struct Invoiced {
    id: OrderId,
    total_stars: Option<i64>,
    lines: Vec<InvoicedLine>,
}

#[derive(Deserialize)]
struct InvoicedLine {
    name: String,
    quantity: i64,
}

impl From<&Order> for Invoiced {
    fn from(order: &Order) -> Invoiced {
        Invoiced {
            id: order.id,
            total_stars: order.total_stars,
            lines: order
                .lines
                .iter()
                .map(|l| InvoicedLine {
                    name: l.name.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        }
    }
}

/// The one invoice of an order paid in Stars (for `sendInvoice` and `createInvoiceLink`).
fn invoice(order: &Invoiced, lang: Lang) -> ApiResult<Value> {
    let stars = order.total_stars.ok_or_else(|| {
        ApiError::from(DomainError::Internal(format!(
            "order {} has no total in Stars",
            order.id
        )))
    })?;
    let names: Vec<String> = order
        .lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity, l.name))
        .collect();
    let title = i18n::tr(
        lang,
        "bot-invoice-title",
        &[("order", order.id.get().into())],
    );
    Ok(json!({
        "title": title,
        "description": clip(&names.join(", "), 255),
        "payload": format!("{PAYLOAD_PREFIX}{}", order.id),
        "provider_token": "",
        "currency": XTR,
        "prices": [{ "label": title, "amount": stars }],
    }))
}

/// Sends the order's invoice into the chat (the bot's checkout).
pub fn send_invoice(ctx: &mut Ctx<'_>, order: &Order) -> ApiResult<()> {
    let mut body = invoice(&Invoiced::from(order), ctx.lang)?;
    body["chat_id"] = json!(ctx.chat_id);
    ctx.raw("sendInvoice", body);
    Ok(())
}

/// A link that opens the order's invoice (`Telegram.WebApp.openInvoice` in the Mini App).
/// Telegram makes a new link each time; any of them pays the same order, once.
pub async fn invoice_link(state: &AppState, order: &Invoiced, lang: Lang) -> ApiResult<String> {
    let body = invoice(order, lang)?;
    let bot = &state.telegram;
    match bot.api.call("createInvoiceLink", &body, 0).await {
        Ok(Value::String(link)) => Ok(link),
        Ok(other) => {
            tracing::error!(%other, "createInvoiceLink answered something that is not a link");
            Err(no_link())
        }
        Err(e) => {
            tracing::warn!(error = %e, order = %order.id, "no invoice link for a Stars order");
            Err(no_link())
        }
    }
}

fn no_link() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "telegram_unavailable",
        Msg::new("error-stars-no-invoice-link"),
    )
}

/// Why an order cannot be paid now (the id of the buyer's words); `None` when it can.
fn unpayable(order: &Order, currency: &str, amount: i64) -> Option<&'static str> {
    let now = chrono::Utc::now();
    match order.status {
        OrderStatus::PendingPayment => {}
        OrderStatus::Cancelled => return Some("bot-stars-order-cancelled"),
        _ => return Some("bot-stars-order-paid-already"),
    }
    if order.payment != PaymentMethod::Stars || currency != XTR {
        return Some("bot-stars-invoice-other-order");
    }
    if order.total_stars != Some(amount) {
        return Some("bot-stars-invoice-other-total");
    }
    if order.payment_due_at.is_some_and(|due| due <= now) {
        return Some("bot-stars-order-expired");
    }
    None
}

/// The pre-checkout query of an order's invoice: approved only for the buyer's own order,
/// still payable, for exactly its total in Stars, outside maintenance.
pub async fn pre_checkout(
    ctx: &mut Ctx<'_>,
    q: &PreCheckoutQuery,
    order: OrderId,
) -> ApiResult<()> {
    let found = own_order(ctx, order, ShowItems::No).await;
    let refusal = match found {
        Ok(order) => unpayable(&order, &q.currency, q.total_amount),
        Err(e) if e.code == "not_found" => Some("bot-stars-invoice-not-yours"),
        Err(e) => return Err(e),
    }
    .or_else(|| {
        ctx.state
            .maintenance
            .guard(&ctx.caller)
            .is_err()
            .then_some("bot-payments-paused")
    })
    .map(|id| ctx.t(id));
    payments::answer_pre_checkout(ctx, &q.id, refusal.as_deref());
    Ok(())
}

/// A completed payment of an order's invoice: the order is paid once per charge id and its
/// keys are sent; one that arrives for an order no longer payable credits the order's price
/// to the wallet (money is never lost, P4), and one that does not match is recorded.
pub async fn paid(ctx: &mut Ctx<'_>, payment: &SuccessfulPayment, order: OrderId) -> ApiResult<()> {
    let charge = payments::charge_id(payment);
    let currency = clip(&payment.currency, 8);
    let target = PaymentTarget::Order(order);
    let event = payments::event(&charge, payment.total_amount, currency, target);
    let audit = payments::audit(ctx, format!("order:{order}"));
    let receipt = flows::payments::receive(&ctx.state.registry, event, audit).await?;
    let text = match (receipt.outcome, receipt.duplicate) {
        (_, true) => {
            ctx.bot.count_payment("duplicate");
            ctx.tr("bot-stars-paid-already", &[("order", order.get().into())])
        }
        (EventOutcome::Applied, false) => {
            ctx.bot.count_payment("credited");
            let placed = own_order(ctx, order, ShowItems::Yes).await?;
            let args = [
                ("order", order.get().into()),
                ("stars", payment.total_amount.into()),
            ];
            let text = ctx.tr("bot-stars-paid", &args);
            ctx.say(&text);
            send_keys(ctx, &placed);
            return Ok(());
        }
        (EventOutcome::CreditedWallet, false) => {
            ctx.bot.count_payment("credited");
            ctx.tr("bot-stars-to-wallet", &[("order", order.get().into())])
        }
        (EventOutcome::Rejected | EventOutcome::Noted, false) => {
            ctx.bot.count_payment("rejected");
            tracing::error!(update_id = ctx.update_id, %charge, reason = ?receipt.reason,
                "a Telegram Stars payment does not match its order; nothing was applied");
            let args = [
                ("order", order.get().into()),
                ("charge", charge.clone().into()),
            ];
            ctx.tr("bot-stars-unmatched", &args)
        }
    };
    ctx.say(&text);
    Ok(())
}

/// Refunds the Stars an order was paid with: `refundStarPayment` is called once, however
/// many requests ask at once (the claim), and only a refund Telegram made marks the order
/// `refunded`. A refusal is recorded with Telegram's reason and answered as an error; so is
/// a call that got no answer, which the next request settles.
pub async fn refund(
    state: &AppState,
    caller: &Caller,
    order: OrderId,
    reason: String,
    audit: AuditEntry,
) -> ApiResult<Order> {
    let found = state
        .bounded(store::get_order(&state.pool, order, None, ShowItems::No))
        .await?;
    if found.payment != PaymentMethod::Stars {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_paid_in_stars",
            Msg::new("error-stars-refund-not-stars"),
        ));
    }
    if !found.status.can_move_to(OrderStatus::Refunded) {
        return Err(
            souk_actors::flows::orders::refused(found.status, OrderStatus::Refunded).into(),
        );
    }
    let claimed = state
        .bounded(star_refunds::claim(
            &state.pool,
            order,
            &caller.audit_name(),
        ))
        .await?;
    let refund = match claimed {
        Claim::Mine(refund) => refund,
        Claim::Held(held) => return Err(held_elsewhere(&held)),
        Claim::NotPaidInStars => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_paid_in_stars",
                Msg::new("error-stars-refund-nothing-paid"),
            ))
        }
    };
    let body = json!({
        "user_id": refund.telegram_user_id,
        "telegram_payment_charge_id": refund.telegram_payment_charge_id,
    });
    let answer = state
        .telegram
        .api
        .call_at_most_once("refundStarPayment", &body)
        .await;
    match answer {
        Ok(_) => {}
        // Telegram refunds a charge once: a repeat of a refund it made (the earlier call's
        // answer was lost) is this refund done.
        Err(super::api::CallError::Rejected { description, .. })
            if description.contains("CHARGE_ALREADY_REFUNDED") => {}
        Err(e) => return Err(failed(state, order, e).await),
    }
    let done = RefundedInStars {
        order,
        stars: refund.stars,
        reason,
        actor: caller.audit_name(),
        meta: WriteMeta {
            idempotency: None,
            audit: Some(audit),
        },
    };
    Ok(state.registry.user(found.user_id, done).await?)
}

/// Records a call that did not refund, and says so.
async fn failed(state: &AppState, order: OrderId, e: super::api::CallError) -> ApiError {
    use super::api::CallError;
    let (settled, error) = match &e {
        CallError::Rejected { description, .. } => (StarRefundState::Refused, description.clone()),
        CallError::Unknown { reason, .. } => (StarRefundState::Unknown, reason.clone()),
        // Never sent, or refused every time it was tried: nothing was refunded.
        CallError::NoToken | CallError::Failed { .. } => (StarRefundState::Refused, e.to_string()),
    };
    if let Err(write) = star_refunds::settle_failed(&state.pool, order, settled, &error).await {
        tracing::error!(%order, error = %write, "could not record a Stars refund that failed; its claim runs out");
    }
    match settled {
        StarRefundState::Unknown => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "refund_unknown",
            Msg::new("error-stars-refund-unknown"),
        ),
        _ => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "refund_refused",
            Msg::new("error-stars-refund-refused").arg("reason", error.to_string()),
        ),
    }
    .with_details(json!({ "order_id": order, "state": settled, "telegram": error }))
}

/// Another request holds this refund, or it is done.
fn held_elsewhere(held: &StarRefund) -> ApiError {
    let (code, message) = match held.state {
        StarRefundState::Done => ("already_refunded", "error-stars-refund-done"),
        _ => ("refund_in_progress", "error-stars-refund-in-progress"),
    };
    ApiError::new(StatusCode::CONFLICT, code, Msg::new(message))
        .with_details(json!({ "order_id": held.order_id, "state": held.state }))
}

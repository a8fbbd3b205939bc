//! What every Telegram payment shares, whatever it pays (a top-up, an order in Stars, an
//! order with delivery): how a pre-checkout query is answered and counted, and how a
//! successful payment becomes a payment event keyed by its charge id (I4) and audited.

use super::screens::{clip, Ctx};
use super::update::SuccessfulPayment;
use serde_json::json;
use souk_actors::domain::changes::AuditEntry;
use souk_actors::domain::money::Money;
use souk_actors::domain::payment::{EventType, PaymentEvent, PaymentTarget};

/// Answers a pre-checkout query: approved (`None`) or refused with the buyer's reason.
pub fn answer_pre_checkout(ctx: &mut Ctx<'_>, query_id: &str, refusal: Option<&str>) {
    let body = match refusal {
        None => {
            ctx.bot.count_payment("approved");
            json!({ "pre_checkout_query_id": query_id, "ok": true })
        }
        Some(reason) => {
            ctx.bot.count_payment("refused");
            json!({ "pre_checkout_query_id": query_id, "ok": false,
                    "error_message": clip(reason, 200) })
        }
    };
    ctx.raw("answerPreCheckoutQuery", body);
}

/// The payment's charge id as stored and shown: only what Telegram's ids are made of.
pub fn charge_id(payment: &SuccessfulPayment) -> String {
    payment
        .telegram_payment_charge_id
        .chars()
        .filter(char::is_ascii_graphic)
        .take(200)
        .collect()
}

/// The payment event of a charge: one per charge id, whatever delivers it again.
pub fn event(charge: &str, amount: i64, currency: String, target: PaymentTarget) -> PaymentEvent {
    PaymentEvent {
        event_id: format!("telegram:{charge}"),
        kind: EventType::Succeeded,
        amount: Money::from_minor(amount),
        currency,
        target,
    }
}

/// The audit row of a payment the bot received, about `target` ("order:7", "user:3").
pub fn audit(ctx: &Ctx<'_>, target: String) -> AuditEntry {
    AuditEntry {
        actor: "telegram".into(),
        action: "payment.event",
        target,
        before: None,
        after: None,
        request_id: Some(format!("telegram-update-{}", ctx.update_id)),
    }
}

//! The wallet in the bot: balance and history, and top-ups through Telegram Payments: in
//! the shop currency through the payments provider, or, with `SOUK__TELEGRAM__STARS`, in
//! Telegram Stars (`XTR`, no provider token, one price, whole Stars), each Star adding
//! `SOUK__TELEGRAM__MINOR_PER_STAR` to the wallet. An invoice's payload is signed by Souk
//! (`invoice.rs`): the pre-checkout query is
//! approved, and a successful payment credited, only when it matches that invoice (user,
//! amount, currency, age) and, for the query, outside maintenance. A payment goes through
//! the same path as the payment webhook's events (`payments::receive`), keyed by its
//! `telegram_payment_charge_id`, so it is credited once (I4, P5); one that does not match
//! its invoice credits nothing and is recorded as rejected and audited, like theirs.

use super::callback::Action;
use super::invoice::{self, Claim, Invoice, Mismatch};
use super::money;
use super::payments;
use super::screens::{button, clip, Ctx, Screen};
use super::update::{PreCheckoutQuery, SuccessfulPayment};
use crate::error::ApiResult;
use serde_json::json;
use souk_actors::domain::model::WalletTxKind;
use souk_actors::domain::payment::EventOutcome;
use souk_actors::domain::payment::PaymentTarget;
use souk_actors::entity::user::GetBalance;
use souk_actors::flows;
use souk_actors::store::{self, PageRequest};

const HISTORY: i64 = 8;

pub async fn wallet(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    let state = ctx.state;
    let balance = state.registry.user(ctx.caller.user, GetBalance).await?;
    let page = PageRequest {
        limit: HISTORY,
        after: None,
    };
    let history = state
        .bounded(store::list_wallet_transactions(
            &state.pool,
            ctx.caller.user,
            page,
        ))
        .await?;
    let currency = ctx.currency().to_string();
    let balance = money(balance.minor(), &currency);
    let mut text = ctx.tr("bot-wallet-balance", &[("balance", balance.into())]);
    text.push('\n');
    if !history.items.is_empty() {
        text.push('\n');
        text.push_str(&ctx.t("bot-wallet-latest"));
        text.push('\n');
    }
    for tx in &history.items {
        let sign = if tx.kind == WalletTxKind::Debit {
            "−"
        } else {
            "+"
        };
        text.push_str(&format!(
            "{sign}{} {}\n",
            money(tx.amount_minor.minor(), &currency),
            tx.reason
        ));
    }
    let rate = ctx.bot.config.minor_per_star;
    // Without Stars or a payments provider there is nothing to pay a top-up with: no
    // buttons rather than invoices Telegram refuses.
    let offered: &[i64] = match rate.is_some() || ctx.bot.provider_token().is_some() {
        true => &ctx.bot.config.topup_amounts,
        false => &[],
    };
    let topups = offered
        .iter()
        .map(|a| {
            let label = match rate {
                Some(rate) => format!("+{a} ⭐ ({})", money(a.saturating_mul(rate), &currency)),
                None => format!("+{}", money(*a, &currency)),
            };
            button(label, Action::TopUp { amount: *a })
        })
        .collect();
    ctx.show(
        Screen::text(text)
            .row(topups)
            .row(vec![button(ctx.t("bot-button-menu"), Action::Menu)]),
    );
    Ok(())
}

/// The currency the bot's invoices charge in now: `XTR` when it takes Stars.
fn charged_in<'a>(ctx: &'a Ctx<'_>) -> &'a str {
    match ctx.bot.config.minor_per_star {
        Some(_) => STARS,
        None => ctx.currency(),
    }
}

/// Telegram's currency code for Stars.
pub const STARS: &str = "XTR";

pub async fn invoice(ctx: &mut Ctx<'_>, amount: i64) -> ApiResult<()> {
    let payable = ctx.bot.config.minor_per_star.is_some() || ctx.bot.provider_token().is_some();
    if !payable || !ctx.bot.config.topup_amounts.contains(&amount) {
        ctx.stale();
        return Ok(());
    }
    ctx.state.maintenance.guard(&ctx.caller)?;
    let shop_currency = ctx.currency().to_string();
    let rate = ctx.bot.config.minor_per_star;
    let credit_minor = rate.map_or(amount, |r| amount.saturating_mul(r));
    let currency = charged_in(ctx).to_string();
    let payload = Invoice {
        user: ctx.caller.user,
        amount,
        currency: currency.clone(),
        credit_minor,
        issued: chrono::Utc::now().timestamp(),
    }
    .payload(&ctx.bot.config.invoice_key);
    // Stars go through Telegram itself: the provider token is empty.
    let provider = match rate {
        Some(_) => String::new(),
        None => ctx.bot.provider_token().unwrap_or_default(),
    };
    ctx.answer(None, false);
    ctx.raw(
        "sendInvoice",
        json!({
            "chat_id": ctx.chat_id,
            "title": ctx.t("bot-topup-title"),
            "description": ctx.tr("bot-topup-description", &[("amount", money(credit_minor, &shop_currency).into())]),
            "payload": payload,
            "provider_token": provider,
            "currency": currency,
            "prices": [{ "label": ctx.t("bot-topup-label"), "amount": amount }],
        }),
    );
    Ok(())
}

/// Checks what a pre-checkout query or a payment claims against the invoice its payload
/// names, allowing invoices up to `max_age_secs` old.
fn matches_invoice(
    ctx: &Ctx<'_>,
    payload: &str,
    amount: i64,
    currency: &str,
    max_age_secs: i64,
) -> Result<Invoice, Mismatch> {
    let claim = Claim {
        user: ctx.caller.user,
        amount,
        currency,
    };
    let now = chrono::Utc::now().timestamp();
    let key = &ctx.bot.config.invoice_key;
    invoice::check(payload, key, &claim, charged_in(ctx), now, max_age_secs)
}

fn invoice_ttl_secs(ctx: &Ctx<'_>) -> i64 {
    i64::try_from(ctx.bot.config.invoice_ttl.as_secs()).unwrap_or(i64::MAX)
}

pub async fn pre_checkout(ctx: &mut Ctx<'_>, q: &PreCheckoutQuery) -> ApiResult<()> {
    let ttl = invoice_ttl_secs(ctx);
    let checked = matches_invoice(ctx, &q.invoice_payload, q.total_amount, &q.currency, ttl);
    let why = checked.as_ref().err().map(|m| ctx.t(m.explain()));
    let paused = ctx.state.maintenance.guard(&ctx.caller).is_err();
    let refusal = match checked {
        Err(_) => why,
        Ok(_) if paused => Some(ctx.t("bot-topup-paused")),
        Ok(_) => None,
    };
    payments::answer_pre_checkout(ctx, &q.id, refusal.as_deref());
    Ok(())
}

/// A completed payment: credited once per charge id if it matches the invoice Souk issued,
/// otherwise recorded as rejected (Telegram took the money, so people sort it out) and the
/// buyer is told so, with the id to quote.
pub async fn paid(ctx: &mut Ctx<'_>, payment: &SuccessfulPayment) -> ApiResult<()> {
    let shop_currency = ctx.currency().to_string();
    let charge = payments::charge_id(payment);
    let max_age = invoice_ttl_secs(ctx).saturating_add(invoice::PAYMENT_GRACE_SECS);
    let checked = matches_invoice(
        ctx,
        &payment.invoice_payload,
        payment.total_amount,
        &payment.currency,
        max_age,
    );
    let caller = ctx.caller;
    // A matching payment credits what its invoice offered, in the shop currency (for
    // Stars: the Stars at the invoice's rate); another is recorded as it arrived.
    let (amount, currency) = match &checked {
        Ok(invoice) => (invoice.credit_minor, shop_currency.clone()),
        Err(_) => (payment.total_amount, clip(&payment.currency, 8)),
    };
    let target = PaymentTarget::WalletTopup(caller.user);
    let event = payments::event(&charge, amount, currency, target);
    let audit = payments::audit(ctx, format!("user:{}", caller.user));
    let registry = &ctx.state.registry;
    let receipt = match checked {
        Ok(_) => flows::payments::receive(registry, event, audit).await?,
        Err(mismatch) => flows::payments::reject(registry, event, mismatch.reason(), audit).await?,
    };
    let balance = ctx.state.registry.user(caller.user, GetBalance).await?;
    let balance = money(balance.minor(), &shop_currency);
    let text = match (receipt.outcome, receipt.duplicate) {
        (EventOutcome::Rejected, duplicate) => {
            ctx.bot
                .count_payment(if duplicate { "duplicate" } else { "rejected" });
            tracing::error!(update_id = ctx.update_id, %charge, reason = ?receipt.reason,
                "a Telegram payment does not match the invoice Souk issued; nothing was credited");
            let why = checked.err().map_or(String::new(), |m| ctx.t(m.explain()));
            let args = [("why", why.into()), ("charge", charge.clone().into())];
            ctx.tr("bot-topup-unmatched", &args)
        }
        (_, true) => {
            ctx.bot.count_payment("duplicate");
            ctx.tr("bot-topup-already", &[("balance", balance.clone().into())])
        }
        (_, false) => {
            ctx.bot.count_payment("credited");
            let added = money(amount, &shop_currency);
            match payment.currency == STARS {
                true => {
                    let args = [
                        ("amount", added.into()),
                        ("stars", payment.total_amount.into()),
                        ("balance", balance.into()),
                    ];
                    ctx.tr("bot-topup-added-stars", &args)
                }
                false => {
                    let args = [("amount", added.into()), ("balance", balance.into())];
                    ctx.tr("bot-topup-added", &args)
                }
            }
        }
    };
    ctx.say(&text);
    Ok(())
}

//! The wallet in the bot: balance and history, and top-ups through Telegram Payments.
//! An invoice's payload names the user, the amount and when it was issued; the
//! pre-checkout query is approved only while that still holds (right user, amount and
//! currency, not expired, not in maintenance). A successful payment credits the wallet
//! once per `telegram_payment_charge_id`: the charge id is the credit's Idempotency-Key,
//! stored in the credit's own transaction (I4, P5).

use super::callback::Action;
use super::money;
use super::screens::{button, clip, Ctx, Screen};
use super::update::{PreCheckoutQuery, SuccessfulPayment};
use crate::error::ApiResult;
use crate::extract::IdempotencyKey;
use crate::idempotency::{once, Answer, Served};
use actix_web::http::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};
use souk_actors::ids::UserId;
use souk_actors::money::Money;
use souk_actors::product::WriteMeta;
use souk_actors::store::{self, PageRequest};
use souk_actors::user::{Credit, GetBalance};
use souk_actors::writes::AuditEntry;

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
    let mut text = format!("💳 Balance: {}\n", money(balance.minor(), &currency));
    if !history.items.is_empty() {
        text.push_str("\nLatest:\n");
    }
    for tx in serde_json::to_value(&history.items)
        .unwrap_or_default()
        .as_array()
        .into_iter()
        .flatten()
    {
        let sign = if tx["kind"] == "debit" { "−" } else { "+" };
        text.push_str(&format!(
            "{sign}{} {}\n",
            money(tx["amount_minor"].as_i64().unwrap_or(0), &currency),
            tx["reason"].as_str().unwrap_or("")
        ));
    }
    let topups = ctx
        .bot
        .config
        .topup_amounts_minor
        .iter()
        .map(|a| {
            button(
                format!("+{}", money(*a, &currency)),
                Action::TopUp { amount_minor: *a },
            )
        })
        .collect();
    ctx.show(
        Screen::text(text)
            .row(topups)
            .row(vec![button("⬅ Menu", Action::Menu)]),
    );
    Ok(())
}

pub async fn invoice(ctx: &mut Ctx<'_>, amount: i64) -> ApiResult<()> {
    if !ctx.bot.config.topup_amounts_minor.contains(&amount) {
        ctx.stale();
        return Ok(());
    }
    ctx.state.maintenance.guard(&ctx.caller)?;
    let payload = format!(
        "topup:1:{}:{amount}:{}",
        ctx.caller.user,
        chrono::Utc::now().timestamp()
    );
    let currency = ctx.currency().to_string();
    let provider = ctx
        .bot
        .config
        .payment_provider_token
        .as_ref()
        .map(|t| t.expose_secret().to_string())
        .unwrap_or_default();
    ctx.answer(None, false);
    ctx.raw(
        "sendInvoice",
        json!({
            "chat_id": ctx.chat_id,
            "title": "Wallet top-up",
            "description": format!("Adds {} to your shop wallet.", money(amount, &currency)),
            "payload": payload,
            "provider_token": provider,
            "currency": currency,
            "prices": [{ "label": "Top-up", "amount": amount }],
        }),
    );
    Ok(())
}

struct Payload {
    user: UserId,
    amount: i64,
    issued: i64,
}

fn parse_payload(raw: &str) -> Option<Payload> {
    let mut parts = raw.split(':');
    if parts.next() != Some("topup") || parts.next() != Some("1") {
        return None;
    }
    let user = parts.next()?.parse::<UserId>().ok()?;
    let amount = parts.next()?.parse::<i64>().ok()?;
    let issued = parts.next()?.parse::<i64>().ok()?;
    parts.next().is_none().then_some(Payload {
        user,
        amount,
        issued,
    })
}

pub async fn pre_checkout(ctx: &mut Ctx<'_>, q: &PreCheckoutQuery) -> ApiResult<()> {
    let refusal = match parse_payload(&q.invoice_payload) {
        None => Some("This invoice is not valid."),
        Some(p) if p.user != ctx.caller.user => Some("This invoice is not yours."),
        Some(p) if p.amount != q.total_amount || q.currency != ctx.currency() => {
            Some("This invoice does not match its amount.")
        }
        Some(p)
            if chrono::Utc::now().timestamp() - p.issued
                > i64::try_from(ctx.bot.config.invoice_ttl.as_secs()).unwrap_or(i64::MAX) =>
        {
            Some("This invoice has expired; ask for a new one in /wallet.")
        }
        Some(_) if ctx.state.maintenance.guard(&ctx.caller).is_err() => {
            Some("The shop is under maintenance; top-ups are paused. Try again soon.")
        }
        Some(_) => None,
    };
    let body = match refusal {
        None => json!({ "pre_checkout_query_id": q.id, "ok": true }),
        Some(reason) => {
            json!({ "pre_checkout_query_id": q.id, "ok": false, "error_message": reason })
        }
    };
    ctx.raw("answerPreCheckoutQuery", body);
    Ok(())
}

pub async fn paid(ctx: &mut Ctx<'_>, payment: &SuccessfulPayment) -> ApiResult<()> {
    let currency = ctx.currency().to_string();
    let charge = clip(&payment.telegram_payment_charge_id, 200);
    let fits = parse_payload(&payment.invoice_payload).is_some_and(|p| p.user == ctx.caller.user);
    if !fits || payment.currency != currency || payment.total_amount <= 0 {
        // Telegram took the money, so this is for people to sort out, not to drop silently.
        tracing::error!(update_id = ctx.update_id, %charge, "a payment does not match its invoice");
        ctx.say(&format!(
            "We received a payment we could not match to your wallet. Please contact support with this id: {charge}"
        ));
        return Ok(());
    }
    let amount = Money::from_minor(payment.total_amount);
    let caller = ctx.caller;
    let request_id = format!("telegram-update-{}", ctx.update_id);
    let audit = AuditEntry {
        actor: caller.audit_name(),
        action: "wallet.credit",
        target: format!("user:{}", caller.user),
        before: None,
        after: Some(json!({ "amount_minor": amount, "telegram_payment_charge_id": charge })),
        request_id: Some(request_id.clone()),
    };
    let key = IdempotencyKey(format!("telegram-charge-{charge}"));
    let hash = Sha256::digest(format!("telegram top-up {charge} {amount}")).to_vec();
    let registry = ctx.state.registry.clone();
    let (_, served) = once(
        ctx.state,
        caller,
        key,
        hash,
        &request_id,
        |draft| async move {
            let meta = WriteMeta {
                idempotency: Some(draft),
                audit: Some(audit),
            };
            let credit = Credit {
                amount,
                reason: "Telegram top-up".into(),
                meta,
            };
            let tx = registry.user(caller.user, credit).await?;
            Answer::new(StatusCode::CREATED, tx)
        },
    )
    .await?;
    let balance = ctx.state.registry.user(caller.user, GetBalance).await?;
    let text = match served {
        Served::Fresh => format!(
            "✅ {} added to your wallet. Balance: {}.",
            money(amount.minor(), &currency),
            money(balance.minor(), &currency)
        ),
        Served::Replayed => format!(
            "This payment was already added. Balance: {}.",
            money(balance.minor(), &currency)
        ),
    };
    ctx.say(&text);
    Ok(())
}

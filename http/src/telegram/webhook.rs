//! `POST /v1/telegram/webhook`. The secret header is checked before anything is read (401,
//! nothing processed, charged to the sender's address rather than the webhook's quota).
//! Well-formed updates are answered 200 within `reply_within` whatever the Bot API does:
//! the update is applied and its answers are sent on a task that goes on if the bound
//! passes. Each update is applied once (I4, P26): under the user's turn (the user's actor
//! serializes their updates), an update id already recorded changes nothing and sends
//! nothing; money and stock effects are also keyed (see `checkout.rs`).

use super::callback::{decode, Action};
use super::screens::{deliver, Call, Ctx, Origin};
use super::update::{Kind, Update};
use super::{admin, auth, broadcast, checkout, language, shipped, shop, stars, wallet, Bot, Step};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::read_body;
use crate::i18n::Lang;
use crate::i18n::Msg;
use crate::middleware::ratelimit::{charge_webhook, Webhook};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use souk_actors::domain::ids::UserId;
use souk_actors::domain::model::PaymentMethod;
use souk_actors::entity::conversation::{BeginTurn, EndTurn, GetStep, SetStep};
use souk_actors::entity::registry::Registry;
use souk_actors::store::telegram as store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// How long an update waits behind the same user's earlier ones.
const TURN_WAIT: Duration = Duration::from_secs(10);

#[utoipa::path(
    post,
    path = "/v1/telegram/webhook",
    summary = "A Telegram Update (the Bot API's webhook call)",
    tag = "telegram",
    operation_id = "telegram_webhook",
    params((
        "X-Telegram-Bot-Api-Secret-Token" = String, Header,
        description = "The secret given to setWebhook (`SOUK__TELEGRAM__WEBHOOK_SECRET`)"
    )),
    request_body(content = Object, description = "A Telegram `Update` with an integer `update_id`"),
    responses((status = 200, description = "Taken (also for update kinds the bot ignores)"))
)]
pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let bot = state.telegram.clone();
    let sent = req.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    let authentic = bot.secret_matches(sent);
    // Only Telegram's own calls spend the webhook's quota; junk spends its sender's.
    charge_webhook(&req, Webhook::Telegram, authentic)?;
    if !authentic {
        bot.count(Kind::Unsupported, "unauthorized");
        return Err(ApiError::unauthorized(Msg::new("error-telegram-secret")));
    }
    let bytes = read_body(&req, &mut payload.into_inner()).await?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(ApiError::malformed_json)?;
    let update_id = value
        .get("update_id")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| {
            // Not an update at all: 400 like malformed JSON (Telegram never sends one).
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_update",
                Msg::new("error-telegram-update"),
            )
            .with_details(serde_json::json!({ "field": "update_id" }))
        })?;
    // Fields the bot cannot read make the update one it ignores, not an error to retry.
    let update =
        serde_json::from_value::<Update>(value).unwrap_or_else(|_| Update::unsupported(update_id));
    let task = bot.api.spawn_sending(process(state.clone(), update));
    if tokio::time::timeout(bot.config.reply_within, task)
        .await
        .is_err()
    {
        tracing::info!(
            update_id,
            "answering the webhook before the update's replies are sent"
        );
    }
    Ok(HttpResponse::Ok().finish())
}

/// The Souk user an authentic update comes from, made on their first contact exactly as
/// `apply` would: a cluster serves the update on that user's node (`middleware::home`), so
/// a buyer's very first message already reaches their actor. `None` for anything the
/// handler refuses or ignores (wrong secret, unreadable, no sender).
pub(crate) async fn sender(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Option<souk_actors::domain::ids::UserId> {
    let sent = req.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    if !state.telegram.secret_matches(sent) {
        return None;
    }
    let update: Update = serde_json::from_slice(body).ok()?;
    let from = update.sender()?;
    if let Some(user) = state.telegram.known_user(from.id) {
        return Some(user);
    }
    let request_id = format!("telegram-update-{}", update.update_id);
    auth::souk_user(state, from, Some(request_id)).await.ok()
}

enum Applied {
    Done(Vec<Call>),
    Duplicate,
    Ignored,
}

async fn process(state: web::Data<AppState>, update: Update) {
    let bot = state.telegram.clone();
    let kind = update.kind();
    match apply(&state, &bot, &update).await {
        Ok(Applied::Done(calls)) => {
            bot.count(kind, "ok");
            deliver(&bot, calls, update.update_id).await;
        }
        Ok(Applied::Duplicate) => bot.count(kind, "duplicate"),
        Ok(Applied::Ignored) => bot.count(kind, "ignored"),
        Err(e) => {
            bot.count(kind, "error");
            tracing::warn!(update_id = update.update_id, error = %e, "a Telegram update was not applied");
            // The button is still answered, so the user is told instead of left waiting.
            if let Some(q) = &update.callback_query {
                let body = serde_json::json!({
                    "callback_query_id": q.id, "show_alert": true,
                    "text": "Something went wrong on our side; please try again in a moment.",
                });
                let _ = bot
                    .api
                    .call("answerCallbackQuery", &body, update.update_id)
                    .await;
            }
        }
    }
}

async fn apply(state: &AppState, bot: &Bot, update: &Update) -> ApiResult<Applied> {
    let kind = update.kind();
    let pool = &state.pool;
    let Some(from) = update.sender() else {
        state
            .bounded(store::record_applied(
                pool,
                update.update_id,
                kind.as_str(),
                None,
            ))
            .await?;
        return Ok(Applied::Ignored);
    };
    let user = match bot.known_user(from.id) {
        Some(user) => user,
        None => {
            let request_id = format!("telegram-update-{}", update.update_id);
            let user = auth::souk_user(state, from, Some(request_id)).await?;
            bot.remember_user(from.id, user);
            user
        }
    };
    let turn = Turn::begin(&state.registry, user).await?;
    if state
        .bounded(store::already_applied(pool, update.update_id))
        .await?
    {
        return Ok(Applied::Duplicate);
    }
    let caller = Caller {
        user,
        role: bot.role_of(from.id),
    };
    let (chat_id, origin) = match (&update.callback_query, &update.message) {
        (Some(q), _) => (
            q.message.as_ref().map_or(from.id, |m| m.chat.id),
            Origin::Button {
                query_id: q.id.clone(),
                message_id: q.message.as_ref().map(|m| m.message_id),
                photo: q.message.as_ref().is_some_and(|m| m.photo.is_some()),
            },
        ),
        (None, Some(m)) => (m.chat.id, Origin::Chat),
        (None, None) => (from.id, Origin::Chat),
    };
    let app = Lang::from_telegram(from.language_code.as_deref());
    let chosen = state
        .bounded(souk_actors::store::language::speaks(pool, user, app.code()))
        .await?;
    let lang = chosen.as_deref().and_then(Lang::from_tag).unwrap_or(app);
    let mut ctx = Ctx::new(
        state,
        bot,
        update.update_id,
        caller,
        from.id,
        chat_id,
        origin,
        lang,
    );
    let result = route(&mut ctx, update).await;
    explain(&mut ctx, result);
    // Recorded after the effects: a crash in between re-applies the update, whose money
    // and stock effects are keyed and so still happen once.
    if let Err(e) = state
        .bounded(store::record_applied(
            pool,
            update.update_id,
            kind.as_str(),
            Some(from.id),
        ))
        .await
    {
        tracing::warn!(update_id = update.update_id, error = %e, "an applied update was not recorded");
    }
    drop(turn);
    Ok(Applied::Done(ctx.finish()))
}

async fn route(ctx: &mut Ctx<'_>, update: &Update) -> ApiResult<()> {
    if let Some(q) = &update.callback_query {
        return match q.data.as_deref().and_then(decode) {
            Some(action) => on_action(ctx, action).await,
            None => {
                ctx.stale();
                Ok(())
            }
        };
    }
    if let Some(q) = &update.pre_checkout_query {
        let payload = &q.invoice_payload;
        if let Some(order) = stars::order_of(payload) {
            return stars::pre_checkout(ctx, q, order).await;
        }
        if let Some(confirmation) = shipped::confirmation_of(payload) {
            return shipped::pre_checkout(ctx, q, confirmation).await;
        }
        return wallet::pre_checkout(ctx, q).await;
    }
    if let Some(q) = &update.shipping_query {
        return shipped::shipping(ctx, q).await;
    }
    let Some(message) = &update.message else {
        return Ok(());
    };
    if let Some(payment) = &message.successful_payment {
        let payload = &payment.invoice_payload;
        if let Some(order) = stars::order_of(payload) {
            return stars::paid(ctx, payment, order).await;
        }
        if let Some(confirmation) = shipped::confirmation_of(payload) {
            return shipped::paid(ctx, payment, confirmation).await;
        }
        return wallet::paid(ctx, payment).await;
    }
    match message.text.as_deref() {
        Some(text) => on_text(ctx, text).await,
        None => {
            let text = ctx.t("bot-only-text");
            ctx.say(&text);
            Ok(())
        }
    }
}

async fn on_text(ctx: &mut Ctx<'_>, text: &str) -> ApiResult<()> {
    let step = step(ctx).await?;
    if let Some(command) = text.strip_prefix('/') {
        let command = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .split('@')
            .next()
            .unwrap_or("");
        // A command ends any dialogue that was waiting for text.
        if step.is_some() {
            set_step(ctx, None).await?;
        }
        return match command {
            "start" => shop::start(ctx).await,
            "help" => shop::help(ctx),
            "catalog" => shop::categories(ctx, 0).await,
            "cart" => shop::cart(ctx).await,
            "orders" => checkout::orders(ctx).await,
            "wallet" => wallet::wallet(ctx).await,
            "admin" => admin::menu(ctx).await,
            "broadcast" => broadcast::compose(ctx).await,
            "language" => {
                language::choose(ctx);
                Ok(())
            }
            "cancel" => {
                let text = ctx.t("bot-cancelled");
                ctx.say(&text);
                Ok(())
            }
            _ => {
                let text = ctx.t("bot-unknown-command");
                ctx.say(&text);
                Ok(())
            }
        };
    }
    match step {
        Some(Step::AwaitCodes { product }) => admin::receive_codes(ctx, product, text).await,
        Some(Step::AwaitBroadcast) => broadcast::receive(ctx, text).await,
        None => {
            let text = ctx.t("bot-not-understood");
            ctx.say(&text);
            Ok(())
        }
    }
}

async fn on_action(ctx: &mut Ctx<'_>, action: Action) -> ApiResult<()> {
    match action {
        Action::Menu => {
            let menu = shop::menu(ctx);
            ctx.show(menu);
            Ok(())
        }
        Action::Noop => Ok(()),
        Action::Languages => {
            language::choose(ctx);
            Ok(())
        }
        Action::Language { lang } => language::set(ctx, lang).await,
        Action::Categories { page } => shop::categories(ctx, page).await,
        Action::Category { id, page } => shop::category(ctx, id, page).await,
        Action::Product { id, qty } => shop::product(ctx, id, qty).await,
        Action::Add { id, qty } => shop::add(ctx, id, qty).await,
        Action::Watch { id } => shop::watch(ctx, id).await,
        Action::Cart => shop::cart(ctx).await,
        Action::CartSet { id, qty } => shop::change(ctx, id, Some(qty)).await,
        Action::CartRemove { id } => shop::change(ctx, id, None).await,
        Action::Checkout => checkout::confirm(ctx).await,
        Action::Pay { confirmation } => {
            checkout::pay(ctx, confirmation, PaymentMethod::Wallet).await
        }
        Action::PayStars { confirmation } => {
            checkout::pay(ctx, confirmation, PaymentMethod::Stars).await
        }
        Action::PayShipped { confirmation } => shipped::invoice(ctx, confirmation).await,
        Action::Orders => checkout::orders(ctx).await,
        Action::Keys { order } => checkout::keys(ctx, order).await,
        Action::Wallet => wallet::wallet(ctx).await,
        Action::TopUp { amount } => wallet::invoice(ctx, amount).await,
        Action::Admin
        | Action::AdminPick { .. }
        | Action::AdminCodes { .. }
        | Action::AdminStock { .. }
        | Action::AdminAdjust { .. }
        | Action::AdminLow
        | Action::AdminMaintenance { .. } => admin::on_action(ctx, action).await,
        Action::AdminBroadcast => broadcast::compose(ctx).await,
        Action::BroadcastConfirm { id, send } => broadcast::confirm(ctx, id, send).await,
    }
}

/// A failed step becomes a message the user can act on, never silence (P24).
fn explain(ctx: &mut Ctx<'_>, result: ApiResult<()>) {
    let Err(error) = result else { return };
    match error.code {
        "not_found" | "product_inactive" => ctx.stale(),
        "maintenance" => {
            let message = error.message_in(ctx.lang);
            ctx.answer(Some(&message), true);
            let text = ctx.tr("bot-maintenance-browse", &[("message", message.into())]);
            ctx.say(&text);
        }
        _ => {
            tracing::warn!(update_id = ctx.update_id, error = %error, "a Telegram update failed");
            let text = ctx.t("bot-error");
            ctx.answer(Some(&text), true);
            ctx.say(&text);
        }
    }
}

pub async fn step(ctx: &Ctx<'_>) -> ApiResult<Option<Step>> {
    let raw = ctx.state.registry.user(ctx.caller.user, GetStep).await?;
    // A step this version cannot read is dropped, as if none was waiting.
    Ok(raw.and_then(|v| serde_json::from_value(v).ok()))
}

pub async fn set_step(ctx: &Ctx<'_>, step: Option<Step>) -> ApiResult<()> {
    let value = step.and_then(|s| serde_json::to_value(s).ok());
    ctx.state
        .registry
        .user(ctx.caller.user, SetStep(value))
        .await?;
    Ok(())
}

/// A user's turn: held while one update is applied; given back when dropped, whatever
/// happened (also when waiting for it timed out).
struct Turn {
    registry: Arc<Registry>,
    user: UserId,
    ticket: u64,
}

impl Turn {
    async fn begin(registry: &Arc<Registry>, user: UserId) -> ApiResult<Turn> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let ticket = NEXT.fetch_add(1, Ordering::Relaxed);
        let turn = Turn {
            registry: registry.clone(),
            user,
            ticket,
        };
        let granted = registry.user(user, BeginTurn { ticket }).await?;
        match tokio::time::timeout(TURN_WAIT, granted).await {
            Ok(Ok(())) => Ok(turn),
            _ => Err(ApiError::unavailable(Msg::new(
                "error-telegram-updates-busy",
            ))),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.registry.tell_user(
            self.user,
            EndTurn {
                ticket: self.ticket,
            },
        );
    }
}

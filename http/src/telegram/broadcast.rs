//! `/broadcast`: an admin composes a message, sees it as users will, and confirms it; the
//! confirmation queues it for every bot user in one transaction (`store::broadcasts`) and
//! the sender (`notify`) sends it within Telegram's limits, then reports to the admin how
//! many got it. A second press, a redelivered update or a restart midway sends nobody the
//! message twice.

use super::admin::allowed;
use super::callback::Action;
use super::notify::PER_SECOND;
use super::screens::{button, Ctx, Screen};
use super::shop::forget_step;
use super::{webhook, Step};
use crate::error::ApiResult;
use souk_actors::domain::broadcast::{BroadcastState, BroadcastText};
use souk_actors::store::broadcasts::{self, Draft, Moved};

pub async fn compose(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    if !allowed(ctx).await? {
        return Ok(());
    }
    webhook::set_step(ctx, Some(Step::AwaitBroadcast)).await?;
    ctx.answer(None, false);
    let max = ("max", BroadcastText::MAX_CHARS.into());
    ctx.say(&ctx.tr("bot-admin-broadcast-ask", &[max]));
    Ok(())
}

/// The text an admin sent while the bot waited for a broadcast: kept as a draft and shown
/// back with the question.
pub async fn receive(ctx: &mut Ctx<'_>, text: &str) -> ApiResult<()> {
    if !allowed(ctx).await? {
        return Ok(());
    }
    let text = match BroadcastText::new(text) {
        Ok(text) => text,
        // Still waiting: the admin can send it again.
        Err(e) => {
            let reason = crate::error::ApiError::from(e).message_in(ctx.lang);
            ctx.say(&ctx.tr("bot-admin-broadcast-not-kept", &[("reason", reason.into())]));
            return Ok(());
        }
    };
    let state = ctx.state;
    let draft = state
        .bounded(broadcasts::draft(
            &state.pool,
            ctx.update_id,
            ctx.telegram_id,
            &text,
        ))
        .await?;
    forget_step(ctx).await?;
    preview(ctx, &draft);
    Ok(())
}

/// The message exactly as users will read it (untranslated: it is the admin's own text),
/// then what confirming would do, in the admin's language.
fn preview(ctx: &mut Ctx<'_>, draft: &Draft) {
    ctx.say(&draft.text);
    let minutes = (draft.recipients as f64 / PER_SECOND / 60.0).ceil() as i64;
    let mut question = ctx.tr(
        "bot-admin-broadcast-preview",
        &[
            ("id", draft.id.into()),
            ("recipients", draft.recipients.into()),
            ("minutes", minutes.into()),
            ("rate", (PER_SECOND as i64).into()),
        ],
    );
    if draft.blocked > 0 {
        question.push(' ');
        let blocked = ("blocked", draft.blocked.into());
        question.push_str(&ctx.tr("bot-admin-broadcast-skipped", &[blocked]));
    }
    let recipients = ("recipients", draft.recipients.into());
    let screen = Screen::text(question).row(vec![
        button(
            ctx.tr("bot-admin-broadcast-send", &[recipients]),
            Action::BroadcastConfirm {
                id: draft.id,
                send: true,
            },
        ),
        button(
            ctx.t("bot-admin-broadcast-cancel"),
            Action::BroadcastConfirm {
                id: draft.id,
                send: false,
            },
        ),
    ]);
    ctx.send(screen);
}

pub async fn confirm(ctx: &mut Ctx<'_>, id: i64, send: bool) -> ApiResult<()> {
    if !allowed(ctx).await? {
        return Ok(());
    }
    let to = if send {
        BroadcastState::Sending
    } else {
        BroadcastState::Cancelled
    };
    let state = ctx.state;
    let moved = state
        .bounded(broadcasts::move_to(&state.pool, id, ctx.telegram_id, to))
        .await?;
    let text = match moved {
        Moved::Now { queued } if send => ctx.tr(
            "bot-admin-broadcast-going",
            &[("id", id.into()), ("queued", queued.into())],
        ),
        Moved::Now { .. } => ctx.tr("bot-admin-broadcast-cancelled", &[("id", id.into())]),
        Moved::Already(now) => {
            let text = ctx.tr(
                "bot-admin-broadcast-already",
                &[("id", id.into()), ("state", now.as_str().into())],
            );
            ctx.answer(Some(&text), false);
            text
        }
    };
    ctx.show(Screen::text(text));
    Ok(())
}

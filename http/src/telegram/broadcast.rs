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
    ctx.say(&format!(
        "Send the message to broadcast to every bot user (text, up to {} characters). You will see it before it goes out. /cancel to stop.",
        BroadcastText::MAX_CHARS
    ));
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
            // The bot's texts are not localized yet: the reason is told in English.
            let reason = crate::error::ApiError::from(e).message_in(crate::i18n::Lang::En);
            ctx.say(&format!("Not kept: {reason}. Send it again, or /cancel."));
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

/// The message exactly as users will read it, then what confirming would do.
fn preview(ctx: &mut Ctx<'_>, draft: &Draft) {
    ctx.say(&draft.text);
    let minutes = (draft.recipients as f64 / PER_SECOND / 60.0).ceil();
    let mut question = format!(
        "Preview of broadcast #{} above. Send it to {} bot users (about {minutes} min at {PER_SECOND} messages a second)?",
        draft.id, draft.recipients
    );
    if draft.blocked > 0 {
        question.push_str(&format!(
            " {} more blocked the bot and are skipped.",
            draft.blocked
        ));
    }
    let screen = Screen::text(question).row(vec![
        button(
            format!("✅ Send to {}", draft.recipients),
            Action::BroadcastConfirm {
                id: draft.id,
                send: true,
            },
        ),
        button(
            "✖ Cancel",
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
        Moved::Now { queued } if send => format!(
            "📣 Broadcast #{id} is going out to {queued} users. I will report here when it is done."
        ),
        Moved::Now { .. } => format!("Broadcast #{id} cancelled; nobody got it."),
        Moved::Already(now) => {
            let text = format!(
                "Broadcast #{id} is already {}; nothing more was done.",
                now.as_str()
            );
            ctx.answer(Some(&text), false);
            text
        }
    };
    ctx.show(Screen::text(text));
    Ok(())
}

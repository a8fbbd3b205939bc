//! Admins in the bot (P19, P25): the Telegram ids of `SOUK__TELEGRAM__ADMIN_IDS`, none by
//! default. Every admin step asks `Caller::require(Role::Admin)`, the one role check of the
//! HTTP API; a refused step answers "not allowed" and clears the conversation state, so a
//! forwarded button or a stale dialogue leads nowhere. Each change is bounded by the domain's
//! own types, the same as for the HTTP API (`StockDelta`, `CodeBatch`, `Maintenance::new`):
//! a crafted button is refused with the bound it broke. Codes are added in chunks of the
//! batch limit, each keyed by the update, so a long message works and a redelivery adds
//! nothing twice.

use super::callback::{Action, AdminList};
use super::screens::{button, Ctx, Screen};
use super::shop::{forget_step, pager};
use super::{page_of, webhook, Step};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::extract::IdempotencyKey;
use crate::idempotency::{decode, keyed, Answer, Keyed, StoredRefusal};
use actix_web::http::StatusCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use souk_actors::domain::changes::AuditEntry;
use souk_actors::domain::changes::WriteMeta;
use souk_actors::domain::ids::ProductId;
use souk_actors::domain::maintenance::Maintenance;
use souk_actors::domain::model::{ProductKind, StockReport};
use souk_actors::domain::stock::{CodeBatch, StockDelta};
use souk_actors::entity::product::{AddCodes, AdjustStock};
use souk_actors::store::operations::{self};
use souk_actors::store::telegram as store;

/// Rejected codes listed one by one in the reply; the rest are counted.
const REJECTED_LISTED: usize = 20;

/// The one gate of every admin step.
pub(super) async fn allowed(ctx: &mut Ctx<'_>) -> ApiResult<bool> {
    if ctx.caller.require(Role::Admin).is_ok() {
        return Ok(true);
    }
    forget_step(ctx).await?;
    let text = ctx.t("bot-admin-not-allowed");
    ctx.answer(Some(&text), true);
    ctx.say(&text);
    Ok(false)
}

pub async fn menu(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    if !allowed(ctx).await? {
        return Ok(());
    }
    let on = ctx.state.maintenance.get().enabled;
    let maintenance = if on { "on" } else { "off" };
    let toggle = if on {
        "bot-admin-maintenance-turn-off"
    } else {
        "bot-admin-maintenance-turn-on"
    };
    let screen = Screen::text(ctx.tr("bot-admin-menu", &[("maintenance", maintenance.into())]))
        .row(vec![
            button(
                ctx.t("bot-admin-add-codes"),
                Action::AdminPick {
                    list: AdminList::Codes,
                    page: 0,
                },
            ),
            button(
                ctx.t("bot-admin-adjust-stock"),
                Action::AdminPick {
                    list: AdminList::Stock,
                    page: 0,
                },
            ),
        ])
        .row(vec![
            button(ctx.t("bot-admin-low-stock"), Action::AdminLow),
            button(ctx.t(toggle), Action::AdminMaintenance { on: !on }),
        ])
        .row(vec![button(
            ctx.t("bot-admin-broadcast"),
            Action::AdminBroadcast,
        )])
        .row(vec![button(ctx.t("bot-admin-to-menu"), Action::Menu)]);
    ctx.show(screen);
    Ok(())
}

pub async fn on_action(ctx: &mut Ctx<'_>, action: Action) -> ApiResult<()> {
    if !allowed(ctx).await? {
        return Ok(());
    }
    match action {
        Action::AdminPick { list, page } => pick(ctx, list, page).await,
        Action::AdminCodes { id } => ask_codes(ctx, id).await,
        Action::AdminStock { id } => stock_card(ctx, id).await,
        Action::AdminAdjust { id, delta } => adjust(ctx, id, delta).await,
        Action::AdminLow => low_stock(ctx).await,
        Action::AdminMaintenance { on } => maintenance(ctx, on).await,
        _ => menu(ctx).await,
    }
}

async fn pick(ctx: &mut Ctx<'_>, list: AdminList, page: u32) -> ApiResult<()> {
    let (kind, title) = match list {
        AdminList::Codes => (ProductKind::Digital, "bot-admin-pick-digital"),
        AdminList::Stock => (ProductKind::Physical, "bot-admin-pick-physical"),
    };
    let paged = ctx
        .state
        .bounded(store::products(
            &ctx.state.pool,
            None,
            Some(kind.as_str()),
            page_of(page),
        ))
        .await?;
    let mut screen = Screen::text(ctx.t(title));
    for p in &paged.items {
        let action = match list {
            AdminList::Codes => Action::AdminCodes { id: p.id },
            AdminList::Stock => Action::AdminStock { id: p.id },
        };
        let label = ctx.tr(
            "bot-admin-product-left",
            &[
                ("name", p.name.clone().into()),
                ("available", p.available.into()),
            ],
        );
        screen = screen.row(vec![button(label, action)]);
    }
    let screen = screen
        .row(pager(ctx, &paged, |page| Action::AdminPick { list, page }))
        .row(vec![button(ctx.t("bot-admin-back"), Action::Admin)]);
    ctx.show(screen);
    Ok(())
}

async fn product_name(ctx: &Ctx<'_>, id: ProductId) -> ApiResult<(String, ProductKind, i64)> {
    let state = ctx.state;
    let p = state
        .bounded(state.registry.catalog.get(&state.pool, id, &state.currency))
        .await?;
    Ok((p.name.clone(), p.kind, p.stock_available))
}

async fn ask_codes(ctx: &mut Ctx<'_>, id: ProductId) -> ApiResult<()> {
    let (name, kind, _) = product_name(ctx, id).await?;
    if kind != ProductKind::Digital {
        ctx.stale();
        return Ok(());
    }
    webhook::set_step(ctx, Some(Step::AwaitCodes { product: id.get() })).await?;
    ctx.answer(None, false);
    ctx.say(&ctx.tr("bot-admin-codes-ask", &[("name", name.into())]));
    Ok(())
}

/// The text an admin sent while the bot waited for codes.
pub async fn receive_codes(ctx: &mut Ctx<'_>, product: i64, text: &str) -> ApiResult<()> {
    if !allowed(ctx).await? {
        return Ok(());
    }
    let Some(id) = ProductId::new(product) else {
        return forget_step(ctx).await;
    };
    let (name, _, _) = product_name(ctx, id).await?;
    // Line numbers as the admin sees them; blank lines are not codes.
    let lines: Vec<(usize, String)> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect();
    let mut accepted = 0;
    let mut rejected: Vec<(usize, &'static str)> = Vec::new();
    let mut available = 0;
    for (chunk_no, chunk) in lines.chunks(CodeBatch::MAX).enumerate() {
        let codes = CodeBatch::sort(chunk.iter().map(|(_, c)| c.clone()).collect())?;
        let key = IdempotencyKey(format!("telegram-codes-{}-{chunk_no}", ctx.update_id));
        let hash = Sha256::digest(format!("telegram codes {product} {chunk_no}")).to_vec();
        let report = match run_once(ctx, key, hash, id, |meta| AddCodes { codes, meta }).await? {
            Ok(report) => report,
            // The chunk's key already holds a refusal (a re-applied update): said as it was.
            Err(refused) => {
                forget_step(ctx).await?;
                ctx.say(&not_applied(ctx, refused.message));
                return Ok(());
            }
        };
        accepted += report.accepted;
        available = report.stock_available;
        for r in &report.rejected {
            let line = chunk.get(r.code_index).map_or(0, |(n, _)| *n);
            let reason = if r.reason == "duplicate" {
                "bot-admin-codes-duplicate"
            } else {
                "bot-admin-codes-invalid"
            };
            rejected.push((line, reason));
        }
    }
    forget_step(ctx).await?;
    let mut reply = ctx.tr(
        "bot-admin-codes-added",
        &[
            ("accepted", accepted.into()),
            ("name", name.into()),
            ("available", available.into()),
        ],
    );
    if !rejected.is_empty() {
        let count = ("count", rejected.len().into());
        reply.push('\n');
        reply.push_str(&ctx.tr("bot-admin-codes-rejected", &[count]));
        for (line, reason) in rejected.iter().take(REJECTED_LISTED) {
            reply.push('\n');
            reply.push_str(&ctx.tr(reason, &[("line", (*line).into())]));
        }
        if rejected.len() > REJECTED_LISTED {
            let more = rejected.len() - REJECTED_LISTED;
            reply.push('\n');
            reply.push_str(&ctx.tr("bot-admin-codes-more", &[("count", more.into())]));
        }
    }
    ctx.say(&reply);
    Ok(())
}

/// What a stock change reports, typed: taken from the actor's `StockReport`, or read from
/// the answer stored under the change's key when it is replayed.
#[derive(Deserialize)]
struct Report {
    accepted: i64,
    stock_available: i64,
    rejected: Vec<Rejected>,
}

#[derive(Deserialize)]
struct Rejected {
    code_index: usize,
    reason: String,
}

impl From<StockReport> for Report {
    fn from(r: StockReport) -> Report {
        let rejected = r.rejected.into_iter().map(|c| Rejected {
            code_index: c.code_index,
            reason: c.reason.to_string(),
        });
        Report {
            accepted: r.accepted,
            stock_available: r.stock_available,
            rejected: rejected.collect(),
        }
    }
}

/// Runs a stock change through the same Idempotency-Key gate as the HTTP stock endpoint:
/// the change's report (made now or replayed), or the refusal its key already holds. A
/// refusal made now is an `Err`, as from any other step.
async fn run_once<M>(
    ctx: &Ctx<'_>,
    key: IdempotencyKey,
    hash: Vec<u8>,
    id: ProductId,
    message: impl FnOnce(WriteMeta) -> M,
) -> ApiResult<Result<Report, StoredRefusal>>
where
    M: actix::Message<Result = souk_actors::DomainResult<StockReport>> + Clone + Send + 'static,
    souk_actors::entity::product::ProductActor: actix::Handler<M>,
    <souk_actors::entity::product::ProductActor as actix::Actor>::Context:
        actix::dev::ToEnvelope<souk_actors::entity::product::ProductActor, M>,
{
    let state = ctx.state;
    let request_id = format!("telegram-update-{}", ctx.update_id);
    let audit = AuditEntry {
        actor: ctx.caller.audit_name(),
        action: "stock.change",
        target: format!("product:{id}"),
        before: None,
        after: None,
        request_id: Some(request_id.clone()),
    };
    let registry = state.registry.clone();
    let keyed = keyed(
        state,
        ctx.caller,
        key,
        hash,
        &request_id,
        // A refusal is stored in the admin's language, and replayed so.
        ctx.lang,
        |draft| async move {
            let meta = WriteMeta {
                idempotency: Some(draft),
                audit: Some(audit),
            };
            let report = registry.product_here(id, message(meta)).await?;
            Answer::new(StatusCode::OK, report)
        },
    )
    .await?;
    match keyed {
        Keyed::Fresh(answer) => Ok(Ok(answer.value.into())),
        Keyed::Replayed(stored) => decode(&stored),
    }
}

async fn stock_card(ctx: &mut Ctx<'_>, id: ProductId) -> ApiResult<()> {
    let (name, kind, available) = product_name(ctx, id).await?;
    if kind != ProductKind::Physical {
        ctx.stale();
        return Ok(());
    }
    let deltas = [-10, -1, 1, 10];
    let row = deltas
        .iter()
        .map(|d| button(format!("{d:+}"), Action::AdminAdjust { id, delta: *d }))
        .collect();
    let card = ctx.tr(
        "bot-admin-stock-card",
        &[("name", name.into()), ("available", available.into())],
    );
    let back = button(ctx.t("bot-admin-back"), Action::Admin);
    ctx.show(Screen::text(card).row(row).row(vec![back]));
    Ok(())
}

/// A press of a ± button; its delta is only what the button's data says, so it is held to
/// the same bound as the HTTP API's before anything else.
async fn adjust(ctx: &mut Ctx<'_>, id: ProductId, raw: i64) -> ApiResult<()> {
    let delta = match StockDelta::new(raw) {
        Ok(delta) => delta,
        Err(refusal) => {
            let reason = ApiError::from(refusal).message_in(ctx.lang);
            ctx.answer(Some(&not_applied(ctx, reason)), true);
            return stock_card(ctx, id).await;
        }
    };
    let key = IdempotencyKey(format!("telegram-stock-{}", ctx.update_id));
    let hash = Sha256::digest(format!("telegram stock {id} {raw}")).to_vec();
    let (text, alert) = match run_once(ctx, key, hash, id, |meta| AdjustStock { delta, meta }).await
    {
        Ok(Ok(_)) => {
            let delta = ("delta", format!("{raw:+}").into());
            (ctx.tr("bot-admin-stock-changed", &[delta]), false)
        }
        Err(e) if e.code == NEGATIVE => (ctx.t("bot-admin-stock-below-zero"), true),
        // The press was refused before (a re-applied update): said as it was then.
        Ok(Err(refused)) if refused.code == NEGATIVE => (ctx.t("bot-admin-stock-below-zero"), true),
        Ok(Err(refused)) => (not_applied(ctx, refused.message), true),
        Err(e) => return Err(e),
    };
    ctx.answer(Some(&text), alert);
    stock_card(ctx, id).await
}

/// The refusal of a change that would take stock below zero.
const NEGATIVE: &str = "stock_would_go_negative";

/// What an admin is told when a change was refused: the reason, already in their language
/// (the domain's bound, or the refusal stored under the change's key).
fn not_applied(ctx: &Ctx<'_>, reason: String) -> String {
    ctx.tr("bot-admin-not-applied", &[("reason", reason.into())])
}

async fn low_stock(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    let threshold = ctx.bot.config.low_stock_threshold;
    let items = ctx
        .state
        .bounded(store::low_stock(&ctx.state.pool, threshold))
        .await?;
    let threshold = ("threshold", threshold.into());
    let mut text = ctx.tr("bot-admin-low-title", &[threshold]);
    text.push('\n');
    if items.is_empty() {
        text.push_str(&ctx.t("bot-admin-low-none"));
    }
    for p in &items {
        text.push_str(&format!("• {} (#{}): {}\n", p.name, p.id, p.available));
    }
    let back = button(ctx.t("bot-admin-back"), Action::Admin);
    ctx.show(Screen::text(text).row(vec![back]));
    Ok(())
}

async fn maintenance(ctx: &mut Ctx<'_>, on: bool) -> ApiResult<()> {
    let state = ctx.state;
    let to = Maintenance::new(on, None)?;
    let audit = AuditEntry {
        actor: ctx.caller.audit_name(),
        action: "maintenance.set",
        target: "shop".into(),
        before: None,
        after: None,
        request_id: Some(format!("telegram-update-{}", ctx.update_id)),
    };
    let set = state
        .bounded(operations::set_maintenance(&state.pool, &to, audit))
        .await?;
    state.maintenance.set(&set);
    state.metrics.maintenance.set(i64::from(set.enabled));
    let done = ctx.t(if on {
        "bot-admin-maintenance-on"
    } else {
        "bot-admin-maintenance-off"
    });
    ctx.answer(Some(&done), false);
    menu(ctx).await
}

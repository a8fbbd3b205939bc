//! `/language` and the menu's language button: the user picks the language the bot speaks
//! to them, kept in `users.language`. Until they pick one, the bot follows their Telegram
//! app's language (`from.language_code`), English when it speaks none of those.

use super::callback::Action;
use super::screens::{button, Ctx, Screen};
use crate::error::ApiResult;
use crate::i18n::{self, Lang};
use souk_actors::store::language::set_user_language;

/// One button per language, each labelled in its own language.
pub fn choose(ctx: &mut Ctx<'_>) {
    let mut screen = Screen::text(ctx.t("bot-language-prompt"));
    for lang in Lang::ALL {
        let name = i18n::tr(lang, "bot-language-name", &[]);
        screen = screen.row(vec![button(name, Action::Language { lang })]);
    }
    let screen = screen.row(vec![button(ctx.t("bot-button-menu"), Action::Menu)]);
    ctx.show(screen);
}

/// Keeps the choice and answers, and shows the menu, in the new language.
pub async fn set(ctx: &mut Ctx<'_>, lang: Lang) -> ApiResult<()> {
    let state = ctx.state;
    state
        .bounded(set_user_language(
            &state.pool,
            ctx.caller.user,
            Some(lang.code()),
        ))
        .await?;
    ctx.lang = lang;
    let chosen = ctx.t("bot-language-chosen");
    ctx.answer(Some(&chosen), false);
    let menu = super::shop::menu(ctx);
    ctx.show(menu);
    Ok(())
}

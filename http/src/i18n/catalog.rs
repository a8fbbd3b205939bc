//! The Fluent bundles: built once, on first use, from resources compiled into the binary,
//! and shared by every thread (`concurrent::FluentBundle` is `Sync`). A message a language
//! lacks is said in English (noted once at debug); one English lacks shows its id.

use super::{ArgValue, Lang, Msg};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentError, FluentResource, FluentValue};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

type Bundle = FluentBundle<FluentResource>;

/// A language's resources, by file name. Errors shown by the API are in `errors.ftl`; the
/// bot's texts go in `bot.ftl`.
macro_rules! ftl {
    ($code:literal) => {
        &[
            (
                "errors.ftl",
                include_str!(concat!("../../locales/", $code, "/errors.ftl")),
            ),
            (
                "bot.ftl",
                include_str!(concat!("../../locales/", $code, "/bot.ftl")),
            ),
            (
                "admin.ftl",
                include_str!(concat!("../../locales/", $code, "/admin.ftl")),
            ),
        ]
    };
}

/// The `.ftl` sources of a language, as (file name, text).
pub(crate) fn sources(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::En => ftl!("en"),
        Lang::Ru => ftl!("ru"),
        Lang::De => ftl!("de"),
    }
}

struct Catalog {
    /// In `Lang::ALL`'s order.
    bundles: Vec<Bundle>,
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog {
        bundles: Lang::ALL.into_iter().map(bundle).collect(),
    })
}

/// A language's bundle. A resource that does not parse keeps the messages that did (the
/// tests refuse such a resource, so this is logged, not fatal).
fn bundle(lang: Lang) -> Bundle {
    let id = lang.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: they would show up in JSON and chats.
    bundle.set_use_isolating(false);
    for (file, text) in sources(lang) {
        let resource = FluentResource::try_new((*text).to_string()).unwrap_or_else(|(r, e)| {
            tracing::error!(lang = lang.code(), file, errors = ?e, "a Fluent resource has errors");
            r
        });
        if let Err(e) = bundle.add_resource(resource) {
            tracing::error!(lang = lang.code(), file, errors = ?e, "a Fluent message is defined twice");
        }
    }
    bundle
}

/// `msg` in `lang`, else in English, else its id.
pub fn render(lang: Lang, msg: &Msg) -> String {
    let args = fluent_args(msg.args.iter().map(|a| (a.name, &a.value)));
    say(lang, msg.id, &args)
}

/// The message `id` with `args` in `lang` (the bot's form of `render`), e.g.
/// `tr(lang, "bot-language-prompt", &[])`.
pub fn tr(lang: Lang, id: &str, args: &[(&str, ArgValue)]) -> String {
    let args = fluent_args(args.iter().map(|(name, value)| (*name, value)));
    say(lang, id, &args)
}

fn say(lang: Lang, id: &str, args: &FluentArgs<'_>) -> String {
    if let Some((text, _)) = format(lang, id, args) {
        return text;
    }
    note_missing(lang, id);
    match format(Lang::En, id, args) {
        Some((text, _)) => text,
        None => id.to_string(),
    }
}

/// The message formatted, with whatever Fluent found wrong (an argument it was not given);
/// `None` when `lang` has no such message.
pub(crate) fn format(
    lang: Lang,
    id: &str,
    args: &FluentArgs<'_>,
) -> Option<(String, Vec<FluentError>)> {
    let index = Lang::ALL.iter().position(|l| *l == lang)?;
    let bundle = catalog().bundles.get(index)?;
    let pattern = bundle.get_message(id)?.value()?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(args), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(
            lang = lang.code(),
            id,
            ?errors,
            "a message was formatted with errors"
        );
    }
    Some((text.into_owned(), errors))
}

fn fluent_args<'a>(args: impl Iterator<Item = (&'a str, &'a ArgValue)>) -> FluentArgs<'a> {
    let mut out = FluentArgs::new();
    for (name, value) in args {
        out.set(name, fluent_value(value));
    }
    out
}

/// Numbers stay numbers (plural forms choose by them) while a double holds them exactly;
/// a larger one is shown as its digits.
fn fluent_value(value: &ArgValue) -> FluentValue<'_> {
    const EXACT_MAX: u64 = 1 << 53;
    match value {
        ArgValue::Int(n) if n.unsigned_abs() <= EXACT_MAX => FluentValue::from(*n),
        ArgValue::Int(n) => FluentValue::from(n.to_string()),
        ArgValue::Text(s) => FluentValue::from(s.as_str()),
    }
}

/// A missing translation is logged once per (language, id), within a bound.
fn note_missing(lang: Lang, id: &str) {
    const NOTED_MAX: usize = 256;
    static NOTED: OnceLock<Mutex<HashSet<(Lang, String)>>> = OnceLock::new();
    let mut noted = NOTED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if noted.len() < NOTED_MAX && noted.insert((lang, id.to_string())) {
        tracing::debug!(lang = lang.code(), id, "no translation; said in English");
    }
}

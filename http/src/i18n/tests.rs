//! Every language says every message, every resource parses, every id the code names
//! exists, and `Accept-Language` is read as RFC 9110 says.

use super::catalog::{format, sources};
use super::*;
use fluent_bundle::FluentArgs;
use fluent_syntax::ast;
use std::collections::{BTreeMap, BTreeSet};

/// Each message of a resource with the variables it references.
fn messages(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let resource = fluent_syntax::parser::parse(text).unwrap_or_else(|(_, e)| panic!("{e:?}"));
    let mut out = BTreeMap::new();
    for entry in resource.body {
        if let ast::Entry::Message(m) = entry {
            let value = m
                .value
                .unwrap_or_else(|| panic!("{} has no value", m.id.name));
            let mut vars = BTreeSet::new();
            pattern_vars(&value, &mut vars);
            out.insert(m.id.name.to_string(), vars);
        }
    }
    out
}

fn pattern_vars(pattern: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_vars(expression, vars);
        }
    }
}

fn expression_vars(expression: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Select { selector, variants } => {
            inline_vars(selector, vars);
            for v in variants {
                pattern_vars(&v.value, vars);
            }
        }
        ast::Expression::Inline(inline) => inline_vars(inline, vars),
    }
}

fn inline_vars(inline: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_string());
        }
        ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars),
        _ => {}
    }
}

#[test]
fn every_resource_parses_without_errors() {
    for lang in Lang::ALL {
        for (file, text) in sources(lang) {
            if let Err((_, errors)) = fluent_syntax::parser::parse(*text) {
                panic!("{}/{file}: {errors:?}", lang.code());
            }
        }
    }
}

#[test]
fn every_language_has_exactly_the_ids_english_has_and_no_variable_english_lacks() {
    let english: BTreeMap<&str, _> = sources(Lang::En)
        .iter()
        .map(|(file, text)| (*file, messages(text)))
        .collect();
    assert!(english.values().map(BTreeMap::len).sum::<usize>() > 100);
    for lang in [Lang::Ru, Lang::De] {
        let files: BTreeSet<&str> = sources(lang).iter().map(|(f, _)| *f).collect();
        assert_eq!(files, english.keys().copied().collect(), "{}", lang.code());
        for (file, text) in sources(lang) {
            let theirs = messages(text);
            let ours = &english[file];
            let missing: Vec<_> = ours.keys().filter(|id| !theirs.contains_key(*id)).collect();
            let orphans: Vec<_> = theirs.keys().filter(|id| !ours.contains_key(*id)).collect();
            assert!(
                missing.is_empty(),
                "{}/{file} lacks {missing:?}",
                lang.code()
            );
            assert!(
                orphans.is_empty(),
                "{}/{file} has ids English lacks: {orphans:?}",
                lang.code()
            );
            for (id, vars) in &theirs {
                let unknown: Vec<_> = vars.difference(&ours[id]).collect();
                assert!(
                    unknown.is_empty(),
                    "{}/{file} {id} uses {unknown:?}",
                    lang.code()
                );
            }
        }
    }
}

#[test]
fn every_message_formats_cleanly_in_every_language_given_its_arguments() {
    for lang in Lang::ALL {
        for (file, text) in sources(lang) {
            for (id, vars) in messages(text) {
                let mut args = FluentArgs::new();
                for var in &vars {
                    args.set(var.clone(), 2);
                }
                let (text, errors) = format(lang, &id, &args).expect("in the bundle");
                assert!(errors.is_empty(), "{}/{file} {id}: {errors:?}", lang.code());
                assert!(
                    !text.trim().is_empty(),
                    "{}/{file} {id} is empty",
                    lang.code()
                );
                assert!(!text.contains('\u{2068}'), "isolation marks in {id}");
            }
        }
    }
}

/// The `"error-…"`/`"bot-…"` string literals in the Rust sources of both crates.
fn ids_in_source(prefix: &str) -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ids = BTreeSet::new();
    let mut dirs = vec![root.join("src"), root.join("../actors/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("i18n/tests.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                let quoted = format!("\"{prefix}");
                for (at, _) in text.match_indices(&quoted) {
                    let rest = &text[at + 1..];
                    let end = rest.find('"').unwrap();
                    let id = &rest[..end];
                    assert!(
                        id.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                        "{}: {id:?} is not a message id",
                        path.display()
                    );
                    ids.insert(id.to_string());
                }
            }
        }
    }
    ids
}

#[test]
fn every_error_id_in_the_code_is_in_english_and_every_english_error_is_used() {
    let used = ids_in_source("error-");
    assert!(used.len() > 100, "the scan found only {used:?}");
    let english: BTreeSet<String> = messages(sources(Lang::En)[0].1).into_keys().collect();
    let undefined: Vec<_> = used.difference(&english).collect();
    let unused: Vec<_> = english.difference(&used).collect();
    assert!(
        undefined.is_empty(),
        "used but not in en/errors.ftl: {undefined:?}"
    );
    assert!(
        unused.is_empty(),
        "in en/errors.ftl but never used: {unused:?}"
    );
}

#[test]
fn every_bot_id_in_the_code_is_in_english() {
    // The bot's files: every one after errors.ftl.
    let english: BTreeSet<String> = sources(Lang::En)[1..]
        .iter()
        .flat_map(|(_, text)| messages(text).into_keys())
        .collect();
    let undefined: Vec<_> = ids_in_source("bot-")
        .into_iter()
        .filter(|id| !english.contains(id))
        .collect();
    assert!(
        undefined.is_empty(),
        "used but not in the bot's English files: {undefined:?}"
    );
}

#[test]
fn messages_render_with_their_arguments_and_numbers_exactly() {
    let m = Msg::new("error-stock-delta-range").arg("max", 1_000_000);
    assert_eq!(
        render(Lang::En, &m),
        "a stock change is non-zero and at most ±1000000 units"
    );
    let big = Msg::new("error-amount-within").arg("max", i64::MAX);
    assert!(render(Lang::De, &big).contains("9223372036854775807"));
    let days = |n: i64| render(Lang::Ru, &Msg::new("error-return-window").arg("days", n));
    assert!(days(1).contains("1 дня"), "{}", days(1));
    assert!(days(14).contains("14 дней"), "{}", days(14));
    let de = render(
        Lang::De,
        &Msg::new("error-field-missing").arg("field", "quantity"),
    );
    assert_eq!(de, "das Feld `quantity` fehlt");
}

#[test]
fn an_unknown_id_falls_back_to_its_id_and_tr_takes_arguments() {
    assert_eq!(tr(Lang::Ru, "no-such-message", &[]), "no-such-message");
    let text = tr(Lang::Ru, "error-forbidden", &[("role", "admin".into())]);
    assert_eq!(text, "для этого нужна роль admin");
    assert_eq!(tr(Lang::De, "bot-language-name", &[]), "Deutsch");
}

#[test]
fn accept_language_picks_the_best_spoken_language() {
    let pick = Lang::from_accept_language;
    assert_eq!(pick("ru"), Lang::Ru);
    assert_eq!(pick("ru-RU"), Lang::Ru);
    assert_eq!(pick("de-DE,de;q=0.9"), Lang::De);
    assert_eq!(pick("DE-at"), Lang::De);
    assert_eq!(pick("en-GB,en;q=0.9"), Lang::En);
    // Quality decides, not order; equal quality goes to the first named.
    assert_eq!(pick("fr;q=1, de;q=0.5, ru;q=0.8"), Lang::Ru);
    assert_eq!(pick("de;q=0.5, ru;q=0.5"), Lang::De);
    assert_eq!(pick("en;q=0.1, de"), Lang::De);
    // Unknown languages are skipped; nothing spoken here means English.
    assert_eq!(pick("fr-CH, fr;q=0.9, ja;q=0.8, de;q=0.7"), Lang::De);
    assert_eq!(pick("fr, ja"), Lang::En);
    assert_eq!(pick("uk"), Lang::En);
}

#[test]
fn accept_language_reads_wildcards_and_refusals() {
    let pick = Lang::from_accept_language;
    assert_eq!(pick("*"), Lang::En);
    assert_eq!(pick("fr, *;q=0.5"), Lang::En);
    // `q=0` means "not this one", also against a wildcard.
    assert_eq!(pick("en;q=0, *"), Lang::Ru);
    assert_eq!(pick("en;q=0, ru;q=0, *;q=0.3"), Lang::De);
    assert_eq!(pick("ru;q=0"), Lang::En);
    assert_eq!(pick("*;q=0, de;q=0.2"), Lang::De);
}

#[test]
fn malformed_accept_language_entries_are_skipped_not_fatal() {
    let pick = Lang::from_accept_language;
    for header in [
        "",
        " ",
        ",,,",
        ";q=1",
        "ru;q=",
        "ru;q=2",
        "ru;q=1.5",
        "ru;q=0.1234",
        "r u",
        "ru;q=abc",
        "русский",
        "ru-",
        "-ru",
        "toolonglanguage",
    ] {
        assert_eq!(pick(header), Lang::En, "{header:?}");
    }
    assert_eq!(pick("ru;q=abc, de;q=0.4"), Lang::De);
    assert_eq!(pick("  ru-RU ; q=0.9 , de ; q=0.8 "), Lang::Ru);
    assert_eq!(pick("de;q=1.000"), Lang::De);
    assert_eq!(pick("de;q=0.001"), Lang::De);
    // Only the first entries of an absurd header are read.
    let long = format!("{}ru", "xx,".repeat(10_000));
    assert_eq!(pick(&long), Lang::En);
}

#[test]
fn telegram_language_codes_choose_a_language() {
    assert_eq!(Lang::from_telegram(Some("ru")), Lang::Ru);
    assert_eq!(Lang::from_telegram(Some("de")), Lang::De);
    assert_eq!(Lang::from_telegram(Some("en")), Lang::En);
    assert_eq!(Lang::from_telegram(Some("pt-br")), Lang::En);
    assert_eq!(Lang::from_telegram(Some("")), Lang::En);
    assert_eq!(Lang::from_telegram(None), Lang::En);
    for lang in Lang::ALL {
        assert_eq!(Lang::from_tag(lang.code()), Some(lang));
    }
}

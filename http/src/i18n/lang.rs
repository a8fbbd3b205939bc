//! The languages Souk speaks and how a request or a Telegram user picks one. Unknown or
//! unreadable preferences fall back to English: a wrong guess costs less than a refusal.

use actix_web::http::header::{HeaderMap, ACCEPT_LANGUAGE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Ru,
    De,
}

/// At most this many entries of an `Accept-Language` header are read; the rest of an
/// absurdly long header is ignored rather than parsed.
const ACCEPT_LANGUAGE_ENTRIES_MAX: usize = 32;

impl Lang {
    /// Every language, English (the fallback) first.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ru, Lang::De];

    /// The ISO 639-1 code: `Content-Language`, the users' `language` column, the folder name.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::De => "de",
        }
    }

    /// The language a tag names by its primary subtag (`ru`, `ru-RU`, `DE-at`), if Souk
    /// speaks it.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// A Telegram user's `language_code` (an IETF tag such as `ru` or `pt-br`, or absent).
    pub fn from_telegram(language_code: Option<&str>) -> Lang {
        language_code.and_then(Lang::from_tag).unwrap_or_default()
    }

    /// The request's `Accept-Language` (English when absent or not text).
    pub fn of_request(headers: &HeaderMap) -> Lang {
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Lang::En, Lang::from_accept_language)
    }

    /// The best language for an `Accept-Language` value (RFC 9110 §12.5.4): each range's
    /// quality counts (`q=0` refuses it), `*` stands for any language not named, equal
    /// qualities go to the one named first. Malformed entries are skipped; when nothing
    /// acceptable is spoken here, English.
    pub fn from_accept_language(header: &str) -> Lang {
        let ranges: Vec<(&str, u16)> = header
            .split(',')
            .take(ACCEPT_LANGUAGE_ENTRIES_MAX)
            .filter_map(range_and_quality)
            .collect();
        let quality_of = |lang: Lang| -> Option<(u16, usize)> {
            let named = ranges
                .iter()
                .enumerate()
                .filter(|(_, (range, _))| Lang::from_tag(range) == Some(lang))
                .max_by_key(|(at, (_, q))| (*q, std::cmp::Reverse(*at)));
            let any = || ranges.iter().enumerate().find(|(_, (r, _))| *r == "*");
            named.or_else(any).map(|(at, (_, q))| (*q, at))
        };
        Lang::ALL
            .into_iter()
            .filter_map(|lang| quality_of(lang).map(|(q, at)| (lang, q, at)))
            .filter(|(_, q, _)| *q > 0)
            // Highest quality, then earliest in the header, then `ALL`'s order.
            .min_by_key(|(_, q, at)| (std::cmp::Reverse(*q), *at))
            .map_or(Lang::En, |(lang, _, _)| lang)
    }
}

/// One `language-range [; q=qvalue]` entry, its quality in thousandths; `None` when it is
/// not one (a bad range or a bad weight).
fn range_and_quality(entry: &str) -> Option<(&str, u16)> {
    let mut parts = entry.split(';');
    let range = parts.next()?.trim();
    if !is_language_range(range) {
        return None;
    }
    let mut quality = 1000;
    for param in parts {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            quality = qvalue(value.trim())?;
        }
    }
    Some((range, quality))
}

/// `*`, or 1..=8 letters followed by `-` and 1..=8 letters or digits, any number of times.
fn is_language_range(range: &str) -> bool {
    if range == "*" {
        return true;
    }
    let mut subtags = range.split('-');
    let primary_ok = subtags
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn qvalue(raw: &str) -> Option<u16> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

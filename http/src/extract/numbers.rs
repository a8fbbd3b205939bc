//! JSON numbers as JSON Schema reads them: `2.0` is the integer 2. Only the body parser
//! (`extract::parse_json`) uses this.

/// JSON Schema, and so the served contract, reads `2.0` and `2e0` as the integer 2, while
/// serde's integers take only `2`; a client (or schemathesis) that spells a whole number so
/// would be refused a value the contract admits. Such numbers are respelled as integers,
/// exactly (decimal digits, no float rounding), before typed parsing; a real fraction stays
/// as it is for serde to refuse. Strings are skipped, so no text is touched. The body is
/// known to be valid JSON here.
pub(super) fn whole_numbers_as_integers(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    // An escape takes the next byte with it (`\"` does not end the string).
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .map_or(bytes.len(), |n| i + n);
                if let Some(integer) = whole_number(&bytes[i..end]) {
                    let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
                    buf.extend_from_slice(&bytes[copied..i]);
                    buf.extend_from_slice(integer.as_bytes());
                    copied = end;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    match out {
        Some(mut buf) => {
            buf.extend_from_slice(&bytes[copied..]);
            std::borrow::Cow::Owned(buf)
        }
        None => std::borrow::Cow::Borrowed(bytes),
    }
}

/// `token` (a JSON number) as integer digits, when it has a fraction or an exponent and its
/// value is a whole number of at most 20 digits (beyond any i64 or u64; left for serde).
fn whole_number(token: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(token).ok()?;
    if !text.contains(['.', 'e', 'E']) {
        return None;
    }
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = [int_part, frac_part].concat();
    // Where the decimal point falls in `digits` once the exponent is applied.
    let point = i64::try_from(int_part.len()).ok()?.checked_add(exponent)?;
    let point = usize::try_from(point.max(0)).ok()?;
    if point > digits.len() + 20 {
        return None;
    }
    let (whole, fraction) = digits.split_at(point.min(digits.len()));
    if fraction.bytes().any(|b| b != b'0') {
        return None;
    }
    let padded = format!("{whole}{}", "0".repeat(point.saturating_sub(digits.len())));
    let trimmed = padded.trim_start_matches('0');
    if trimmed.len() > 20 {
        return None;
    }
    Some(match (trimmed.is_empty(), negative) {
        (true, _) => "0".to_string(),
        (false, true) => format!("-{trimmed}"),
        (false, false) => trimmed.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn respelled(json: &str) -> String {
        String::from_utf8(whole_numbers_as_integers(json.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn whole_numbers_are_respelled_as_integers_and_nothing_else_is_touched() {
        assert_eq!(respelled(r#"{"q": 12.0}"#), r#"{"q": 12}"#);
        assert_eq!(
            respelled(r#"{"q": 1.2e1, "r": -3.00}"#),
            r#"{"q": 12, "r": -3}"#
        );
        assert_eq!(respelled(r#"[100e-2, -0.0, 0e5, 1E3]"#), "[1, 0, 0, 1000]");
        assert_eq!(respelled(r#"[9007199254740993.0]"#), "[9007199254740993]");
        for kept in [
            r#"{"q": 12}"#,
            r#"{"q": 2.5}"#,
            r#"{"q": 2.00000000000000001}"#,
            r#"{"q": 1e20}"#,
            r#"{"q": 1e999999999999}"#,
            r#"{"q": "12.0", "r\"1.0": "x\\"}"#,
        ] {
            assert_eq!(respelled(kept), kept);
        }
    }
}

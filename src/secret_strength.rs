//! What makes a secret too weak for production beyond its length: the rule the `production`
//! profile applies to the JWT, payment-webhook and Telegram-webhook secrets. A secret is
//! low-entropy when it is
//! - blank (only whitespace);
//! - made of fewer than 10 distinct bytes (`aaaa…`, `abab…`);
//! - one byte for more than a third of its length (`aaaaaaaaaaaaaaaaaaaaaaaa0123456789`);
//! - a string at most half its length repeated (`0123456789abcdef0123456789abcdef01`).
//!
//! and reused when two of the three secrets are equal. A fresh `openssl rand -hex 32` (64 hex
//! digits) passes: the chance that one fails is below 1 in 10^9 (a third is 22 of 64 digits,
//! each 1/16 likely).

use secrecy::{ExposeSecret, SecretString};

/// The fewest distinct bytes a secret may have.
pub const DISTINCT_BYTES_MIN: usize = 10;

/// Why `secret` is low-entropy, if it is.
pub fn low_entropy(secret: &str) -> Option<&'static str> {
    let bytes = secret.as_bytes();
    let mut counts = [0usize; 256];
    for b in bytes {
        counts[usize::from(*b)] += 1;
    }
    let distinct = counts.iter().filter(|c| **c > 0).count();
    let most = counts.iter().copied().max().unwrap_or(0);
    if secret.trim().is_empty() {
        Some("is blank")
    } else if distinct < DISTINCT_BYTES_MIN {
        Some("has fewer than 10 distinct characters")
    } else if most * 3 > bytes.len() {
        Some("repeats one character in more than a third of it")
    } else if repeats_a_shorter_string(bytes) {
        Some("repeats a shorter string")
    } else {
        None
    }
}

/// Whether `bytes` is some string at most half its length written out again and again
/// (the last copy may be cut short).
fn repeats_a_shorter_string(bytes: &[u8]) -> bool {
    let n = bytes.len();
    (1..=n / 2).any(|period| (period..n).all(|i| bytes[i] == bytes[i - period]))
}

/// The first two settings that hold the same value, if any do.
pub fn first_reused<'a>(
    secrets: &[(&'a str, Option<&SecretString>)],
) -> Option<(&'a str, &'a str)> {
    secrets.iter().enumerate().find_map(|(i, (a, x))| {
        let x = x.as_ref()?.expose_secret();
        secrets[i + 1..]
            .iter()
            .find_map(|(b, y)| (y.as_ref()?.expose_secret() == x).then_some((*a, *b)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn weak_shapes_are_named_and_random_hex_passes() {
        let cases = [
            (" ".repeat(32), Some("is blank")),
            ("\t \n".repeat(11), Some("is blank")),
            (
                "a".repeat(32),
                Some("has fewer than 10 distinct characters"),
            ),
            (
                "abcdefghi".repeat(4),
                Some("has fewer than 10 distinct characters"),
            ),
            (
                format!("{}0123456789", "a".repeat(24)),
                Some("repeats one character in more than a third of it"),
            ),
            (
                "0123456789abcdef".repeat(2),
                Some("repeats a shorter string"),
            ),
            ("Kx9-Qm2_Zt7".repeat(4), Some("repeats a shorter string")),
            (
                format!("{}Kx9-Q", "Kx9-Qm2_Zt7".repeat(3)),
                Some("repeats a shorter string"),
            ),
        ];
        for (secret, problem) in cases {
            assert_eq!(low_entropy(&secret), problem, "{secret:?}");
        }
        let mut bytes = [0u8; 32];
        for _ in 0..10_000 {
            rand::rng().fill_bytes(&mut bytes);
            let secret = hex::encode(bytes);
            assert_eq!(low_entropy(&secret), None, "{secret}");
        }
    }

    #[test]
    fn a_reused_value_names_the_first_two_settings_that_share_it() {
        let s = |v: &str| SecretString::from(v.to_string());
        let (one, two, other) = (s("one"), s("one"), s("other"));
        assert_eq!(
            first_reused(&[("A", Some(&one)), ("B", Some(&other)), ("C", Some(&two))]),
            Some(("A", "C"))
        );
        assert_eq!(
            first_reused(&[("A", None), ("B", None), ("C", Some(&other))]),
            None
        );
    }
}

//! Top-up invoices, made tamper-evident. The payload Telegram carries from `sendInvoice`
//! to the pre-checkout query and the payment names the user, the amount and currency
//! charged (minor units of the shop currency, or whole Stars, `XTR`), what it credits to
//! the wallet, and when Souk issued it, followed by an HMAC-SHA256 over all of them under
//! a key only Souk holds (derived from its JWT secret). Both the pre-checkout query and the
//! payment are checked against it, so nobody is credited more than Souk offered, for
//! another amount or currency, after the invoice's time, or on someone else's invoice; a
//! change of the Stars rate does not change what an invoice already issued credits.
//!
//! A signed payload rather than a table of issued invoices: it needs no write per button
//! press and no sweep of unpaid rows, the check costs no database round trip inside
//! Telegram's 10-second pre-checkout window, and a payment is still credited once, by its
//! `telegram_payment_charge_id` (see `wallet.rs`).

use hmac::digest::InvalidLength;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use souk_actors::domain::ids::UserId;

/// Bumped when the payload's layout changes; older payloads no longer verify.
const PREFIX: &str = "topup:3";
/// The MAC is truncated to 128 bits so the payload stays well inside Telegram's 128 bytes.
const MAC_BYTES: usize = 16;
/// A payment may complete a little after its invoice's TTL: Telegram charges only after
/// the pre-checkout query (checked against the TTL itself) was approved.
pub const PAYMENT_GRACE_SECS: i64 = 600;

/// The key invoices are signed with, held as a keyed HMAC ready to be cloned per use.
/// Deriving it (rather than using the JWT secret as it is) keeps a MAC made for one use
/// from ever being valid for the other.
#[derive(Clone)]
pub struct InvoiceKey(Hmac<Sha256>);

impl std::fmt::Debug for InvoiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvoiceKey(…)")
    }
}

impl InvoiceKey {
    pub fn derive(jwt_secret: &SecretString) -> Result<InvoiceKey, InvalidLength> {
        let mut derive = Hmac::<Sha256>::new_from_slice(jwt_secret.expose_secret().as_bytes())?;
        derive.update(b"souk telegram invoice payload v2");
        let key = derive.finalize().into_bytes();
        Ok(InvoiceKey(Hmac::new_from_slice(&key)?))
    }

    fn mac(&self, signed: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(signed.as_bytes());
        mac
    }
}

/// A top-up invoice as Souk issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub user: UserId,
    /// What Telegram charges, in `currency`: minor units, or whole Stars for `XTR`.
    pub amount: i64,
    pub currency: String,
    /// What the payment adds to the wallet, in minor units of the shop currency.
    pub credit_minor: i64,
    /// Unix seconds.
    pub issued: i64,
}

/// What a pre-checkout query or a payment says it pays.
pub struct Claim<'a> {
    pub user: UserId,
    pub amount: i64,
    pub currency: &'a str,
}

/// Why a claim does not match what Souk issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    NotIssued,
    OtherUser,
    Amount,
    Currency,
    Expired,
}

impl Mismatch {
    /// The reason recorded with a refused payment.
    pub fn reason(self) -> &'static str {
        match self {
            Mismatch::NotIssued => "invoice_not_issued_by_souk",
            Mismatch::OtherUser => "invoice_of_another_user",
            Mismatch::Amount => "amount_differs_from_invoice",
            Mismatch::Currency => "currency_differs_from_invoice",
            Mismatch::Expired => "invoice_expired",
        }
    }

    /// The id of what the buyer is told (in `admin.ftl`), said in their language by the
    /// caller.
    pub fn explain(self) -> &'static str {
        match self {
            Mismatch::NotIssued => "bot-topup-not-issued",
            Mismatch::OtherUser => "bot-topup-other-user",
            Mismatch::Amount => "bot-topup-amount",
            Mismatch::Currency => "bot-topup-currency",
            Mismatch::Expired => "bot-topup-expired",
        }
    }
}

impl Invoice {
    /// `topup:3:<user>:<amount>:<currency>:<credit>:<issued>:<mac>`, at most about 110
    /// bytes (Telegram allows 128).
    pub fn payload(&self, key: &InvoiceKey) -> String {
        let signed = format!(
            "{PREFIX}:{}:{}:{}:{}:{}",
            self.user, self.amount, self.currency, self.credit_minor, self.issued
        );
        let tag = key.mac(&signed).finalize().into_bytes();
        format!("{signed}:{}", hex::encode(&tag[..MAC_BYTES]))
    }

    /// The invoice a payload names, if Souk signed it; `None` for anything else.
    pub fn verify(payload: &str, key: &InvoiceKey) -> Option<Invoice> {
        let (signed, tag) = payload.rsplit_once(':')?;
        let tag = hex::decode(tag).ok().filter(|t| t.len() == MAC_BYTES)?;
        key.mac(signed).verify_truncated_left(&tag).ok()?;
        let fields: Vec<&str> = signed
            .strip_prefix(PREFIX)?
            .strip_prefix(':')?
            .split(':')
            .collect();
        let [user, amount, currency, credit, issued] = fields.as_slice() else {
            return None;
        };
        Some(Invoice {
            user: user.parse().ok()?,
            amount: amount.parse().ok()?,
            currency: currency.to_string(),
            credit_minor: credit.parse().ok()?,
            issued: issued.parse().ok()?,
        })
    }
}

/// Checks `claim` against the invoice its payload names: signed by Souk, for this user,
/// this amount, the currency the bot charges in now (`charged_in`: the shop's, or `XTR`),
/// and at most `max_age_secs` old at `now`.
pub fn check(
    payload: &str,
    key: &InvoiceKey,
    claim: &Claim<'_>,
    charged_in: &str,
    now: i64,
    max_age_secs: i64,
) -> Result<Invoice, Mismatch> {
    let invoice = Invoice::verify(payload, key).ok_or(Mismatch::NotIssued)?;
    if invoice.user != claim.user {
        Err(Mismatch::OtherUser)
    } else if invoice.amount != claim.amount {
        Err(Mismatch::Amount)
    } else if invoice.currency != claim.currency || invoice.currency != charged_in {
        Err(Mismatch::Currency)
    } else if now.saturating_sub(invoice.issued) > max_age_secs {
        Err(Mismatch::Expired)
    } else {
        Ok(invoice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> InvoiceKey {
        InvoiceKey::derive(&SecretString::from(secret.to_string())).unwrap()
    }

    #[test]
    fn only_the_invoice_as_issued_matches() {
        let k = key("a-jwt-secret-of-enough-length-0123456789");
        let user = UserId::new(42).unwrap();
        let invoice = Invoice {
            user,
            amount: 500,
            currency: "USD".into(),
            credit_minor: 500,
            issued: 1_000,
        };
        let payload = invoice.payload(&k);
        assert!(payload.len() <= 128, "{payload}");
        let claim = |amount, currency| Claim {
            user,
            amount,
            currency,
        };
        let at = |now| check(&payload, &k, &claim(500, "USD"), "USD", now, 60);
        assert_eq!(at(1_060), Ok(invoice.clone()));
        assert_eq!(at(1_061), Err(Mismatch::Expired));
        let with = |c: &Claim<'_>| check(&payload, &k, c, "USD", 1_000, 60);
        assert_eq!(with(&claim(50_000, "USD")), Err(Mismatch::Amount));
        assert_eq!(with(&claim(500, "EUR")), Err(Mismatch::Currency));
        let other = Claim {
            user: UserId::new(43).unwrap(),
            ..claim(500, "USD")
        };
        assert_eq!(with(&other), Err(Mismatch::OtherUser));
        let tampered = payload.replacen(":500:USD:", ":50000:USD:", 1);
        let forged = check(&tampered, &k, &claim(50_000, "USD"), "USD", 1_000, 60);
        assert_eq!(forged, Err(Mismatch::NotIssued));
        let foreign = check(
            &payload,
            &key("another-secret"),
            &claim(500, "USD"),
            "USD",
            1_000,
            60,
        );
        assert_eq!(foreign, Err(Mismatch::NotIssued));
        assert_eq!(Invoice::verify("topup:1:42:500:1000", &k), None);
        // A Stars invoice credits what it said when issued, whatever the rate is now.
        let stars = Invoice {
            user,
            amount: 100_000,
            currency: "XTR".into(),
            credit_minor: 1_000_000_000,
            issued: 1_700_000_000,
        };
        let payload = stars.payload(&k);
        assert!(payload.len() <= 128, "{} bytes: {payload}", payload.len());
        let paid = Claim {
            user,
            amount: 100_000,
            currency: "XTR",
        };
        assert_eq!(
            check(&payload, &k, &paid, "XTR", 1_700_000_000, 60),
            Ok(stars)
        );
        let by_card = check(&payload, &k, &paid, "USD", 1_700_000_000, 60);
        assert_eq!(by_card, Err(Mismatch::Currency), "Stars turned off since");
        let tampered = payload.replacen(":1000000000:", ":2000000000:", 1);
        assert_eq!(
            check(&tampered, &k, &paid, "XTR", 1_700_000_000, 60),
            Err(Mismatch::NotIssued)
        );
    }
}

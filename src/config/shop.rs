//! `[shop]`, `[shipping]`, `[tax]`, `[checkout]`, `[payments]` and `[returns]`: what the
//! shop sells in, charges, how long unpaid orders hold stock, and their bounds.

use super::{ConfigError, Settings};
use secrecy::SecretString;
use serde::Deserialize;
use std::time::Duration;

/// 30 days: longer would refuse an honest buyer's next unpaid order for no gain.
const UNPAID_COOLDOWN_SECS_MAX: u64 = 30 * 86_400;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopSettings {
    pub currency: String,
    /// Seed a demo catalog when the database is empty and the private cluster is in use.
    pub demo_seed: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// HMAC secret the payment provider signs webhook events with.
    pub webhook_secret: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutSettings {
    /// How long an order awaiting an external payment holds its stock and keys.
    pub reservation_ttl_secs: u64,
    /// How often overdue orders are looked for and cancelled.
    pub expiry_sweep_ms: u64,
    /// Bounds on one buyer's orders awaiting an external payment: how many orders, how many
    /// units in all, and what percentage of one product's units for sale (at least 1 unit).
    pub unpaid_orders_max: u32,
    pub unpaid_units_max: u32,
    pub unpaid_product_share_pct: u32,
    /// How long an order that ended unpaid keeps counting after its payment was due.
    pub unpaid_cooldown_secs: u64,
}

impl CheckoutSettings {
    pub fn unpaid_limits(&self) -> souk_actors::domain::unpaid::UnpaidLimits {
        souk_actors::domain::unpaid::UnpaidLimits {
            orders_max: i64::from(self.unpaid_orders_max),
            units_max: i64::from(self.unpaid_units_max),
            product_share_pct: i64::from(self.unpaid_product_share_pct),
            cooldown: Duration::from_secs(self.unpaid_cooldown_secs),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnsSettings {
    /// Days after delivery within which a customer may ask to return goods.
    pub window_days: u64,
}

/// Shipping for orders with physical goods (digital-only orders never pay shipping).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingSettings {
    pub flat_minor: i64,
    /// Goods (after discount) at or above this ship free; absent: never free.
    pub free_from_minor: Option<i64>,
}

/// Tax in basis points (2000 = 20 %), rounded half-even once per order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxSettings {
    pub rate_bp: u32,
    /// true: prices already contain the tax (the order shows how much); false: added on top.
    pub inclusive: bool,
}

impl Settings {
    /// The shop's shipping and tax rules, as the one pricing function takes them.
    pub fn pricing(&self) -> souk_actors::domain::pricing::PricingRules {
        use souk_actors::domain::money::Money;
        souk_actors::domain::pricing::PricingRules {
            shipping_flat: Money::from_minor(self.shipping.flat_minor),
            free_shipping_from: self.shipping.free_from_minor.map(Money::from_minor),
            tax_rate_bp: self.tax.rate_bp,
            tax_inclusive: self.tax.inclusive,
        }
    }

    pub(super) fn validate_pricing(&self) -> Result<(), ConfigError> {
        let bound = 0..=100_000_000;
        if !bound.contains(&self.shipping.flat_minor)
            || self
                .shipping
                .free_from_minor
                .is_some_and(|f| !bound.contains(&f))
        {
            return Err(ConfigError::Invalid(
                "shipping.flat_minor and shipping.free_from_minor must be 0..=100000000".into(),
            ));
        }
        if self.returns.window_days > 3650 {
            return Err(ConfigError::Invalid(
                "returns.window_days is at most 3650".into(),
            ));
        }
        if self.checkout.reservation_ttl_secs == 0 || self.checkout.expiry_sweep_ms == 0 {
            return Err(ConfigError::Invalid(
                "checkout.reservation_ttl_secs and checkout.expiry_sweep_ms must be positive"
                    .into(),
            ));
        }
        let c = &self.checkout;
        if c.unpaid_orders_max == 0
            || c.unpaid_units_max == 0
            || !(1..=100).contains(&c.unpaid_product_share_pct)
            || c.unpaid_cooldown_secs > UNPAID_COOLDOWN_SECS_MAX
        {
            return Err(ConfigError::Invalid(format!(
                "checkout.unpaid_orders_max and checkout.unpaid_units_max must be positive, \
                 checkout.unpaid_product_share_pct within 1..=100 and \
                 checkout.unpaid_cooldown_secs at most {UNPAID_COOLDOWN_SECS_MAX}"
            )));
        }
        if self.tax.rate_bp > souk_actors::domain::pricing::TAX_RATE_BP_MAX {
            return Err(ConfigError::Invalid(
                "tax.rate_bp is in basis points and at most 10000 (100 %)".into(),
            ));
        }
        Ok(())
    }
}

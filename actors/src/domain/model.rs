//! The shapes Souk hands out: products, orders, wallet transactions. They serialize to the
//! JSON of API.md, so a stored idempotent response and a fresh one are the same bytes.

use crate::domain::address::ShippingAddress;
use crate::domain::ids::{CategoryId, OrderId, ProductId, UserId};
use crate::domain::money::Money;
use crate::domain::status::OrderStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type Timestamp = DateTime<Utc>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Digital,
    Physical,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Digital => "digital",
            ProductKind::Physical => "physical",
        }
    }

    pub fn parse(s: &str) -> Option<ProductKind> {
        match s {
            "digital" => Some(ProductKind::Digital),
            "physical" => Some(ProductKind::Physical),
            _ => None,
        }
    }
}

/// How an order is paid: from the wallet at checkout, or later by a payment provider or
/// in Telegram Stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Wallet,
    External,
    Stars,
}

impl PaymentMethod {
    /// Whether the order waits for its money after checkout (and holds its stock meanwhile).
    pub fn paid_later(self) -> bool {
        match self {
            PaymentMethod::Wallet => false,
            PaymentMethod::External | PaymentMethod::Stars => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Wallet => "wallet",
            PaymentMethod::External => "external",
            PaymentMethod::Stars => "stars",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentMethod> {
        match s {
            "wallet" => Some(PaymentMethod::Wallet),
            "external" => Some(PaymentMethod::External),
            "stars" => Some(PaymentMethod::Stars),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub display_name: Option<String>,
    pub telegram_id: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub parent_id: Option<CategoryId>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub category_id: CategoryId,
    pub name: String,
    pub description: String,
    pub kind: ProductKind,
    pub price_minor: Money,
    pub currency: String,
    /// Its price in Telegram Stars, if it has one (paid in Stars in the bot and Mini App).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100_000)]
    pub price_stars: Option<crate::domain::stars::Stars>,
    pub stock_available: i64,
    pub active: bool,
    pub image_url: Option<String>,
    /// Variants: SKUs of one article share a group (e.g. one shirt in sizes and colours).
    pub group_id: Option<i64>,
    /// What sets this SKU apart within its group, e.g. `{"size": "M", "color": "black"}`.
    #[schema(value_type = BTreeMap<String, String>)]
    pub options: VariantOptions,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

pub type VariantOptions = std::collections::BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub quantity: i64,
    pub unit_price_minor: Money,
    /// License keys, present for digital goods and shown only to the owner and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_items: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub subtotal_minor: Money,
    pub discount_minor: Money,
    pub shipping_minor: Money,
    pub tax_minor: Money,
    pub total_minor: Money,
    /// With tax-inclusive prices: how much of the total is tax (0 when tax is added on top).
    pub tax_included_minor: Money,
    /// What was paid for the order: its total once the wallet or the provider paid it, 0 before.
    pub paid_minor: Money,
    /// What has been given back to the wallet for it so far; never more than `paid_minor`.
    pub refunded_minor: Money,
    pub currency: String,
    pub promo_code: Option<crate::domain::ids::PromoCode>,
    pub payment: PaymentMethod,
    /// What the order costs in Telegram Stars when it is paid in Stars (`null` otherwise).
    pub total_stars: Option<i64>,
    /// An external payment must arrive before this, or the order is cancelled.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub payment_due_at: Option<Timestamp>,
    pub shipping_address: Option<ShippingAddress>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WalletTxKind {
    Credit,
    Debit,
    Refund,
}

impl WalletTxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WalletTxKind::Credit => "credit",
            WalletTxKind::Debit => "debit",
            WalletTxKind::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<WalletTxKind> {
        match s {
            "credit" => Some(WalletTxKind::Credit),
            "debit" => Some(WalletTxKind::Debit),
            "refund" => Some(WalletTxKind::Refund),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WalletTransaction {
    pub id: i64,
    pub kind: WalletTxKind,
    pub amount_minor: Money,
    pub order_id: Option<OrderId>,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Result of adding stock; also the body of `POST /v1/admin/products/{id}/stock`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockReport {
    pub accepted: i64,
    pub rejected: Vec<RejectedCode>,
    pub stock_available: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RejectedCode {
    pub code_index: usize,
    pub reason: &'static str,
}

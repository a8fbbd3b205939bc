//! The part of Telegram's `Update` the bot reads. Unknown fields are ignored (Telegram adds
//! fields over time); an update the bot cannot read is "unsupported": answered 200, recorded,
//! and otherwise ignored.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
    pub callback_query: Option<CallbackQuery>,
    pub pre_checkout_query: Option<PreCheckoutQuery>,
    pub shipping_query: Option<ShippingQuery>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub first_name: String,
    /// The language of the user's Telegram app (an IETF tag), when Telegram says it.
    #[serde(default)]
    pub language_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub from: Option<User>,
    pub chat: Chat,
    pub text: Option<String>,
    /// Present when the message is a photo: its keyboard is edited as a caption.
    pub photo: Option<serde_json::Value>,
    pub successful_payment: Option<SuccessfulPayment>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    pub message: Option<Message>,
    pub data: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PreCheckoutQuery {
    pub id: String,
    pub from: User,
    pub currency: String,
    pub total_amount: i64,
    pub invoice_payload: String,
    /// What the invoice asked the buyer for (name, shipping address).
    pub order_info: Option<OrderInfo>,
}

/// Sent for an invoice with `is_flexible` once the buyer gave an address: the shipping
/// options (and their prices) are the shop's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct ShippingQuery {
    pub id: String,
    pub from: User,
    pub invoice_payload: String,
    pub shipping_address: TelegramAddress,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderInfo {
    pub name: Option<String>,
    pub shipping_address: Option<TelegramAddress>,
}

/// A shipping address as Telegram's invoice takes it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TelegramAddress {
    pub country_code: String,
    #[serde(default)]
    pub state: String,
    pub city: String,
    pub street_line1: String,
    #[serde(default)]
    pub street_line2: String,
    pub post_code: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SuccessfulPayment {
    pub currency: String,
    pub total_amount: i64,
    pub invoice_payload: String,
    pub telegram_payment_charge_id: String,
    pub order_info: Option<OrderInfo>,
}

/// What an update is, for routing and for the `kind` label of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message,
    Callback,
    PreCheckout,
    Shipping,
    Payment,
    Unsupported,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Message,
        Kind::Callback,
        Kind::PreCheckout,
        Kind::Shipping,
        Kind::Payment,
        Kind::Unsupported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Callback => "callback_query",
            Kind::PreCheckout => "pre_checkout_query",
            Kind::Shipping => "shipping_query",
            Kind::Payment => "successful_payment",
            Kind::Unsupported => "unsupported",
        }
    }
}

impl Update {
    /// An update whose fields could not be read: only its id is kept.
    pub fn unsupported(update_id: i64) -> Update {
        Update {
            update_id,
            message: None,
            callback_query: None,
            pre_checkout_query: None,
            shipping_query: None,
        }
    }

    pub fn kind(&self) -> Kind {
        if self.callback_query.is_some() {
            Kind::Callback
        } else if self.pre_checkout_query.is_some() {
            Kind::PreCheckout
        } else if self.shipping_query.is_some() {
            Kind::Shipping
        } else if let Some(m) = &self.message {
            if m.successful_payment.is_some() {
                Kind::Payment
            } else if m.from.is_some() {
                Kind::Message
            } else {
                Kind::Unsupported
            }
        } else {
            Kind::Unsupported
        }
    }

    /// The Telegram user who caused the update, if it is one the bot serves.
    pub fn sender(&self) -> Option<&User> {
        let user = match self.kind() {
            Kind::Callback => self.callback_query.as_ref().map(|c| &c.from),
            Kind::PreCheckout => self.pre_checkout_query.as_ref().map(|q| &q.from),
            Kind::Shipping => self.shipping_query.as_ref().map(|q| &q.from),
            Kind::Message | Kind::Payment => self.message.as_ref().and_then(|m| m.from.as_ref()),
            Kind::Unsupported => None,
        };
        user.filter(|u| !u.is_bot && u.id > 0)
    }
}

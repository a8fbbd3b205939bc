//! External payment events (P4): what an event pays for, and what became of it.

use crate::domain::ids::{OrderId, UserId};
use crate::domain::money::Money;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    #[serde(rename = "payment.succeeded")]
    Succeeded,
    #[serde(rename = "payment.failed")]
    Failed,
}

impl EventType {
    pub fn parse(s: &str) -> Option<EventType> {
        match s {
            "payment.succeeded" => Some(EventType::Succeeded),
            "payment.failed" => Some(EventType::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Succeeded => "payment.succeeded",
            EventType::Failed => "payment.failed",
        }
    }
}

/// What an event pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentTarget {
    Order(OrderId),
    WalletTopup(UserId),
}

#[derive(Debug, Clone)]
pub struct PaymentEvent {
    pub event_id: String,
    pub kind: EventType,
    pub amount: Money,
    pub currency: String,
    pub target: PaymentTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// The order is paid, or the top-up credited.
    Applied,
    /// The order could no longer take the money, so the wallet did.
    CreditedWallet,
    /// Not applied (wrong amount or currency, unknown order or user); kept for the record.
    Rejected,
    /// A failure report: nothing to apply; the order waits until it is paid or expires.
    Noted,
}

impl EventOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            EventOutcome::Applied => "applied",
            EventOutcome::CreditedWallet => "credited_wallet",
            EventOutcome::Rejected => "rejected",
            EventOutcome::Noted => "noted",
        }
    }

    pub fn parse(s: &str) -> Option<EventOutcome> {
        [
            EventOutcome::Applied,
            EventOutcome::CreditedWallet,
            EventOutcome::Rejected,
            EventOutcome::Noted,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// What became of an event; a redelivery gets the first delivery's receipt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub event_id: String,
    pub outcome: EventOutcome,
    pub reason: Option<String>,
    pub duplicate: bool,
}

/// The event's row and, when money moves, what moves.
#[derive(Debug, Clone)]
pub struct PaymentWrite {
    pub event: PaymentEvent,
    pub user: Option<UserId>,
    pub outcome: EventOutcome,
    pub reason: Option<String>,
    /// The order this event pays (pending_payment → paid, keys delivered).
    pub pays: Option<OrderId>,
    /// Money the wallet takes instead.
    pub credit: Option<Money>,
}

//! The order status enum and its one transition table (I6). Every status change in Souk
//! asks `can_move_to`; the database constrains the column to the same set of names.

use crate::domain::ids::OrderId;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    ReturnRequested,
    Returned,
    Refunded,
}

use OrderStatus::*;

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        PendingPayment,
        Paid,
        Processing,
        Shipped,
        Delivered,
        Cancelled,
        ReturnRequested,
        Returned,
        Refunded,
    ];

    /// The transition table. Anything not listed is refused with the allowed set.
    pub fn allowed_next(self) -> &'static [OrderStatus] {
        match self {
            PendingPayment => &[Paid, Cancelled],
            Paid => &[Processing, Shipped, Delivered, Cancelled, Refunded],
            Processing => &[Shipped, Cancelled, Refunded],
            Shipped => &[Delivered, ReturnRequested],
            Delivered => &[ReturnRequested, Refunded],
            ReturnRequested => &[Returned, Delivered],
            Returned => &[Refunded],
            Cancelled | Refunded => &[],
        }
    }

    pub fn can_move_to(self, next: OrderStatus) -> bool {
        self.allowed_next().contains(&next)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PendingPayment => "pending_payment",
            Paid => "paid",
            Processing => "processing",
            Shipped => "shipped",
            Delivered => "delivered",
            Cancelled => "cancelled",
            ReturnRequested => "return_requested",
            Returned => "returned",
            Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status change, as written.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub order: OrderId,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub actor: String,
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("PAID"), None);
    }

    #[test]
    fn final_states_go_nowhere() {
        assert!(Cancelled.allowed_next().is_empty());
        assert!(Refunded.allowed_next().is_empty());
        assert!(!Shipped.can_move_to(Paid));
        assert!(Paid.can_move_to(Shipped));
    }
}

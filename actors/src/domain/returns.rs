//! Returns and exchanges of delivered goods: a return's status, its lines, and its changes.

use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::model::Timestamp;
use crate::domain::status::StatusChange;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    Requested,
    Approved,
    Rejected,
    Received,
}

impl ReturnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Rejected => "rejected",
            ReturnStatus::Received => "received",
        }
    }

    pub fn parse(s: &str) -> Option<ReturnStatus> {
        [
            ReturnStatus::Requested,
            ReturnStatus::Approved,
            ReturnStatus::Rejected,
            ReturnStatus::Received,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReturnLine {
    pub product_id: ProductId,
    pub quantity: i64,
    pub exchange_product_id: Option<ProductId>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Return {
    pub id: i64,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: ReturnStatus,
    pub reason: String,
    pub note: Option<String>,
    pub lines: Vec<ReturnLine>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub enum ReturnWrite {
    Request {
        order: StatusChange,
        user: UserId,
        reason: String,
        lines: Vec<ReturnLine>,
    },
    /// Approve or reject; a rejection puts the order back to delivered and the exchange
    /// SKUs' stock back on sale.
    Decide {
        id: i64,
        approve: bool,
        note: Option<String>,
        order: Option<StatusChange>,
        restock: Vec<(ProductId, i64)>,
    },
    /// The goods came back: they go back on the shelf and the order is `returned`.
    Receive {
        id: i64,
        note: Option<String>,
        order: StatusChange,
        restock: Vec<(ProductId, i64)>,
    },
}

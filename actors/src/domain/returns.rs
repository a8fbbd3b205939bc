//! Returns and exchanges of delivered goods: a return's status, its lines, and its changes.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::model::{Order, Timestamp};
use crate::domain::msg::Msg;
use crate::domain::status::StatusChange;
use serde::Serialize;
use std::collections::HashMap;

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

/// Returns are asked for within `window` of delivery.
pub fn check_window(
    delivered: Option<Timestamp>,
    window: chrono::Duration,
    now: Timestamp,
) -> DomainResult<()> {
    if delivered.is_none_or(|at| at + window < now) {
        return Err(DomainError::invalid(
            "order",
            Msg::new("error-return-window").arg("days", window.num_days()),
        ));
    }
    Ok(())
}

/// One requested line, checked against the order, what was returned before, and the lines
/// already taken into this request (each product appears once).
pub fn requested_line(
    order: &Order,
    already: &HashMap<ProductId, i64>,
    taken: &[ReturnLine],
    product: ProductId,
    quantity: i64,
) -> DomainResult<ReturnLine> {
    let bought = order
        .lines
        .iter()
        .find(|l| l.product_id == product)
        .ok_or_else(|| {
            DomainError::invalid(
                "lines.product_id",
                Msg::new("error-return-product-not-in-order").arg("product", product.get()),
            )
        })?;
    let left = bought.quantity - already.get(&product).copied().unwrap_or(0);
    if quantity > left {
        return Err(DomainError::invalid(
            "lines.quantity",
            Msg::new("error-return-quantity-left")
                .arg("left", left)
                .arg("product", product.get()),
        ));
    }
    if taken.iter().any(|l| l.product_id == product) {
        return Err(DomainError::invalid(
            "lines.product_id",
            Msg::new("error-return-product-twice"),
        ));
    }
    Ok(ReturnLine {
        product_id: product,
        quantity,
        exchange_product_id: None,
    })
}

//! Events out: what a committed change tells the world. `of` reads them off a write and
//! what it produced, so the group commit records them in the change's own transaction
//! (the outbox) and an event exists exactly when its change committed. Each event names
//! its stream (the order, user or product it is about): the events of one stream are
//! delivered in the order they were committed.

use crate::domain::changes::{Outcome, WriteOp};
use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::model::Order;
use crate::domain::payment::{EventOutcome, PaymentTarget};
use crate::domain::returns::ReturnWrite;
use crate::domain::stars::XTR;
use crate::domain::status::{OrderStatus, StatusChange};
use serde_json::{json, Value};

/// The kinds of event, as subscribers name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    OrderCreated,
    OrderPaid,
    OrderStatusChanged,
    OrderCancelled,
    OrderRefunded,
    ReturnRequested,
    ReturnUpdated,
    PaymentRejected,
    StockLow,
    StockRestocked,
    WalletCredited,
}

impl EventType {
    pub const ALL: [EventType; 11] = [
        EventType::OrderCreated,
        EventType::OrderPaid,
        EventType::OrderStatusChanged,
        EventType::OrderCancelled,
        EventType::OrderRefunded,
        EventType::ReturnRequested,
        EventType::ReturnUpdated,
        EventType::PaymentRejected,
        EventType::StockLow,
        EventType::StockRestocked,
        EventType::WalletCredited,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderPaid => "order.paid",
            EventType::OrderStatusChanged => "order.status_changed",
            EventType::OrderCancelled => "order.cancelled",
            EventType::OrderRefunded => "order.refunded",
            EventType::ReturnRequested => "return.requested",
            EventType::ReturnUpdated => "return.updated",
            EventType::PaymentRejected => "payment.rejected",
            EventType::StockLow => "stock.low",
            EventType::StockRestocked => "stock.restocked",
            EventType::WalletCredited => "wallet.credited",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// An event's id as receivers see it, `evt_<n>`: unique and stable, and what they drop
/// duplicates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(pub i64);

impl EventId {
    pub fn parse(raw: &str) -> Option<EventId> {
        raw.strip_prefix("evt_")?
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(EventId)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "evt_{}", self.0)
    }
}

impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An event before it is recorded: its id and time are given by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub kind: EventType,
    /// `order:<id>`, `user:<id>` or `product:<id>`: events of one stream keep their order.
    pub stream: String,
    /// The order it is about, if any: its buyer is who a notification goes to.
    pub order: Option<OrderId>,
    /// Shared, not copied, by every delivery of the event (an order's data is large).
    pub data: std::sync::Arc<Value>,
}

impl EventDraft {
    /// Whether the order's buyer is told in their Telegram chat: a payment that arrived
    /// later (a wallet checkout is answered where it was made), the parcel leaving and
    /// arriving, a cancellation (an unpaid order's window closing too) and a refund.
    pub fn tells_buyer(&self) -> bool {
        match self.kind {
            EventType::OrderPaid => self.data["payment"] == "external",
            EventType::OrderStatusChanged => {
                let to = self.data["to"].as_str();
                to == Some(OrderStatus::Shipped.as_str())
                    || to == Some(OrderStatus::Delivered.as_str())
            }
            EventType::OrderCancelled | EventType::OrderRefunded => true,
            _ => false,
        }
    }
}

/// The shop's settings that decide some events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRules {
    /// `stock.low` fires when a product's available units fall to this or below.
    pub stock_low: i64,
    /// Whether webhook deliveries are handed to this node's dispatcher in memory after
    /// COMMIT (their rows written once settled); where nothing would take them (the
    /// row-lock baseline, tests of a batch alone) each gets its row at once and polling
    /// sends it.
    pub hand_over: bool,
}

impl Default for EventRules {
    fn default() -> Self {
        EventRules {
            stock_low: 5,
            hand_over: false,
        }
    }
}

fn order_stream(order: OrderId) -> String {
    format!("order:{order}")
}

fn user_stream(user: UserId) -> String {
    format!("user:{user}")
}

fn product_stream(product: ProductId) -> String {
    format!("product:{product}")
}

fn draft(kind: EventType, stream: String, data: Value) -> EventDraft {
    EventDraft {
        kind,
        stream,
        order: None,
        data: std::sync::Arc::new(data),
    }
}

/// An event about `order`, in the order's stream.
fn about(kind: EventType, order: OrderId, data: Value) -> EventDraft {
    EventDraft {
        kind,
        stream: order_stream(order),
        order: Some(order),
        data: std::sync::Arc::new(data),
    }
}

/// An order as an event carries it: without delivered license keys, which only the buyer
/// and the shop's staff may read.
fn order_data(order: &Order) -> Value {
    let mut order = order.clone();
    for line in &mut order.lines {
        line.delivered_items = None;
    }
    json!({ "order": order })
}

fn status_changed(change: &StatusChange) -> EventDraft {
    about(
        EventType::OrderStatusChanged,
        change.order,
        json!({
            "order_id": change.order,
            "from": change.from.as_str(),
            "to": change.to.as_str(),
            "note": change.note,
        }),
    )
}

/// `stock.low` when `available_after` is the first figure at or below the threshold.
fn stock_low(
    product: ProductId,
    before: i64,
    after: i64,
    rules: &EventRules,
) -> Option<EventDraft> {
    (before > rules.stock_low && after <= rules.stock_low).then(|| {
        draft(
            EventType::StockLow,
            product_stream(product),
            json!({
                "product_id": product,
                "stock_available": after,
                "threshold": rules.stock_low,
            }),
        )
    })
}

/// The events `op` tells once it has committed with `outcome`, in the order they happened.
pub fn of(op: &WriteOp, outcome: &Outcome, rules: &EventRules) -> Vec<EventDraft> {
    let mut events = Vec::new();
    match (op, outcome) {
        (WriteOp::Checkout(checkout), Outcome::Order(order)) => {
            events.push(about(EventType::OrderCreated, order.id, order_data(order)));
            if order.status == OrderStatus::Paid {
                events.push(paid(order.id, order.paid_minor.minor(), "wallet"));
            }
            for line in &checkout.lines {
                if let Some(after) = line.available_after {
                    let before = after + line.quantity.get();
                    events.extend(stock_low(line.product, before, after, rules));
                }
            }
        }
        (
            WriteOp::StockDelta {
                product,
                delta,
                available_after,
            },
            _,
        ) => {
            if *delta > 0 {
                events.push(restocked(*product, *delta, *available_after));
            }
            events.extend(stock_low(
                *product,
                available_after - delta,
                *available_after,
                rules,
            ));
        }
        (WriteOp::AddCodes { product, .. }, Outcome::Stock { report, .. })
            if report.accepted > 0 =>
        {
            events.push(restocked(*product, report.accepted, report.stock_available));
        }
        (WriteOp::WalletCredit { user, reason, .. }, Outcome::Credit(tx)) => {
            events.push(credited(
                *user,
                tx.amount_minor.minor(),
                reason,
                Some(tx.id),
            ));
        }
        (WriteOp::OrderStatus(change), _) => events.push(status_changed(change)),
        (WriteOp::Cancel(cancel), _) => {
            events.push(status_changed(&cancel.change));
            events.push(about(
                EventType::OrderCancelled,
                cancel.change.order,
                json!({
                    "order_id": cancel.change.order,
                    "from": cancel.change.from.as_str(),
                    "refunded_minor": cancel.refund,
                    "note": cancel.change.note,
                }),
            ));
        }
        (WriteOp::StarsRefunded { change, stars }, _) => {
            events.push(about(
                EventType::OrderRefunded,
                change.order,
                json!({
                    "order_id": change.order,
                    "amount_stars": stars,
                    "reason": change.note,
                    "complete": true,
                }),
            ));
            events.push(status_changed(change));
        }
        (WriteOp::Refund(refund), _) => {
            events.push(about(
                EventType::OrderRefunded,
                refund.order,
                json!({
                    "order_id": refund.order,
                    "amount_minor": refund.amount,
                    "reason": refund.reason,
                    "complete": refund.completes.is_some(),
                }),
            ));
            events.extend(refund.completes.as_ref().map(status_changed));
        }
        (WriteOp::Payment(payment), _) => {
            let event = &payment.event;
            if let Some(order) = payment.pays {
                events.push(status_changed(&StatusChange {
                    order,
                    from: OrderStatus::PendingPayment,
                    to: OrderStatus::Paid,
                    actor: format!("payment:{}", event.event_id),
                    note: Some(match event.currency.as_str() {
                        XTR => "Stars payment received".into(),
                        _ => "external payment received".into(),
                    }),
                }));
                events.push(match event.currency.as_str() {
                    XTR => about(
                        EventType::OrderPaid,
                        order,
                        json!({ "order_id": order, "amount_stars": event.amount.minor(), "payment": "stars" }),
                    ),
                    _ => paid(order, event.amount.minor(), "external"),
                });
            }
            if let (Some(amount), Some(user)) = (payment.credit, payment.user) {
                let reason = format!("payment {}", event.event_id);
                events.push(credited(user, amount.minor(), &reason, None));
            }
            if payment.outcome == EventOutcome::Rejected {
                let (stream, order, user) = match event.target {
                    PaymentTarget::Order(order) => (order_stream(order), Some(order), None),
                    PaymentTarget::WalletTopup(user) => (user_stream(user), None, Some(user)),
                };
                let mut rejected = draft(
                    EventType::PaymentRejected,
                    stream,
                    json!({
                        "payment_event_id": event.event_id,
                        "order_id": order,
                        "user_id": user,
                        "amount_minor": event.amount,
                        "currency": event.currency,
                        "reason": payment.reason,
                    }),
                );
                rejected.order = order;
                events.push(rejected);
            }
        }
        (WriteOp::Return(ret), outcome) => match ret.as_ref() {
            ReturnWrite::Request {
                order,
                user,
                reason,
                lines,
            } => {
                events.push(status_changed(order));
                let id = match outcome {
                    Outcome::Id(id) => Some(*id),
                    _ => None,
                };
                let lines: Vec<Value> = lines
                    .iter()
                    .map(|l| {
                        json!({
                            "product_id": l.product_id,
                            "quantity": l.quantity,
                            "exchange_product_id": l.exchange_product_id,
                        })
                    })
                    .collect();
                events.push(about(
                    EventType::ReturnRequested,
                    order.order,
                    json!({
                        "return_id": id,
                        "order_id": order.order,
                        "user_id": user,
                        "reason": reason,
                        "lines": lines,
                    }),
                ));
            }
            ReturnWrite::Decide {
                id,
                approve,
                note,
                order,
                ..
            } => {
                events.extend(order.as_ref().map(status_changed));
                let status = if *approve { "approved" } else { "rejected" };
                events.push(return_updated(*id, status, note, order.as_ref()));
            }
            ReturnWrite::Receive {
                id, note, order, ..
            } => {
                events.push(status_changed(order));
                events.push(return_updated(*id, "received", note, Some(order)));
            }
        },
        _ => {}
    }
    events
}

fn paid(order: OrderId, amount: i64, method: &str) -> EventDraft {
    about(
        EventType::OrderPaid,
        order,
        json!({ "order_id": order, "amount_minor": amount, "payment": method }),
    )
}

fn restocked(product: ProductId, added: i64, available: i64) -> EventDraft {
    draft(
        EventType::StockRestocked,
        product_stream(product),
        json!({ "product_id": product, "added": added, "stock_available": available }),
    )
}

fn credited(user: UserId, amount: i64, reason: &str, transaction: Option<i64>) -> EventDraft {
    draft(
        EventType::WalletCredited,
        user_stream(user),
        json!({
            "user_id": user,
            "amount_minor": amount,
            "reason": reason,
            "transaction_id": transaction,
        }),
    )
}

fn return_updated(
    id: i64,
    status: &str,
    note: &Option<String>,
    order: Option<&StatusChange>,
) -> EventDraft {
    // A decision on a return whose order did not move still belongs to the return's order;
    // without the order the return's own stream keeps its events in order.
    let data = json!({
        "return_id": id,
        "order_id": order.map(|o| o.order),
        "status": status,
        "note": note,
    });
    match order {
        Some(o) => about(EventType::ReturnUpdated, o.order, data),
        None => draft(EventType::ReturnUpdated, format!("return:{id}"), data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::parse("order.exploded"), None);
        let id = EventId(42);
        assert_eq!(EventId::parse(&id.to_string()), Some(id));
        for bad in ["42", "evt_", "evt_0", "evt_-1", "evt_x", "EVT_1"] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_buyer_hears_of_payments_that_came_later_shipping_delivery_cancels_and_refunds() {
        let order = OrderId::new(7).unwrap();
        let moved = |to: OrderStatus| {
            status_changed(&StatusChange {
                order,
                from: OrderStatus::Paid,
                to,
                actor: "staff".into(),
                note: None,
            })
        };
        assert!(moved(OrderStatus::Shipped).tells_buyer());
        assert!(moved(OrderStatus::Delivered).tells_buyer());
        assert!(!moved(OrderStatus::Paid).tells_buyer());
        assert!(paid(order, 100, "external").tells_buyer());
        assert!(!paid(order, 100, "wallet").tells_buyer());
        assert!(!restocked(ProductId::new(1).unwrap(), 1, 1).tells_buyer());
        assert_eq!(moved(OrderStatus::Shipped).order, Some(order));
    }

    #[test]
    fn stock_low_fires_once_when_crossing() {
        let rules = EventRules::default();
        let p = ProductId::new(1).unwrap();
        assert!(stock_low(p, 6, 5, &rules).is_some());
        assert!(stock_low(p, 9, 0, &rules).is_some());
        assert!(stock_low(p, 5, 4, &rules).is_none());
        assert!(stock_low(p, 7, 6, &rules).is_none());
    }
}

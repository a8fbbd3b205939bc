//! The model: what Souk should hold after each step, by the intended rules of issue 13,
//! with no I/O. Balances are credits − debits + refunds; an order never gives back more
//! than was paid for it, and a cancel gives back what was paid, less what was refunded
//! already, less the delivered license keys the customer keeps; stock is added − sold +
//! restocked; a promo's uses are its orders that are not cancelled.

use souk_actors::domain::status::OrderStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Physical,
    Key,
}

pub struct Product {
    pub id: i64,
    pub kind: Kind,
    pub price: i64,
    /// Its price in Telegram Stars, when it has one.
    pub stars: Option<i64>,
    /// Physical: units on hand. Key: codes not held by or delivered to any order.
    pub stock: i64,
}

pub struct User {
    pub id: i64,
    /// The Telegram account the user pays Stars from.
    pub tg: i64,
    pub token: String,
    pub balance: i64,
}

pub struct Promo {
    pub code: &'static str,
    /// A fixed amount off the goods.
    pub value: i64,
    pub limit: Option<i64>,
    pub per_user: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct Line {
    pub product: usize,
    pub qty: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payment {
    Wallet,
    External,
    Stars,
}

impl Payment {
    pub fn as_str(self) -> &'static str {
        match self {
            Payment::Wallet => "wallet",
            Payment::External => "external",
            Payment::Stars => "stars",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnStatus {
    Requested,
    Approved,
    Rejected,
    Received,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnStep {
    Approve,
    Reject,
    Receive,
}

impl ReturnStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStep::Approve => "approve",
            ReturnStep::Reject => "reject",
            ReturnStep::Receive => "receive",
        }
    }
}

pub struct Return {
    pub id: i64,
    pub status: ReturnStatus,
    pub line: Line,
}

/// A payment event sent for an order, kept so it can be delivered again.
pub struct Event {
    pub body: serde_json::Value,
    /// What Souk answered the first time.
    pub outcome: String,
}

pub struct Order {
    pub id: i64,
    pub user: usize,
    pub lines: Vec<Line>,
    pub total: i64,
    pub payment: Payment,
    pub status: OrderStatus,
    pub paid: i64,
    pub refunded: i64,
    pub promo: Option<usize>,
    /// License keys taken from the shelf for this order (held while unpaid).
    pub keys_held: bool,
    /// License keys shown to the customer (paid at some point).
    pub keys_delivered: bool,
    pub events: Vec<Event>,
    pub ret: Option<Return>,
    /// What a Stars order costs in Stars (`None` for the other payments).
    pub total_stars: Option<i64>,
    /// Telegram payments sent for a Stars order, kept so they can be delivered again.
    pub charges: Vec<Charge>,
    /// A payment in Stars was applied to it (its `paid_minor` stays 0).
    pub stars_paid: bool,
    /// Its `star_refunds` row's state: "refused" or "done".
    pub star_refund: Option<&'static str>,
}

/// A `successful_payment` sent through the bot for a Stars order.
pub struct Charge {
    pub id: String,
    pub stars: i64,
    /// What Souk recorded the first time (`payment_events.outcome`).
    pub outcome: String,
}

/// What Souk must answer: success, or a refusal with this status (and error code, when
/// the rules name one) that changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Ok,
    No(u16, &'static str),
    /// 422 `stars_unavailable` with this `details.reason` (and `details.product_id`).
    NoStars(&'static str, Option<i64>),
    /// 409: every line is a license key already delivered (the issue names no code).
    NothingToCancel,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Ok => f.write_str("success"),
            Expect::No(status, code) => write!(f, "{status} {code}"),
            Expect::NoStars(reason, product) => {
                write!(f, "422 stars_unavailable ({reason}, product {product:?})")
            }
            Expect::NothingToCancel => {
                f.write_str("409 (nothing left to cancel: every line is a delivered key)")
            }
        }
    }
}

#[derive(Default)]
pub struct Model {
    pub users: Vec<User>,
    pub products: Vec<Product>,
    pub promos: Vec<Promo>,
    pub orders: Vec<Order>,
}

impl Model {
    pub fn subtotal(&self, lines: &[Line]) -> i64 {
        lines
            .iter()
            .map(|l| l.qty * self.products[l.product].price)
            .sum()
    }

    /// Shipping and tax are 0 in the test shop; a fixed promo comes off the goods.
    pub fn total(&self, lines: &[Line], promo: Option<usize>) -> i64 {
        let subtotal = self.subtotal(lines);
        subtotal - promo.map_or(0, |p| self.promos[p].value.min(subtotal))
    }

    pub fn checkout(
        &self,
        user: usize,
        lines: &[Line],
        payment: Payment,
        promo: Option<usize>,
    ) -> Expect {
        let mut by_id: Vec<&Line> = lines.iter().collect();
        by_id.sort_by_key(|l| self.products[l.product].id);
        if by_id.iter().any(|l| self.products[l.product].stock < l.qty) {
            return Expect::No(409, "out_of_stock");
        }
        if let Some(p) = promo {
            let rules = &self.promos[p];
            let mine = self.uses_by(p, user);
            if rules.limit.is_some_and(|l| self.uses(p) >= l)
                || rules.per_user.is_some_and(|l| mine >= l)
            {
                return Expect::No(422, "promo_invalid");
            }
        }
        // No provider pays zero: an order a promo made free is placed from the wallet.
        if payment == Payment::External && self.total(lines, promo) == 0 {
            return Expect::No(422, "invalid_input");
        }
        if payment == Payment::Wallet && self.users[user].balance < self.total(lines, promo) {
            return Expect::No(402, "insufficient_funds");
        }
        Expect::Ok
    }

    /// A checkout Souk accepted: stock and keys are taken, a wallet order is debited and
    /// its keys delivered at once, an external one waits for its payment.
    pub fn commit_checkout(&mut self, order: Order) {
        for l in &order.lines {
            self.products[l.product].stock -= l.qty;
        }
        if order.payment == Payment::Wallet {
            self.users[order.user].balance -= order.total;
        }
        self.orders.push(order);
    }

    pub fn new_order(
        &self,
        (id, user): (i64, usize),
        lines: Vec<Line>,
        payment: Payment,
        promo: Option<usize>,
    ) -> Order {
        let total = self.total(&lines, promo);
        let total_stars = (payment == Payment::Stars)
            .then(|| self.total_stars(&lines, promo).ok())
            .flatten();
        let wallet = payment == Payment::Wallet;
        Order {
            id,
            user,
            lines,
            total,
            payment,
            status: if wallet {
                OrderStatus::Paid
            } else {
                OrderStatus::PendingPayment
            },
            paid: if wallet { total } else { 0 },
            refunded: 0,
            promo,
            keys_held: true,
            keys_delivered: wallet,
            events: Vec::new(),
            ret: None,
            total_stars,
            charges: Vec::new(),
            stars_paid: false,
            star_refund: None,
        }
    }

    pub fn key_units(&self, o: &Order) -> i64 {
        o.lines
            .iter()
            .filter(|l| self.products[l.product].kind == Kind::Key)
            .map(|l| l.qty)
            .sum()
    }

    /// What the customer keeps on a cancel: the delivered license keys, at their price.
    pub fn kept(&self, o: &Order) -> i64 {
        if !o.keys_delivered {
            return 0;
        }
        o.lines
            .iter()
            .filter(|l| self.products[l.product].kind == Kind::Key)
            .map(|l| l.qty * self.products[l.product].price)
            .sum()
    }

    pub fn cancel(&self, o: usize, staff: bool) -> Expect {
        let o = &self.orders[o];
        let allowed = if staff {
            o.status.can_move_to(OrderStatus::Cancelled)
        } else {
            matches!(o.status, OrderStatus::PendingPayment | OrderStatus::Paid)
        };
        if !allowed {
            return Expect::No(409, "invalid_transition");
        }
        let all_delivered_keys = o.keys_delivered
            && o.lines
                .iter()
                .all(|l| self.products[l.product].kind == Kind::Key);
        if all_delivered_keys {
            return Expect::NothingToCancel;
        }
        Expect::Ok
    }

    /// What a cancel (or an expiry) gives back to the wallet.
    pub fn cancel_refund(&self, o: usize) -> i64 {
        let o = &self.orders[o];
        (o.paid - o.refunded - self.kept(o)).max(0)
    }

    /// A cancel (or an expiry): what the rules give back goes to the wallet, physical
    /// units to the shelf, keys an unpaid order held back on sale.
    pub fn commit_cancel(&mut self, i: usize) {
        let refund = self.cancel_refund(i);
        let o = &self.orders[i];
        let (user, unpaid_keys) = (o.user, o.keys_held && !o.keys_delivered);
        for l in o.lines.clone() {
            let p = &mut self.products[l.product];
            if p.kind == Kind::Physical || unpaid_keys {
                p.stock += l.qty;
            }
        }
        self.users[user].balance += refund;
        let o = &mut self.orders[i];
        o.refunded += refund;
        o.keys_held = o.keys_delivered;
        o.status = OrderStatus::Cancelled;
    }

    pub fn remaining(&self, o: usize) -> i64 {
        self.orders[o].paid - self.orders[o].refunded
    }

    pub fn refund(&self, o: usize, amount: Option<i64>) -> Expect {
        if !self.orders[o].status.can_move_to(OrderStatus::Refunded) {
            return Expect::No(409, "invalid_transition");
        }
        // Stars go back through Telegram, never to the wallet.
        if self.orders[o].payment == Payment::Stars {
            return Expect::No(422, "invalid_input");
        }
        let remaining = self.remaining(o);
        let amount = amount.unwrap_or(remaining);
        if amount <= 0 || amount > remaining {
            return Expect::No(422, "refund_exceeds_paid");
        }
        Expect::Ok
    }

    pub fn commit_refund(&mut self, i: usize, amount: i64) {
        let user = self.orders[i].user;
        self.users[user].balance += amount;
        let o = &mut self.orders[i];
        o.refunded += amount;
        if o.refunded == o.paid {
            o.status = OrderStatus::Refunded;
        }
    }

    /// The outcome of a new payment event for order `o` (`payment.failed` when `!succeeded`).
    pub fn payment(
        &self,
        o: usize,
        amount: i64,
        shop_currency: bool,
        succeeded: bool,
    ) -> &'static str {
        let o = &self.orders[o];
        if !succeeded {
            "noted"
        } else if amount <= 0 {
            // Nothing to apply (a free order's "total").
            "rejected"
        } else if !shop_currency {
            "rejected"
        } else if o.status != OrderStatus::PendingPayment {
            "credited_wallet"
        } else if o.payment == Payment::Stars {
            // A Stars order takes only Stars, through the bot.
            "rejected"
        } else if amount == o.total {
            "applied"
        } else {
            "rejected"
        }
    }

    pub fn commit_payment(&mut self, i: usize, outcome: &str, amount: i64) {
        match outcome {
            "applied" => {
                let o = &mut self.orders[i];
                o.status = OrderStatus::Paid;
                o.paid = o.total;
                o.keys_delivered = true;
            }
            "credited_wallet" => {
                let user = self.orders[i].user;
                self.users[user].balance += amount;
            }
            _ => {}
        }
    }

    pub fn advance(&self, o: usize, to: OrderStatus) -> Expect {
        if self.orders[o].status.can_move_to(to) {
            Expect::Ok
        } else {
            Expect::No(409, "invalid_transition")
        }
    }

    pub fn return_request(&self, o: usize) -> Expect {
        if self.orders[o].status == OrderStatus::Delivered {
            Expect::Ok
        } else {
            Expect::No(409, "invalid_transition")
        }
    }

    pub fn return_step(&self, o: usize, step: ReturnStep) -> Expect {
        let needs = match step {
            ReturnStep::Approve | ReturnStep::Reject => ReturnStatus::Requested,
            ReturnStep::Receive => ReturnStatus::Approved,
        };
        match &self.orders[o].ret {
            Some(r) if r.status == needs => Expect::Ok,
            _ => Expect::No(422, "invalid_input"),
        }
    }

    /// Returns move no money; receiving puts the units back on the shelf.
    pub fn commit_return_step(&mut self, i: usize, step: ReturnStep) {
        let Some(r) = self.orders[i].ret.as_mut() else {
            return;
        };
        let line = r.line;
        let status = match step {
            ReturnStep::Approve => ReturnStatus::Approved,
            ReturnStep::Reject => ReturnStatus::Rejected,
            ReturnStep::Receive => ReturnStatus::Received,
        };
        r.status = status;
        match step {
            ReturnStep::Approve => {}
            ReturnStep::Reject => self.orders[i].status = OrderStatus::Delivered,
            ReturnStep::Receive => {
                self.orders[i].status = OrderStatus::Returned;
                self.products[line.product].stock += line.qty;
            }
        }
    }

    /// A promo's uses are its live redemptions: its orders that are not cancelled, so a
    /// cancel or an expiry gives the use back exactly once.
    pub fn uses(&self, p: usize) -> i64 {
        self.orders
            .iter()
            .filter(|o| o.promo == Some(p) && o.status != OrderStatus::Cancelled)
            .count() as i64
    }

    pub fn uses_by(&self, p: usize, user: usize) -> i64 {
        self.orders
            .iter()
            .filter(|o| o.promo == Some(p) && o.user == user && o.status != OrderStatus::Cancelled)
            .count() as i64
    }
}

//! Random steps, drawn with weights from the model's current state, so that the sequences
//! that matter (a partial refund then a cancel, a delivered key then a cancel, a promo on
//! an external order that is cancelled or expires) come up within a short run.

use super::model::{Kind, Line, Model, Payment, ReturnStatus, ReturnStep};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use souk_actors::domain::status::OrderStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayHow {
    /// The order's total in the shop's currency (on time, or late if no longer pending).
    Total,
    WrongAmount,
    WrongCurrency,
    /// A `payment.failed` report: noted, nothing moves.
    Failed,
}

#[derive(Debug, Clone)]
pub enum Step {
    Checkout {
        user: usize,
        lines: Vec<Line>,
        payment: Payment,
        promo: Option<usize>,
        /// Send the same request (same key) a second time.
        replay: bool,
    },
    StarsCheckout {
        user: usize,
        lines: Vec<Line>,
        promo: Option<usize>,
        replay: bool,
    },
    /// Telegram's payment of a Stars order: its `total_stars` plus `off` (0: the total).
    StarsPay {
        order: usize,
        off: i64,
    },
    StarsRedeliver {
        order: usize,
        charge: usize,
    },
    PreCheckout {
        order: usize,
        /// Asked from another customer's Telegram account.
        stranger: bool,
        off: i64,
    },
    StarsRefund {
        order: usize,
        /// Telegram refuses `refundStarPayment` this time…
        refused: bool,
        /// …and takes it when asked once more.
        then_allowed: bool,
    },
    BotCheckout {
        lines: Vec<Line>,
        double_tap: bool,
    },
    BotTopUp {
        amount: i64,
        again: bool,
    },
    Credit {
        user: usize,
        amount: i64,
    },
    WebhookTopUp {
        user: usize,
        amount: i64,
    },
    Pay {
        order: usize,
        how: PayHow,
    },
    Redeliver {
        order: usize,
        event: usize,
    },
    Refund {
        order: usize,
        amount: Option<i64>,
    },
    Cancel {
        order: usize,
        staff: bool,
    },
    Advance {
        order: usize,
        to: OrderStatus,
    },
    ReturnRequest {
        order: usize,
        line: Line,
    },
    Return {
        order: usize,
        step: ReturnStep,
    },
    Expire {
        order: usize,
    },
    Restart,
    AddStock {
        product: usize,
        n: i64,
    },
}

/// The step kinds and their weights (out of 100).
const WEIGHTS: [(&str, u32); 28] = [
    ("wallet checkout", 8),
    ("external checkout", 8),
    ("stars checkout", 8),
    ("bot checkout", 4),
    ("bot top-up", 3),
    ("admin credit", 2),
    ("webhook top-up", 2),
    ("payment on time", 7),
    ("payment late", 2),
    ("payment wrong", 3),
    ("payment redelivered", 2),
    ("stars payment on time", 5),
    ("stars payment late", 1),
    ("stars payment wrong", 2),
    ("stars payment redelivered", 1),
    ("pre-checkout", 2),
    ("stars refund", 3),
    ("partial refund", 6),
    ("full refund", 2),
    ("refund over paid", 2),
    ("customer cancel", 6),
    ("staff cancel", 3),
    ("staff move", 3),
    ("return request", 3),
    ("return step", 3),
    ("expiry", 4),
    ("restart", 1),
    ("add stock", 4),
];

impl Step {
    /// The kind, for the step log and the findings' keys.
    pub fn kind(&self, m: &Model) -> &'static str {
        match self {
            Step::Checkout {
                payment: Payment::Wallet,
                ..
            } => "wallet checkout",
            Step::Checkout { .. } => "external checkout",
            Step::StarsCheckout { .. } => "stars checkout",
            Step::StarsPay { order, off: 0 }
                if m.orders[*order].status == OrderStatus::PendingPayment =>
            {
                "stars payment on time"
            }
            Step::StarsPay { off: 0, .. } => "stars payment late",
            Step::StarsPay { .. } => "stars payment wrong",
            Step::StarsRedeliver { .. } => "stars payment redelivered",
            Step::PreCheckout { .. } => "pre-checkout",
            Step::StarsRefund { .. } => "stars refund",
            Step::BotCheckout { .. } => "bot checkout",
            Step::BotTopUp { .. } => "bot top-up",
            Step::Credit { .. } => "admin credit",
            Step::WebhookTopUp { .. } => "webhook top-up",
            Step::Pay {
                order,
                how: PayHow::Total,
            } if m.orders[*order].status == OrderStatus::PendingPayment => "payment on time",
            Step::Pay {
                how: PayHow::Total, ..
            } => "payment late",
            Step::Pay { .. } => "payment wrong",
            Step::Redeliver { .. } => "payment redelivered",
            Step::Refund { .. } => "refund",
            Step::Cancel { staff: false, .. } => "customer cancel",
            Step::Cancel { staff: true, .. } => "staff cancel",
            Step::Advance { .. } => "staff move",
            Step::ReturnRequest { .. } => "return request",
            Step::Return { .. } => "return step",
            Step::Expire { .. } => "expiry",
            Step::Restart => "restart",
            Step::AddStock { .. } => "add stock",
        }
    }
}

/// Draws the next step; a kind with nothing to act on is drawn again.
pub fn next(rng: &mut StdRng, m: &Model) -> Step {
    let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    loop {
        let mut roll = rng.random_range(0..total);
        let kind = WEIGHTS
            .iter()
            .find(|(_, w)| {
                let hit = roll < *w;
                roll = roll.saturating_sub(*w);
                hit
            })
            .map_or("wallet checkout", |(k, _)| *k);
        if let Some(step) = build(kind, rng, m) {
            return step;
        }
    }
}

fn build(kind: &str, rng: &mut StdRng, m: &Model) -> Option<Step> {
    let customer = rng.random_range(0..m.users.len());
    Some(match kind {
        "wallet checkout" | "external checkout" => {
            let external = kind == "external checkout";
            Step::Checkout {
                user: customer,
                lines: lines(rng, m, false),
                payment: if external {
                    Payment::External
                } else {
                    Payment::Wallet
                },
                promo: rng
                    .random_bool(if external { 0.5 } else { 0.25 })
                    .then(|| rng.random_range(0..m.promos.len())),
                replay: rng.random_bool(0.1),
            }
        }
        "stars checkout"
        | "stars payment on time"
        | "stars payment late"
        | "stars payment wrong"
        | "stars payment redelivered"
        | "pre-checkout"
        | "stars refund" => {
            return super::gen_stars::build(kind, rng, m, customer);
        }
        "bot checkout" => Step::BotCheckout {
            lines: lines(rng, m, true),
            double_tap: rng.random_bool(0.2),
        },
        "bot top-up" => Step::BotTopUp {
            // Stars: the bot's default offers.
            amount: *[50, 100, 250].choose(rng)?,
            again: rng.random_bool(0.3),
        },
        "admin credit" => Step::Credit {
            user: customer,
            amount: rng.random_range(1..=10) * 100,
        },
        "webhook top-up" => Step::WebhookTopUp {
            user: customer,
            amount: rng.random_range(1..=10) * 100,
        },
        "payment on time" => Step::Pay {
            order: pick(rng, m, |o| {
                o.status == OrderStatus::PendingPayment && o.payment == Payment::External
            })?,
            how: PayHow::Total,
        },
        "payment late" => Step::Pay {
            order: pick(rng, m, |o| o.status != OrderStatus::PendingPayment)?,
            how: PayHow::Total,
        },
        "payment wrong" => Step::Pay {
            order: pick(rng, m, |o| o.status == OrderStatus::PendingPayment)
                .or_else(|| pick(rng, m, |_| true))?,
            how: *[PayHow::WrongAmount, PayHow::WrongCurrency, PayHow::Failed].choose(rng)?,
        },
        "payment redelivered" => {
            let order = pick(rng, m, |o| !o.events.is_empty())?;
            let event = rng.random_range(0..m.orders[order].events.len());
            Step::Redeliver { order, event }
        }
        "partial refund" | "full refund" | "refund over paid" => {
            // A paid Stars order is refused here (422): its Stars go back through Telegram.
            let refundable = |o: &super::model::Order| {
                o.status.can_move_to(OrderStatus::Refunded) && (o.paid > o.refunded || o.stars_paid)
            };
            let order = if rng.random_bool(0.85) {
                pick(rng, m, refundable)?
            } else {
                pick(rng, m, |_| true)?
            };
            let left = m.remaining(order).max(1);
            let amount = match kind {
                "partial refund" => Some(rng.random_range(1..=left)),
                "full refund" => None,
                _ => Some(left + rng.random_range(1..=300)),
            };
            Step::Refund { order, amount }
        }
        "customer cancel" | "staff cancel" => {
            let staff = kind == "staff cancel";
            Step::Cancel {
                order: cancel_target(rng, m, staff)?,
                staff,
            }
        }
        "staff move" => {
            let order = pick(rng, m, |o| {
                matches!(
                    o.status,
                    OrderStatus::Paid | OrderStatus::Processing | OrderStatus::Shipped
                )
            })
            .or_else(|| pick(rng, m, |_| true))?;
            let to = *[
                OrderStatus::Processing,
                OrderStatus::Shipped,
                OrderStatus::Delivered,
            ]
            .choose(rng)?;
            // An open return is settled by its own steps; staff moves leave it alone.
            if m.orders[order].status == OrderStatus::ReturnRequested {
                return None;
            }
            Step::Advance { order, to }
        }
        "return request" => {
            let physical = |o: &super::model::Order| {
                o.lines
                    .iter()
                    .any(|l| m.products[l.product].kind == Kind::Physical)
            };
            let order = pick(rng, m, |o| {
                o.status == OrderStatus::Delivered && physical(o)
            })?;
            let line = *m.orders[order]
                .lines
                .iter()
                .filter(|l| m.products[l.product].kind == Kind::Physical)
                .collect::<Vec<_>>()
                .choose(rng)?;
            Step::ReturnRequest {
                order,
                line: Line {
                    product: line.product,
                    qty: rng.random_range(1..=line.qty),
                },
            }
        }
        "return step" => {
            let order = pick(rng, m, |o| {
                o.ret.as_ref().is_some_and(|r| {
                    matches!(r.status, ReturnStatus::Requested | ReturnStatus::Approved)
                })
            })?;
            let open = m.orders[order].ret.as_ref().map(|r| r.status);
            let step = match (open, rng.random_range(0..10)) {
                (_, 0) => ReturnStep::Receive,
                (Some(ReturnStatus::Requested), 1..=2) => ReturnStep::Reject,
                (Some(ReturnStatus::Requested), _) => ReturnStep::Approve,
                _ => ReturnStep::Receive,
            };
            Step::Return { order, step }
        }
        "expiry" => Step::Expire {
            order: pick(rng, m, |o| o.status == OrderStatus::PendingPayment)?,
        },
        "restart" => Step::Restart,
        _ => {
            // Mostly the emptiest shelf, so sales go on through a long run.
            let emptiest = (0..m.products.len()).min_by_key(|p| m.products[*p].stock)?;
            let product = if rng.random_bool(0.6) {
                emptiest
            } else {
                rng.random_range(0..m.products.len())
            };
            Step::AddStock {
                product,
                n: rng.random_range(2..=6),
            }
        }
    })
}

/// One or two distinct products (keys only for the bot, which takes no address).
pub fn lines(rng: &mut StdRng, m: &Model, keys_only: bool) -> Vec<Line> {
    let candidates: Vec<usize> = (0..m.products.len())
        .filter(|p| !keys_only || m.products[*p].kind == Kind::Key)
        .collect();
    let n = if rng.random_bool(0.35) { 2 } else { 1 };
    candidates
        .choose_multiple(rng, n)
        .map(|p| Line {
            product: *p,
            qty: rng.random_range(1..=2),
        })
        .collect()
}

pub fn pick(
    rng: &mut StdRng,
    m: &Model,
    keep: impl Fn(&super::model::Order) -> bool,
) -> Option<usize> {
    let found: Vec<usize> = (0..m.orders.len())
        .filter(|i| keep(&m.orders[*i]))
        .collect();
    found.choose(rng).copied()
}

/// Mostly orders that may be cancelled, preferring the ones where the refund is not
/// simply the total (refunded in part, or holding delivered keys); now and then any order.
fn cancel_target(rng: &mut StdRng, m: &Model, staff: bool) -> Option<usize> {
    let cancellable = |o: &super::model::Order| {
        if staff {
            o.status.can_move_to(OrderStatus::Cancelled)
        } else {
            matches!(o.status, OrderStatus::PendingPayment | OrderStatus::Paid)
        }
    };
    let tricky = |o: &super::model::Order| {
        cancellable(o) && (o.refunded > 0 || m.kept(o) > 0 || o.promo.is_some())
    };
    match rng.random_range(0..10) {
        0 => pick(rng, m, |_| true),
        1..=5 => pick(rng, m, tricky).or_else(|| pick(rng, m, cancellable)),
        _ => pick(rng, m, cancellable),
    }
}

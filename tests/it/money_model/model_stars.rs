//! The model's rules for orders paid in Telegram Stars, written from the README and not
//! from `souk_actors::domain::stars`, so a slip in Souk's rounding shows as a finding.
//! A Stars order is an unpaid hold like an external one; it takes only `XTR` through the
//! bot, keeps `paid_minor` at 0, and goes back through Telegram, never to the wallet.

use super::model::{Expect, Kind, Line, Model, Payment};
use souk_actors::domain::status::OrderStatus;

/// What the bot says to a `successful_payment` of an order's invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StarsOutcome {
    Applied,
    CreditedWallet,
    Rejected,
    /// The same charge id again: nothing moves.
    Duplicate,
}

impl StarsOutcome {
    /// As `payment_events.outcome` records it (a duplicate keeps the first one's).
    pub fn recorded(self) -> &'static str {
        match self {
            StarsOutcome::Applied => "applied",
            StarsOutcome::CreditedWallet => "credited_wallet",
            StarsOutcome::Rejected | StarsOutcome::Duplicate => "rejected",
        }
    }

    /// A piece of the bot's answer to a payment of `stars` for order `id` that only this
    /// outcome has.
    pub fn says(self, id: i64, stars: i64) -> String {
        match self {
            StarsOutcome::Applied => format!("Order #{id} is paid: {stars} ⭐"),
            StarsOutcome::CreditedWallet => format!("Order #{id} could no longer be paid"),
            StarsOutcome::Rejected => format!("could not match to order #{id}"),
            StarsOutcome::Duplicate => format!("already applied to order #{id}"),
        }
    }
}

impl Model {
    /// Why `lines` cannot be paid in Stars, the first line in product-id order that says
    /// so: a physical line, or one without a Stars price.
    fn not_in_stars(&self, lines: &[Line]) -> Option<(&'static str, i64)> {
        let mut by_id: Vec<&Line> = lines.iter().collect();
        by_id.sort_by_key(|l| self.products[l.product].id);
        by_id.iter().find_map(|l| {
            let p = &self.products[l.product];
            match (p.kind, p.stars) {
                (Kind::Physical, _) => Some(("physical", p.id)),
                (Kind::Key, None) => Some(("no_stars_price", p.id)),
                (Kind::Key, Some(_)) => None,
            }
        })
    }

    /// The Stars price of the goods less the promo's share of the subtotal, that share
    /// rounded up (for the buyer); `Err` when nothing whole is left to pay.
    pub fn total_stars(&self, lines: &[Line], promo: Option<usize>) -> Result<i64, ()> {
        let goods: i64 = lines
            .iter()
            .map(|l| l.qty * self.products[l.product].stars.unwrap_or(0))
            .sum();
        let subtotal = self.subtotal(lines);
        let discount = promo.map_or(0, |p| self.promos[p].value.min(subtotal));
        let off = if discount > 0 && subtotal > 0 {
            // Rounded up: whole Stars, and the buyer never pays a fraction more.
            (goods * discount + subtotal - 1) / subtotal
        } else {
            0
        };
        let total = goods - off.min(goods);
        if total >= 1 {
            Ok(total)
        } else {
            Err(())
        }
    }

    /// A checkout in Stars, refused in the order Souk decides: stock, then whether the cart
    /// can be paid in Stars at all, then the promo code, then a total of zero Stars.
    pub fn stars_checkout(&self, user: usize, lines: &[Line], promo: Option<usize>) -> Expect {
        match self.checkout(user, lines, Payment::Stars, None) {
            Expect::Ok => {}
            refused => return refused,
        }
        if let Some((reason, product)) = self.not_in_stars(lines) {
            return Expect::NoStars(reason, Some(product));
        }
        match self.checkout(user, lines, Payment::Stars, promo) {
            Expect::Ok => {}
            refused => return refused,
        }
        match self.total_stars(lines, promo) {
            Ok(_) => Expect::Ok,
            Err(()) => Expect::NoStars("free", None),
        }
    }

    /// A `successful_payment` of `stars` XTR with charge id `charge` for order `o`.
    pub fn stars_payment(&self, o: usize, stars: i64, charge: &str) -> StarsOutcome {
        let o = &self.orders[o];
        if self
            .orders
            .iter()
            .any(|o| o.charges.iter().any(|c| c.id == charge))
        {
            StarsOutcome::Duplicate
        } else if o.status != OrderStatus::PendingPayment {
            StarsOutcome::CreditedWallet
        } else if o.total_stars == Some(stars) {
            StarsOutcome::Applied
        } else {
            StarsOutcome::Rejected
        }
    }

    pub fn commit_stars_payment(&mut self, i: usize, outcome: StarsOutcome) {
        match outcome {
            StarsOutcome::Applied => {
                let o = &mut self.orders[i];
                o.status = OrderStatus::Paid;
                o.keys_delivered = true;
                o.stars_paid = true;
            }
            StarsOutcome::CreditedWallet => {
                // Stars cannot sit in the wallet: what they bought, the order's total, can.
                let (user, total) = (self.orders[i].user, self.orders[i].total);
                self.users[user].balance += total;
            }
            StarsOutcome::Rejected | StarsOutcome::Duplicate => {}
        }
    }

    /// Whether the pre-checkout query of order `o`'s invoice, from `user`, is approved.
    pub fn pre_checkout_ok(&self, o: usize, user: usize, stars: i64) -> bool {
        let o = &self.orders[o];
        o.user == user
            && o.payment == Payment::Stars
            && o.status == OrderStatus::PendingPayment
            && o.total_stars == Some(stars)
    }

    /// A refund in Stars; `refused`: Telegram refuses `refundStarPayment` this time.
    pub fn stars_refund(&self, o: usize, refused: bool) -> Expect {
        let o = &self.orders[o];
        if o.payment != Payment::Stars {
            Expect::No(409, "not_paid_in_stars")
        } else if !o.status.can_move_to(OrderStatus::Refunded) {
            Expect::No(409, "invalid_transition")
        } else if !o.stars_paid {
            Expect::No(409, "not_paid_in_stars")
        } else if refused {
            Expect::No(502, "refund_refused")
        } else {
            Expect::Ok
        }
    }

    /// Telegram gave the Stars back: the order is refunded, its keys stay with the buyer,
    /// and no wallet moves.
    pub fn commit_stars_refund(&mut self, i: usize) {
        let o = &mut self.orders[i];
        o.status = OrderStatus::Refunded;
        o.star_refund = Some("done");
    }
}

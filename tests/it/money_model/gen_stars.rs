//! Random steps of orders paid in Telegram Stars, drawn like the others (`gen.rs`): mostly
//! on orders where the step matters (a pending one paid, a paid one refunded), now and
//! then on any, so the refusals come up too.

use super::gen::{lines, pick, Step};
use super::model::{Kind, Line, Model, Order, Payment};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use souk_actors::domain::status::OrderStatus;

pub fn build(kind: &str, rng: &mut StdRng, m: &Model, customer: usize) -> Option<Step> {
    Some(match kind {
        "stars checkout" => Step::StarsCheckout {
            user: customer,
            // Mostly keys (most of them priced in Stars); now and then anything.
            lines: stars_lines(rng, m)?,
            promo: rng
                .random_bool(0.4)
                .then(|| rng.random_range(0..m.promos.len())),
            replay: rng.random_bool(0.1),
        },
        "stars payment on time" | "stars payment late" | "stars payment wrong" => {
            let pending = |o: &Order| o.status == OrderStatus::PendingPayment;
            let (order, off) = match kind {
                "stars payment on time" => (pick(rng, m, |o| stars(o) && pending(o))?, 0),
                "stars payment late" => (pick(rng, m, |o| stars(o) && !pending(o))?, 0),
                _ => {
                    let order =
                        pick(rng, m, |o| stars(o) && pending(o)).or_else(|| pick(rng, m, stars))?;
                    (order, *[-2, -1, 1, 5].choose(rng)?)
                }
            };
            Step::StarsPay { order, off }
        }
        "stars payment redelivered" => {
            let order = pick(rng, m, |o| !o.charges.is_empty())?;
            let charge = rng.random_range(0..m.orders[order].charges.len());
            Step::StarsRedeliver { order, charge }
        }
        "pre-checkout" => {
            let order = if rng.random_bool(0.7) {
                pick(rng, m, |o| {
                    stars(o) && o.status == OrderStatus::PendingPayment
                })
                .or_else(|| pick(rng, m, stars))?
            } else {
                pick(rng, m, stars)?
            };
            Step::PreCheckout {
                order,
                stranger: rng.random_bool(0.2),
                off: if rng.random_bool(0.25) { 1 } else { 0 },
            }
        }
        "stars refund" => {
            let refundable =
                |o: &Order| o.stars_paid && o.status.can_move_to(OrderStatus::Refunded);
            let order = match rng.random_range(0..20) {
                0 => pick(rng, m, |_| true)?,
                1..=3 => pick(rng, m, stars)?,
                _ => pick(rng, m, refundable).or_else(|| pick(rng, m, stars))?,
            };
            let refused = rng.random_bool(0.3);
            Step::StarsRefund {
                order,
                refused,
                then_allowed: refused && rng.random_bool(0.6),
            }
        }
        _ => return None,
    })
}

/// Mostly goods priced in Stars; now and then any, so the refusals come up too.
fn stars_lines(rng: &mut StdRng, m: &Model) -> Option<Vec<Line>> {
    if rng.random_bool(0.2) {
        return Some(lines(rng, m, false));
    }
    let priced: Vec<usize> = (0..m.products.len())
        .filter(|p| m.products[*p].kind == Kind::Key && m.products[*p].stars.is_some())
        .collect();
    let n = if rng.random_bool(0.3) { 2 } else { 1 };
    let chosen = priced.choose_multiple(rng, n).map(|p| Line {
        product: *p,
        qty: rng.random_range(1..=2),
    });
    Some(chosen.collect())
}

fn stars(o: &Order) -> bool {
    o.payment == Payment::Stars
}

//! A batch's writes as sets: all its checkouts in one statement, all its cart changes in
//! one, its wallet credits in one, its stock adjustments in one, then all their
//! idempotency records in one and their audit rows in one, whatever the batch's size.
//! Writes that have no set statement are applied one by one in the same transaction.
//!
//! A set statement updates each row once with the batch's sum, so it is only used when the
//! order of the batch's writes cannot matter: no row is moved both up and down by two
//! writes, and no row one write owns outright (a cart, an entity another kind of write
//! changes) is touched by another. The actors make that the normal case (each entity's
//! owner waits for its write before sending the next); anything else is applied one by
//! one, as is a batch whose sets the database refuses without naming the write at fault.

use super::cart::{self, CartChange};
use super::checkout;
use super::ledger::{self, Entry};
use super::stock::{self, Move, Movement};
use super::{ApplyError, Db};
use crate::domain::changes::{CheckoutWrite, IdempotencyDraft, Outcome, Write, WriteOp};
use crate::domain::error::DomainError;
use crate::domain::events::{self, EventDraft, EventRules};
use crate::domain::idempotency::StoredAnswer;
use crate::domain::model::{StockReport, WalletTxKind};
use crate::domain::shards::EntityKey;
use crate::store::events::Told;
use std::collections::{HashMap, HashSet};

/// How a write touches an entity's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touch {
    /// Only takes away (stock sold, money debited): any order ends the same.
    Down,
    /// Only adds (money credited, a promo's uses).
    Up,
    /// Sets or reads-and-changes: no other write of the batch may touch it.
    Whole,
}

/// Which of a batch's writes go into which set statement (each with its index in the
/// batch), and which are applied alone.
pub(crate) struct Plan<'a> {
    checkouts: Vec<(usize, &'a CheckoutWrite)>,
    cart: Vec<(usize, CartChange)>,
    credits: Vec<(usize, Entry<'a>)>,
    stock: Vec<(usize, Move, i64)>,
    stored: Vec<(usize, &'a StoredAnswer)>,
    alone: Vec<usize>,
}

impl<'a> Plan<'a> {
    /// The plan for `writes`, or `None` when they are better applied one by one: fewer
    /// than two of them have a set statement, or their order could matter.
    pub(crate) fn of(writes: &[&'a Write]) -> Option<Plan<'a>> {
        let mut plan = Plan {
            checkouts: Vec::new(),
            cart: Vec::new(),
            credits: Vec::new(),
            stock: Vec::new(),
            stored: Vec::new(),
            alone: Vec::new(),
        };
        let mut touched: HashMap<EntityKey, (Touch, usize)> = HashMap::new();
        let mut touch = |key: EntityKey, how: Touch, index: usize| -> bool {
            match touched.get(&key) {
                None => {
                    touched.insert(key, (how, index));
                    true
                }
                Some((before, by)) => *by == index || (*before == how && how != Touch::Whole),
            }
        };
        let mut keys = HashSet::new();
        for (index, write) in writes.iter().enumerate() {
            if let Some(idem) = &write.idempotency {
                if !keys.insert((idem.user, idem.key.as_str())) {
                    return None;
                }
            }
            let fits = match &write.op {
                WriteOp::Checkout(c) => {
                    plan.checkouts.push((index, c));
                    touch(EntityKey::User(c.user), Touch::Down, index)
                        && c.lines
                            .iter()
                            .all(|l| touch(EntityKey::Product(l.product), Touch::Down, index))
                        && c.promo
                            .iter()
                            .all(|p| touch(EntityKey::Promo(p.clone()), Touch::Up, index))
                }
                WriteOp::CartSet {
                    user,
                    product,
                    quantity,
                } => {
                    plan.cart.push((
                        index,
                        CartChange::Line {
                            user: *user,
                            product: *product,
                            quantity: *quantity,
                        },
                    ));
                    touch(EntityKey::User(*user), Touch::Whole, index)
                }
                WriteOp::CartClear { user } => {
                    plan.cart.push((index, CartChange::Clear { user: *user }));
                    touch(EntityKey::User(*user), Touch::Whole, index)
                }
                WriteOp::WalletCredit {
                    user,
                    amount,
                    reason,
                } => {
                    let entry = Entry {
                        user: *user,
                        kind: WalletTxKind::Credit,
                        amount: *amount,
                        order: None,
                        reason,
                    };
                    plan.credits.push((index, entry));
                    touch(EntityKey::User(*user), Touch::Up, index)
                }
                WriteOp::StockDelta {
                    product,
                    delta,
                    available_after,
                } => {
                    let how = if *delta < 0 { Touch::Down } else { Touch::Up };
                    let movement = Move {
                        product: *product,
                        delta: *delta,
                        why: Movement::Adjustment,
                    };
                    plan.stock.push((index, movement, *available_after));
                    touch(EntityKey::Product(*product), how, index)
                }
                WriteOp::StoredAnswer(answer) => {
                    plan.stored.push((index, answer));
                    true
                }
                _ => {
                    plan.alone.push(index);
                    write
                        .owners()
                        .into_iter()
                        .all(|key| touch(key, Touch::Whole, index))
                }
            };
            if !fits {
                return None;
            }
        }
        (writes.len() - plan.alone.len() >= 2).then_some(plan)
    }
}

/// What applying a batch as sets came to (before COMMIT).
pub(crate) enum Applied {
    /// Every write's outcome, in batch order, and what their events came to.
    All(Vec<Outcome>, Told),
    /// This write alone is at fault; the others may go again without it.
    Refused(usize, DomainError),
    /// The database refused a set without naming the write: apply the batch one by one.
    Unsettled(String),
    /// The connection failed.
    Failed(tokio_postgres::Error),
}

/// Applies `writes` as `plan` says, inside the caller's transaction: the set statements
/// and the writes applied alone in one flight, then the records and audit rows of the
/// sets' writes, whose stored answers and events need the orders' ids.
pub(crate) async fn apply(
    db: &Db,
    writes: &[&Write],
    plan: &Plan<'_>,
    rules: &EventRules,
) -> Applied {
    let checkouts: Vec<&CheckoutWrite> = plan.checkouts.iter().map(|(_, c)| *c).collect();
    let changes: Vec<CartChange> = plan.cart.iter().map(|(_, c)| *c).collect();
    let entries: Vec<Entry> = plan.credits.iter().map(|(_, e)| *e).collect();
    let moves: Vec<Move> = plan.stock.iter().map(|(_, m, _)| *m).collect();
    // Each future sends its statement when first polled; joined, they go in this order
    // in one flight and Postgres runs them one after another.
    let sets = futures_util::future::join4(
        async {
            if checkouts.is_empty() {
                Ok(Vec::new())
            } else {
                checkout::apply_all(db, &checkouts).await
            }
        },
        async {
            if changes.is_empty() {
                Ok(())
            } else {
                cart::apply_all(db, &changes).await
            }
        },
        async {
            if entries.is_empty() {
                Ok(Vec::new())
            } else {
                ledger::credit_all(db, &entries).await
            }
        },
        async {
            if moves.is_empty() {
                Ok(Vec::new())
            } else {
                stock::move_all(db, &moves).await
            }
        },
    );
    let alone = futures_util::future::join_all(
        plan.alone
            .iter()
            .map(|index| super::apply(db, writes[*index], rules)),
    );
    let ((orders, cart, credits, moved), alone) = futures_util::future::join(sets, alone).await;

    // A set refused as a whole names no write; any later statement only saw the aborted
    // transaction.
    let (orders, (), credits, moved) = match (orders, cart, credits, moved) {
        (Ok(orders), Ok(()), Ok(credits), Ok(moved)) => (orders, (), credits, moved),
        (orders, cart, credits, moved) => {
            let errors = [orders.err(), cart.err(), credits.err(), moved.err()];
            return refused_as_a_whole(errors.into_iter().flatten());
        }
    };
    let mut outcomes: Vec<Option<Outcome>> = vec![None; writes.len()];
    let mut all_told = Told::default();
    let mut refused: Option<(usize, DomainError)> = None;
    let mut refuse = |index: usize, error: DomainError| {
        if refused.as_ref().is_none_or(|(first, _)| index < *first) {
            refused = Some((index, error));
        }
    };
    for ((index, _), order) in plan.checkouts.iter().zip(orders) {
        outcomes[*index] = Some(order);
    }
    for (index, _) in &plan.cart {
        outcomes[*index] = Some(Outcome::Done);
    }
    for ((index, _), credit) in plan.credits.iter().zip(credits) {
        match credit {
            Ok(tx) => outcomes[*index] = Some(Outcome::Credit(tx)),
            Err(e) => refuse(*index, e),
        }
    }
    for ((index, m, available_after), movement) in plan.stock.iter().zip(moved) {
        match movement {
            Ok(_) => {
                outcomes[*index] = Some(Outcome::Stock {
                    report: StockReport {
                        accepted: m.delta,
                        rejected: Vec::new(),
                        stock_available: *available_after,
                    },
                    new_items: Vec::new(),
                })
            }
            Err(e) => refuse(*index, e),
        }
    }
    for (index, answer) in &plan.stored {
        outcomes[*index] = Some(Outcome::Stored((*answer).clone()));
    }
    for (index, result) in plan.alone.iter().zip(alone) {
        match result {
            Ok((outcome, told)) => {
                outcomes[*index] = Some(outcome);
                all_told.add(told);
            }
            Err(ApplyError::Job(e)) => refuse(*index, e),
            // Collateral damage of an earlier write's error, named above.
            Err(ApplyError::Aborted) => {}
            Err(ApplyError::Batch(e)) => return Applied::Failed(e),
        }
    }
    if let Some((index, error)) = refused {
        return Applied::Refused(index, error);
    }

    // The sets' writes' records, audit rows and events (writes applied alone wrote their own).
    // The records' batch indices and the records themselves, apart: the statement takes
    // the latter as they are, so no answer is copied.
    let mut recorded: Vec<usize> = Vec::new();
    let mut drafts: Vec<(&IdempotencyDraft, StoredAnswer)> = Vec::new();
    let mut audits = Vec::new();
    let mut told: Vec<EventDraft> = Vec::new();
    let alone: HashSet<usize> = plan.alone.iter().copied().collect();
    for (index, outcome) in outcomes.iter().enumerate() {
        if alone.contains(&index) {
            continue;
        }
        let (Some(outcome), write) = (outcome, writes[index]) else {
            return Applied::Unsettled("a write of the batch has no outcome".into());
        };
        if let Some(idem) = &write.idempotency {
            recorded.push(index);
            drafts.push((idem, (idem.answer)(outcome)));
        }
        audits.extend(write.audit.as_ref());
        told.extend(events::of(&write.op, outcome, rules));
    }
    let told: Vec<&EventDraft> = told.iter().collect();
    let (stored, audited, recorded_events) = futures_util::future::join3(
        async {
            if drafts.is_empty() {
                Ok(Vec::new())
            } else {
                crate::store::idempotency::record_all(db, &drafts).await
            }
        },
        async {
            if audits.is_empty() {
                Ok(())
            } else {
                crate::store::audit::record_all(db, &audits).await
            }
        },
        crate::store::events::record_all(db, &told, rules.hand_over),
    )
    .await;
    let stored = match stored {
        Ok(stored) => stored,
        Err(ApplyError::Batch(e)) => return Applied::Failed(e),
        Err(e) => return Applied::Unsettled(describe(&e)),
    };
    let sets_told = match audited.and(recorded_events) {
        Ok(told) => told,
        Err(e) => {
            return match ApplyError::from(e) {
                ApplyError::Batch(e) => Applied::Failed(e),
                other => Applied::Unsettled(describe(&other)),
            };
        }
    };
    all_told.add(sets_told);
    // A live key holding another answer: that write is a client's retry, refused alone.
    if let Some((index, _)) = recorded.iter().zip(&stored).find(|(_, stored)| !**stored) {
        return Applied::Refused(*index, DomainError::KeyTaken);
    }
    match outcomes.into_iter().collect::<Option<Vec<Outcome>>>() {
        Some(all) => Applied::All(all, all_told),
        None => Applied::Unsettled("a write of the batch has no outcome".into()),
    }
}

/// A set statement failed: the connection's failure, or the batch's to be found one by one.
fn refused_as_a_whole(errors: impl Iterator<Item = ApplyError>) -> Applied {
    let mut reason = String::new();
    for error in errors {
        if let ApplyError::Batch(e) = error {
            return Applied::Failed(e);
        }
        if reason.is_empty() {
            reason = describe(&error);
        }
    }
    Applied::Unsettled(reason)
}

fn describe(error: &ApplyError) -> String {
    match error {
        ApplyError::Job(e) => e.to_string(),
        ApplyError::Aborted => "the transaction aborted".into(),
        ApplyError::Batch(e) => e.to_string(),
    }
}

//! A product's reservations driven by random operation sequences, checked after every step
//! against a model that only counts: units (or keys) are conserved, none is handed out
//! twice, nothing goes negative, and a late or unknown release changes nothing.

use super::*;
use crate::domain::unpaid::ProductHold;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const INITIAL: i64 = 12;

#[derive(Debug, Clone)]
enum Op {
    Reserve {
        quantity: i64,
        share: Option<(i64, i64, i64)>,
        ttl: u64,
    },
    Commit(usize),
    Release(usize),
    ReleaseUnknown,
    Tick(u64),
    Restock {
        delta: i64,
        movement: i64,
    },
    BeginAdjust(i64),
    EndAdjust(usize, bool),
    AddItems(usize),
    SetActive(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let share = proptest::option::of((0i64..4, 0i64..4, 1i64..=100));
    prop_oneof![
        4 => (1i64..=6, share, 1u64..4)
            .prop_map(|(quantity, share, ttl)| Op::Reserve { quantity, share, ttl }),
        2 => (0usize..16).prop_map(Op::Commit),
        2 => (0usize..16).prop_map(Op::Release),
        1 => Just(Op::ReleaseUnknown),
        2 => (0u64..3).prop_map(Op::Tick),
        1 => (1i64..5, 0i64..6).prop_map(|(delta, movement)| Op::Restock { delta, movement }),
        1 => (-8i64..8).prop_filter("non-zero", |d| *d != 0).prop_map(Op::BeginAdjust),
        1 => (0usize..4, any::<bool>()).prop_map(|(i, c)| Op::EndAdjust(i, c)),
        1 => (1usize..4).prop_map(Op::AddItems),
        1 => any::<bool>().prop_map(Op::SetActive),
    ]
}

/// What the state should hold, kept the simplest way.
struct Model {
    kind: ProductKind,
    active: bool,
    on_hand: i64,
    /// Keys for sale, whatever their order.
    free: BTreeSet<i64>,
    live: BTreeMap<u64, (i64, Vec<i64>, u64)>,
    /// Every reservation id ever used, so commits and releases also hit settled ones.
    rids: Vec<u64>,
    pending: Vec<i64>,
    sold_units: i64,
    sold_items: BTreeSet<i64>,
    added: i64,
    now: u64,
    next_item: i64,
}

const MOVEMENTS_LOADED: i64 = 2;

fn start(kind: ProductKind) -> (ProductState, Model) {
    let items: VecDeque<i64> = match kind {
        ProductKind::Digital => (1..=INITIAL).collect(),
        ProductKind::Physical => VecDeque::new(),
    };
    let on_hand = if kind == ProductKind::Physical {
        INITIAL
    } else {
        0
    };
    let state = ProductState::loaded(CommittedProduct {
        id: ProductId::from_db(7),
        kind,
        name: "thing".into(),
        price: Money::from_minor(100),
        price_stars: None,
        active: true,
        on_hand,
        items: items.clone(),
        movements_loaded: MOVEMENTS_LOADED,
    });
    let model = Model {
        kind,
        active: true,
        on_hand,
        free: items.into_iter().collect(),
        live: BTreeMap::new(),
        rids: Vec::new(),
        pending: Vec::new(),
        sold_units: 0,
        sold_items: BTreeSet::new(),
        added: 0,
        now: 0,
        next_item: INITIAL + 1,
    };
    (state, model)
}

impl Model {
    fn reserved(&self) -> i64 {
        self.live.values().map(|(q, _, _)| q).sum()
    }

    fn pending_decrease(&self) -> i64 {
        self.pending.iter().map(|d| (-d).max(0)).sum()
    }

    fn available(&self) -> i64 {
        match self.kind {
            ProductKind::Physical => self.on_hand - self.reserved() - self.pending_decrease(),
            ProductKind::Digital => self.free.len() as i64,
        }
    }

    fn pick(&self, i: usize) -> Option<u64> {
        (!self.rids.is_empty()).then(|| self.rids[i % self.rids.len()])
    }
}

fn at(t0: Instant, tick: u64) -> Instant {
    t0 + Duration::from_secs(tick)
}

fn reserve(
    s: &mut ProductState,
    m: &mut Model,
    t0: Instant,
    q: i64,
    share: Option<(i64, i64, i64)>,
    ttl: u64,
) {
    let rid = m.rids.len() as u64 + 1;
    let bound = share.map(|(counted, holding, share_pct)| ShareBound {
        hold: ProductHold { counted, holding },
        share_pct,
    });
    let quantity = Quantity::new(q).expect("1..=6 is a quantity");
    let result = s.reserve(ReservationId(rid), quantity, bound, at(t0, m.now + ttl));
    let available = m.available();
    let share_refused = share.is_some_and(|(counted, holding, pct)| {
        counted + q > ((available + holding) * pct / 100).max(1)
    });
    if !m.active {
        assert_eq!(
            result,
            Err(DomainError::ProductInactive(ProductId::from_db(7)))
        );
    } else if available < q {
        assert!(
            matches!(result, Err(DomainError::OutOfStock { requested, available: a, .. }) if requested == q && a == available)
        );
    } else if share_refused {
        assert!(matches!(result, Err(DomainError::UnpaidLimit { .. })));
    } else {
        let reserved = result.expect("the model admits this reservation");
        let items = reserved.items;
        match m.kind {
            ProductKind::Physical => assert!(items.is_empty()),
            ProductKind::Digital => {
                assert_eq!(items.len() as i64, q);
                for item in &items {
                    assert!(m.free.remove(item), "key {item} handed out twice");
                }
            }
        }
        m.rids.push(rid);
        m.live.insert(rid, (q, items, m.now + ttl));
    }
}

fn step(s: &mut ProductState, m: &mut Model, t0: Instant, op: Op) {
    match op {
        Op::Reserve {
            quantity,
            share,
            ttl,
        } => reserve(s, m, t0, quantity, share, ttl),
        Op::Commit(i) => {
            let Some(rid) = m.pick(i) else { return };
            let sold = s.commit(ReservationId(rid));
            match m.live.remove(&rid) {
                Some((q, items, _)) => {
                    if m.kind == ProductKind::Physical {
                        m.on_hand -= q;
                    }
                    m.sold_units += q;
                    m.sold_items.extend(items);
                    let expected = Sold {
                        available: s.committed_available(),
                        touches_row: m.kind == ProductKind::Physical,
                    };
                    assert_eq!(sold, Some(expected), "a live reservation commits cleanly");
                }
                None => assert_eq!(sold, None, "a settled or expired reservation is stale"),
            }
        }
        Op::Release(i) => {
            let Some(rid) = m.pick(i) else { return };
            s.release(ReservationId(rid));
            if let Some((_, items, _)) = m.live.remove(&rid) {
                m.free.extend(items);
            }
        }
        Op::ReleaseUnknown => {
            let before = (s.available(), s.committed_available(), s.settled());
            s.release(ReservationId(u64::MAX));
            assert_eq!(
                before,
                (s.available(), s.committed_available(), s.settled())
            );
        }
        Op::Tick(by) => {
            m.now += by;
            let mut expired: Vec<u64> = s.expire(at(t0, m.now)).iter().map(|r| r.0).collect();
            expired.sort_unstable();
            let due: Vec<u64> = m
                .live
                .iter()
                .filter(|(_, r)| r.2 <= m.now)
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(expired, due);
            for rid in due {
                if let Some((_, items, _)) = m.live.remove(&rid) {
                    m.free.extend(items);
                }
            }
        }
        Op::Restock { delta, movement } => {
            s.restock(delta, movement);
            if movement > MOVEMENTS_LOADED && m.kind == ProductKind::Physical {
                m.on_hand += delta;
                m.added += delta;
            }
        }
        Op::BeginAdjust(delta) => {
            let result = s.begin_adjust(delta);
            let available = m.available();
            match m.kind {
                ProductKind::Digital => {
                    assert!(matches!(result, Err(DomainError::WrongStockKind { .. })))
                }
                ProductKind::Physical if available + delta < 0 => {
                    assert_eq!(
                        result,
                        Err(DomainError::StockWouldGoNegative { available, delta })
                    );
                }
                ProductKind::Physical => {
                    assert_eq!(result, Ok(available + delta));
                    m.pending.push(delta);
                }
            }
        }
        Op::EndAdjust(i, committed) => {
            if m.pending.is_empty() {
                return;
            }
            let delta = m.pending.remove(i % m.pending.len());
            s.end_adjust(delta, committed);
            if committed {
                m.on_hand += delta;
                m.added += delta;
            }
        }
        Op::AddItems(n) => match s.codes_available() {
            Ok(before) => {
                assert_eq!(before, m.available());
                let new: Vec<i64> = (m.next_item..m.next_item + n as i64).collect();
                m.next_item += n as i64;
                m.added += n as i64;
                m.free.extend(new.iter().copied());
                s.add_items(new);
            }
            Err(e) => {
                assert_eq!(m.kind, ProductKind::Physical);
                assert!(matches!(e, DomainError::WrongStockKind { .. }));
            }
        },
        Op::SetActive(active) => {
            let patch = ProductPatch {
                active: Some(active),
                ..Default::default()
            };
            s.apply_patch(&patch);
            m.active = active;
        }
    }
}

fn check(s: &ProductState, m: &Model) {
    assert_eq!(s.available(), m.available());
    assert!(s.available() >= 0, "stock went negative");
    assert_eq!(s.reserved_units, m.reserved());
    assert_eq!(s.pending_decrease, m.pending_decrease());
    assert_eq!(s.settled(), m.live.is_empty() && m.pending_decrease() == 0);
    assert_eq!(s.snapshot().1.available, s.available());
    match m.kind {
        ProductKind::Physical => {
            assert_eq!(s.committed_available(), m.on_hand);
            assert!(s.on_hand >= 0);
            // Every unit is for sale, reserved, held for a decrease or sold.
            let total = s.available() + m.reserved() + m.pending_decrease() + m.sold_units;
            assert_eq!(total, INITIAL + m.added);
        }
        ProductKind::Digital => {
            let free: BTreeSet<i64> = s.items.iter().copied().collect();
            assert_eq!(free.len(), s.items.len(), "a key is for sale twice");
            assert_eq!(free, m.free);
            let reserved: Vec<i64> = m.live.values().flat_map(|r| r.1.iter().copied()).collect();
            assert_eq!(
                s.committed_available(),
                (m.free.len() + reserved.len()) as i64
            );
            // Each key is in exactly one place: for sale, reserved or sold.
            let mut all: Vec<i64> = free
                .iter()
                .chain(&reserved)
                .chain(&m.sold_items)
                .copied()
                .collect();
            let count = all.len();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), count, "a key is in two places");
            assert_eq!(count as i64, INITIAL + m.added);
        }
    }
}

fn kind() -> impl Strategy<Value = ProductKind> {
    prop_oneof![Just(ProductKind::Physical), Just(ProductKind::Digital)]
}

proptest! {
    #[test]
    fn reservations_agree_with_the_model(kind in kind(), ops in proptest::collection::vec(op(), 0..60)) {
        let t0 = Instant::now();
        let (mut state, mut model) = start(kind);
        check(&state, &model);
        for op in ops {
            step(&mut state, &mut model, t0, op);
            check(&state, &model);
        }
    }
}

#[test]
fn released_keys_go_out_first_again_in_their_order() {
    let (mut s, _) = start(ProductKind::Digital);
    let later = Instant::now() + Duration::from_secs(60);
    let two = Quantity::new(2).expect("a quantity");
    let first = s
        .reserve(ReservationId(1), two, None, later)
        .map(|r| r.items);
    assert_eq!(first, Ok(vec![1, 2]));
    s.release(ReservationId(1));
    let again = s
        .reserve(ReservationId(2), two, None, later)
        .map(|r| r.items);
    assert_eq!(again, Ok(vec![1, 2]));
}

#[test]
fn a_restock_the_load_already_counted_is_not_counted_again() {
    let (mut s, _) = start(ProductKind::Physical);
    s.restock(5, MOVEMENTS_LOADED);
    assert_eq!(s.available(), INITIAL);
    s.restock(5, MOVEMENTS_LOADED + 1);
    assert_eq!(s.available(), INITIAL + 5);
}

//! A user's cart and wallet driven by random edits, credits and checkouts, checked after
//! every step against a model: the balance never goes negative or wraps, a refused change
//! changes nothing, and the cart holds in-bounds quantities ordered by product id.

use super::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    SetLine(i64, Option<i64>),
    Clear,
    SetPromo(Option<&'static str>),
    Credit(i64),
    /// A checkout of the whole cart or of its first lines, with a wallet debit.
    Checkout {
        debit: i64,
        lines: usize,
        given: Option<&'static str>,
    },
}

fn amount() -> impl Strategy<Value = i64> {
    // Mostly everyday sums, sometimes near the top so overflow is tried too.
    prop_oneof![4 => 0i64..5_000, 1 => (i64::MAX - 10_000)..=i64::MAX]
}

fn op() -> impl Strategy<Value = Op> {
    let code = proptest::option::of(prop_oneof![Just("SUMMER10"), Just("WINTER")]);
    prop_oneof![
        4 => (1i64..6, proptest::option::of(1i64..=Quantity::MAX)).prop_map(|(p, q)| Op::SetLine(p, q)),
        1 => Just(Op::Clear),
        1 => code.clone().prop_map(Op::SetPromo),
        2 => amount().prop_map(Op::Credit),
        2 => (0i64..6_000, 0usize..6, code)
            .prop_map(|(debit, lines, given)| Op::Checkout { debit, lines, given }),
    ]
}

#[derive(Debug, Default)]
struct Model {
    balance: i64,
    cart: BTreeMap<i64, i64>,
    promo: Option<&'static str>,
}

fn code(raw: &str) -> PromoCode {
    PromoCode::from_db(raw.into())
}

fn step(s: &mut UserState, m: &mut Model, op: Op) {
    match op {
        Op::SetLine(p, q) => {
            let quantity = q.and_then(Quantity::new);
            let lines = s.set_line(ProductId::from_db(p), quantity);
            match q {
                Some(q) => m.cart.insert(p, q),
                None => m.cart.remove(&p),
            };
            assert_eq!(lines, s.lines());
        }
        Op::Clear => {
            s.clear_cart();
            m.cart.clear();
        }
        Op::SetPromo(c) => {
            s.set_promo(c.map(code));
            m.promo = c;
        }
        Op::Credit(amount) => credit(s, m, amount),
        Op::Checkout {
            debit,
            lines,
            given,
        } => checkout(s, m, debit, lines, given),
    }
}

fn credit(s: &mut UserState, m: &mut Model, amount: i64) {
    let before = s.clone();
    let checked = s.check_credit(Money::from_minor(amount));
    match m.balance.checked_add(amount) {
        Some(after) => {
            assert_eq!(checked, Ok(()));
            assert_eq!(s.credit(Money::from_minor(amount)), Ok(()));
            m.balance = after;
        }
        None => {
            assert!(matches!(
                checked,
                Err(DomainError::Invalid {
                    field: "amount_minor",
                    ..
                })
            ));
            // A credit refused before its write is never applied; were one applied
            // anyway, memory refuses it rather than wrap.
            assert!(s.credit(Money::from_minor(amount)).is_err());
            assert_eq!(*s, before);
        }
    }
}

fn checkout(
    s: &mut UserState,
    m: &mut Model,
    debit: i64,
    lines: usize,
    given: Option<&'static str>,
) {
    let hold = s.checkout_hold(given.map(code));
    assert_eq!(hold.balance.minor(), m.balance);
    assert_eq!(hold.cart, s.lines());
    assert_eq!(hold.promo, given.or(m.promo).map(code));
    let debit = Money::from_minor(debit);
    let covered = cover(hold.balance, debit);
    let bought: Vec<ProductId> = hold.cart.iter().take(lines).map(|(p, _)| *p).collect();
    let before = s.clone();
    let settled = s.settle_checkout(debit, bought.iter().copied());
    if debit.minor() > m.balance {
        let refusal = DomainError::InsufficientFunds {
            required: debit,
            balance: hold.balance,
        };
        assert_eq!(covered, Err(refusal));
        assert!(matches!(settled, Err(DomainError::Internal(_))));
        assert_eq!(*s, before, "a refused debit changes nothing");
    } else {
        assert_eq!(covered, Ok(()));
        assert_eq!(settled, Ok(()));
        m.balance -= debit.minor();
        for p in bought {
            m.cart.remove(&p.get());
        }
        m.promo = None;
    }
}

fn check(s: &UserState, m: &Model) {
    assert!(!s.balance().is_negative(), "the balance went negative");
    assert_eq!(s.balance().minor(), m.balance);
    let lines = s.lines();
    let model: Vec<(i64, i64)> = m.cart.iter().map(|(p, q)| (*p, *q)).collect();
    let got: Vec<(i64, i64)> = lines.iter().map(|(p, q)| (p.get(), q.get())).collect();
    assert_eq!(got, model);
    assert!(
        lines.windows(2).all(|w| w[0].0 < w[1].0),
        "lines out of product order"
    );
    assert!(lines
        .iter()
        .all(|(_, q)| (1..=Quantity::MAX).contains(&q.get())));
    assert_eq!(s.promo(), m.promo.map(code).as_ref());
}

proptest! {
    #[test]
    fn cart_and_wallet_agree_with_the_model(ops in proptest::collection::vec(op(), 0..60)) {
        let mut state = UserState::default();
        let mut model = Model::default();
        for op in ops {
            step(&mut state, &mut model, op);
            check(&state, &model);
        }
    }
}

#[test]
fn an_external_payment_debits_nothing_yet_still_empties_the_cart() {
    let product = ProductId::from_db(3);
    let one = Quantity::new(1).expect("a quantity");
    let mut s = UserState::loaded(
        Money::from_minor(50),
        BTreeMap::from([(product, one)]),
        None,
    );
    assert_eq!(s.settle_checkout(Money::ZERO, [product]), Ok(()));
    assert_eq!(s.balance(), Money::from_minor(50));
    assert!(s.lines().is_empty());
}

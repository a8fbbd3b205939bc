//! The group commit applies a batch as sets (a few statements whatever its size); this
//! checks it against the plainest reference there is. Random batches of checkouts, cart
//! edits, stock adjustments, credits and refunds, with one bad write planted at a random
//! position (a missing user, stock below zero, a refund past what was paid, an unknown
//! product, a promo past its limit), are committed once as one batch and once write by
//! write, each write in its own transaction, on two databases seeded alike. Every write
//! gets the same answer both ways, the bad one alone is refused, and the two databases
//! hold exactly the same shop afterwards (ids and times aside, which only tell the order
//! rows came in).

use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use souk_actors::domain::changes::{
    CheckoutLine, CheckoutWrite, IdempotencyDraft, Outcome, RefundWrite, Write, WriteOp,
};
use souk_actors::domain::idempotency::StoredAnswer;
use souk_actors::domain::ids::{OrderId, ProductId, PromoCode, UserId};
use souk_actors::domain::model::{PaymentMethod, ProductKind};
use souk_actors::domain::money::Money;
use souk_actors::domain::pricing::Totals;
use souk_actors::domain::quantity::Quantity;
use souk_actors::metrics::ActorMetrics;
use souk_actors::store::group_commit::commit_batch;
use souk_actors::DomainResult;

const USERS: i64 = 8;
const PHYSICAL: i64 = 4;
const DIGITAL: i64 = 5;
const PRICE: i64 = 100;
const KEY_PRICE: i64 = 50;
const PAID: i64 = 500;

#[derive(Debug, Clone)]
enum Op {
    Checkout {
        product: i64,
        quantity: i64,
        keys: usize,
        promo: bool,
    },
    Cart {
        product: i64,
        quantity: i64,
    },
    Stock {
        product: i64,
        delta: i64,
    },
    Credit {
        amount: i64,
    },
    Refund {
        amount: i64,
    },
}

/// Writes the database refuses, whatever the actors believed.
#[derive(Debug, Clone, Copy)]
enum Bad {
    CreditToNobody,
    StockBelowZero,
    RefundPastPaid,
    UnknownProduct,
    PromoPastLimit,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1..=PHYSICAL, 1..=3i64, 0..=2usize, any::<bool>()).prop_map(|(product, quantity, keys, promo)| Op::Checkout { product, quantity, keys, promo }),
        1 => (1..=PHYSICAL, 0..=3i64).prop_map(|(product, quantity)| Op::Cart { product, quantity }),
        1 => (1..=PHYSICAL, prop_oneof![-3..=-1i64, 1..=5i64]).prop_map(|(product, delta)| Op::Stock { product, delta }),
        1 => (1..=500i64).prop_map(|amount| Op::Credit { amount }),
        1 => (1..=200i64).prop_map(|amount| Op::Refund { amount }),
    ]
}

/// A batch: its writes, each for another user (as the actors send them: a user's owner
/// waits for its write before the next), and the bad write with its position.
fn batch() -> impl Strategy<Value = (Vec<(Op, bool)>, Vec<i64>, Bad, usize)> {
    (
        prop::collection::vec((op(), any::<bool>()), 2..=7),
        Just((1..=USERS).collect::<Vec<i64>>()).prop_shuffle(),
        prop_oneof![
            Just(Bad::CreditToNobody),
            Just(Bad::StockBelowZero),
            Just(Bad::RefundPastPaid),
            Just(Bad::UnknownProduct),
            Just(Bad::PromoPastLimit),
        ],
        0..=7usize,
    )
}

fn answer_of(outcome: &Outcome) -> StoredAnswer {
    let body = match outcome {
        Outcome::Order(order) => serde_json::json!({ "total": order.total_minor.minor() }),
        Outcome::Credit(tx) => serde_json::json!({ "amount": tx.amount_minor.minor() }),
        _ => serde_json::json!({}),
    };
    StoredAnswer { status: 201, body }
}

fn user(id: i64) -> UserId {
    UserId::new(id).expect("user id")
}

fn product(id: i64) -> ProductId {
    ProductId::new(id).expect("product id")
}

/// The writes of one batch; license keys are taken from 1..=10 in turn.
fn writes(ops: &[(Op, bool)], users: &[i64], bad: Bad, at: usize) -> Vec<Write> {
    let mut next_key = 1;
    let mut writes: Vec<Write> = ops
        .iter()
        .zip(users)
        .map(|((op, keyed), &u)| {
            let op = match op {
                Op::Checkout {
                    product: p,
                    quantity,
                    keys,
                    promo,
                } => {
                    let mut lines = vec![CheckoutLine {
                        product: product(*p),
                        name: format!("Product {p}"),
                        kind: ProductKind::Physical,
                        quantity: Quantity::new(*quantity).expect("quantity"),
                        unit_price: Money::from_minor(PRICE),
                        items: Vec::new(),
                        available_after: None,
                    }];
                    if *keys > 0 {
                        let items: Vec<i64> = (next_key..next_key + *keys as i64).collect();
                        next_key += *keys as i64;
                        lines.push(CheckoutLine {
                            product: product(DIGITAL),
                            name: "Key".into(),
                            kind: ProductKind::Digital,
                            quantity: Quantity::new(*keys as i64).expect("quantity"),
                            unit_price: Money::from_minor(KEY_PRICE),
                            items,
                            available_after: None,
                        });
                    }
                    checkout(u, lines, promo.then_some("SAVE"))
                }
                Op::Cart {
                    product: p,
                    quantity,
                } => WriteOp::CartSet {
                    user: user(u),
                    product: product(*p),
                    quantity: Quantity::new(*quantity),
                },
                Op::Stock { product: p, delta } => WriteOp::StockDelta {
                    product: product(*p),
                    delta: *delta,
                    available_after: 0,
                },
                Op::Credit { amount } => WriteOp::WalletCredit {
                    user: user(u),
                    amount: Money::from_minor(*amount),
                    reason: "top-up".into(),
                },
                Op::Refund { amount } => refund(u, *amount),
            };
            let mut write = Write::new(op);
            if *keyed {
                write.idempotency = Some(IdempotencyDraft {
                    user: user(u),
                    key: format!("key-{u}"),
                    request_hash: vec![u as u8],
                    answer: answer_of,
                });
            }
            write
        })
        .collect();
    // The bad write's user is one no other write of the batch has.
    let spare = users[ops.len()];
    let bad = Write::new(match bad {
        Bad::CreditToNobody => WriteOp::WalletCredit {
            user: user(9_999),
            amount: Money::from_minor(10),
            reason: "nobody".into(),
        },
        Bad::StockBelowZero => WriteOp::StockDelta {
            product: product(1),
            delta: -1_000,
            available_after: 0,
        },
        Bad::RefundPastPaid => refund(spare, PAID + 1),
        Bad::UnknownProduct => checkout(
            spare,
            vec![CheckoutLine {
                product: product(999),
                name: "Nothing".into(),
                kind: ProductKind::Physical,
                quantity: Quantity::new(1).expect("quantity"),
                unit_price: Money::from_minor(PRICE),
                items: Vec::new(),
                available_after: None,
            }],
            None,
        ),
        Bad::PromoPastLimit => checkout(
            spare,
            vec![CheckoutLine {
                product: product(2),
                name: "Product 2".into(),
                kind: ProductKind::Physical,
                quantity: Quantity::new(1).expect("quantity"),
                unit_price: Money::from_minor(PRICE),
                items: Vec::new(),
                available_after: None,
            }],
            Some("FULL"),
        ),
    });
    writes.insert(at.min(writes.len()), bad);
    writes
}

fn checkout(u: i64, lines: Vec<CheckoutLine>, promo: Option<&str>) -> WriteOp {
    let subtotal: i64 = lines
        .iter()
        .map(|l| l.unit_price.minor() * l.quantity.get())
        .sum();
    let total = Money::from_minor(subtotal);
    WriteOp::Checkout(Box::new(CheckoutWrite {
        user: user(u),
        currency: "USD".into(),
        totals: Totals {
            subtotal_minor: total,
            discount_minor: Money::ZERO,
            shipping_minor: Money::ZERO,
            tax_minor: Money::ZERO,
            total_minor: total,
            tax_included_minor: Money::ZERO,
        },
        lines,
        actor: format!("user:{u}"),
        shipping_address: None,
        promo: promo.map(|code| PromoCode::parse(code).expect("code")),
        payment: PaymentMethod::Wallet,
        total_stars: None,
        payment_due: None,
    }))
}

fn refund(u: i64, amount: i64) -> WriteOp {
    WriteOp::Refund(Box::new(RefundWrite {
        user: user(u),
        order: OrderId::new(u).expect("order id"),
        amount: Money::from_minor(amount),
        reason: "refund".into(),
        completes: None,
    }))
}

/// Empties the shop and seeds it again: users 1..=8 each with a paid order (id = user id),
/// physical products 1..=4 with more stock than a batch sells, a digital product 5 with ten
/// keys, a promo SAVE with uses to spare and a promo FULL with none left.
const SEED: &str = "
TRUNCATE users, categories, products, orders, order_lines, digital_items, stock_movements, cart_items,
         wallet_transactions, order_status_history, idempotency_keys, audit_log, promos, promo_redemptions, events
         RESTART IDENTITY CASCADE;
INSERT INTO users (id, display_name, balance_minor) SELECT n, 'u' || n, 10000 FROM generate_series(1, 8) n;
INSERT INTO wallet_transactions (user_id, kind, amount_minor, reason) SELECT n, 'credit', 10000, 'seed' FROM generate_series(1, 8) n;
INSERT INTO categories (id, name) VALUES (1, 'All');
INSERT INTO products (id, category_id, name, kind, price_minor, stock_on_hand)
    SELECT n, 1, 'Product ' || n, 'physical', 100, 100 FROM generate_series(1, 4) n;
INSERT INTO stock_movements (product_id, delta, reason) SELECT n, 100, 'adjustment' FROM generate_series(1, 4) n;
INSERT INTO products (id, category_id, name, kind, price_minor) VALUES (5, 1, 'Key', 'digital', 50);
INSERT INTO digital_items (id, product_id, code) SELECT n, 5, 'CODE-' || n FROM generate_series(1, 10) n;
INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor,
                    total_minor, payment, paid_minor)
    SELECT n, n, 'paid', 'USD', 500, 0, 0, 0, 500, 'external', 500 FROM generate_series(1, 8) n;
INSERT INTO promos (code, kind, value, max_redemptions, redemptions) VALUES ('SAVE', 'fixed', 1, 100, 0), ('FULL', 'fixed', 1, 1, 1);
SELECT setval('users_id_seq', 100), setval('categories_id_seq', 100), setval('products_id_seq', 100),
       setval('orders_id_seq', 100), setval('digital_items_id_seq', 100);
";

/// The shop as rows, without the ids and times that only say in which order rows came.
const STATE: &str = "
SELECT 'user', jsonb_agg(jsonb_build_array(id, balance_minor, cart_promo) ORDER BY id) FROM users
UNION ALL SELECT 'product', jsonb_agg(jsonb_build_array(id, stock_on_hand) ORDER BY id) FROM products
UNION ALL SELECT 'cart', jsonb_agg(jsonb_build_array(user_id, product_id, quantity) ORDER BY user_id, product_id) FROM cart_items
UNION ALL SELECT 'order', jsonb_agg(x ORDER BY x) FROM (
    SELECT jsonb_build_array(o.user_id, o.status, o.total_minor, o.paid_minor, o.refunded_minor, o.payment, o.promo_code,
           (SELECT jsonb_agg(jsonb_build_array(l.line_no, l.product_id, l.quantity, l.unit_price_minor) ORDER BY l.line_no)
              FROM order_lines l WHERE l.order_id = o.id),
           (SELECT jsonb_agg(d.id ORDER BY d.id) FROM digital_items d WHERE d.order_id = o.id AND d.delivered_at IS NOT NULL),
           (SELECT jsonb_agg(h.to_status ORDER BY h.id) FROM order_status_history h WHERE h.order_id = o.id)) AS x
    FROM orders o) orders
UNION ALL SELECT 'movement', jsonb_agg(x ORDER BY x) FROM (
    SELECT jsonb_build_array(m.product_id, m.delta, m.reason, o.user_id) AS x
    FROM stock_movements m LEFT JOIN orders o ON o.id = m.order_id) moves
UNION ALL SELECT 'ledger', jsonb_agg(x ORDER BY x) FROM (
    SELECT jsonb_build_array(t.user_id, t.kind, t.amount_minor, t.reason, o.user_id) AS x
    FROM wallet_transactions t LEFT JOIN orders o ON o.id = t.order_id) ledger
UNION ALL SELECT 'key', jsonb_agg(jsonb_build_array(user_id, key, status_code, response) ORDER BY user_id, key) FROM idempotency_keys
UNION ALL SELECT 'promo', jsonb_agg(jsonb_build_array(code, redemptions) ORDER BY code) FROM promos
UNION ALL SELECT 'redemption', jsonb_agg(jsonb_build_array(r.code, r.user_id) ORDER BY r.code, r.user_id) FROM promo_redemptions r
UNION ALL SELECT 'event', jsonb_agg(x ORDER BY x) FROM (
    SELECT jsonb_build_array(e.type, coalesce('buyer:' || o.user_id, e.stream), e.data - 'order' - 'order_id' - 'transaction_id') AS x
    FROM events e LEFT JOIN orders o ON e.stream = 'order:' || o.id) told";

struct Db {
    pool: deadpool_postgres::Pool,
    client: tokio_postgres::Client,
}

async fn database() -> Db {
    let (url, _) = fresh_database().await;
    let settings = test_settings(&url);
    let secret_url = settings.database.url.clone().expect("url");
    souk::db::migrate(&secret_url).await.expect("migrate");
    Db {
        pool: souk::db::pool(&secret_url, &settings).expect("pool"),
        client: souk::db::connect_one(&url).await.expect("db"),
    }
}

async fn state(db: &Db) -> Vec<(String, Option<serde_json::Value>)> {
    db.client
        .query(STATE, &[])
        .await
        .expect("state")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// A write's answer as compared: its error, or the kind of its outcome.
fn answer(result: &DomainResult<Outcome>) -> String {
    match result {
        Ok(Outcome::Order(order)) => format!("order of {}", order.total_minor.minor()),
        Ok(Outcome::Credit(tx)) => format!("credit of {}", tx.amount_minor.minor()),
        Ok(other) => format!("{:?}", std::mem::discriminant(other)),
        Err(e) => format!("refused: {e:?}"),
    }
}

#[test]
fn a_batch_applied_as_sets_leaves_what_its_writes_one_by_one_leave_and_refuses_only_the_bad_one() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (sets_db, each_db) = runtime.block_on(async { (database().await, database().await) });
    let metrics = ActorMetrics::new(&prometheus::Registry::new()).expect("metrics");
    let cases = std::env::var("SOUK_SETS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&batch(), |(ops, users, bad, at)| {
            let batch = writes(&ops, &users, bad, at);
            let bad_at = at.min(ops.len());
            let (as_sets, one_by_one, sets_state, each_state) = runtime.block_on(async {
                for db in [&sets_db, &each_db] {
                    db.client.batch_execute(SEED).await.expect("seed");
                }
                let as_sets = commit_batch(&sets_db.pool, batch.clone(), true, &metrics).await;
                let mut one_by_one = Vec::new();
                for write in batch.clone() {
                    let mut answers =
                        commit_batch(&each_db.pool, vec![write], false, &metrics).await;
                    one_by_one.push(answers.remove(0));
                }
                (
                    as_sets,
                    one_by_one,
                    state(&sets_db).await,
                    state(&each_db).await,
                )
            });
            let as_sets: Vec<String> = as_sets.iter().map(answer).collect();
            let one_by_one: Vec<String> = one_by_one.iter().map(answer).collect();
            prop_assert_eq!(&as_sets, &one_by_one, "answers differ for {:?}", batch);
            for (i, answer) in as_sets.iter().enumerate() {
                prop_assert_eq!(
                    answer.starts_with("refused"),
                    i == bad_at,
                    "write {} of {:?}: {}",
                    i,
                    as_sets,
                    answer
                );
            }
            prop_assert_eq!(
                sets_state,
                each_state,
                "the databases differ after {:?}",
                batch
            );
            Ok(())
        })
        .expect("as sets and one by one agree");
    // Not a vacuous comparison: many batches did commit as sets (the rest went write by
    // write because two of their writes moved one row both ways).
    let as_sets = metrics.batches.with_label_values(&["sets"]).get();
    eprintln!("{as_sets} of {cases} batches committed as sets");
    assert!(
        as_sets >= u64::from(cases) / 3,
        "only {as_sets} of {cases} batches committed as sets"
    );
}

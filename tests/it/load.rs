//! A checkout load from many customers that records every request's outcome, the ledger of
//! what the load generator was told, and the database-side proof that every acknowledged
//! checkout is stored once, with its lines, its codes and one debit.

use crate::external::*;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub enum Kind {
    /// PUT one unit of the product into the cart.
    Cart(i64),
    /// POST /v1/me/checkout under this Idempotency-Key.
    Checkout(String),
}

/// One request of the load, in each customer's order.
#[derive(Clone, Debug)]
pub struct Sent {
    pub user: i64,
    pub kind: Kind,
    pub started: Instant,
    pub took: Duration,
    pub reply: Option<Reply>,
}

/// Every customer puts one unit (digital and mug in turn) in the cart and checks out, until
/// `stop` is set, or at its first transport error when `quit_on_transport_error`. Checkout
/// keys are `checkout-{tag}-{user}-{n}`.
pub async fn run_load(
    http: &reqwest::Client,
    base: &str,
    shop: &Shop,
    tag: &str,
    stop: Arc<AtomicBool>,
    quit_on_transport_error: bool,
) -> Vec<Sent> {
    let customers = shop.customers.iter().map(|(user, token)| {
        let stop = stop.clone();
        async move {
            let mut sent = Vec::new();
            let send = |kind: Kind, reply: Option<Reply>, started: Instant| Sent {
                user: *user,
                kind,
                started,
                took: started.elapsed(),
                reply,
            };
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let product = if n % 2 == 0 { shop.digital } else { shop.mug };
                let path = format!("/v1/me/cart/items/{product}");
                let started = Instant::now();
                let body = json!({"quantity": 1});
                let reply = call(http, base, Method::PUT, &path, token, None, body).await;
                let put_ok = reply.as_ref().is_some_and(|r| r.status.is_success());
                sent.push(send(Kind::Cart(product), reply, started));
                if !put_ok {
                    let lost = sent.last().is_some_and(|s| s.reply.is_none());
                    if lost && quit_on_transport_error {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let key = format!("checkout-{tag}-{user}-{n}");
                let started = Instant::now();
                let reply = checkout(http, base, token, &key).await;
                let lost = reply.is_none();
                sent.push(send(Kind::Checkout(key), reply, started));
                if lost && quit_on_transport_error {
                    break;
                }
            }
            sent
        }
    });
    join_all(customers).await.into_iter().flatten().collect()
}

/// What the load generator saw, over all rounds: the acknowledged orders by id (user, key,
/// body), every checkout key sent per user, and per user the last acknowledged cart line
/// with the checkout keys sent after it.
#[derive(Default)]
pub struct Ledger {
    pub acked: HashMap<i64, (i64, String, Value)>,
    pub keys: HashMap<i64, Vec<String>>,
    cart: HashMap<i64, (i64, Vec<String>)>,
}

impl Ledger {
    pub fn record(&mut self, sent: &[Sent]) {
        for s in sent {
            let ok = s.reply.as_ref().filter(|r| r.status.is_success());
            match (&s.kind, ok) {
                (Kind::Cart(product), Some(_)) => {
                    self.cart.insert(s.user, (*product, Vec::new()));
                }
                (Kind::Cart(_), None) => {}
                (Kind::Checkout(key), ok) => self.sent_checkout(s.user, key, ok),
            }
        }
    }

    /// A checkout sent with `key`; `ok` is its 2xx answer, if it got one.
    pub fn sent_checkout(&mut self, user: i64, key: &str, ok: Option<&Reply>) {
        let keys = self.keys.entry(user).or_default();
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_string());
        }
        if let Some((_, after)) = self.cart.get_mut(&user) {
            after.push(key.to_string());
        }
        if let Some(reply) = ok {
            let id = reply.body["id"].as_i64().expect("order id");
            self.acked
                .insert(id, (user, key.to_string(), reply.body.clone()));
        }
    }
}

/// Checks the database against the ledger and panics naming what is wrong: every
/// acknowledged order is stored under its key with its lines, its codes and one debit; every
/// stored order is the answer of exactly one checkout key; no user has more debits than
/// checkouts sent; an acknowledged cart line no committed checkout consumed is still there;
/// `souk check` finds nothing. Returns the stored checkout answers by (user, key).
pub async fn verify_stored(db: &tokio_postgres::Client, ledger: &Ledger) -> Answers {
    let answers: Answers = db
        .query(
            "SELECT user_id, key, status_code, (response->>'id')::bigint FROM idempotency_keys
             WHERE key LIKE 'checkout-%'",
            &[],
        )
        .await
        .expect("keys")
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect();
    let rows = db
        .query(
            "SELECT o.id, o.user_id,
               (SELECT count(*) FROM wallet_transactions w WHERE w.order_id = o.id AND w.kind = 'debit'),
               (SELECT array_agg(l.product_id::text || 'x' || l.quantity::text ORDER BY l.product_id)
                  FROM order_lines l WHERE l.order_id = o.id),
               (SELECT coalesce(array_agg(d.code ORDER BY d.code), '{}') FROM digital_items d
                  WHERE d.order_id = o.id)
             FROM orders o",
            &[],
        )
        .await
        .expect("orders");
    type Stored = (i64, i64, Vec<String>, Vec<String>);
    let orders: HashMap<i64, Stored> = rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
        .collect();
    for (id, (user, key, order)) in &ledger.acked {
        let (owner, debits, lines, codes) = orders
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged order {id} ({key}) is missing"));
        assert_eq!(owner, user, "order {id} changed hands");
        assert_eq!(*debits, 1, "order {id} was debited {debits} times");
        let items = order["lines"].as_array().expect("lines");
        let want: BTreeSet<String> = items
            .iter()
            .map(|l| format!("{}x{}", l["product_id"], l["quantity"]))
            .collect();
        assert_eq!(
            lines.iter().cloned().collect::<BTreeSet<_>>(),
            want,
            "order {id}"
        );
        let want: BTreeSet<String> = items
            .iter()
            .flat_map(|l| l["delivered_items"].as_array().cloned().unwrap_or_default())
            .map(|c| c.as_str().expect("code").to_string())
            .collect();
        assert_eq!(
            codes.iter().cloned().collect::<BTreeSet<_>>(),
            want,
            "order {id}'s codes"
        );
        let answer = answers.get(&(*user, key.clone()));
        assert_eq!(answer, Some(&(201, Some(*id))), "key {key} of order {id}");
    }
    let mut answered: HashMap<i64, usize> = HashMap::new();
    for ((user, key), (status, id)) in &answers {
        let sent = ledger.keys.get(user).is_some_and(|k| k.contains(key));
        assert!(
            sent,
            "user {user} has an answer under {key}, a key never sent"
        );
        if *status == 201 {
            *answered
                .entry(id.expect("201 answers carry the order"))
                .or_default() += 1;
        }
    }
    for (id, (user, ..)) in &orders {
        let n = answered.get(id).copied().unwrap_or(0);
        assert_eq!(
            n, 1,
            "order {id} of user {user} is the answer of {n} checkout keys"
        );
    }
    assert_eq!(
        orders.len(),
        answered.len(),
        "answers name orders that do not exist"
    );
    let debits: HashMap<i64, i64> = db
        .query(
            "SELECT user_id, count(*) FROM wallet_transactions WHERE kind = 'debit' GROUP BY user_id",
            &[],
        )
        .await
        .expect("debits")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (user, keys) in &ledger.keys {
        let mine = orders.values().filter(|o| o.0 == *user).count() as i64;
        let debited = debits.get(user).copied().unwrap_or(0);
        let sent = keys.len() as i64;
        assert!(
            debited == mine && mine <= sent,
            "user {user}: {debited} debits and {mine} orders from {sent} checkouts"
        );
    }
    for (user, (product, after)) in &ledger.cart {
        let consumed = after
            .iter()
            .any(|k| answers.get(&(*user, k.clone())).is_some_and(|a| a.0 == 201));
        if !consumed {
            let rows = db
                .query(
                    "SELECT quantity FROM cart_items WHERE user_id = $1 AND product_id = $2",
                    &[user, product],
                )
                .await
                .expect("cart");
            let qty: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
            assert_eq!(
                qty,
                [1],
                "user {user}'s acknowledged cart line {product} is lost"
            );
        }
    }
    let found = souk::check::violations(db).await.expect("check");
    assert_eq!(found, Vec::<String>::new(), "souk check");
    answers
}

/// The stored answers of checkout keys: (user, key) → (status, order id of a 201).
pub type Answers = HashMap<(i64, String), (i16, Option<i64>)>;

/// Sends each checkout in `again` once more with its key and body. A key whose checkout
/// committed (its answer is in `answers`) must replay that answer; any other runs now, once:
/// 201, or a refusal listed in `fresh_refusals`. Returns (replayed, run afresh).
pub async fn retry_checkouts(
    http: &reqwest::Client,
    base: &str,
    shop: &Shop,
    ledger: &mut Ledger,
    answers: &Answers,
    again: &[(i64, String)],
    fresh_refusals: &[StatusCode],
) -> (usize, usize) {
    let (mut replayed, mut fresh) = (0, 0);
    for (user, key) in again {
        let token = &shop
            .customers
            .iter()
            .find(|c| c.0 == *user)
            .expect("customer")
            .1;
        let reply = checkout(http, base, token, key)
            .await
            .unwrap_or_else(|| panic!("no answer to the retry of {key}"));
        if let Some((status, id)) = answers.get(&(*user, key.clone())) {
            replayed += 1;
            assert!(reply.replayed, "{key} ran again: {}", reply.body);
            assert_eq!(reply.status.as_u16(), *status as u16, "{key}");
            assert_eq!(
                reply.body["id"].as_i64(),
                *id,
                "{key} replayed another order"
            );
        } else {
            fresh += 1;
            let ok = reply.status == StatusCode::CREATED || fresh_refusals.contains(&reply.status);
            assert!(ok, "{key} sent again: {} {}", reply.status, reply.body);
            assert!(!reply.replayed, "{key} replayed an answer never stored");
        }
        let ok = Some(&reply).filter(|r| r.status.is_success());
        ledger.sent_checkout(*user, key, ok);
    }
    (replayed, fresh)
}

/// Checkouts of `sent` that got no answer (`None`) or one matching `status`.
pub fn unanswered(sent: &[Sent], status: Option<StatusCode>) -> Vec<(i64, String)> {
    sent.iter()
        .filter_map(|s| match (&s.kind, &s.reply) {
            (Kind::Checkout(key), r) if r.as_ref().map(|r| r.status) == status => {
                Some((s.user, key.clone()))
            }
            _ => None,
        })
        .collect()
}

/// What the API says equals what the database says: each customer's balance is the
/// starting balance less its orders, and the mug's stock is what was not sold.
pub async fn verify_views(
    http: &reqwest::Client,
    base: &str,
    shop: &Shop,
    db: &tokio_postgres::Client,
) {
    let ok = StatusCode::OK;
    for (user, token) in &shop.customers {
        let wallet = (Method::GET, "/v1/me/wallet");
        let wallet = expect(http, base, wallet, token, None, Value::Null, ok).await;
        let spent: i64 = db
            .query_one(
                "SELECT coalesce(sum(total_minor), 0)::bigint FROM orders WHERE user_id = $1",
                &[user],
            )
            .await
            .expect("spent")
            .get(0);
        assert_eq!(
            wallet["balance_minor"],
            BALANCE - spent,
            "user {user}'s balance"
        );
    }
    let sold: i64 = db
        .query_one(
            "SELECT coalesce(sum(quantity), 0)::bigint FROM order_lines WHERE product_id = $1",
            &[&shop.mug],
        )
        .await
        .expect("sold")
        .get(0);
    let path = format!("/v1/products/{}", shop.mug);
    let p = expect(
        http,
        base,
        (Method::GET, &path),
        &shop.admin,
        None,
        Value::Null,
        ok,
    )
    .await;
    assert_eq!(p["stock_available"], MUGS - sold, "mug stock");
}

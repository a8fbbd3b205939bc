//! What is checked after every step: each wallet (Postgres and the user's actor through
//! `GET /v1/me/wallet`) against the model's balance; each order's status, its refund rows
//! (never more than was paid), its license keys, its `paid_minor` (0 for a Stars order),
//! its `total_stars` and its refund in Stars (`star_refunds`); each product's stock (Postgres and the
//! catalog) against added − sold + restocked; each promo's count against its live
//! redemptions; and `souk check` (in-process, a few queries, so after every step too).
//! After a finding the model adopts what Souk holds, so one run reports every distinct
//! disagreement instead of the first one's consequences.

use super::model::{Kind, ReturnStatus};
use super::world::World;
use reqwest::StatusCode;
use souk_actors::domain::status::OrderStatus;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub async fn check(w: &mut World) {
    balances(w).await;
    orders(w).await;
    stock(w).await;
    promos(w).await;
    souk_check(w).await;
}

async fn balances(w: &mut World) {
    let ids: Vec<i64> = w.model.users.iter().map(|u| u.id).collect();
    let rows =
        w.db.query(
            "SELECT id, balance_minor FROM users WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("balances");
    let stored: HashMap<i64, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for u in 0..w.model.users.len() {
        let (id, want) = (w.model.users[u].id, w.model.users[u].balance);
        let db = stored.get(&id).copied().unwrap_or(-1);
        if db != want {
            w.finding(
                "balance",
                format!("user {id} has {db} in Postgres; the model says {want} (credits − debits + refunds)"),
            );
        }
        let token = w.model.users[u].token.clone();
        let (s, body) = w.app().get("/v1/me/wallet", Some(&token)).await;
        let shown = body["balance_minor"].as_i64().unwrap_or(-1);
        if s != StatusCode::OK || shown != db {
            w.finding(
                "wallet view",
                format!("user {id}'s wallet shows {shown} ({s}) but Postgres holds {db}"),
            );
        }
    }
}

struct StoredOrder {
    status: String,
    refunded: i64,
    held: i64,
    delivered: i64,
    paid: i64,
    total_stars: Option<i64>,
    /// The state of its `star_refunds` row, if it has one.
    star_refund: Option<String>,
    /// An applied payment in Stars.
    stars_paid: bool,
}

async fn stored_orders(w: &World) -> HashMap<i64, StoredOrder> {
    let rows =
        w.db.query(
            "SELECT o.id, o.status,
                    coalesce((SELECT sum(amount_minor) FROM wallet_transactions t
                              WHERE t.order_id = o.id AND t.kind = 'refund'), 0)::bigint,
                    (SELECT count(*) FROM digital_items d WHERE d.order_id = o.id),
                    (SELECT count(*) FROM digital_items d
                     WHERE d.order_id = o.id AND d.delivered_at IS NOT NULL),
                    o.paid_minor, o.total_stars,
                    (SELECT s.state FROM star_refunds s WHERE s.order_id = o.id),
                    EXISTS (SELECT 1 FROM payment_events e WHERE e.order_id = o.id
                            AND e.outcome = 'applied' AND e.currency = 'XTR')
             FROM orders o",
            &[],
        )
        .await
        .expect("orders");
    rows.iter()
        .map(|r| {
            let order = StoredOrder {
                status: r.get(1),
                refunded: r.get(2),
                held: r.get(3),
                delivered: r.get(4),
                paid: r.get(5),
                total_stars: r.get(6),
                star_refund: r.get(7),
                stars_paid: r.get(8),
            };
            (r.get::<_, i64>(0), order)
        })
        .collect()
}

async fn orders(w: &mut World) {
    let stored = stored_orders(w).await;
    if stored.len() != w.model.orders.len() {
        w.finding(
            "order count",
            format!(
                "Postgres holds {} orders; the model knows {}",
                stored.len(),
                w.model.orders.len()
            ),
        );
    }
    for i in 0..w.model.orders.len() {
        let o = &w.model.orders[i];
        let Some(db) = stored.get(&o.id) else {
            let id = o.id;
            w.finding("order missing", format!("order {id} is not in Postgres"));
            continue;
        };
        let keys = w.model.key_units(o);
        let want_held = if o.keys_held { keys } else { 0 };
        let want_delivered = if o.keys_delivered { keys } else { 0 };
        let mut problems = Vec::new();
        if db.status != o.status.as_str() {
            problems.push((
                "status",
                format!("is {}; the model says {}", db.status, o.status),
            ));
        }
        if db.refunded != o.refunded && db.refunded > o.paid {
            problems.push((
                "refunds exceed paid",
                format!(
                    "was refunded {} but only {} was paid for it (the model says {} refunded)",
                    db.refunded, o.paid, o.refunded
                ),
            ));
        } else if db.refunded != o.refunded {
            problems.push((
                "refunded",
                format!(
                    "was refunded {}; the model says {}",
                    db.refunded, o.refunded
                ),
            ));
        }
        if (db.held, db.delivered) != (want_held, want_delivered) {
            problems.push((
                "license keys",
                format!(
                    "holds {} keys, {} delivered; the model says {want_held}, {want_delivered}",
                    db.held, db.delivered
                ),
            ));
        }
        problems.extend(stars_problems(o, db));
        let id = o.id;
        for (what, detail) in problems {
            w.finding(what, format!("order {id} {detail}"));
        }
    }
}

/// What a Stars order (or any order, for `paid_minor` and `total_stars`) shows that the
/// model does not: its money arrived as Stars, so `paid_minor` stays 0.
fn stars_problems(o: &super::model::Order, db: &StoredOrder) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if db.paid != o.paid {
        problems.push((
            "paid_minor",
            format!("has paid_minor {}; the model says {}", db.paid, o.paid),
        ));
    }
    if db.total_stars != o.total_stars {
        problems.push((
            "total_stars",
            format!(
                "has total_stars {:?}; the model says {:?}",
                db.total_stars, o.total_stars
            ),
        ));
    }
    if db.star_refund.as_deref() != o.star_refund {
        problems.push((
            "star_refunds",
            format!(
                "has a Stars refund {:?}; the model says {:?}",
                db.star_refund, o.star_refund
            ),
        ));
    }
    if db.stars_paid != o.stars_paid {
        problems.push((
            "paid in Stars",
            format!(
                "was paid in Stars: {}; the model says {}",
                db.stars_paid, o.stars_paid
            ),
        ));
    }
    problems
}

async fn stock(w: &mut World) {
    let rows = w
        .db
        .query(
            "SELECT p.id, p.stock_on_hand,
                    (SELECT count(*) FROM digital_items d WHERE d.product_id = p.id AND d.order_id IS NULL)
             FROM products p",
            &[],
        )
        .await
        .expect("stock");
    let stored: HashMap<i64, (i64, i64)> = rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    for p in 0..w.model.products.len() {
        let (id, kind, want) = {
            let p = &w.model.products[p];
            (p.id, p.kind, p.stock)
        };
        let (on_hand, free_keys) = stored.get(&id).copied().unwrap_or((-1, -1));
        let db = if kind == Kind::Physical {
            on_hand
        } else {
            free_keys
        };
        if db != want {
            w.finding(
                "stock",
                format!("product {id} ({kind:?}) has {db} in Postgres; the model says {want} (added − sold + restocked)"),
            );
        }
        let shown = catalog_stock(w, id, db).await;
        if shown != db {
            w.finding(
                "catalog stock",
                format!("product {id}'s page shows {shown} available but Postgres holds {db}"),
            );
        }
    }
}

/// The catalog's `stock_available`, given a moment to catch up with a restock.
async fn catalog_stock(w: &World, id: i64, want: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (_, body) = w.app().get(&format!("/v1/products/{id}"), None).await;
        let shown = body["stock_available"].as_i64().unwrap_or(-1);
        if shown == want || Instant::now() > deadline {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reported when the drift between Souk's count and the live redemptions changes, so a
/// count that stays wrong is reported once, at the step that made it wrong.
pub async fn promos(w: &mut World) {
    let rows =
        w.db.query("SELECT code, redemptions::bigint FROM promos", &[])
            .await
            .expect("promos");
    let stored: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for p in 0..w.model.promos.len() {
        let code = w.model.promos[p].code;
        let (live, counted) = (w.model.uses(p), stored.get(code).copied().unwrap_or(-1));
        if counted - live != w.promo_drift[p] {
            w.promo_drift[p] = counted - live;
            let limit = w.model.promos[p]
                .limit
                .map_or("none".into(), |l| l.to_string());
            w.finding(
                "promo uses",
                format!("promo {code} counts {counted} redemptions (limit {limit}); its orders that are not cancelled are {live}"),
            );
        }
    }
}

async fn souk_check(w: &mut World) {
    let found = souk::check::violations(&w.db).await.expect("souk check");
    for v in found {
        if w.seen_violations.insert(v.clone()) {
            let what = format!("souk check {}", v.split(':').next().unwrap_or(""));
            w.finding(&what, v);
        }
    }
}

/// After a finding: the model takes Souk's balances, stock, order statuses, refunds, keys
/// and returns as they are, and goes on from there. Promo uses stay derived from the
/// orders, so a count that went wrong keeps showing in the answers to promo checkouts.
pub async fn adopt(w: &mut World) {
    let ids: Vec<i64> = w.model.users.iter().map(|u| u.id).collect();
    for r in
        w.db.query(
            "SELECT id, balance_minor FROM users WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("balances")
    {
        let id: i64 = r.get(0);
        if let Some(u) = w.model.users.iter_mut().find(|u| u.id == id) {
            u.balance = r.get(1);
        }
    }
    let stored = stored_orders(w).await;
    let returns: HashMap<i64, String> =
        w.db.query("SELECT id, status FROM returns", &[])
            .await
            .expect("returns")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    for o in w.model.orders.iter_mut() {
        let Some(db) = stored.get(&o.id) else {
            continue;
        };
        o.status = OrderStatus::parse(&db.status).unwrap_or(o.status);
        o.paid = db.paid;
        o.total_stars = db.total_stars;
        o.stars_paid = db.stars_paid;
        o.star_refund = match db.star_refund.as_deref() {
            Some("done") => Some("done"),
            Some("refused") => Some("refused"),
            Some(_) => Some("other"),
            None => None,
        };
        o.refunded = db.refunded;
        o.keys_held = db.held > 0;
        o.keys_delivered = db.delivered > 0;
        if let Some(r) = o.ret.as_mut() {
            r.status = match returns.get(&r.id).map(String::as_str) {
                Some("approved") => ReturnStatus::Approved,
                Some("rejected") => ReturnStatus::Rejected,
                Some("received") => ReturnStatus::Received,
                _ => ReturnStatus::Requested,
            };
        }
    }
    let rows = w
        .db
        .query(
            "SELECT p.id, CASE WHEN p.kind = 'physical' THEN p.stock_on_hand ELSE
                    (SELECT count(*) FROM digital_items d WHERE d.product_id = p.id AND d.order_id IS NULL) END
             FROM products p",
            &[],
        )
        .await
        .expect("stock");
    for r in rows {
        let id: i64 = r.get(0);
        if let Some(p) = w.model.products.iter_mut().find(|p| p.id == id) {
            p.stock = r.get(1);
        }
    }
    w.dirty = false;
}

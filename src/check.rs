//! `souk check`: verifies DESIGN.md's invariants on a live database (read-only) and names
//! every violation. I1 stock, I2 money, I5 delivered codes, I6 status histories, and
//! promo redemption counts (P6).

use souk_actors::domain::status::OrderStatus;
use tokio_postgres::Client;

/// Every violation found, as a sentence an operator can act on; empty means all hold.
pub async fn violations(client: &Client) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut found = Vec::new();
    stock(client, &mut found).await?;
    codes(client, &mut found).await?;
    balances(client, &mut found).await?;
    debits(client, &mut found).await?;
    order_money(client, &mut found).await?;
    external_payments(client, &mut found).await?;
    promos(client, &mut found).await?;
    histories(client, &mut found).await?;
    events(client, &mut found).await?;
    Ok(found)
}

/// I1: on-hand stock is the sum of its movements and never negative.
async fn stock(client: &Client, found: &mut Vec<String>) -> Result<(), tokio_postgres::Error> {
    for row in client
        .query(
            "SELECT p.id, p.stock_on_hand, coalesce(sum(m.delta), 0)::bigint FROM products p
             LEFT JOIN stock_movements m ON m.product_id = p.id
             WHERE p.kind = 'physical' GROUP BY p.id
             HAVING p.stock_on_hand <> coalesce(sum(m.delta), 0) OR p.stock_on_hand < 0",
            &[],
        )
        .await?
    {
        let (id, on_hand, moved): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        found.push(format!(
            "I1: product {id} has {on_hand} on hand but its movements sum to {moved}"
        ));
    }
    Ok(())
}

/// I1/I5: a digital line delivered exactly its quantity of codes, each to one order.
async fn codes(client: &Client, found: &mut Vec<String>) -> Result<(), tokio_postgres::Error> {
    for row in client
        .query(
            "SELECT l.order_id, l.product_id, l.quantity,
                    (SELECT count(*) FROM digital_items d WHERE d.order_id = l.order_id AND d.product_id = l.product_id)
             FROM order_lines l JOIN products p ON p.id = l.product_id JOIN orders o ON o.id = l.order_id
             WHERE p.kind = 'digital' AND o.status <> 'pending_payment' AND o.status <> 'cancelled'
               AND l.quantity <> (SELECT count(*) FROM digital_items d
                                  WHERE d.order_id = l.order_id AND d.product_id = l.product_id)",
            &[],
        )
        .await?
    {
        let (order, product, qty, delivered): (i64, i64, i32, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        found.push(format!("I5: order {order} bought {qty} of product {product} but holds {delivered} codes"));
    }
    Ok(())
}

/// I2: every balance equals its ledger, and none is negative.
async fn balances(client: &Client, found: &mut Vec<String>) -> Result<(), tokio_postgres::Error> {
    for row in client
        .query(
            "SELECT u.id, u.balance_minor,
                    coalesce(sum(CASE WHEN w.kind = 'debit' THEN -w.amount_minor ELSE w.amount_minor END), 0)::bigint
             FROM users u LEFT JOIN wallet_transactions w ON w.user_id = u.id GROUP BY u.id
             HAVING u.balance_minor <> coalesce(sum(CASE WHEN w.kind = 'debit' THEN -w.amount_minor ELSE w.amount_minor END), 0)
                 OR u.balance_minor < 0",
            &[],
        )
        .await?
    {
        let (id, balance, ledger): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        found.push(format!("I2: user {id} has balance {balance} but the ledger says {ledger}"));
    }
    Ok(())
}

/// I2: every wallet-paid order has exactly one debit of its total.
async fn debits(client: &Client, found: &mut Vec<String>) -> Result<(), tokio_postgres::Error> {
    for row in client
        .query(
            "SELECT o.id, o.total_minor, coalesce(sum(w.amount_minor), 0)::bigint FROM orders o
             LEFT JOIN wallet_transactions w ON w.order_id = o.id AND w.kind = 'debit'
             WHERE o.payment = 'wallet' AND o.total_minor > 0 GROUP BY o.id
             HAVING coalesce(sum(w.amount_minor), 0) <> o.total_minor",
            &[],
        )
        .await?
    {
        let (id, total, debited): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        found.push(format!(
            "I2: order {id} totals {total} but {debited} was debited for it"
        ));
    }
    Ok(())
}

/// I2: no order gives back more than was paid for it, and its own money account (what the
/// database bounds refunds by) agrees with the ledger and the applied payments.
async fn order_money(
    client: &Client,
    found: &mut Vec<String>,
) -> Result<(), tokio_postgres::Error> {
    for row in client
        .query(
            "SELECT o.id, o.paid_minor, o.refunded_minor,
                    coalesce((SELECT sum(w.amount_minor) FROM wallet_transactions w
                              WHERE w.order_id = o.id AND w.kind = 'debit'), 0)::bigint
                  + coalesce((SELECT sum(e.amount_minor) FROM payment_events e
                              WHERE e.order_id = o.id AND e.outcome = 'applied'
                                AND e.currency <> 'XTR'), 0)::bigint AS paid,
                    coalesce((SELECT sum(w.amount_minor) FROM wallet_transactions w
                              WHERE w.order_id = o.id AND w.kind = 'refund'), 0)::bigint AS refunded
             FROM orders o",
            &[],
        )
        .await?
    {
        let (id, paid_col, refunded_col, paid, refunded): (i64, i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        if refunded > paid {
            found.push(format!(
                "I2: order {id} was paid {paid} but {refunded} was refunded for it"
            ));
        }
        if (paid_col, refunded_col) != (paid, refunded) {
            found.push(format!(
                "I2: order {id} records paid {paid_col} and refunded {refunded_col}, its ledger says {paid} and {refunded}"
            ));
        }
    }
    Ok(())
}

/// I2/I4: an order paid externally or in Stars was paid exactly once, by an applied event
/// of its total (in Stars for a Stars order).
async fn external_payments(
    client: &Client,
    found: &mut Vec<String>,
) -> Result<(), tokio_postgres::Error> {
    for row in client
        .query(
            "SELECT o.id, coalesce(o.total_stars, o.total_minor),
                    (SELECT count(*) FROM payment_events e WHERE e.order_id = o.id AND e.outcome = 'applied'),
                    (SELECT coalesce(sum(e.amount_minor), 0)::bigint FROM payment_events e
                     WHERE e.order_id = o.id AND e.outcome = 'applied')
             FROM orders o
             WHERE o.payment IN ('external', 'stars') AND o.status NOT IN ('pending_payment', 'cancelled')",
            &[],
        )
        .await?
    {
        let (id, total, events, paid): (i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if events != 1 || paid != total {
            found.push(format!(
                "I2: order {id} paid later totals {total} but {events} applied payment events paid {paid}"
            ));
        }
    }
    Ok(())
}

/// P6: a promo's redemption count is its redemption rows, within its limit, and each
/// redeemed order names that code.
async fn promos(client: &Client, found: &mut Vec<String>) -> Result<(), tokio_postgres::Error> {
    for row in client
        .query(
            "SELECT p.code, p.redemptions::bigint, p.max_redemptions::bigint,
                    (SELECT count(*) FROM promo_redemptions r WHERE r.code = p.code),
                    (SELECT count(*) FROM promo_redemptions r JOIN orders o ON o.id = r.order_id
                     WHERE r.code = p.code AND o.promo_code IS DISTINCT FROM p.code)
             FROM promos p",
            &[],
        )
        .await?
    {
        let (code, counted, max, rows, mismatched): (String, i64, Option<i64>, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        if counted != rows || max.is_some_and(|m| rows > m) || mismatched > 0 {
            found.push(format!(
                "P6: promo {code} counts {counted} redemptions (limit {max:?}) but has {rows} redemption rows, {mismatched} on orders that name another code"
            ));
        }
    }
    Ok(())
}

/// I6: each history starts from nothing, follows the transition table and ends at the status.
async fn histories(client: &Client, found: &mut Vec<String>) -> Result<(), tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT o.id, o.status, array_agg(h.from_status ORDER BY h.id), array_agg(h.to_status ORDER BY h.id)
             FROM orders o LEFT JOIN order_status_history h ON h.order_id = o.id GROUP BY o.id",
            &[],
        )
        .await?;
    for row in rows {
        let id: i64 = row.get(0);
        let status: String = row.get(1);
        let from: Vec<Option<String>> = row.get(2);
        let to: Vec<Option<String>> = row.get(3);
        if let Some(problem) = history_problem(&status, &from, &to) {
            found.push(format!("I6: order {id}: {problem}"));
        }
    }
    Ok(())
}

/// E1: every order committed, and every move of its status, has its event in the outbox.
/// Checked over the last day (older events may have been pruned after delivery) and since
/// the outbox exists (orders of a shop upgraded from before it have none).
async fn events(client: &Client, found: &mut Vec<String>) -> Result<(), tokio_postgres::Error> {
    let rows = client
        .query(
            "WITH since AS (
                SELECT greatest(now() - interval '1 day',
                                (SELECT applied_at FROM schema_migrations WHERE name = '0010_events')) AS t
            )
            SELECT o.id, 'order.created', o.status FROM orders o, since
            WHERE o.created_at >= since.t
              AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream = 'order:' || o.id AND e.type = 'order.created')
            UNION ALL
            SELECT h.order_id, 'order.status_changed', h.to_status FROM order_status_history h, since
            WHERE h.from_status IS NOT NULL AND h.created_at >= since.t
              AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream = 'order:' || h.order_id
                                AND e.type = 'order.status_changed' AND e.data->>'to' = h.to_status)
            ORDER BY 1",
            &[],
        )
        .await?;
    for row in rows {
        let (id, kind, status): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
        found.push(format!(
            "E1: order {id} has no {kind} event (status {status}) in the outbox"
        ));
    }
    Ok(())
}

fn history_problem(status: &str, from: &[Option<String>], to: &[Option<String>]) -> Option<String> {
    let parse = |s: &str| OrderStatus::parse(s).ok_or_else(|| format!("unknown status {s}"));
    let mut current: Option<OrderStatus> = None;
    for (f, t) in from.iter().zip(to) {
        let Some(t) = t.as_deref() else {
            return Some("has no status history".into());
        };
        let next = match parse(t) {
            Ok(next) => next,
            Err(problem) => return Some(problem),
        };
        let stated_from = match f.as_deref().map(parse).transpose() {
            Ok(stated) => stated,
            Err(problem) => return Some(problem),
        };
        if stated_from != current {
            return Some(format!(
                "history says it left {stated_from:?} but it was {current:?}"
            ));
        }
        if let Some(c) = current {
            if !c.can_move_to(next) {
                return Some(format!(
                    "moved {} -> {}, which the transition table forbids",
                    c.as_str(),
                    next.as_str()
                ));
            }
        }
        current = Some(next);
    }
    match current {
        Some(last) if last.as_str() == status => None,
        _ => Some(format!(
            "status is {status} but its history ends at {current:?}"
        )),
    }
}

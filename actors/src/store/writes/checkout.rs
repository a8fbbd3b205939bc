//! The checkout's write: orders, lines, stock, movements, delivered codes, debits, ledger,
//! status history and carts in one statement, for one checkout or a whole batch's. Each
//! product's and each user's row is updated once per statement with the batch's sum, and
//! every other table gets one multi-row INSERT, so a batch of checkouts costs the same
//! handful of statements as one.

use super::ApplyError;
use super::Db;
use crate::domain::changes::{CheckoutWrite, Outcome};
use crate::domain::error::DomainError;
use crate::domain::ids::OrderId;
use crate::domain::model::Timestamp;
use crate::domain::model::{Order, OrderLine, ProductKind};
use crate::domain::money::Money;
use crate::domain::status::OrderStatus;
use std::collections::HashSet;
use tokio_postgres::types::ToSql;

/// `i` holds one row per checkout (`n` its position in the call, `id` its order's id,
/// drawn first so every other table can name it), `l` one row per order line.
const CHECKOUT_SQL: &str = "
WITH i AS (
    SELECT i.*, nextval('orders_id_seq') AS id,
           CASE WHEN i.due IS NULL THEN 'paid' ELSE 'pending_payment' END AS status
    FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                $8::bigint[], $9::jsonb[], $10::text[], $11::timestamptz[], $12::text[], $22::text[],
                $23::bigint[])
        WITH ORDINALITY AS i(user_id, currency, subtotal, discount, shipping, tax, total, tax_included,
                             address, promo, due, actor, payment, stars, n)
), l AS (
    SELECT l.*, i.id AS order_id, i.user_id
    FROM unnest($13::bigint[], $14::int[], $15::bigint[], $16::text[], $17::int[], $18::bigint[], $19::bool[])
        AS l(n, line_no, product_id, name, quantity, unit_price, physical)
    JOIN i USING (n)
), o AS (
    INSERT INTO orders (id, user_id, status, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor,
                        total_minor, payment, shipping_address, promo_code, tax_included_minor, payment_due_at, paid_minor,
                        total_stars)
    SELECT id, user_id, status, currency, subtotal, discount, shipping, tax, total,
           payment, address, promo, tax_included, due,
           CASE WHEN due IS NULL THEN total ELSE 0 END, stars
    FROM i
    RETURNING id, created_at, updated_at
), lines AS (
    INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price_minor)
    SELECT l.order_id, l.line_no, l.product_id, l.name, l.quantity, l.unit_price FROM l JOIN o ON o.id = l.order_id
), stock AS (
    UPDATE products p SET stock_on_hand = p.stock_on_hand - d.quantity, updated_at = now()
    FROM (SELECT product_id, sum(quantity)::bigint AS quantity FROM l WHERE physical GROUP BY product_id) d
    WHERE p.id = d.product_id AND p.kind = 'physical'
    RETURNING p.id
), moves AS (
    INSERT INTO stock_movements (product_id, delta, reason, order_id)
    SELECT product_id, -quantity, 'sale', order_id FROM l WHERE physical
), items AS (
    -- Keys of an order awaiting payment are held for it, and delivered once it is paid.
    UPDATE digital_items d SET order_id = i.id, delivered_at = CASE WHEN i.due IS NULL THEN now() END
    FROM unnest($20::bigint[], $21::bigint[]) AS x(item, n) JOIN i USING (n)
    WHERE d.id = x.item AND d.order_id IS NULL
    RETURNING x.n, d.product_id, d.id, d.code
), debit AS (
    UPDATE users u SET balance_minor = u.balance_minor - s.debit, cart_promo = NULL
    FROM (SELECT user_id, sum(CASE WHEN due IS NULL THEN total ELSE 0 END)::bigint AS debit FROM i GROUP BY user_id) s
    WHERE u.id = s.user_id
    RETURNING u.id
), promo AS (
    UPDATE promos p SET redemptions = p.redemptions + c.uses, updated_at = now()
    FROM (SELECT promo, count(*) AS uses FROM i WHERE promo IS NOT NULL GROUP BY promo) c
    WHERE p.code = c.promo
    RETURNING p.code
), redemption AS (
    INSERT INTO promo_redemptions (order_id, code, user_id)
    SELECT i.id, i.promo, i.user_id FROM i JOIN promo ON promo.code = i.promo
), ledger AS (
    INSERT INTO wallet_transactions (user_id, kind, amount_minor, order_id, reason)
    -- An order a promo made free debits nothing, so it has no ledger row (amounts are positive).
    SELECT i.user_id, 'debit', i.total, i.id, 'order' FROM i JOIN debit ON debit.id = i.user_id
    WHERE i.due IS NULL AND i.total > 0
), history AS (
    INSERT INTO order_status_history (order_id, from_status, to_status, actor, note)
    SELECT i.id, NULL, i.status, i.actor, i.payment || ' checkout' FROM i
), cart AS (
    DELETE FROM cart_items c USING l WHERE c.user_id = l.user_id AND c.product_id = l.product_id
)
SELECT i.n, o.id, o.created_at, o.updated_at,
       (SELECT count(*) FROM stock) AS stock_rows,
       (SELECT count(*) FROM debit) AS debit_rows,
       (SELECT count(*) FROM promo) AS promo_rows,
       coalesce((SELECT array_agg(product_id ORDER BY id) FROM items WHERE items.n = i.n), '{}') AS item_products,
       coalesce((SELECT array_agg(code ORDER BY id) FROM items WHERE items.n = i.n), '{}') AS item_codes
FROM i JOIN o USING (id)
ORDER BY i.n";

/// Writes every checkout of `checkouts` and answers their orders, in the same order. When
/// what the statement touched differs from what the actors decided (a product, user or
/// promo row missing, a key already taken), nothing of it may commit: the whole call is
/// refused as `checkout_consistency`, and a batch finds the culprit by applying its
/// checkouts one by one.
pub(super) async fn apply_all(
    tx: &Db,
    checkouts: &[&CheckoutWrite],
) -> Result<Vec<Outcome>, ApplyError> {
    let columns = Columns::of(checkouts);
    let stmt = tx.prepare_cached(CHECKOUT_SQL).await?;
    let rows = tx.query(&stmt, &columns.params()).await?;
    let written = rows
        .iter()
        .map(Written::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let adds_up = written.len() == checkouts.len()
        && written.iter().all(|w| {
            w.stock_rows == columns.physical_products
                && w.debit_rows == columns.users
                && w.promo_rows == columns.promos
        })
        && checkouts.iter().zip(&written).all(|(c, w)| {
            let items: usize = c.lines.iter().map(|l| l.items.len()).sum();
            w.item_codes.len() == items
        });
    if !adds_up {
        return Err(ApplyError::Job(DomainError::Rejected {
            constraint: "checkout_consistency".into(),
        }));
    }
    Ok(checkouts
        .iter()
        .zip(&written)
        .map(|(c, w)| Outcome::Order(Box::new(order_of(c, w))))
        .collect())
}

/// The statement's array parameters, one element per checkout (`$1`..`$12`, `$22`,
/// `$23`), per line (`$13`..`$19`) or per license key (`$20`, `$21`); `n` counts checkouts
/// from 1.
struct Columns<'a> {
    users_col: Vec<i64>,
    currencies: Vec<&'a str>,
    amounts: [Vec<i64>; 6],
    addresses: Vec<Option<serde_json::Value>>,
    promo_codes: Vec<Option<&'a str>>,
    dues: Vec<Option<Timestamp>>,
    actors: Vec<&'a str>,
    payments: Vec<&'static str>,
    stars: Vec<Option<i64>>,
    line_n: Vec<i64>,
    line_no: Vec<i32>,
    line_products: Vec<i64>,
    line_names: Vec<&'a str>,
    line_quantities: Vec<i32>,
    line_prices: Vec<i64>,
    line_physical: Vec<bool>,
    items: Vec<i64>,
    item_n: Vec<i64>,
    /// What the statement must report touching, for the consistency check.
    physical_products: i64,
    users: i64,
    promos: i64,
}

impl<'a> Columns<'a> {
    fn of(checkouts: &[&'a CheckoutWrite]) -> Columns<'a> {
        let mut c = Columns {
            users_col: Vec::with_capacity(checkouts.len()),
            currencies: Vec::with_capacity(checkouts.len()),
            amounts: Default::default(),
            addresses: Vec::with_capacity(checkouts.len()),
            promo_codes: Vec::with_capacity(checkouts.len()),
            dues: Vec::with_capacity(checkouts.len()),
            actors: Vec::with_capacity(checkouts.len()),
            payments: Vec::with_capacity(checkouts.len()),
            stars: Vec::with_capacity(checkouts.len()),
            line_n: Vec::new(),
            line_no: Vec::new(),
            line_products: Vec::new(),
            line_names: Vec::new(),
            line_quantities: Vec::new(),
            line_prices: Vec::new(),
            line_physical: Vec::new(),
            items: Vec::new(),
            item_n: Vec::new(),
            physical_products: 0,
            users: 0,
            promos: 0,
        };
        let mut physical = HashSet::new();
        let mut users = HashSet::new();
        let mut promos = HashSet::new();
        for (n, w) in (1i64..).zip(checkouts) {
            let t = &w.totals;
            c.users_col.push(w.user.get());
            users.insert(w.user);
            c.currencies.push(&w.currency);
            for (column, amount) in c.amounts.iter_mut().zip([
                t.subtotal_minor,
                t.discount_minor,
                t.shipping_minor,
                t.tax_minor,
                t.total_minor,
                t.tax_included_minor,
            ]) {
                column.push(amount.minor());
            }
            c.addresses.push(
                w.shipping_address
                    .as_ref()
                    .and_then(|a| serde_json::to_value(a).ok()),
            );
            c.promo_codes.push(w.promo.as_ref().map(|p| p.as_str()));
            promos.extend(w.promo.as_ref());
            c.dues.push(w.payment_due);
            c.actors.push(&w.actor);
            c.payments.push(w.payment.as_str());
            c.stars.push(w.total_stars);
            for (line_no, l) in (1i32..).zip(&w.lines) {
                c.line_n.push(n);
                c.line_no.push(line_no);
                c.line_products.push(l.product.get());
                c.line_names.push(&l.name);
                c.line_quantities.push(l.quantity.get() as i32);
                c.line_prices.push(l.unit_price.minor());
                let is_physical = l.kind == ProductKind::Physical;
                c.line_physical.push(is_physical);
                if is_physical {
                    physical.insert(l.product);
                }
                for item in &l.items {
                    c.items.push(*item);
                    c.item_n.push(n);
                }
            }
        }
        c.physical_products = physical.len() as i64;
        c.users = users.len() as i64;
        c.promos = promos.len() as i64;
        c
    }

    /// `$1`..`$23` of `CHECKOUT_SQL`, in order.
    fn params(&self) -> [&(dyn ToSql + Sync); 23] {
        let [subtotal, discount, shipping, tax, total, tax_included] = &self.amounts;
        [
            &self.users_col,
            &self.currencies,
            subtotal,
            discount,
            shipping,
            tax,
            total,
            tax_included,
            &self.addresses,
            &self.promo_codes,
            &self.dues,
            &self.actors,
            &self.line_n,
            &self.line_no,
            &self.line_products,
            &self.line_names,
            &self.line_quantities,
            &self.line_prices,
            &self.line_physical,
            &self.items,
            &self.item_n,
            &self.payments,
            &self.stars,
        ]
    }
}

/// What the statement reports back: the order's row and how many rows each part touched.
struct Written {
    id: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
    stock_rows: i64,
    debit_rows: i64,
    promo_rows: i64,
    item_products: Vec<i64>,
    item_codes: Vec<String>,
}

impl Written {
    fn from_row(row: &tokio_postgres::Row) -> Result<Written, tokio_postgres::Error> {
        Ok(Written {
            id: row.try_get("id")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            stock_rows: row.try_get("stock_rows")?,
            debit_rows: row.try_get("debit_rows")?,
            promo_rows: row.try_get("promo_rows")?,
            item_products: row.try_get("item_products")?,
            item_codes: row.try_get("item_codes")?,
        })
    }

    /// The codes delivered for one product's line, in the order they were taken.
    fn codes_of(&self, product: i64) -> Vec<String> {
        self.item_products
            .iter()
            .zip(&self.item_codes)
            .filter(|(p, _)| **p == product)
            .map(|(_, code)| code.clone())
            .collect()
    }
}

/// The order as committed, built from the write and what the statement reported.
fn order_of(c: &CheckoutWrite, written: &Written) -> Order {
    let lines = c
        .lines
        .iter()
        .map(|l| OrderLine {
            product_id: l.product,
            name: l.name.clone(),
            quantity: l.quantity.get(),
            unit_price_minor: l.unit_price,
            // Keys of an order awaiting payment are held, not delivered, until it is paid.
            delivered_items: (l.kind == ProductKind::Digital).then(|| match c.payment_due {
                Some(_) => Vec::new(),
                None => written.codes_of(l.product.get()),
            }),
        })
        .collect();
    let status = match c.payment_due {
        None => OrderStatus::Paid,
        Some(_) => OrderStatus::PendingPayment,
    };
    let t = &c.totals;
    Order {
        id: OrderId::from_db(written.id),
        user_id: c.user,
        status,
        payment: c.payment,
        total_stars: c.total_stars,
        payment_due_at: c.payment_due,
        lines,
        subtotal_minor: t.subtotal_minor,
        discount_minor: t.discount_minor,
        shipping_minor: t.shipping_minor,
        tax_minor: t.tax_minor,
        total_minor: t.total_minor,
        tax_included_minor: t.tax_included_minor,
        // A wallet order is paid by its own debit; an external one when its payment arrives.
        paid_minor: match c.payment_due {
            None => t.total_minor,
            Some(_) => Money::ZERO,
        },
        refunded_minor: Money::ZERO,
        currency: c.currency.clone(),
        promo_code: c.promo.clone(),
        shipping_address: c.shipping_address.clone(),
        created_at: written.created_at,
        updated_at: written.updated_at,
    }
}

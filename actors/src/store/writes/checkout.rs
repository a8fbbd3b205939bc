//! The checkout's write: order, lines, stock, movements, delivered codes, debit, ledger,
//! status history and cart in one statement, so a checkout costs one round trip in its batch.

use super::ApplyError;
use super::Db;
use crate::domain::changes::{CheckoutLine, CheckoutWrite, Outcome};
use crate::domain::error::DomainError;
use crate::domain::ids::OrderId;
use crate::domain::model::Timestamp;
use crate::domain::model::{Order, OrderLine, PaymentMethod, ProductKind};
use crate::domain::money::Money;
use crate::domain::status::OrderStatus;
use tokio_postgres::types::ToSql;

/// Order, lines, stock, delivered codes, debit, history and cart in one statement, so a
/// checkout costs one round trip inside its batch.
const CHECKOUT_SQL: &str = "
WITH o AS (
    INSERT INTO orders (user_id, status, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor,
                        payment, shipping_address, promo_code, tax_included_minor, payment_due_at, paid_minor)
    VALUES ($1, CASE WHEN $19::timestamptz IS NULL THEN 'paid' ELSE 'pending_payment' END, $2, $3, $4, $5, $6, $7,
            CASE WHEN $19::timestamptz IS NULL THEN 'wallet' ELSE 'external' END, $16, $17, $18, $19,
            CASE WHEN $19::timestamptz IS NULL THEN $7::bigint ELSE 0 END)
    RETURNING id, created_at, updated_at
), lines AS (
    INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price_minor)
    SELECT o.id, l.line_no, l.product_id, l.name, l.quantity, l.unit_price
    FROM o, unnest($8::bigint[], $9::text[], $10::int[], $11::bigint[])
         WITH ORDINALITY AS l(product_id, name, quantity, unit_price, line_no)
), stock AS (
    UPDATE products p SET stock_on_hand = p.stock_on_hand - d.quantity, updated_at = now()
    FROM unnest($12::bigint[], $13::bigint[]) AS d(id, quantity)
    WHERE p.id = d.id AND p.kind = 'physical'
    RETURNING p.id
), moves AS (
    INSERT INTO stock_movements (product_id, delta, reason, order_id)
    SELECT d.id, -d.quantity, 'sale', o.id FROM o, unnest($12::bigint[], $13::bigint[]) AS d(id, quantity)
), items AS (
    -- Keys of an order awaiting payment are held for it, and delivered once it is paid.
    UPDATE digital_items SET order_id = (SELECT id FROM o),
                             delivered_at = CASE WHEN $19::timestamptz IS NULL THEN now() END
    WHERE id = ANY($14::bigint[]) AND order_id IS NULL
    RETURNING product_id, id, code
), debit AS (
    UPDATE users SET balance_minor = balance_minor - CASE WHEN $19::timestamptz IS NULL THEN $7 ELSE 0 END,
                     cart_promo = NULL
    WHERE id = $1 RETURNING id
), promo AS (
    UPDATE promos SET redemptions = redemptions + 1, updated_at = now() WHERE code = $17 RETURNING code
), redemption AS (
    INSERT INTO promo_redemptions (order_id, code, user_id) SELECT o.id, promo.code, $1 FROM o, promo
), ledger AS (
    INSERT INTO wallet_transactions (user_id, kind, amount_minor, order_id, reason)
    SELECT debit.id, 'debit', $7, o.id, 'order' FROM debit, o WHERE $19::timestamptz IS NULL
), history AS (
    INSERT INTO order_status_history (order_id, from_status, to_status, actor, note)
    SELECT o.id, NULL, CASE WHEN $19::timestamptz IS NULL THEN 'paid' ELSE 'pending_payment' END, $15,
           CASE WHEN $19::timestamptz IS NULL THEN 'wallet checkout' ELSE 'external checkout' END FROM o
), cart AS (
    DELETE FROM cart_items WHERE user_id = $1 AND product_id = ANY($8::bigint[])
)
SELECT o.id, o.created_at, o.updated_at,
       (SELECT count(*) FROM stock) AS stock_rows,
       (SELECT count(*) FROM debit) AS debit_rows,
       (SELECT count(*) FROM promo) AS promo_rows,
       (SELECT coalesce(array_agg(product_id ORDER BY id), '{}') FROM items) AS item_products,
       (SELECT coalesce(array_agg(code ORDER BY id), '{}') FROM items) AS item_codes
FROM o";

pub(super) async fn apply(tx: &Db, c: &CheckoutWrite) -> Result<Outcome, ApplyError> {
    let columns = Columns::of(c);
    let stmt = tx.prepare_cached(CHECKOUT_SQL).await?;
    let row = tx.query_one(&stmt, &columns.params(c)).await?;
    let written = Written::from_row(&row)?;
    // The actors guarantee these; a mismatch means memory and database disagree, so the
    // write is refused rather than committed half-right.
    if written.stock_rows != columns.physical_ids.len() as i64
        || written.debit_rows != 1
        || written.item_codes.len() != columns.items.len()
        || written.promo_rows != i64::from(c.promo.is_some())
    {
        return Err(ApplyError::Job(DomainError::Rejected {
            constraint: "checkout_consistency".into(),
        }));
    }
    Ok(Outcome::Order(Box::new(order_of(c, &written))))
}

/// The statement's array and scalar parameters, computed once from the write.
struct Columns<'a> {
    user: i64,
    amounts: [i64; 6],
    ids: Vec<i64>,
    names: Vec<&'a str>,
    quantities: Vec<i32>,
    prices: Vec<i64>,
    physical_ids: Vec<i64>,
    physical_qty: Vec<i64>,
    items: Vec<i64>,
    address: Option<serde_json::Value>,
    promo: Option<&'a str>,
}

impl<'a> Columns<'a> {
    fn of(c: &'a CheckoutWrite) -> Columns<'a> {
        let physical: Vec<&CheckoutLine> = c
            .lines
            .iter()
            .filter(|l| l.kind == ProductKind::Physical)
            .collect();
        let t = &c.totals;
        Columns {
            user: c.user.get(),
            amounts: [
                t.subtotal_minor.minor(),
                t.discount_minor.minor(),
                t.shipping_minor.minor(),
                t.tax_minor.minor(),
                t.total_minor.minor(),
                t.tax_included_minor.minor(),
            ],
            ids: c.lines.iter().map(|l| l.product.get()).collect(),
            names: c.lines.iter().map(|l| l.name.as_str()).collect(),
            quantities: c.lines.iter().map(|l| l.quantity.get() as i32).collect(),
            prices: c.lines.iter().map(|l| l.unit_price.minor()).collect(),
            physical_ids: physical.iter().map(|l| l.product.get()).collect(),
            physical_qty: physical.iter().map(|l| l.quantity.get()).collect(),
            items: c
                .lines
                .iter()
                .flat_map(|l| l.items.iter().copied())
                .collect(),
            address: c
                .shipping_address
                .as_ref()
                .and_then(|a| serde_json::to_value(a).ok()),
            promo: c.promo.as_ref().map(|p| p.as_str()),
        }
    }

    /// `$1`..`$19` of `CHECKOUT_SQL`, in order.
    fn params<'b>(&'b self, c: &'b CheckoutWrite) -> [&'b (dyn ToSql + Sync); 19] {
        let [subtotal, discount, shipping, tax, total, tax_included] = &self.amounts;
        [
            &self.user,
            &c.currency,
            subtotal,
            discount,
            shipping,
            tax,
            total,
            &self.ids,
            &self.names,
            &self.quantities,
            &self.prices,
            &self.physical_ids,
            &self.physical_qty,
            &self.items,
            &c.actor,
            &self.address,
            &self.promo,
            tax_included,
            &c.payment_due,
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
    let (status, payment) = match c.payment_due {
        None => (OrderStatus::Paid, PaymentMethod::Wallet),
        Some(_) => (OrderStatus::PendingPayment, PaymentMethod::External),
    };
    let t = &c.totals;
    Order {
        id: OrderId::from_db(written.id),
        user_id: c.user,
        status,
        payment,
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

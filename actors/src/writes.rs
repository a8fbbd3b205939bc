//! Every change Souk makes to Postgres, as data. A `Write` is one unit of the group commit:
//! its statements, its idempotency record and its audit row commit together or not at all.
//! Each fact has one parameterized statement here; nothing is formatted into SQL.

use crate::address::ShippingAddress;
use crate::error::DomainError;
use crate::ids::{OrderId, ProductId, UserId};
use crate::model::{
    Order, OrderLine, ProductKind, RejectedCode, StockReport, WalletTransaction, WalletTxKind,
};
use crate::money::Money;
use crate::pricing::Totals;
use crate::quantity::Quantity;
use crate::status::OrderStatus;
use deadpool_postgres::Transaction;
use serde_json::Value;

/// Why a write could not be applied: the write's own fault (the batch goes on without it),
/// another write's fault (its error aborted the shared transaction), or the connection's
/// (the whole batch fails).
pub(crate) enum ApplyError {
    Job(DomainError),
    Aborted,
    Batch(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for ApplyError {
    fn from(e: tokio_postgres::Error) -> Self {
        // Class 22 (data exception), 23 (integrity) and P0 (raised by us) belong to one write.
        match e.code().map(|c| c.code()) {
            Some("25P02") => ApplyError::Aborted,
            Some(code)
                if code.starts_with("22") || code.starts_with("23") || code.starts_with("P0") =>
            {
                ApplyError::Job(DomainError::Rejected {
                    constraint: e
                        .as_db_error()
                        .and_then(|db| db.constraint().map(str::to_string))
                        .unwrap_or_else(|| code.to_string()),
                })
            }
            _ => ApplyError::Batch(e),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Write {
    pub op: WriteOp,
    pub idempotency: Option<IdempotencyDraft>,
    pub audit: Option<AuditEntry>,
}

impl Write {
    pub fn new(op: WriteOp) -> Write {
        Write {
            op,
            idempotency: None,
            audit: None,
        }
    }
}

/// The caller's Idempotency-Key, stored with the response in the effect's transaction.
#[derive(Debug, Clone)]
pub struct IdempotencyDraft {
    pub user: UserId,
    pub key: String,
    pub request_hash: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CheckoutLine {
    pub product: ProductId,
    pub name: String,
    pub kind: ProductKind,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub items: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct CheckoutWrite {
    pub user: UserId,
    pub currency: String,
    pub totals: Totals,
    pub lines: Vec<CheckoutLine>,
    pub actor: String,
    pub shipping_address: Option<ShippingAddress>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub active: Option<bool>,
    pub image_url: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub enum WriteOp {
    Checkout(Box<CheckoutWrite>),
    StockDelta {
        product: ProductId,
        delta: i64,
        available_after: i64,
    },
    AddCodes {
        product: ProductId,
        codes: Vec<(usize, String)>,
        rejected: Vec<RejectedCode>,
        available_before: i64,
    },
    CartSet {
        user: UserId,
        product: ProductId,
        quantity: Option<Quantity>,
    },
    CartClear {
        user: UserId,
    },
    WalletCredit {
        user: UserId,
        amount: Money,
        reason: String,
    },
    ProductUpdate {
        product: ProductId,
        patch: ProductPatch,
    },
    OrderStatus(crate::orders::StatusChange),
    Cancel(Box<crate::orders::Cancellation>),
    /// Only the idempotency record: the stored answer of a request that changed nothing.
    StoredResponse {
        status: u16,
        body: Value,
    },
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Order(Box<Order>),
    Stock {
        report: StockReport,
        new_items: Vec<i64>,
    },
    Credit(WalletTransaction),
    Done,
    /// Stock given back: (product, units, stock movement id) for each product.
    Restocked(Vec<(ProductId, i64, i64)>),
    Stored {
        status: u16,
        body: Value,
    },
}

impl Outcome {
    /// The response a replay of this request returns: status and JSON body.
    fn response(&self) -> (u16, Value) {
        let to_json = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
        match self {
            Outcome::Order(order) => (201, to_json(serde_json::to_value(order))),
            Outcome::Stock { report, .. } => (200, to_json(serde_json::to_value(report))),
            Outcome::Credit(tx) => (201, to_json(serde_json::to_value(tx))),
            Outcome::Done | Outcome::Restocked(_) => (204, Value::Null),
            Outcome::Stored { status, body } => (*status, body.clone()),
        }
    }
}

pub(crate) async fn apply(tx: &Transaction<'_>, write: &Write) -> Result<Outcome, ApplyError> {
    let outcome = match &write.op {
        WriteOp::Checkout(c) => checkout(tx, c).await?,
        WriteOp::StockDelta {
            product,
            delta,
            available_after,
        } => stock_delta(tx, *product, *delta, *available_after).await?,
        WriteOp::AddCodes {
            product,
            codes,
            rejected,
            available_before,
        } => add_codes(tx, *product, codes, rejected, *available_before).await?,
        WriteOp::CartSet {
            user,
            product,
            quantity,
        } => {
            match quantity {
                Some(q) => {
                    let sql = "INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
                               ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()";
                    let stmt = tx.prepare_cached(sql).await?;
                    tx.execute(&stmt, &[&user.get(), &product.get(), &(q.get() as i32)])
                        .await?;
                }
                None => {
                    let sql = "DELETE FROM cart_items WHERE user_id = $1 AND product_id = $2";
                    let stmt = tx.prepare_cached(sql).await?;
                    tx.execute(&stmt, &[&user.get(), &product.get()]).await?;
                }
            }
            Outcome::Done
        }
        WriteOp::CartClear { user } => {
            let stmt = tx
                .prepare_cached("DELETE FROM cart_items WHERE user_id = $1")
                .await?;
            tx.execute(&stmt, &[&user.get()]).await?;
            Outcome::Done
        }
        WriteOp::WalletCredit {
            user,
            amount,
            reason,
        } => credit(tx, *user, *amount, reason).await?,
        WriteOp::ProductUpdate { product, patch } => product_update(tx, *product, patch).await?,
        WriteOp::OrderStatus(change) => crate::orders::apply_status(tx, change).await?,
        WriteOp::Cancel(cancellation) => crate::orders::apply_cancel(tx, cancellation).await?,
        WriteOp::StoredResponse { status, body } => Outcome::Stored {
            status: *status,
            body: body.clone(),
        },
    };
    if let Some(idem) = &write.idempotency {
        let (status, body) = outcome.response();
        // A key older than the 24 h replay window may be used afresh; a live one may not
        // (that would be a second effect for one key), so the write is refused instead.
        let sql = "INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
                       status_code = EXCLUDED.status_code, response = EXCLUDED.response, created_at = now()
                   WHERE idempotency_keys.created_at <= now() - interval '24 hours'";
        let stmt = tx.prepare_cached(sql).await?;
        let stored = tx
            .execute(
                &stmt,
                &[
                    &idem.user.get(),
                    &idem.key,
                    &idem.request_hash,
                    &(status as i16),
                    &body,
                ],
            )
            .await?;
        if stored != 1 {
            return Err(ApplyError::Job(DomainError::KeyTaken));
        }
    }
    if let Some(audit) = &write.audit {
        let sql = "INSERT INTO audit_log (actor, action, target, before, after, request_id)
                   VALUES ($1, $2, $3, $4, $5, $6)";
        let stmt = tx.prepare_cached(sql).await?;
        tx.execute(
            &stmt,
            &[
                &audit.actor,
                &audit.action,
                &audit.target,
                &audit.before,
                &audit.after,
                &audit.request_id,
            ],
        )
        .await?;
    }
    Ok(outcome)
}

/// Order, lines, stock, delivered codes, debit, history and cart in one statement, so a
/// checkout costs one round trip inside its batch.
const CHECKOUT_SQL: &str = "
WITH o AS (
    INSERT INTO orders (user_id, status, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor, payment, shipping_address)
    VALUES ($1, 'paid', $2, $3, $4, $5, $6, $7, 'wallet', $16)
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
    UPDATE digital_items SET order_id = (SELECT id FROM o), delivered_at = now()
    WHERE id = ANY($14::bigint[]) AND order_id IS NULL
    RETURNING product_id, id, code
), debit AS (
    UPDATE users SET balance_minor = balance_minor - $7 WHERE id = $1 RETURNING id
), ledger AS (
    INSERT INTO wallet_transactions (user_id, kind, amount_minor, order_id, reason)
    SELECT debit.id, 'debit', $7, o.id, 'order' FROM debit, o
), history AS (
    INSERT INTO order_status_history (order_id, from_status, to_status, actor, note)
    SELECT o.id, NULL, 'paid', $15, 'wallet checkout' FROM o
), cart AS (
    DELETE FROM cart_items WHERE user_id = $1 AND product_id = ANY($8::bigint[])
)
SELECT o.id, o.created_at, o.updated_at,
       (SELECT count(*) FROM stock) AS stock_rows,
       (SELECT count(*) FROM debit) AS debit_rows,
       (SELECT coalesce(array_agg(product_id ORDER BY id), '{}') FROM items) AS item_products,
       (SELECT coalesce(array_agg(code ORDER BY id), '{}') FROM items) AS item_codes
FROM o";

async fn checkout(tx: &Transaction<'_>, c: &CheckoutWrite) -> Result<Outcome, ApplyError> {
    let ids: Vec<i64> = c.lines.iter().map(|l| l.product.get()).collect();
    let names: Vec<&str> = c.lines.iter().map(|l| l.name.as_str()).collect();
    let quantities: Vec<i32> = c.lines.iter().map(|l| l.quantity.get() as i32).collect();
    let prices: Vec<i64> = c.lines.iter().map(|l| l.unit_price.minor()).collect();
    let physical: Vec<&CheckoutLine> = c
        .lines
        .iter()
        .filter(|l| l.kind == ProductKind::Physical)
        .collect();
    let physical_ids: Vec<i64> = physical.iter().map(|l| l.product.get()).collect();
    let physical_qty: Vec<i64> = physical.iter().map(|l| l.quantity.get()).collect();
    let items: Vec<i64> = c
        .lines
        .iter()
        .flat_map(|l| l.items.iter().copied())
        .collect();
    let t = &c.totals;
    let address = c
        .shipping_address
        .as_ref()
        .and_then(|a| serde_json::to_value(a).ok());
    let stmt = tx.prepare_cached(CHECKOUT_SQL).await?;
    let row = tx
        .query_one(
            &stmt,
            &[
                &c.user.get(),
                &c.currency,
                &t.subtotal_minor.minor(),
                &t.discount_minor.minor(),
                &t.shipping_minor.minor(),
                &t.tax_minor.minor(),
                &t.total_minor.minor(),
                &ids,
                &names,
                &quantities,
                &prices,
                &physical_ids,
                &physical_qty,
                &items,
                &c.actor,
                &address,
            ],
        )
        .await?;
    let stock_rows: i64 = row.try_get("stock_rows")?;
    let debit_rows: i64 = row.try_get("debit_rows")?;
    let item_products: Vec<i64> = row.try_get("item_products")?;
    let item_codes: Vec<String> = row.try_get("item_codes")?;
    // The actors guarantee these; a mismatch means memory and database disagree, so the
    // write is refused rather than committed half-right.
    if stock_rows != physical_ids.len() as i64 || debit_rows != 1 || item_codes.len() != items.len()
    {
        return Err(ApplyError::Job(DomainError::Rejected {
            constraint: "checkout_consistency".into(),
        }));
    }
    let lines = c
        .lines
        .iter()
        .map(|l| OrderLine {
            product_id: l.product,
            name: l.name.clone(),
            quantity: l.quantity.get(),
            unit_price_minor: l.unit_price,
            delivered_items: (l.kind == ProductKind::Digital).then(|| {
                item_products
                    .iter()
                    .zip(&item_codes)
                    .filter(|(p, _)| **p == l.product.get())
                    .map(|(_, code)| code.clone())
                    .collect()
            }),
        })
        .collect();
    Ok(Outcome::Order(Box::new(Order {
        id: OrderId::from_db(row.try_get("id")?),
        user_id: c.user,
        status: OrderStatus::Paid,
        lines,
        subtotal_minor: t.subtotal_minor,
        discount_minor: t.discount_minor,
        shipping_minor: t.shipping_minor,
        tax_minor: t.tax_minor,
        total_minor: t.total_minor,
        currency: c.currency.clone(),
        shipping_address: c.shipping_address.clone(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })))
}

async fn stock_delta(
    tx: &Transaction<'_>,
    product: ProductId,
    delta: i64,
    available_after: i64,
) -> Result<Outcome, ApplyError> {
    let sql = "WITH p AS (
                   UPDATE products SET stock_on_hand = stock_on_hand + $2, updated_at = now()
                   WHERE id = $1 AND kind = 'physical' RETURNING id
               ), m AS (
                   INSERT INTO stock_movements (product_id, delta, reason) SELECT id, $2, 'adjustment' FROM p
               )
               SELECT count(*) FROM p";
    let stmt = tx.prepare_cached(sql).await?;
    let updated: i64 = tx
        .query_one(&stmt, &[&product.get(), &delta])
        .await?
        .try_get(0)?;
    if updated != 1 {
        return Err(ApplyError::Job(DomainError::not_found_product(product)));
    }
    Ok(Outcome::Stock {
        report: StockReport {
            accepted: delta,
            rejected: Vec::new(),
            stock_available: available_after,
        },
        new_items: Vec::new(),
    })
}

async fn add_codes(
    tx: &Transaction<'_>,
    product: ProductId,
    codes: &[(usize, String)],
    rejected: &[RejectedCode],
    available_before: i64,
) -> Result<Outcome, ApplyError> {
    let texts: Vec<&str> = codes.iter().map(|(_, c)| c.as_str()).collect();
    let sql =
        "INSERT INTO digital_items (product_id, code) SELECT $1, c FROM unnest($2::text[]) AS c
               ON CONFLICT (code) DO NOTHING RETURNING id, code";
    let stmt = tx.prepare_cached(sql).await?;
    let rows = tx.query(&stmt, &[&product.get(), &texts]).await?;
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    let mut new_items = Vec::with_capacity(rows.len());
    for row in &rows {
        new_items.push(row.try_get::<_, i64>(0)?);
        inserted.insert(row.try_get::<_, String>(1)?);
    }
    let mut rejected = rejected.to_vec();
    rejected.extend(
        codes
            .iter()
            .filter(|(_, code)| !inserted.contains(code))
            .map(|(i, _)| RejectedCode {
                code_index: *i,
                reason: "duplicate",
            }),
    );
    rejected.sort_by_key(|r| r.code_index);
    let accepted = new_items.len() as i64;
    Ok(Outcome::Stock {
        report: StockReport {
            accepted,
            rejected,
            stock_available: available_before + accepted,
        },
        new_items,
    })
}

async fn credit(
    tx: &Transaction<'_>,
    user: UserId,
    amount: Money,
    reason: &str,
) -> Result<Outcome, ApplyError> {
    let sql =
        "WITH u AS (UPDATE users SET balance_minor = balance_minor + $2 WHERE id = $1 RETURNING id)
               INSERT INTO wallet_transactions (user_id, kind, amount_minor, reason)
               SELECT id, 'credit', $2, $3 FROM u
               RETURNING id, created_at";
    let stmt = tx.prepare_cached(sql).await?;
    let row = tx
        .query_opt(&stmt, &[&user.get(), &amount.minor(), &reason])
        .await?
        .ok_or(ApplyError::Job(DomainError::not_found_user(user)))?;
    Ok(Outcome::Credit(WalletTransaction {
        id: row.try_get(0)?,
        kind: WalletTxKind::Credit,
        amount_minor: amount,
        order_id: None,
        reason: reason.to_string(),
        created_at: row.try_get(1)?,
    }))
}

async fn product_update(
    tx: &Transaction<'_>,
    product: ProductId,
    patch: &ProductPatch,
) -> Result<Outcome, ApplyError> {
    let sql = "UPDATE products SET
                   name = coalesce($2, name),
                   description = coalesce($3, description),
                   price_minor = coalesce($4, price_minor),
                   active = coalesce($5, active),
                   image_url = CASE WHEN $6 THEN $7 ELSE image_url END,
                   updated_at = now()
               WHERE id = $1";
    let stmt = tx.prepare_cached(sql).await?;
    let image_set = patch.image_url.is_some();
    let image = patch.image_url.clone().flatten();
    let n = tx
        .execute(
            &stmt,
            &[
                &product.get(),
                &patch.name,
                &patch.description,
                &patch.price.map(Money::minor),
                &patch.active,
                &image_set,
                &image,
            ],
        )
        .await?;
    if n != 1 {
        return Err(ApplyError::Job(DomainError::not_found_product(product)));
    }
    Ok(Outcome::Done)
}

//! Every change Souk makes to Postgres, as data. A `Write` is one unit of the group commit:
//! its statements, its idempotency record and its audit row commit together or not at all.
//! Each fact has one parameterized statement here; nothing is formatted into SQL.

mod catalog;
mod checkout;
pub(crate) mod promos;

use crate::domain::address::ShippingAddress;
use crate::domain::error::DomainError;
use crate::domain::ids::{ProductId, UserId};
use crate::domain::model::{Order, ProductKind, RejectedCode, StockReport, WalletTransaction};
use crate::domain::money::Money;
use crate::domain::pricing::Totals;
use crate::domain::quantity::Quantity;
use serde_json::Value;

/// The connection a write runs on, inside a transaction its caller began (see [`OpenTx`]).
pub(crate) type Db = deadpool_postgres::ClientWrapper;

/// A pooled connection inside a transaction begun with `BEGIN` by hand, so BEGIN can travel
/// in one flight with the statements that follow it instead of costing a round trip of
/// its own. Dropped before [`OpenTx::finish`] (its future was cancelled, e.g. by a
/// timeout), the connection is closed rather than returned to the pool, and Postgres rolls
/// the transaction back: a pool never hands out a connection inside a transaction.
pub(crate) struct OpenTx {
    client: Option<deadpool_postgres::Object>,
}

impl OpenTx {
    pub(crate) fn new(client: deadpool_postgres::Object) -> OpenTx {
        OpenTx {
            client: Some(client),
        }
    }

    /// The connection; `None` only after `finish`.
    pub(crate) fn db(&self) -> Option<&Db> {
        self.client.as_deref()
    }

    /// Ends the transaction with COMMIT or ROLLBACK and gives the connection back to the
    /// pool; if that statement fails, the connection is closed instead.
    pub(crate) async fn finish(mut self, commit: bool) -> Result<(), tokio_postgres::Error> {
        let Some(client) = self.client.as_deref() else {
            return Ok(());
        };
        let result = client
            .batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })
            .await;
        if result.is_ok() {
            // Back to the pool: the transaction is over.
            drop(self.client.take());
        }
        result
    }
}

impl Drop for OpenTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

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
            // Class 42 is a statement Postgres cannot run: a bug in that one write, which
            // must not fail the writes batched with it.
            Some(code) if code.starts_with("42") => {
                let detail = e
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |db| db.message().to_string());
                tracing::error!(code, %detail, "a write's statement is invalid");
                ApplyError::Job(DomainError::Internal(format!("invalid statement ({code})")))
            }
            Some(code) if code.starts_with("22") => {
                ApplyError::Job(DomainError::data_exception(code))
            }
            Some(code) if code.starts_with("23") || code.starts_with("P0") => {
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
    /// The code whose claim this checkout holds; its redemption commits with the order.
    pub promo: Option<crate::entity::promo::PromoCode>,
    /// Set for an external payment: the order waits for it until then, holding its stock.
    pub payment_due: Option<crate::domain::model::Timestamp>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub active: Option<bool>,
    pub image_url: Option<Option<String>>,
    /// `Some(None)` takes the product out of its group.
    pub group_id: Option<Option<i64>>,
    pub options: Option<crate::domain::model::VariantOptions>,
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
    OrderStatus(crate::flows::orders::StatusChange),
    Cancel(Box<crate::flows::orders::Cancellation>),
    Refund(Box<crate::flows::refunds::RefundWrite>),
    Payment(Box<crate::flows::payments::PaymentWrite>),
    Return(Box<crate::flows::returns::ReturnWrite>),
    PromoCreate {
        code: crate::entity::promo::PromoCode,
        rules: crate::entity::promo::PromoRules,
    },
    PromoUpdate {
        code: crate::entity::promo::PromoCode,
        rules: crate::entity::promo::PromoRules,
    },
    CartPromo {
        user: UserId,
        code: Option<crate::entity::promo::PromoCode>,
    },
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
    Promo(Box<crate::entity::promo::Promo>),
    /// The id of a row the write created.
    Id(i64),
    Done,
    /// Stock given back: (product, units, stock movement id) for each product.
    Restocked(Vec<(ProductId, i64, i64)>),
    /// An order cancelled: the stock it gave back, and the promo redemption it gave back.
    Cancelled {
        restocked: Vec<(ProductId, i64, i64)>,
        promo: Option<crate::entity::promo::RedemptionReleased>,
    },
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
            Outcome::Promo(promo) => (200, to_json(serde_json::to_value(promo))),
            Outcome::Id(id) => (201, Value::from(*id)),
            Outcome::Done | Outcome::Restocked(_) | Outcome::Cancelled { .. } => (204, Value::Null),
            Outcome::Stored { status, body } => (*status, body.clone()),
        }
    }
}

pub(crate) async fn apply(tx: &Db, write: &Write) -> Result<Outcome, ApplyError> {
    let outcome = match &write.op {
        WriteOp::Checkout(c) => checkout::apply(tx, c).await?,
        WriteOp::StockDelta {
            product,
            delta,
            available_after,
        } => catalog::stock_delta(tx, *product, *delta, *available_after).await?,
        WriteOp::AddCodes {
            product,
            codes,
            rejected,
            available_before,
        } => catalog::add_codes(tx, *product, codes, rejected, *available_before).await?,
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
        } => catalog::credit(tx, *user, *amount, reason).await?,
        WriteOp::ProductUpdate { product, patch } => {
            catalog::product_update(tx, *product, patch).await?
        }
        WriteOp::OrderStatus(change) => crate::flows::orders::apply_status(tx, change).await?,
        WriteOp::Cancel(cancellation) => {
            crate::flows::orders::apply_cancel(tx, cancellation).await?
        }
        WriteOp::Refund(refund) => crate::flows::refunds::apply(tx, refund).await?,
        WriteOp::Payment(payment) => crate::flows::payments::apply(tx, payment).await?,
        WriteOp::Return(r) => crate::flows::returns::apply(tx, r).await?,
        WriteOp::PromoCreate { code, rules } => promos::save(tx, code, rules, true).await?,
        WriteOp::PromoUpdate { code, rules } => promos::save(tx, code, rules, false).await?,
        WriteOp::CartPromo { user, code } => promos::cart_promo(tx, *user, code.as_ref()).await?,
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

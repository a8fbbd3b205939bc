//! Every change Souk makes, as data: a `Write` is one unit of the group commit (its change,
//! its idempotency record and its audit row commit together or not at all), and an
//! `Outcome` is what the committed change produced. The store applies them; nothing here
//! knows SQL.

use crate::domain::address::ShippingAddress;
use crate::domain::idempotency::StoredAnswer;
use crate::domain::ids::{OrderId, ProductId, UserId};
use crate::domain::model::{Order, ProductKind, RejectedCode, StockReport, WalletTransaction};
use crate::domain::money::Money;
use crate::domain::pricing::Totals;
use crate::domain::promo::RedemptionRelease;
use crate::domain::quantity::Quantity;
use crate::domain::shards::{EntityKey, Fence};
use crate::domain::status::StatusChange;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Write {
    pub op: WriteOp,
    pub idempotency: Option<IdempotencyDraft>,
    pub audit: Option<AuditEntry>,
    /// Tokens the write's flow got from the owners it asked (a checkout's products and
    /// promo code, possibly on other nodes), each for the shard it was decided under.
    /// The group commit takes every other owner's token from this node's own shards.
    pub fences: Vec<Fence>,
}

impl Write {
    pub fn new(op: WriteOp) -> Write {
        Write {
            op,
            idempotency: None,
            audit: None,
            fences: Vec::new(),
        }
    }

    /// The owners whose in-memory state this write changes or was decided on. In a cluster
    /// it commits only while their shards' tokens are still the ones this node holds.
    /// Order moves that are conditional in the database on the status they were read in
    /// (staff status moves, return decisions) and bare stored answers need no owner.
    pub fn owners(&self) -> Vec<EntityKey> {
        use crate::domain::returns::ReturnWrite;
        match &self.op {
            WriteOp::Checkout(c) => std::iter::once(EntityKey::User(c.user))
                .chain(c.lines.iter().map(|l| EntityKey::Product(l.product)))
                .chain(c.promo.iter().cloned().map(EntityKey::Promo))
                .collect(),
            WriteOp::StockDelta { product, .. }
            | WriteOp::AddCodes { product, .. }
            | WriteOp::ProductUpdate { product, .. } => vec![EntityKey::Product(*product)],
            WriteOp::CartSet { user, .. }
            | WriteOp::CartClear { user }
            | WriteOp::CartPromo { user, .. }
            | WriteOp::WalletCredit { user, .. } => vec![EntityKey::User(*user)],
            WriteOp::Cancel(c) => vec![EntityKey::User(c.user)],
            WriteOp::Refund(r) => vec![EntityKey::User(r.user)],
            WriteOp::Payment(p) => p.user.into_iter().map(EntityKey::User).collect(),
            WriteOp::Return(r) => match r.as_ref() {
                ReturnWrite::Request { user, .. } => vec![EntityKey::User(*user)],
                ReturnWrite::Decide { .. } | ReturnWrite::Receive { .. } => Vec::new(),
            },
            WriteOp::PromoCreate { code, .. } | WriteOp::PromoUpdate { code, .. } => {
                vec![EntityKey::Promo(code.clone())]
            }
            WriteOp::OrderStatus(_) | WriteOp::StarsRefunded { .. } | WriteOp::StoredAnswer(_) => {
                Vec::new()
            }
        }
    }
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
    /// The product's available units after this sale, as its owner decided it; `None`
    /// when unknown (then the sale tells no `stock.low`).
    pub available_after: Option<i64>,
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
    pub promo: Option<crate::domain::ids::PromoCode>,
    pub payment: crate::domain::model::PaymentMethod,
    /// What the order costs in Stars, for an order paid in Stars.
    pub total_stars: Option<i64>,
    /// Set for a payment that comes later (external or Stars): the order waits for it
    /// until then, holding its stock.
    pub payment_due: Option<crate::domain::model::Timestamp>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    /// `Some(None)` takes its Stars price away.
    pub price_stars: Option<Option<crate::domain::stars::Stars>>,
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
    OrderStatus(crate::domain::status::StatusChange),
    Cancel(Box<crate::domain::changes::Cancellation>),
    Refund(Box<crate::domain::changes::RefundWrite>),
    /// Telegram refunded an order paid in Stars: its refund's row becomes `done` and the
    /// order `refunded`, together.
    StarsRefunded {
        change: crate::domain::status::StatusChange,
        stars: i64,
    },
    Payment(Box<crate::domain::payment::PaymentWrite>),
    Return(Box<crate::domain::returns::ReturnWrite>),
    PromoCreate {
        code: crate::domain::ids::PromoCode,
        rules: crate::domain::promo::PromoRules,
    },
    PromoUpdate {
        code: crate::domain::ids::PromoCode,
        rules: crate::domain::promo::PromoRules,
    },
    CartPromo {
        user: UserId,
        code: Option<crate::domain::ids::PromoCode>,
    },
    /// Only the idempotency record: the stored answer of a request that changed nothing.
    StoredAnswer(StoredAnswer),
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Order(Box<Order>),
    Stock {
        report: StockReport,
        new_items: Vec<i64>,
    },
    Credit(WalletTransaction),
    Promo(Box<crate::domain::promo::Promo>),
    /// The id of a row the write created.
    Id(i64),
    Done,
    /// Stock given back: (product, units, stock movement id) for each product.
    Restocked(Vec<(ProductId, i64, i64)>),
    /// An order cancelled: the stock it gave back, and the promo redemption it gave back.
    Cancelled {
        restocked: Vec<(ProductId, i64, i64)>,
        promo: Option<RedemptionRelease>,
    },
    /// The answer a `WriteOp::StoredAnswer` recorded.
    Stored(StoredAnswer),
}

/// Written alongside a change: the caller's idempotency record and the audit row.
#[derive(Debug, Clone, Default)]
pub struct WriteMeta {
    pub idempotency: Option<IdempotencyDraft>,
    pub audit: Option<AuditEntry>,
}

impl WriteMeta {
    pub fn write(self, op: WriteOp) -> Write {
        Write {
            op,
            idempotency: self.idempotency,
            audit: self.audit,
            fences: Vec::new(),
        }
    }
}

/// A cancellation: the status change plus what goes back.
#[derive(Debug, Clone)]
pub struct Cancellation {
    pub change: StatusChange,
    pub user: UserId,
    pub refund: Money,
    /// Physical lines only: delivered license keys stay delivered.
    pub restock: Vec<(ProductId, i64)>,
}

#[derive(Debug, Clone)]
pub struct RefundWrite {
    pub user: UserId,
    pub order: OrderId,
    pub amount: Money,
    pub reason: String,
    /// Set when this refund completes the order's: it moves to `refunded`.
    pub completes: Option<StatusChange>,
}

/// How the boundary turns a committed outcome into the answer stored under its key; the
/// group commit calls it inside the effect's transaction.
pub type AnswerOf = fn(&Outcome) -> StoredAnswer;

/// The caller's Idempotency-Key, stored with its answer in the effect's transaction.
#[derive(Debug, Clone)]
pub struct IdempotencyDraft {
    pub user: UserId,
    pub key: String,
    pub request_hash: Vec<u8>,
    pub answer: AnswerOf,
}

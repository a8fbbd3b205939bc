//! Returns and exchanges of delivered physical goods. The order's owner (the user's actor)
//! runs every step, so a return is serialized with that user's cancellations, refunds and
//! payments. An exchange names another SKU of the same group: its stock is reserved from
//! its owner and taken in the request's own transaction, so it can never be promised twice;
//! a rejected return gives it back. Returned units go back on the shelf when received.

use crate::domain::msg::Msg;
use crate::domain::returns::Return;
use crate::domain::returns::ReturnStatus;
use crate::domain::returns::ReturnWrite;
use crate::domain::returns::{self, ReturnLine};
use crate::store::returns::get;

use crate::domain::changes::Outcome;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{OrderId, ProductId, ReservationId, UserId};
use crate::domain::model::ProductKind;
use crate::domain::quantity::Quantity;
use crate::domain::status::OrderStatus;
use crate::domain::status::StatusChange;
use crate::entity::product::{Commit, Release, Reserve};
use crate::entity::registry::Registry;
use crate::entity::user::UserActor;
use crate::flows::orders::announce_restock;
use crate::store::group_commit::persist;
use crate::store::returns::{delivered_at, returned_so_far};
use crate::store::ShowItems;
use actix::prelude::*;
use deadpool_postgres::Pool;
use std::sync::Arc;

/// A customer's return of some units of a delivered order, each line optionally exchanged
/// for a sibling SKU.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Return>")]
pub struct RequestReturn {
    pub order: OrderId,
    pub lines: Vec<(ProductId, Quantity, Option<ProductId>)>,
    pub reason: String,
    pub actor: String,
    pub meta: WriteMeta,
}

/// Staff's answer to a requested return (`approve`), or receipt of an approved one.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Return>")]
pub struct ReturnStep {
    pub id: i64,
    pub step: Step,
    pub note: Option<String>,
    pub actor: String,
    pub meta: WriteMeta,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Approve,
    Reject,
    Receive,
}

struct Held {
    product: ProductId,
    rid: ReservationId,
}

impl Handler<RequestReturn> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<Return>>;

    fn handle(&mut self, msg: RequestReturn, _: &mut Context<Self>) -> Self::Result {
        let (user, registry) = (self.id, self.registry.clone());
        let work = async move {
            let write = plan_request(&registry, user, &msg).await?;
            let held = reserve_exchanges(&registry, &write).await?;
            let result = persist(
                &registry.deps.persistence,
                msg.meta.write(WriteOp::Return(Box::new(write))),
            )
            .await;
            for h in &held {
                let settled = match &result {
                    Ok(_) => {
                        registry
                            .product(
                                h.product,
                                Commit {
                                    rid: h.rid,
                                    at: None,
                                },
                            )
                            .await
                    }
                    Err(_) => registry.product(h.product, Release(h.rid)).await,
                };
                if let Err(e) = settled {
                    tracing::error!(product = %h.product, error = %e, "exchange reservation not settled; it will expire");
                }
                registry.catalog.changed(h.product);
            }
            match result? {
                Outcome::Id(id) => get(&registry.deps.pool, id).await,
                other => Err(DomainError::Internal(format!(
                    "unexpected outcome {other:?}"
                ))),
            }
        };
        self.serially(work, |_, done| Ok(done))
    }
}

/// Checks the request against the order as committed and turns it into its write.
async fn plan_request(
    registry: &Arc<Registry>,
    user: UserId,
    msg: &RequestReturn,
) -> DomainResult<ReturnWrite> {
    let pool = &registry.deps.pool;
    let order = crate::store::get_order(pool, msg.order, Some(user), ShowItems::No).await?;
    if order.status != OrderStatus::Delivered {
        return Err(crate::flows::orders::refused(
            order.status,
            OrderStatus::ReturnRequested,
        ));
    }
    let delivered = delivered_at(pool, msg.order).await?;
    let window = chrono::Duration::from_std(registry.deps.config.return_window)
        .map_err(|_| DomainError::Internal("return window out of range".into()))?;
    returns::check_window(delivered, window, chrono::Utc::now())?;
    if msg.lines.is_empty() || msg.lines.len() > 100 {
        return Err(DomainError::invalid(
            "lines",
            Msg::new("error-return-lines-count").arg("max", 100),
        ));
    }
    let already = returned_so_far(pool, msg.order).await?;
    let mut lines = Vec::with_capacity(msg.lines.len());
    for (product, quantity, exchange) in &msg.lines {
        let line = returns::requested_line(&order, &already, &lines, *product, quantity.get())?;
        if let Some(other) = exchange {
            check_sibling(pool, *product, *other).await?;
        }
        lines.push(ReturnLine {
            exchange_product_id: *exchange,
            ..line
        });
    }
    let kinds =
        crate::store::product_kinds(pool, lines.iter().map(|l| l.product_id).collect()).await?;
    if lines
        .iter()
        .any(|l| kinds.get(&l.product_id) != Some(&ProductKind::Physical))
    {
        return Err(DomainError::invalid(
            "lines.product_id",
            Msg::new("error-return-physical-only"),
        ));
    }
    Ok(ReturnWrite::Request {
        order: StatusChange {
            order: msg.order,
            from: order.status,
            to: OrderStatus::ReturnRequested,
            actor: msg.actor.clone(),
            note: Some(msg.reason.clone()),
        },
        user,
        reason: msg.reason.clone(),
        lines,
    })
}

/// The audit's defect: an exchange for a SKU of another article, or for nothing in stock.
async fn check_sibling(pool: &Pool, product: ProductId, other: ProductId) -> DomainResult<()> {
    match crate::store::exchange_sibling(pool, product, other).await? {
        Some(true) => Ok(()),
        Some(false) => Err(DomainError::ProductInactive(other)),
        None => Err(DomainError::invalid(
            "lines.exchange_product_id",
            Msg::new("error-return-exchange-not-variant")
                .arg("other", other.get())
                .arg("product", product.get()),
        )),
    }
}

async fn reserve_exchanges(
    registry: &Arc<Registry>,
    write: &ReturnWrite,
) -> DomainResult<Vec<Held>> {
    let ReturnWrite::Request { lines, .. } = write else {
        return Ok(Vec::new());
    };
    let mut held = Vec::new();
    for line in lines {
        let Some(other) = line.exchange_product_id else {
            continue;
        };
        let quantity = Quantity::new(line.quantity)
            .ok_or_else(|| DomainError::Internal("return quantity out of range".into()))?;
        let rid = ReservationId::next();
        // An exchange is already paid for: no unpaid share bounds it.
        let reserve = Reserve {
            rid,
            quantity,
            unpaid: None,
        };
        match registry.product(other, reserve).await {
            Ok(_) => held.push(Held {
                product: other,
                rid,
            }),
            Err(e) => {
                for h in &held {
                    let _ = registry.product(h.product, Release(h.rid)).await;
                }
                return Err(e);
            }
        }
    }
    Ok(held)
}

impl Handler<ReturnStep> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<Return>>;

    fn handle(&mut self, msg: ReturnStep, _: &mut Context<Self>) -> Self::Result {
        let (user, registry) = (self.id, self.registry.clone());
        let work = async move {
            let pool = &registry.deps.pool;
            let current = get(pool, msg.id).await?;
            if current.user_id != user {
                return Err(DomainError::Internal(
                    "a return reached another user's actor".into(),
                ));
            }
            let write = plan_step(&current, &msg)?;
            let outcome = persist(
                &registry.deps.persistence,
                msg.meta.write(WriteOp::Return(Box::new(write))),
            )
            .await?;
            if let Outcome::Restocked(movements) = outcome {
                announce_restock(&registry, movements);
            }
            get(pool, msg.id).await
        };
        self.serially(work, |_, done| Ok(done))
    }
}

fn plan_step(current: &Return, msg: &ReturnStep) -> DomainResult<ReturnWrite> {
    let order_move = |from, to| StatusChange {
        order: current.order_id,
        from,
        to,
        actor: msg.actor.clone(),
        note: msg.note.clone(),
    };
    let wrong = |allowed: &[ReturnStatus]| {
        DomainError::invalid(
            "status",
            Msg::new("error-return-step-status")
                .arg("status", current.status.as_str())
                .arg(
                    "allowed",
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
        )
    };
    match msg.step {
        Step::Approve | Step::Reject if current.status != ReturnStatus::Requested => {
            Err(wrong(&[ReturnStatus::Requested]))
        }
        Step::Approve => Ok(ReturnWrite::Decide {
            id: current.id,
            approve: true,
            note: msg.note.clone(),
            order: None,
            restock: Vec::new(),
        }),
        Step::Reject => Ok(ReturnWrite::Decide {
            id: current.id,
            approve: false,
            note: msg.note.clone(),
            order: Some(order_move(
                OrderStatus::ReturnRequested,
                OrderStatus::Delivered,
            )),
            restock: current
                .lines
                .iter()
                .filter_map(|l| l.exchange_product_id.map(|p| (p, l.quantity)))
                .collect(),
        }),
        Step::Receive if current.status != ReturnStatus::Approved => {
            Err(wrong(&[ReturnStatus::Approved]))
        }
        Step::Receive => Ok(ReturnWrite::Receive {
            id: current.id,
            note: msg.note.clone(),
            order: order_move(OrderStatus::ReturnRequested, OrderStatus::Returned),
            restock: current
                .lines
                .iter()
                .map(|l| (l.product_id, l.quantity))
                .collect(),
        }),
    }
}

//! Changes to a product that its owner writes through the group commit: stock adjustments,
//! license codes, edits, and stock given back by another owner's committed write.

use super::{ProductActor, ProductState};
use crate::domain::changes::Outcome;
use crate::domain::changes::ProductPatch;
use crate::domain::changes::Write;
use crate::domain::changes::WriteMeta;
use crate::domain::changes::WriteOp;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::model::StockReport;
use crate::domain::stock::{CodeBatch, StockDelta};
use crate::store::group_commit::persist;
use actix::prelude::*;

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<StockReport>")]
pub struct AdjustStock {
    pub delta: StockDelta,
    pub meta: WriteMeta,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<StockReport>")]
pub struct AddCodes {
    pub codes: CodeBatch,
    pub meta: WriteMeta,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct UpdateProduct {
    pub patch: ProductPatch,
    pub meta: WriteMeta,
}

/// Stock given back by a committed write another owner made (a cancelled order).
#[derive(Message, Clone, serde::Serialize, serde::Deserialize)]
#[rtype(result = "DomainResult<()>")]
pub struct Restock {
    pub delta: i64,
    /// The stock movement that recorded it.
    pub movement: i64,
}

impl Handler<Restock> for ProductActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, msg: Restock, _: &mut Context<Self>) -> Self::Result {
        self.ready()?.restock(msg.delta, msg.movement);
        self.registry.catalog.changed(self.id);
        Ok(())
    }
}

impl Handler<AdjustStock> for ProductActor {
    type Result = ResponseActFuture<Self, DomainResult<StockReport>>;

    fn handle(&mut self, msg: AdjustStock, _: &mut Context<Self>) -> Self::Result {
        let id = self.id;
        let delta = msg.delta.get();
        let available_after = match self.ready().and_then(|s| s.begin_adjust(delta)) {
            Ok(a) => a,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let write = msg.meta.write(WriteOp::StockDelta {
            product: id,
            delta,
            available_after,
        });
        self.write_then(write, move |s, result| {
            let report = match result {
                Ok(Outcome::Stock { report, .. }) => Ok(report),
                Ok(other) => Err(unexpected(other)),
                Err(e) => Err(e),
            };
            // Failed or of unknown outcome, the stock stays as committed before; after an
            // unknown outcome `write_then` marks the product stale so it reloads.
            s.end_adjust(delta, report.is_ok());
            report
        })
    }
}

impl Handler<AddCodes> for ProductActor {
    type Result = ResponseActFuture<Self, DomainResult<StockReport>>;

    fn handle(&mut self, msg: AddCodes, _: &mut Context<Self>) -> Self::Result {
        let id = self.id;
        let available_before = match self.ready().and_then(|s| s.codes_available()) {
            Ok(a) => a,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let (codes, rejected) = msg.codes.into_parts();
        let write = msg.meta.write(WriteOp::AddCodes {
            product: id,
            codes,
            rejected,
            available_before,
        });
        self.write_then(write, |s, result| match result? {
            // The report is the one stored for idempotent replays, so it is returned as is.
            Outcome::Stock { report, new_items } => {
                s.add_items(new_items);
                Ok(report)
            }
            other => Err(unexpected(other)),
        })
    }
}

impl Handler<UpdateProduct> for ProductActor {
    type Result = ResponseActFuture<Self, DomainResult<()>>;

    fn handle(&mut self, msg: UpdateProduct, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = self.ready() {
            return Box::pin(fut::ready(Err(e)));
        }
        let patch = msg.patch.clone();
        let write = msg.meta.write(WriteOp::ProductUpdate {
            product: self.id,
            patch: msg.patch,
        });
        self.write_then(write, move |s, result| {
            result?;
            s.apply_patch(&patch);
            Ok(())
        })
    }
}

impl ProductActor {
    /// Sends a write to the group commit and, once it ends, lets `apply` bring memory in
    /// line with its result. After a write of unknown outcome the product reloads.
    fn write_then<T: 'static>(
        &mut self,
        write: Write,
        apply: impl FnOnce(&mut ProductState, DomainResult<Outcome>) -> DomainResult<T> + 'static,
    ) -> ResponseActFuture<Self, DomainResult<T>> {
        let persistence = self.registry.deps.persistence.clone();
        Box::pin(
            async move { persist(&persistence, write).await }
                .into_actor(self)
                .map(|result, act, ctx| {
                    let unknown = matches!(result, Err(DomainError::Unavailable(_)));
                    let answer = act.ready().and_then(|s| apply(s, result));
                    if answer.is_ok() {
                        act.registry.catalog.changed(act.id);
                    }
                    if unknown {
                        act.mark_stale(ctx, "a write's outcome is unknown");
                    }
                    answer
                }),
        )
    }
}

fn unexpected(outcome: Outcome) -> DomainError {
    DomainError::Internal(format!("unexpected outcome {outcome:?}"))
}

//! The Idempotency-Key gate, held in the user's actor: one request at a time per key, and
//! every duplicate waits for the key's answer instead of running the effect again. The
//! answer itself is stored by the effect's write (`store/idempotency.rs`); the HTTP side of
//! the story is `http/src/idempotency.rs`.

use crate::domain::error::DomainResult;
use crate::domain::idempotency::KeyAnswer;
use crate::entity::user::{InFlight, UserActor};
use actix::prelude::*;
use tokio::sync::oneshot;

pub enum GateEntry {
    /// The caller owns the key until it sends `FinishKey`.
    Proceed,
    /// Another request holds the key; this resolves to the key's answer once it ends (None
    /// if it ended without one, e.g. a 5xx: then a waiter takes the lead itself).
    Wait(oneshot::Receiver<Option<KeyAnswer>>),
}

/// Every request with a key, whatever its body, waits while another request holds that key.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<GateEntry>")]
pub struct BeginKey {
    pub key: String,
}

/// Releases a key and hands its answer to every request that waited on it.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct FinishKey {
    pub key: String,
    pub answer: Option<KeyAnswer>,
}

impl Handler<BeginKey> for UserActor {
    type Result = DomainResult<GateEntry>;

    fn handle(&mut self, msg: BeginKey, _: &mut Context<Self>) -> Self::Result {
        self.ready()?;
        match self.gate.get_mut(&msg.key) {
            Some(running) => {
                let (tx, rx) = oneshot::channel();
                running.waiters.push(tx);
                Ok(GateEntry::Wait(rx))
            }
            None => {
                self.gate.insert(
                    msg.key,
                    InFlight {
                        waiters: Vec::new(),
                    },
                );
                Ok(GateEntry::Proceed)
            }
        }
    }
}

impl Handler<FinishKey> for UserActor {
    type Result = DomainResult<()>;

    fn handle(&mut self, msg: FinishKey, _: &mut Context<Self>) -> Self::Result {
        // Keeps the owner from idling out, like any message that uses it.
        let _ = self.ready();
        if let Some(running) = self.gate.remove(&msg.key) {
            for waiter in running.waiters {
                let _ = waiter.send(msg.answer.clone());
            }
        }
        Ok(())
    }
}

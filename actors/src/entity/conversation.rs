//! A user's Telegram conversation, owned by the user's actor: a turn that serializes the
//! user's updates (one update is handled at a time, others queue in order), and the current
//! step of a multi-message dialogue ("waiting for codes"), kept in memory and written
//! through to `telegram_sessions` so it survives a restart. The step is opaque JSON here:
//! the front-end owns its meaning, the domain only keeps it.

use crate::domain::error::DomainResult;
use crate::entity::user::UserActor;
use actix::prelude::*;
use serde_json::Value;
use std::collections::VecDeque;
use tokio::sync::oneshot;

#[derive(Default)]
pub struct Conversation {
    holder: Option<u64>,
    waiting: VecDeque<(u64, oneshot::Sender<()>)>,
    /// `None` until read from Postgres; then the step as last written.
    step: Option<Option<Value>>,
}

impl Conversation {
    /// Whether no update holds or waits for this user's turn (the actor may passivate).
    pub fn is_idle(&self) -> bool {
        self.holder.is_none() && self.waiting.is_empty()
    }

    fn grant_next(&mut self) {
        self.holder = None;
        while let Some((ticket, tx)) = self.waiting.pop_front() {
            // A waiter that gave up has dropped its receiver; its ticket is skipped.
            if tx.send(()).is_ok() {
                self.holder = Some(ticket);
                return;
            }
        }
    }
}

/// Asks for the user's turn under `ticket` (unique per caller); the receiver resolves when
/// the turn is granted. The caller must send `EndTurn` with the same ticket in every case.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<oneshot::Receiver<()>>")]
pub struct BeginTurn {
    pub ticket: u64,
}

/// Ends a turn, or withdraws a ticket still waiting.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct EndTurn {
    pub ticket: u64,
}

#[derive(Message, Clone)]
#[rtype(result = "DomainResult<Option<Value>>")]
pub struct GetStep;

/// Sets (or with `None` clears) the step; answered after it is committed.
#[derive(Message, Clone)]
#[rtype(result = "DomainResult<()>")]
pub struct SetStep(pub Option<Value>);

impl Handler<BeginTurn> for UserActor {
    type Result = DomainResult<oneshot::Receiver<()>>;

    fn handle(&mut self, msg: BeginTurn, _: &mut Context<Self>) -> Self::Result {
        self.ready()?;
        let (tx, rx) = oneshot::channel();
        let talk = &mut self.conversation;
        if talk.holder.is_none() {
            talk.holder = Some(msg.ticket);
            let _ = tx.send(());
        } else {
            talk.waiting.push_back((msg.ticket, tx));
        }
        Ok(rx)
    }
}

impl Handler<EndTurn> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: EndTurn, _: &mut Context<Self>) {
        let talk = &mut self.conversation;
        if talk.holder == Some(msg.ticket) {
            talk.grant_next();
        } else {
            talk.waiting.retain(|(t, _)| *t != msg.ticket);
        }
    }
}

impl Handler<GetStep> for UserActor {
    type Result = ResponseActFuture<Self, DomainResult<Option<Value>>>;

    fn handle(&mut self, _: GetStep, _: &mut Context<Self>) -> Self::Result {
        let checked = self.ready().map(|_| ());
        if let Some(step) = &self.conversation.step {
            let step = step.clone();
            return Box::pin(fut::ready(checked.map(|_| step)));
        }
        let (pool, user) = (self.registry.deps.pool.clone(), self.id);
        let read = async move {
            checked?;
            crate::store::conversation::read_step(&pool, user).await
        };
        Box::pin(read.into_actor(self).map(|step, act, _| {
            let step = step?;
            act.conversation.step = Some(step.clone());
            Ok(step)
        }))
    }
}

impl Handler<SetStep> for UserActor {
    type Result = AtomicResponse<Self, DomainResult<()>>;

    fn handle(&mut self, msg: SetStep, _: &mut Context<Self>) -> Self::Result {
        let checked = self.ready().map(|_| ());
        let (pool, user) = (self.registry.deps.pool.clone(), self.id);
        let step = msg.0.clone();
        let write = async move {
            checked?;
            crate::store::conversation::write_step(&pool, user, step.as_ref()).await
        };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(move |done, act, _| {
            match &done {
                Ok(()) => act.conversation.step = Some(msg.0),
                // Unknown outcome: read it back next time rather than trust memory.
                Err(_) => act.conversation.step = None,
            }
            done
        })))
    }
}

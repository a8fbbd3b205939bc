//! What every entity actor (product, user) shares: it loads its state from Postgres before
//! any message is handled, counts itself in the actor gauges, ticks once a second, and
//! leaves the registry before it stops, so a message never reaches a stopped owner twice.

use crate::error::{DomainError, DomainResult};
use crate::registry::Registry;
use actix::prelude::*;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

const TICK: Duration = Duration::from_secs(1);

/// An actor's state is loaded from Postgres when it starts.
pub(crate) enum Load<S> {
    Loading,
    Ready(S),
    Gone(DomainError),
}

impl<S> Load<S> {
    pub(crate) fn ready(&mut self) -> DomainResult<&mut S> {
        match self {
            Load::Ready(s) => Ok(s),
            Load::Gone(e) => Err(e.clone()),
            Load::Loading => Err(DomainError::Internal("actor used before loading".into())),
        }
    }
}

pub(crate) trait Entity: Actor<Context = Context<Self>> {
    type State: 'static;
    /// The `kind` label of the actor metrics.
    const KIND: &'static str;

    fn registry(&self) -> &Arc<Registry>;
    fn state(&mut self) -> &mut Load<Self::State>;
    /// Loads committed state; runs before the first message.
    fn load(&self) -> BoxFuture<'static, DomainResult<Self::State>>;
    /// Leaves the registry if this actor is still the registered owner.
    fn forget(&self, addr: &Addr<Self>);
    /// Called every tick: expire what has expired; stop if idle.
    fn tick(&mut self, ctx: &mut Context<Self>);
}

/// The body of `Actor::started` for every entity.
pub(crate) fn started<A: Entity>(act: &mut A, ctx: &mut Context<A>) {
    let registry = act.registry().clone();
    ctx.set_mailbox_capacity(registry.deps.config.mailbox_max);
    registry
        .deps
        .metrics
        .actors_live
        .with_label_values(&[A::KIND])
        .inc();
    registry
        .deps
        .metrics
        .actors_started
        .with_label_values(&[A::KIND])
        .inc();
    // `wait` holds the mailbox until the state is loaded, so no message sees a half state.
    let load = tokio::time::timeout(registry.deps.config.load_timeout, act.load());
    ctx.wait(load.into_actor(act).map(|loaded, act, ctx| {
        let loaded = loaded
            .unwrap_or_else(|_| Err(DomainError::Unavailable("loading state timed out".into())));
        *act.state() = match loaded {
            Ok(state) => Load::Ready(state),
            Err(e) => {
                // Leave the map now so the next request tries afresh.
                act.forget(&ctx.address());
                Load::Gone(e)
            }
        };
    }));
    ctx.run_interval(TICK, A::tick);
}

/// The body of `Actor::stopped` for every entity.
pub(crate) fn stopped<A: Entity>(act: &A) {
    act.registry()
        .deps
        .metrics
        .actors_live
        .with_label_values(&[A::KIND])
        .dec();
}

/// Leaves the registry and stops; counted as passivation when it ran with loaded state.
pub(crate) fn retire<A: Entity>(act: &mut A, ctx: &mut Context<A>) {
    act.forget(&ctx.address());
    if matches!(act.state(), Load::Ready(_)) {
        act.registry()
            .deps
            .metrics
            .actors_passivated
            .with_label_values(&[A::KIND])
            .inc();
    }
    ctx.stop();
}

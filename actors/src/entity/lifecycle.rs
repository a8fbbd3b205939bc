//! What every entity actor (product, user, promo) shares: it starts with its state already
//! loaded from Postgres (the registry loads it first, so nothing that does not exist ever
//! gets an actor), counts itself in the actor gauges, ticks once a second, stops once its shard is no
//! longer this node's, and leaves the registry before it stops, so a message never reaches a stopped owner twice.

use crate::domain::shards::EntityKey;
use crate::entity::registry::Registry;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

const TICK: Duration = Duration::from_secs(1);

pub(crate) trait Entity: Actor<Context = Context<Self>> {
    /// The `kind` label of the actor metrics.
    const KIND: &'static str;

    fn registry(&self) -> &Arc<Registry>;
    /// The key this actor owns, whose shard must stay this node's.
    fn key(&self) -> EntityKey;
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
    ctx.run_interval(TICK, |act, ctx| {
        // A shard handed to another node (or a lease that may have run out) stops its
        // owners here: the registry already sends them nothing new.
        if act.registry().deps.ownership.owns(&act.key()) {
            act.tick(ctx);
        } else {
            act.forget(&ctx.address());
            ctx.stop();
        }
    });
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

/// Leaves the registry and stops, counted as passivation.
pub(crate) fn retire<A: Entity>(act: &mut A, ctx: &mut Context<A>) {
    act.forget(&ctx.address());
    act.registry()
        .deps
        .metrics
        .actors_passivated
        .with_label_values(&[A::KIND])
        .inc();
    ctx.stop();
}

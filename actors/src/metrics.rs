//! Metrics the actors own: live actors, persistence batches and commit latency. They are
//! registered into the process's one Prometheus registry by the binary at start-up.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

#[derive(Clone)]
pub struct ActorMetrics {
    pub actors_live: IntGaugeVec,
    pub actors_started: IntCounterVec,
    pub actors_passivated: IntCounterVec,
    pub batch_size: Histogram,
    pub commit_seconds: Histogram,
    pub queue_depth: IntGauge,
    pub write_failures: IntCounterVec,
    /// Writes refused because Postgres held a newer owner's token for one of their shards.
    pub fenced_writes: IntCounter,
    /// Committed batches by how they were applied: `sets` (a few statements whatever the
    /// batch's size) or `each` (write by write).
    pub batches: IntCounterVec,
    /// Batches whose sets the database refused without naming a write, applied again
    /// write by write.
    pub set_fallbacks: IntCounter,
    /// Events committed to the outbox, by type.
    pub events_recorded: IntCounterVec,
    pub cluster: ClusterMetrics,
}

/// A cluster node's view of the cluster (all zero on a single node).
#[derive(Clone)]
pub struct ClusterMetrics {
    pub members: IntGauge,
    pub shards_owned: IntGauge,
    /// Shards taken or given up, by why: `taken` (a claim), `released` (a graceful hand-over
    /// or rebalance), `fenced` (Postgres held a newer token), `lease_lost`.
    pub handoffs: IntCounterVec,
    /// Messages and requests sent on to the node that serves them, by kind (`product`,
    /// `promo`: an owner's message; `request`: a whole HTTP request).
    pub forwarded: IntCounterVec,
}

impl ActorMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<ActorMetrics> {
        let kind = &["kind"];
        let m = ActorMetrics {
            actors_live: IntGaugeVec::new(
                Opts::new("souk_actors_live", "Actors currently running, by kind"),
                kind,
            )?,
            actors_started: IntCounterVec::new(
                Opts::new(
                    "souk_actors_started_total",
                    "Actors started from Postgres state, by kind",
                ),
                kind,
            )?,
            actors_passivated: IntCounterVec::new(
                Opts::new(
                    "souk_actors_passivated_total",
                    "Actors stopped after their idle timeout, by kind",
                ),
                kind,
            )?,
            batch_size: Histogram::with_opts(
                HistogramOpts::new(
                    "souk_persistence_batch_size",
                    "Writes committed together in one transaction",
                )
                .buckets(vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
                ]),
            )?,
            commit_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "souk_persistence_commit_seconds",
                    "Time from BEGIN to COMMIT of one batch",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            )?,
            queue_depth: IntGauge::new(
                "souk_persistence_queue_depth",
                "Writes waiting for the next batch",
            )?,
            write_failures: IntCounterVec::new(
                Opts::new(
                    "souk_persistence_failures_total",
                    "Writes that did not commit, by reason",
                ),
                &["reason"],
            )?,
            batches: IntCounterVec::new(
                Opts::new(
                    "souk_persistence_batches_total",
                    "Committed group-commit batches, by how they were applied (sets or each)",
                ),
                &["mode"],
            )?,
            set_fallbacks: IntCounter::new(
                "souk_persistence_set_fallbacks_total",
                "Batches whose set statements were refused and that were applied again write by write",
            )?,
            events_recorded: IntCounterVec::new(
                Opts::new(
                    "souk_events_recorded_total",
                    "Events committed to the outbox with their change, by type",
                ),
                &["type"],
            )?,
            fenced_writes: IntCounter::new(
                "souk_cluster_fenced_writes_total",
                "Writes rolled back because another node had taken one of their shards",
            )?,
            cluster: ClusterMetrics {
                members: IntGauge::new("souk_cluster_members", "Live nodes this node sees")?,
                shards_owned: IntGauge::new(
                    "souk_cluster_shards_owned",
                    "Shards this node serves as a cluster member (0 on a single node)",
                )?,
                handoffs: IntCounterVec::new(
                    Opts::new(
                        "souk_cluster_handoffs_total",
                        "Shards this node took or gave up, by reason",
                    ),
                    &["reason"],
                )?,
                forwarded: IntCounterVec::new(
                    Opts::new(
                        "souk_cluster_forwarded_total",
                        "Messages and requests sent on to the node that serves them, by kind",
                    ),
                    &["kind"],
                )?,
            },
        };
        for kind in ["product", "promo", "request"] {
            m.cluster.forwarded.with_label_values(&[kind]);
        }
        for reason in ["taken", "released", "fenced", "lease_lost"] {
            m.cluster.handoffs.with_label_values(&[reason]);
        }
        // Every known label exists from the start, so a dashboard shows 0, not "no data".
        for kind in ["product", "user"] {
            m.actors_live.with_label_values(&[kind]);
            m.actors_started.with_label_values(&[kind]);
            m.actors_passivated.with_label_values(&[kind]);
        }
        for reason in ["rejected", "unavailable", "overloaded"] {
            m.write_failures.with_label_values(&[reason]);
        }
        for kind in crate::domain::events::EventType::ALL {
            m.events_recorded.with_label_values(&[kind.as_str()]);
        }
        registry.register(Box::new(m.actors_live.clone()))?;
        registry.register(Box::new(m.actors_started.clone()))?;
        registry.register(Box::new(m.actors_passivated.clone()))?;
        registry.register(Box::new(m.batch_size.clone()))?;
        registry.register(Box::new(m.commit_seconds.clone()))?;
        registry.register(Box::new(m.queue_depth.clone()))?;
        registry.register(Box::new(m.write_failures.clone()))?;
        registry.register(Box::new(m.fenced_writes.clone()))?;
        registry.register(Box::new(m.batches.clone()))?;
        registry.register(Box::new(m.set_fallbacks.clone()))?;
        registry.register(Box::new(m.events_recorded.clone()))?;
        registry.register(Box::new(m.cluster.members.clone()))?;
        registry.register(Box::new(m.cluster.shards_owned.clone()))?;
        registry.register(Box::new(m.cluster.handoffs.clone()))?;
        registry.register(Box::new(m.cluster.forwarded.clone()))?;
        Ok(m)
    }
}

//! The persistence actor: group commit. Writes queue while one transaction commits; when it
//! finishes, everything queued (up to `batch_max`) goes into the next one. There is no
//! sleep: alone, a write commits at once; under load, batches grow by themselves.
//! A batch is applied as sets (`writes/sets.rs`: a few statements whatever its size) when
//! its writes allow it, else write by write. A write that breaks a constraint is dropped
//! and the rest of its batch retried without it, so one bad write never fails its
//! neighbours; a set the database refuses without naming the write is applied again write
//! by write to find it. Callers are answered only after COMMIT.
//! In a cluster each write carries the fencing tokens of the shards it changes, and its
//! batch checks them in its own transaction: a write for a shard another node has taken
//! since is rolled back and answered `Fenced`, never acknowledged.

use crate::domain::changes::Outcome;
use crate::domain::changes::Write;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::events::EventRules;
use crate::domain::shards::Fence;
use crate::entity::ownership::Ownership;
use crate::metrics::ActorMetrics;
use crate::store::events::{Outbox, Told};
use crate::store::fencing;
use crate::store::writes::sets::{self, Applied};
use crate::store::writes::{apply_each, OpenTx};
use actix::prelude::*;
use deadpool_postgres::Pool;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy)]
pub struct PersistenceConfig {
    pub batch_max: usize,
    pub queue_max: usize,
    /// Bound on one batch's statements; past it the batch fails as "unavailable".
    pub write_timeout: Duration,
    /// What decides the events a batch records with its changes.
    pub events: EventRules,
}

pub struct PersistenceActor {
    pool: Pool,
    config: PersistenceConfig,
    metrics: ActorMetrics,
    ownership: Arc<Ownership>,
    queue: VecDeque<Job>,
    committing: bool,
    /// Callers of `Flush`, answered once the queue is empty and no batch is committing.
    flushed: Vec<oneshot::Sender<()>>,
    /// Told after a batch whose events queued webhook deliveries commits: the dispatcher.
    outbox: Outbox,
}

struct Job {
    write: Write,
    /// The tokens of the shards `write` changes, taken when it was submitted (none on a
    /// single node).
    fences: Vec<Fence>,
    reply: oneshot::Sender<DomainResult<Outcome>>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Submit {
    write: Write,
    reply: oneshot::Sender<DomainResult<Outcome>>,
}

/// Answers once every write submitted before it has committed or failed: a node handing
/// its shards over waits for this before it lets another node load them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush(pub oneshot::Sender<()>);

impl PersistenceActor {
    pub fn new(
        pool: Pool,
        config: PersistenceConfig,
        metrics: ActorMetrics,
        ownership: Arc<Ownership>,
    ) -> Self {
        PersistenceActor {
            pool,
            config,
            metrics,
            ownership,
            queue: VecDeque::new(),
            committing: false,
            flushed: Vec::new(),
            outbox: Outbox::unread(),
        }
    }

    /// Tells `outbox` after each batch whose events queued webhook deliveries commits.
    pub fn with_outbox(mut self, outbox: Outbox) -> Self {
        self.outbox = outbox;
        self
    }

    fn start_batch(&mut self, ctx: &mut Context<Self>) {
        if self.committing || self.queue.is_empty() {
            if !self.committing {
                for waiter in self.flushed.drain(..) {
                    let _ = waiter.send(());
                }
            }
            return;
        }
        let take = self.queue.len().min(self.config.batch_max);
        let jobs: Vec<Job> = self.queue.drain(..take).collect();
        self.metrics.queue_depth.set(self.queue.len() as i64);
        self.committing = true;
        let batch = run_batch(
            self.pool.clone(),
            self.config,
            self.metrics.clone(),
            self.ownership.clone(),
            jobs,
        );
        let outbox = self.outbox.clone();
        let batch = async move {
            let (failure, told) = batch.await;
            if !told.handoffs.is_empty() {
                // Full: the hand-offs' claims run out and polling sends them.
                let _ = outbox.handoffs.try_send(told.handoffs);
            }
            if told.polled {
                outbox.wake.notify_one();
            }
            failure
        };
        ctx.spawn(batch.into_actor(self).map(|failure, act, ctx| {
            act.committing = false;
            if let Some(error) = failure {
                // The database just failed a whole batch: the writes queued behind it would
                // most likely wait out the same timeout, so they fail now instead.
                let queued = act.queue.len();
                act.metrics
                    .write_failures
                    .with_label_values(&["unavailable"])
                    .inc_by(queued as u64);
                for job in act.queue.drain(..) {
                    let _ = job.reply.send(Err(error.clone()));
                }
                act.metrics.queue_depth.set(0);
            }
            act.start_batch(ctx);
        }));
    }
}

impl Actor for PersistenceActor {
    type Context = Context<Self>;

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        // Flush before stopping: acknowledged callers are waiting on these writes.
        if self.committing || !self.queue.is_empty() {
            return Running::Continue;
        }
        Running::Stop
    }
}

impl Handler<Submit> for PersistenceActor {
    type Result = ();

    fn handle(&mut self, Submit { write, reply }: Submit, ctx: &mut Context<Self>) {
        // The tokens are taken now, on the group commit's thread: a shard released before
        // this point refuses the write here; one released later, in the batch's check.
        // A single node fences nothing: no owner list to build per write.
        let owners = if self.ownership.is_cluster() {
            write.owners()
        } else {
            Vec::new()
        };
        let fences: Result<HashSet<Fence>, DomainError> = owners
            .iter()
            .filter_map(|key| {
                let shard = self.ownership.shard_of(key);
                match write.fences.iter().find(|f| f.shard == shard) {
                    Some(carried) => Some(Ok(*carried)),
                    None => self.ownership.fence(key).transpose(),
                }
            })
            .collect();
        let fences = match fences {
            Ok(fences) => fences.into_iter().collect(),
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        let job = Job {
            write,
            fences,
            reply,
        };
        if self.queue.len() >= self.config.queue_max {
            self.metrics
                .write_failures
                .with_label_values(&["overloaded"])
                .inc();
            let _ = job.reply.send(Err(DomainError::Overloaded));
            return;
        }
        self.queue.push_back(job);
        self.metrics.queue_depth.set(self.queue.len() as i64);
        self.start_batch(ctx);
    }
}

impl Handler<Flush> for PersistenceActor {
    type Result = ();

    fn handle(&mut self, Flush(reply): Flush, ctx: &mut Context<Self>) {
        self.flushed.push(reply);
        self.start_batch(ctx);
    }
}

/// Submits one write and waits for its batch to commit (or for the reason it did not).
pub async fn persist(persistence: &Addr<PersistenceActor>, write: Write) -> DomainResult<Outcome> {
    let (reply, rx) = oneshot::channel();
    // `do_send` cannot block; the actor bounds its own queue and refuses with Overloaded.
    persistence.do_send(Submit { write, reply });
    rx.await
        .map_err(|_| DomainError::Unavailable("the persistence actor stopped".into()))?
}

/// Commits `jobs`; returns the error if the database failed a whole batch, and what the
/// committed writes' events came to.
async fn run_batch(
    pool: Pool,
    config: PersistenceConfig,
    metrics: ActorMetrics,
    ownership: Arc<Ownership>,
    jobs: Vec<Job>,
) -> (Option<DomainError>, Told) {
    run_batch_as(pool, config, metrics, ownership, jobs, Mode::Sets).await
}

/// `run_batch`, first applied as `mode` says.
async fn run_batch_as(
    pool: Pool,
    config: PersistenceConfig,
    metrics: ActorMetrics,
    ownership: Arc<Ownership>,
    mut jobs: Vec<Job>,
    mut mode: Mode,
) -> (Option<DomainError>, Told) {
    let mut failure = None;
    let mut told = Told::default();
    while !jobs.is_empty() {
        let started = Instant::now();
        let attempt = tokio::time::timeout(
            config.write_timeout,
            attempt_batch(&pool, &jobs, mode, &config.events),
        )
        .await;
        let result = match attempt {
            Ok((result, applied_as)) => {
                if matches!(result, BatchResult::Committed(..)) {
                    metrics.batches.with_label_values(&[applied_as]).inc();
                }
                result
            }
            Err(_) => {
                BatchResult::Failed(DomainError::Unavailable("database write timed out".into()))
            }
        };
        match result {
            BatchResult::Committed(outcomes, events) => {
                for kind in &events.kinds {
                    metrics
                        .events_recorded
                        .with_label_values(&[kind.as_str()])
                        .inc();
                }
                told.add(events);
                metrics.batch_size.observe(jobs.len() as f64);
                metrics
                    .commit_seconds
                    .observe(started.elapsed().as_secs_f64());
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            BatchResult::JobFailed(index, error) => {
                // Only this write is at fault; the others go again without it. A key that
                // already holds an answer is a client's retry, not a failure: it is replayed.
                if error == DomainError::KeyTaken {
                    tracing::debug!(
                        "idempotency key already answered; the stored answer is replayed"
                    );
                } else {
                    metrics
                        .write_failures
                        .with_label_values(&["rejected"])
                        .inc();
                    tracing::warn!(%error, "write rejected by the database; retrying its batch without it");
                }
                let job = jobs.remove(index);
                let _ = job.reply.send(Err(error));
                // Found: the rest may go as sets again.
                mode = Mode::Sets;
            }
            BatchResult::Unsettled(reason) => {
                // Nothing committed; the same writes go again one by one, which names the
                // write at fault (if the database still refuses one).
                tracing::debug!(%reason, batch = jobs.len(), "a set was refused; the batch goes again write by write");
                metrics.set_fallbacks.inc();
                mode = Mode::Each;
            }
            BatchResult::Fenced(stale) => {
                // Another node took these shards: their writes are refused, never retried
                // here, and this node stops serving the shards; the rest go again.
                let (refused, kept): (Vec<Job>, Vec<Job>) = jobs
                    .drain(..)
                    .partition(|job| job.fences.iter().any(|f| stale.contains(f)));
                jobs = kept;
                metrics.fenced_writes.inc_by(refused.len() as u64);
                for fence in &stale {
                    tracing::warn!(shard = %fence.shard, epoch = fence.epoch, "shard fenced: another node holds a newer token; its writes were rolled back");
                    ownership.fenced(*fence);
                }
                for job in refused {
                    let shard = job
                        .fences
                        .iter()
                        .find(|f| stale.contains(f))
                        .map_or(0, |f| f.shard.get());
                    let _ = job.reply.send(Err(DomainError::Fenced { shard }));
                }
            }
            BatchResult::Failed(error) => {
                metrics
                    .write_failures
                    .with_label_values(&["unavailable"])
                    .inc_by(jobs.len() as u64);
                tracing::error!(%error, batch = jobs.len(), "batch failed");
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(error.clone()));
                }
                failure = Some(error);
            }
        }
    }
    (failure, told)
}

/// How a batch is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As sets where its writes allow it (`writes/sets.rs`), else write by write.
    Sets,
    /// Write by write.
    Each,
}

enum BatchResult {
    /// Every write's outcome and what the batch's events came to.
    Committed(Vec<Outcome>, Told),
    JobFailed(usize, DomainError),
    /// A set was refused without naming the write at fault; nothing committed.
    Unsettled(String),
    /// Tokens that are no longer current: the batch was rolled back.
    Fenced(Vec<Fence>),
    Failed(DomainError),
}

/// Applies and commits `jobs`; also answers how they were applied (`sets` or `each`).
async fn attempt_batch(
    pool: &Pool,
    jobs: &[Job],
    mode: Mode,
    rules: &EventRules,
) -> (BatchResult, &'static str) {
    let writes: Vec<&Write> = jobs.iter().map(|job| &job.write).collect();
    let plan = match mode {
        Mode::Sets => sets::Plan::of(&writes),
        Mode::Each => None,
    };
    let applied_as = if plan.is_some() { "sets" } else { "each" };
    (
        attempt(pool, jobs, &writes, plan.as_ref(), rules).await,
        applied_as,
    )
}

async fn attempt(
    pool: &Pool,
    jobs: &[Job],
    writes: &[&Write],
    plan: Option<&sets::Plan<'_>>,
    rules: &EventRules,
) -> BatchResult {
    let tx = match pool.get().await {
        Ok(client) => OpenTx::new(client),
        Err(e) => return BatchResult::Failed(DomainError::from(e)),
    };
    let Some(db) = tx.db() else {
        return BatchResult::Failed(DomainError::Unavailable("no connection".into()));
    };
    // BEGIN, the fencing check and the writes are sent at once and pipelined on the one
    // connection (BEGIN is polled first, so it is sent and run first): the batch costs
    // about one round trip before COMMIT (two as sets: the records need the orders' ids),
    // not one per statement. Writes of one batch never depend on each other (each entity
    // has one owner, which waits for its write before sending the next).
    let begin = db.batch_execute("BEGIN");
    let fences: Vec<Fence> = jobs
        .iter()
        .flat_map(|job| job.fences.iter().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let check = async {
        if fences.is_empty() {
            Ok(Vec::new())
        } else {
            fencing::stale(db, &fences).await
        }
    };
    let work = async {
        match plan {
            Some(plan) => sets::apply(db, writes, plan, rules).await,
            None => apply_each(db, writes, rules).await,
        }
    };
    let (begun, stale, applied) = futures_util::future::join3(begin, check, work).await;
    if let Err(e) = begun {
        return BatchResult::Failed(DomainError::Unavailable(e.to_string()));
    }
    match stale {
        Ok(stale) if stale.is_empty() => {}
        Ok(stale) => {
            let _ = tx.finish(false).await;
            return BatchResult::Fenced(stale);
        }
        // The check failed: either the connection did, or a write's error aborted the
        // transaction before the check ran; the writes' results below say which.
        Err(e) if e.code().is_none() => {
            return BatchResult::Failed(DomainError::Unavailable(e.to_string()))
        }
        Err(_) => {}
    }
    let (outcomes, told) = match applied {
        Applied::All(outcomes, told) => (outcomes, told),
        Applied::Failed(e) => return BatchResult::Failed(DomainError::Unavailable(e.to_string())),
        // A connection that cannot even roll back is closed by `finish`; the retry takes another.
        Applied::Refused(index, error) => {
            let _ = tx.finish(false).await;
            return BatchResult::JobFailed(index, error);
        }
        Applied::Unsettled(reason) => {
            let _ = tx.finish(false).await;
            return BatchResult::Unsettled(reason);
        }
    };
    match tx.finish(true).await {
        Ok(()) => BatchResult::Committed(outcomes, told),
        // A failed COMMIT may or may not have reached the disk; callers see "unavailable"
        // and their idempotent retry finds the truth in the database.
        Err(e) => BatchResult::Failed(DomainError::Unavailable(format!("commit failed: {e}"))),
    }
}

/// Commits `writes` as one batch of the group commit (as sets where they allow it, or
/// write by write when `as_sets` is false) and answers each write's result, in order.
/// The persistence actor's own path without the actor: for tests that compare a batch
/// with the same writes applied one by one.
pub async fn commit_batch(
    pool: &Pool,
    writes: Vec<Write>,
    as_sets: bool,
    metrics: &ActorMetrics,
) -> Vec<DomainResult<Outcome>> {
    let mut answers = Vec::with_capacity(writes.len());
    let jobs = writes
        .into_iter()
        .map(|write| {
            let (reply, rx) = oneshot::channel();
            answers.push(rx);
            Job {
                write,
                fences: Vec::new(),
                reply,
            }
        })
        .collect();
    let config = PersistenceConfig {
        batch_max: usize::MAX,
        queue_max: usize::MAX,
        write_timeout: Duration::from_secs(30),
        events: EventRules::default(),
    };
    let ownership = Arc::new(Ownership::single());
    if as_sets {
        run_batch(pool.clone(), config, metrics.clone(), ownership, jobs).await;
    } else {
        run_batch_as(
            pool.clone(),
            config,
            metrics.clone(),
            ownership,
            jobs,
            Mode::Each,
        )
        .await;
    }
    let mut results = Vec::with_capacity(answers.len());
    for rx in answers {
        results.push(
            rx.await.unwrap_or_else(|_| {
                Err(DomainError::Unavailable("the batch dropped a write".into()))
            }),
        );
    }
    results
}

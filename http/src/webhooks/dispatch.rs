//! The dispatcher: sends what the outbox recorded to each subscription, at least once.
//! The deliveries this node's group commit handed over arrive in memory right after
//! COMMIT and go out at once, each stream's in order; their rows are written when they are
//! settled. Retries, other nodes' deliveries and those a hand-off could not take are
//! claimed from Postgres by polling (so several nodes, or a restarted one, share the work,
//! and a crashed sender's claims run out and are taken again), and now and then the
//! hand-offs a dead node was holding get their rows (`recover`). Each attempt is its own
//! task, and a subscription has at most `concurrency` in flight, so a slow receiver holds
//! only its own slots, never the group commit or other receivers. Each round's results
//! are recorded in one statement.

use super::target;
use super::WebhookSettings;
use crate::signature::{sign, SIGNATURE_HEADER};
use deadpool_postgres::Pool;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};
use souk_actors::domain::backoff::Backoff;
use souk_actors::domain::events::EventId;
use souk_actors::store::events::{Handoff, HANDOFF_HOLD};
use souk_actors::store::webhooks::{self, DeliveryState, Due, Sent};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// How often the dispatcher looks for due deliveries when nothing woke it.
const POLL: Duration = Duration::from_millis(500);
/// How often a round of outcomes is written (one statement for all of them).
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Attempts in flight over all subscriptions.
const IN_FLIGHT_MAX: usize = 256;
/// How often delivered events are pruned.
const HOUSEKEEPING: Duration = Duration::from_secs(3600);
/// How often the newest event is noted, and the hand-offs of dead nodes looked for.
const RECOVER_EVERY: Duration = Duration::from_secs(5);
/// On a single node's start, how long before everything the previous process committed is
/// settled: its transactions have ended, and nothing else can hold its hand-offs.
const SOLE_SETTLE: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct WebhookMetrics {
    pub deliveries: IntCounterVec,
    pub delivery_seconds: Histogram,
    pub pending: IntGauge,
    pub oldest_pending_seconds: IntGauge,
}

impl WebhookMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<WebhookMetrics> {
        let deliveries = IntCounterVec::new(
            Opts::new(
                "souk_webhook_deliveries_total",
                "Webhook delivery attempts by outcome: delivered (2xx), retry (will be tried again), failed (gave up)",
            ),
            &["outcome"],
        )?;
        for outcome in ["delivered", "retry", "failed"] {
            deliveries.with_label_values(&[outcome]);
        }
        let delivery_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "souk_webhook_delivery_seconds",
                "From an event's commit to its receiver's 2xx",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3600.0,
            ]),
        )?;
        let pending = IntGauge::new(
            "souk_outbox_pending",
            "Webhook deliveries waiting to be sent (sampled at scrape)",
        )?;
        let oldest_pending_seconds = IntGauge::new(
            "souk_outbox_oldest_pending_seconds",
            "Age of the oldest event a delivery still waits for (sampled at scrape)",
        )?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(delivery_seconds.clone()))?;
        registry.register(Box::new(pending.clone()))?;
        registry.register(Box::new(oldest_pending_seconds.clone()))?;
        Ok(WebhookMetrics {
            deliveries,
            delivery_seconds,
            pending,
            oldest_pending_seconds,
        })
    }

    /// Refreshes the pending gauges from Postgres.
    pub async fn sample(&self, pool: &Pool) {
        match webhooks::pending(pool).await {
            Ok((count, oldest)) => {
                self.pending.set(count);
                self.oldest_pending_seconds.set(oldest as i64);
            }
            Err(e) => tracing::debug!(error = %e, "outbox gauges not sampled"),
        }
    }
}

pub struct Dispatcher {
    pub pool: Pool,
    pub settings: WebhookSettings,
    /// Whether targets must resolve to public addresses (production without `allow_private`).
    pub public_only: bool,
    pub metrics: WebhookMetrics,
    /// Woken by the group commit when a batch with events commits.
    pub wake: Arc<Notify>,
    /// Deliveries the group commit handed to this node, after their COMMIT.
    pub handoffs: mpsc::Receiver<Vec<Handoff>>,
    /// A single node: every claim still held, and every hand-off not settled, is this
    /// node's from before a crash, and is given back to polling at start instead of waiting
    /// for it to run out.
    pub sole: bool,
}

/// One attempt's result, and whether it was handed over in memory (its stream's lane
/// waits for it) rather than polled.
struct Done {
    sent: Sent,
    handed: bool,
}

/// A subscription's hand-offs: each stream's deliveries in commit order (the first of each
/// is in flight or ready), the streams ready to send, and the attempts in flight.
#[derive(Default)]
struct Lane {
    streams: HashMap<String, VecDeque<Handoff>>,
    ready: VecDeque<String>,
    in_flight: usize,
    queued: usize,
}

impl Lane {
    /// Gives the rest of `stream`'s queue back to polling, in order.
    fn give_back(&mut self, stream: &str, released: &mut Vec<(i64, EventId, String)>) {
        if let Some(queue) = self.streams.remove(stream) {
            self.queued = self.queued.saturating_sub(queue.len());
            released.extend(
                queue
                    .into_iter()
                    .map(|h| (h.subscription, h.event, h.stream)),
            );
        }
    }
}

/// Hand-offs one subscription may have in memory, in shares of its concurrency; past
/// this (a slow receiver), new ones are given back to polling, so none waits in memory
/// longer than a few attempts (well within `HANDOFF_HOLD`).
const LANE_SHARES: usize = 4;
/// How often the subscriptions' URLs and secrets are read again (a PATCH takes effect).
const TARGETS_EVERY: Duration = Duration::from_secs(2);

impl Dispatcher {
    /// Runs until `stop`; attempts in flight then finish on their own (their deliveries stay
    /// claimed until the claim runs out, and are sent again: at least once).
    ///
    /// The loop itself never waits for Postgres, so a finished attempt frees its slot for
    /// the next at once: outcomes go to one writer task (`write`), in order, and a claim
    /// runs as its own task and comes back as a message.
    pub async fn run(mut self, stop: CancellationToken) {
        let client = match client(&self.settings, self.public_only) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "webhook client not built; webhooks are not delivered");
                return;
            }
        };
        if self.sole {
            if let Err(e) = webhooks::release_all(&self.pool).await {
                tracing::warn!(error = %e, "held webhook deliveries not given back; their claims will run out");
            }
        }
        let backoff = self.settings.backoff();
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let each = self.settings.concurrency;
        // A claim outlives its attempt's timeout, so a live sender always records first.
        let hold = timeout * 2 + Duration::from_secs(5);
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let metrics = self.metrics.clone();
        let send = |d: Due, handed: bool| {
            let (client, done, metrics) = (client.clone(), done_tx.clone(), metrics.clone());
            actix_web::rt::spawn(async move {
                // Boxed: the spawned task stays small instead of carrying (and moving) the
                // whole HTTP request's state.
                let sent = Box::pin(attempt(&client, d, timeout, backoff, &metrics)).await;
                let _ = done.send(Done { sent, handed });
            });
        };
        let (writes, written) = mpsc::unbounded_channel::<Write>();
        actix_web::rt::spawn(write(self.pool.clone(), written));
        let (claims_tx, mut claims_rx) = mpsc::channel::<Vec<Due>>(1);
        let mut claiming = false;
        // Polled deliveries in flight, by subscription; hand-offs are counted in their lanes.
        let mut in_flight: HashMap<i64, usize> = HashMap::new();
        let mut lanes: HashMap<i64, Lane> = HashMap::new();
        let mut targets: HashMap<i64, (String, String)> = HashMap::new();
        let mut targets_read = Instant::now() - TARGETS_EVERY;
        let mut round = Write::default();
        let mut finished: Vec<Done> = Vec::new();
        let mut handed: Vec<Vec<Handoff>> = Vec::new();
        let mut flushed = Instant::now();
        // Streams whose hand-off was given back: later ones follow it to polling, until
        // no transaction that could still hand one over is in flight.
        let mut held_back: HashMap<(i64, String), Instant> = HashMap::new();
        // Newest events noted, each with when everything up to it is settled.
        let mut horizons: VecDeque<(Instant, i64)> = VecDeque::new();
        if self.sole {
            match webhooks::newest_event(&self.pool).await {
                Ok(seq) => horizons.push_back((Instant::now() + SOLE_SETTLE, seq)),
                Err(e) => tracing::warn!(error = %e, "newest event not read"),
            }
        }
        let mut recovered = Instant::now();
        let mut housekeeping = Instant::now() - HOUSEKEEPING;
        let mut polled = Instant::now() - POLL;
        loop {
            if targets_read.elapsed() >= TARGETS_EVERY {
                match webhooks::targets(&self.pool).await {
                    Ok(all) => {
                        targets = all.into_iter().map(|(id, u, s)| (id, (u, s))).collect();
                        targets_read = Instant::now();
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read webhook targets"),
                }
            }
            held_back.retain(|_, at| at.elapsed() < HANDOFF_HOLD);
            // New hand-offs join their stream's queue; a stream with none ahead is ready.
            while let Ok(batch) = self.handoffs.try_recv() {
                handed.push(batch);
            }
            for batch in handed.drain(..) {
                sort_in(
                    batch,
                    each * LANE_SHARES,
                    &mut lanes,
                    &targets,
                    &mut held_back,
                    &mut round.released,
                );
            }
            while let Ok(done) = done_rx.try_recv() {
                finished.push(done);
            }
            for done in finished.drain(..) {
                let sub = done.sent.subscription;
                if !done.handed {
                    if let Some(n) = in_flight.get_mut(&sub) {
                        *n = n.saturating_sub(1);
                    }
                } else {
                    let stream = &done.sent.stream;
                    let lane = lanes.entry(sub).or_default();
                    lane.in_flight = lane.in_flight.saturating_sub(1);
                    if let Some(queue) = lane.streams.get_mut(stream) {
                        queue.pop_front();
                        lane.queued = lane.queued.saturating_sub(1);
                        if done.sent.state != DeliveryState::Delivered {
                            // Its retry is polling's now, and the stream's later ones wait
                            // behind it there.
                            held_back.insert((sub, stream.clone()), Instant::now());
                            lane.give_back(stream, &mut round.released);
                        } else if queue.is_empty() {
                            lane.streams.remove(stream);
                        } else {
                            lane.ready.push_back(stream.clone());
                        }
                    }
                }
                round.sent.push(done.sent);
            }
            in_flight.retain(|_, n| *n > 0);
            // Ready streams start, up to each subscription's share.
            for (sub, lane) in lanes.iter_mut() {
                while lane.in_flight < each {
                    let Some(stream) = lane.ready.pop_front() else {
                        break;
                    };
                    let Some(h) = lane.streams.get(&stream).and_then(|q| q.front()) else {
                        continue;
                    };
                    let Some((url, secret)) = targets.get(sub) else {
                        // Paused or deleted meanwhile: polling sends what was queued.
                        lane.give_back(&stream, &mut round.released);
                        continue;
                    };
                    let due = Due {
                        subscription: *sub,
                        stream: h.stream.clone(),
                        attempts: 0,
                        url: url.clone(),
                        secret: secret.clone(),
                        event_id: h.event,
                        kind: h.kind.as_str().to_string(),
                        created_at: h.created_at,
                        data: h.data.clone(),
                    };
                    lane.in_flight += 1;
                    send(due, true);
                }
            }
            lanes.retain(|_, lane| lane.queued > 0 || lane.in_flight > 0);
            // Outcomes are written a round at a time (one statement for many attempts keeps
            // Postgres's share small under load), given back ones at once.
            let due_write = !round.released.is_empty()
                || (!round.sent.is_empty() && flushed.elapsed() >= FLUSH_EVERY);
            if due_write && writes.send(std::mem::take(&mut round)).is_ok() {
                flushed = Instant::now();
            }
            // Retries, other nodes' events and whatever a hand-off could not take, from
            // Postgres, now and then.
            if !claiming && polled.elapsed() >= POLL {
                polled = Instant::now();
                let shares: Vec<(i64, i32)> = in_flight
                    .iter()
                    .map(|(id, n)| (*id, to_i32(each.saturating_sub(*n))))
                    .collect();
                let free = IN_FLIGHT_MAX.saturating_sub(in_flight.values().sum());
                if free > 0 {
                    claiming = true;
                    let (pool, claims) = (self.pool.clone(), claims_tx.clone());
                    actix_web::rt::spawn(async move {
                        let due = match webhooks::claim(
                            &pool,
                            free as i64,
                            hold,
                            to_i32(each),
                            &shares,
                        )
                        .await
                        {
                            Ok(due) => due,
                            Err(e) => {
                                tracing::warn!(error = %e, "could not claim webhook deliveries");
                                Vec::new()
                            }
                        };
                        let _ = claims.send(due).await;
                    });
                }
            }
            if recovered.elapsed() >= RECOVER_EVERY {
                recovered = Instant::now();
                if self.recover(&mut horizons).await {
                    polled = Instant::now() - POLL;
                }
            }
            if housekeeping.elapsed() >= HOUSEKEEPING {
                housekeeping = Instant::now();
                let keep = Duration::from_secs(self.settings.retention_days * 86_400);
                match webhooks::prune(&self.pool, keep).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "pruned delivered events"),
                    Err(e) => tracing::warn!(error = %e, "events not pruned"),
                }
            }
            let waiting = !round.sent.is_empty();
            tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    let _ = writes.send(round);
                    return;
                }
                Some(done) = done_rx.recv() => finished.push(done),
                Some(batch) = self.handoffs.recv() => {
                    if batch.iter().any(|h| !targets.contains_key(&h.subscription)) {
                        // A subscription newer than the last read of the targets.
                        targets_read = Instant::now() - TARGETS_EVERY;
                    }
                    handed.push(batch);
                }
                Some(due) = claims_rx.recv() => {
                    claiming = false;
                    for d in due {
                        *in_flight.entry(d.subscription).or_default() += 1;
                        send(d, false);
                    }
                }
                _ = self.wake.notified() => polled = Instant::now() - POLL,
                _ = tokio::time::sleep(FLUSH_EVERY), if waiting => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// One round's outcomes, and the hand-offs it gave back to polling.
#[derive(Default)]
struct Write {
    sent: Vec<Sent>,
    released: Vec<(i64, EventId, String)>,
}

/// The dispatcher's one writer: each round's outcomes, then the hand-offs given back, in
/// the order they came (a failed delivery's row is there before the later ones of its
/// stream), several rounds in one go when Postgres is slower than the rounds. Not written
/// (Postgres away): a hand-off has no row, so `recover` writes it later and it goes again;
/// a polled one's claim runs out. A receiver that already had one drops it by its id.
async fn write(pool: Pool, mut rounds: mpsc::UnboundedReceiver<Write>) {
    while let Some(mut round) = rounds.recv().await {
        while let Ok(more) = rounds.try_recv() {
            round.sent.extend(more.sent);
            round.released.extend(more.released);
        }
        if let Err(e) = webhooks::record(&pool, &round.sent).await {
            tracing::warn!(error = %e, "webhook attempts not recorded; they will be sent again");
        }
        if let Err(e) = webhooks::release(&pool, &round.released).await {
            tracing::warn!(error = %e, "webhook deliveries not given back; recovery will send them");
        }
    }
}

impl Dispatcher {
    /// Notes the newest event, and writes the rows of the hand-offs that dead nodes held,
    /// up to the newest horizon that has settled. Answers whether it wrote any.
    async fn recover(&self, horizons: &mut VecDeque<(Instant, i64)>) -> bool {
        match webhooks::newest_event(&self.pool).await {
            Ok(seq) => horizons.push_back((Instant::now() + HANDOFF_HOLD, seq)),
            Err(e) => tracing::warn!(error = %e, "newest event not read"),
        }
        let mut horizon = None;
        while let Some((at, seq)) = horizons.front().copied() {
            if at > Instant::now() {
                break;
            }
            horizons.pop_front();
            horizon = Some(seq);
        }
        let Some(horizon) = horizon else {
            return false;
        };
        match webhooks::recover(&self.pool, horizon).await {
            Ok(0) => false,
            Ok(n) => {
                tracing::warn!(
                    deliveries = n,
                    "webhook deliveries a stopped node was holding are sent by polling"
                );
                true
            }
            Err(e) => {
                // Tried again from the same horizon next time.
                horizons.push_front((Instant::now(), horizon));
                tracing::warn!(error = %e, "lost hand-offs not recovered");
                false
            }
        }
    }
}

/// Sorts one batch of hand-offs into their lanes: each joins its stream's queue, and a
/// stream with nothing ahead of it is ready. A hand-off for a subscription this node does
/// not know (deleted, paused), whose stream was given back a moment ago, or that would
/// start a new stream in a full lane is given back to polling, and so is every later one
/// of its stream, so that none overtakes it. (One whose stream is already queued here
/// stays with it: polling could send it before the ones ahead of it.)
fn sort_in(
    batch: Vec<Handoff>,
    lane_max: usize,
    lanes: &mut HashMap<i64, Lane>,
    targets: &HashMap<i64, (String, String)>,
    held_back: &mut HashMap<(i64, String), Instant>,
    released: &mut Vec<(i64, EventId, String)>,
) {
    for h in batch {
        let lane = lanes.entry(h.subscription).or_default();
        let key = (h.subscription, h.stream.clone());
        let queued_here = lane.streams.contains_key(&h.stream);
        if (lane.queued >= lane_max && !queued_here)
            || !targets.contains_key(&h.subscription)
            || held_back.contains_key(&key)
        {
            held_back.entry(key).or_insert_with(Instant::now);
            released.push((h.subscription, h.event, h.stream));
            continue;
        }
        lane.queued += 1;
        let queue = lane.streams.entry(h.stream.clone()).or_default();
        if queue.is_empty() {
            lane.ready.push_back(h.stream.clone());
        }
        queue.push_back(h);
    }
}

fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The HTTP client deliveries go out on. Without private targets allowed, every address a
/// target's name resolves to is checked too, so a public name pointing inside is refused.
fn client(settings: &WebhookSettings, public_only: bool) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(settings.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Souk-Webhooks/", env!("CARGO_PKG_VERSION")));
    if public_only {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build()
}

/// Resolves names with the system's resolver and keeps only public addresses.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> =
                found.filter(|a| target::public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The body a receiver gets: `{id, type, created_at, data}`, written straight from the
/// delivery (no intermediate JSON tree).
pub fn body(d: &Due) -> String {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        id: EventId,
        #[serde(rename = "type")]
        kind: &'a str,
        created_at: &'a souk_actors::domain::model::Timestamp,
        data: &'a serde_json::Value,
    }
    let body = Body {
        id: d.event_id,
        kind: &d.kind,
        created_at: &d.created_at,
        data: &d.data,
    };
    // Only a map with non-string keys could fail to serialize; there is none here.
    serde_json::to_string(&body).unwrap_or_default()
}

/// Sends one delivery and says what became of it.
async fn attempt(
    client: &reqwest::Client,
    d: Due,
    timeout: Duration,
    backoff: Backoff,
    metrics: &WebhookMetrics,
) -> Sent {
    let body = body(&d);
    let signature = sign(
        d.secret.as_bytes(),
        body.as_bytes(),
        chrono::Utc::now().timestamp(),
    );
    let started = Instant::now();
    let answer = client
        .post(&d.url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header("Souk-Event-Id", d.event_id.to_string())
        .header("Souk-Event-Type", &d.kind)
        .body(body)
        .send()
        .await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let (status_code, error) = match answer {
        Ok(response) if response.status().is_success() => {
            (Some(i32::from(response.status().as_u16())), None)
        }
        Ok(response) => (
            Some(i32::from(response.status().as_u16())),
            Some(format!("the receiver answered {}", response.status())),
        ),
        Err(e) if e.is_timeout() => (None, Some(format!("no answer within {timeout:?}"))),
        // Without the URL: it is the admin's, but an error line should not repeat it.
        Err(e) => (None, Some(e.without_url().to_string())),
    };
    let now = chrono::Utc::now();
    let (state, next_attempt_at) = match &error {
        None => {
            let age = (now - d.created_at).to_std().unwrap_or_default();
            metrics.delivery_seconds.observe(age.as_secs_f64());
            (DeliveryState::Delivered, None)
        }
        Some(_) => {
            let failed = u32::try_from(d.attempts).unwrap_or(0).saturating_add(1);
            match backoff.retry_at(failed, d.created_at, now, rand::random()) {
                Some(at) => (DeliveryState::Pending, Some(at)),
                None => (DeliveryState::Failed, None),
            }
        }
    };
    let outcome = match state {
        DeliveryState::Delivered => "delivered",
        DeliveryState::Pending => "retry",
        DeliveryState::Failed => "failed",
    };
    metrics.deliveries.with_label_values(&[outcome]).inc();
    if state == DeliveryState::Failed {
        tracing::warn!(subscription = d.subscription, event = %d.event_id, "webhook delivery gave up after the retry horizon");
    }
    Sent {
        subscription: d.subscription,
        event: d.event_id,
        stream: d.stream,
        status_code,
        latency_ms,
        error,
        state,
        next_attempt_at,
    }
}

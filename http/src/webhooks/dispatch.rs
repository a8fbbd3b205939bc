//! The dispatcher: sends what the outbox recorded to each subscription, at least once.
//! The deliveries this node's group commit claimed as it recorded them arrive in memory
//! right after COMMIT and go out at once, each stream's in order. Retries, other nodes'
//! deliveries and those a hand-off could not take are claimed from Postgres by polling
//! (so several nodes, or a restarted one, share the work, and a crashed sender's claims
//! run out and are taken again). Each attempt is its own task, and a subscription has at
//! most `concurrency` in flight, so a slow receiver holds only its own slots, never the
//! group commit or other receivers. Each round's results are recorded in one statement.

use super::target;
use super::WebhookSettings;
use crate::signature::{sign, SIGNATURE_HEADER};
use deadpool_postgres::Pool;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};
use souk_actors::domain::backoff::Backoff;
use souk_actors::domain::events::EventId;
use souk_actors::store::events::Handoff;
use souk_actors::store::webhooks::{self, DeliveryState, Due, Sent};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// How often the dispatcher looks for due deliveries when nothing woke it.
const POLL: Duration = Duration::from_millis(500);
/// How long a round waits, after its first finished attempt, for the others in flight.
const GATHER: Duration = Duration::from_millis(10);
/// Attempts in flight over all subscriptions.
const IN_FLIGHT_MAX: usize = 256;
/// How often delivered events are pruned.
const HOUSEKEEPING: Duration = Duration::from_secs(3600);

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
    /// Deliveries the group commit claimed for this node, after their COMMIT.
    pub handoffs: mpsc::Receiver<Vec<Handoff>>,
    /// A single node: every claim still held is this node's from before a crash, and is
    /// given back to polling at start instead of waiting for it to run out.
    pub sole: bool,
}

/// One attempt's result, and the stream it belongs to when it was handed over in memory.
struct Done {
    sent: Sent,
    handed: Option<String>,
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

/// Hand-offs one subscription may have in memory, in shares of its concurrency; past
/// this (a slow receiver), new ones are given back to polling, so none waits in memory
/// longer than a few attempts (well within `HANDOFF_HOLD_SECS`).
const LANE_SHARES: usize = 4;
/// How often the subscriptions' URLs and secrets are read again (a PATCH takes effect).
const TARGETS_EVERY: Duration = Duration::from_secs(2);

impl Dispatcher {
    /// Runs until `stop`; attempts in flight then finish on their own (their deliveries stay
    /// claimed until the claim runs out, and are sent again: at least once).
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
        let send = |d: Due, handed: Option<String>| {
            let (client, done, metrics) = (client.clone(), done_tx.clone(), metrics.clone());
            actix_web::rt::spawn(async move {
                let sent = attempt(&client, d, timeout, backoff, &metrics).await;
                let _ = done.send(Done { sent, handed });
            });
        };
        // Polled deliveries in flight, by subscription; hand-offs are counted in their lanes.
        let mut in_flight: HashMap<i64, usize> = HashMap::new();
        let mut lanes: HashMap<i64, Lane> = HashMap::new();
        let mut targets: HashMap<i64, (String, String)> = HashMap::new();
        let mut targets_read = Instant::now() - TARGETS_EVERY;
        let mut finished: Vec<Done> = Vec::new();
        let mut released: Vec<(i64, EventId)> = Vec::new();
        let mut housekeeping = Instant::now() - HOUSEKEEPING;
        let mut polled = Instant::now() - POLL;
        let mut pending: Vec<Vec<Handoff>> = Vec::new();
        loop {
            while let Ok(done) = done_rx.try_recv() {
                finished.push(done);
            }
            if targets_read.elapsed() >= TARGETS_EVERY {
                match webhooks::targets(&self.pool).await {
                    Ok(all) => {
                        targets = all.into_iter().map(|(id, u, s)| (id, (u, s))).collect();
                        targets_read = Instant::now();
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read webhook targets"),
                }
            }
            // New hand-offs join their stream's queue; a stream with none ahead is ready.
            while let Ok(batch) = self.handoffs.try_recv() {
                pending.push(batch);
            }
            for batch in pending.drain(..) {
                sort_in(
                    batch,
                    each * LANE_SHARES,
                    &mut lanes,
                    &targets,
                    &mut released,
                );
            }
            let mut records: Vec<Sent> = Vec::with_capacity(finished.len());
            for done in finished.drain(..) {
                let sub = done.sent.subscription;
                match done.handed {
                    None => {
                        if let Some(n) = in_flight.get_mut(&sub) {
                            *n = n.saturating_sub(1);
                        }
                    }
                    Some(stream) => {
                        let lane = lanes.entry(sub).or_default();
                        lane.in_flight = lane.in_flight.saturating_sub(1);
                        let delivered = done.sent.state == DeliveryState::Delivered;
                        if let Some(queue) = lane.streams.get_mut(&stream) {
                            queue.pop_front();
                            lane.queued = lane.queued.saturating_sub(1);
                            if !delivered {
                                // Its retry is polling's now, and the stream's later ones
                                // wait behind it there.
                                for h in queue.drain(..) {
                                    lane.queued = lane.queued.saturating_sub(1);
                                    released.push((h.subscription, h.event));
                                }
                            }
                            if queue.is_empty() {
                                lane.streams.remove(&stream);
                            } else {
                                lane.ready.push_back(stream);
                            }
                        }
                    }
                }
                records.push(done.sent);
            }
            in_flight.retain(|_, n| *n > 0);
            // Ready streams start, up to each subscription's share.
            for (sub, lane) in lanes.iter_mut() {
                while lane.in_flight < each {
                    let Some(stream) = lane.ready.pop_front() else {
                        break;
                    };
                    let (Some(h), Some((url, secret))) = (
                        lane.streams.get(&stream).and_then(|q| q.front()),
                        targets.get(sub),
                    ) else {
                        continue;
                    };
                    let due = Due {
                        subscription: *sub,
                        attempts: 0,
                        url: url.clone(),
                        secret: secret.clone(),
                        event_id: h.event,
                        kind: h.kind.as_str().to_string(),
                        created_at: h.created_at,
                        data: h.data.clone(),
                    };
                    lane.in_flight += 1;
                    send(due, Some(stream));
                }
            }
            lanes.retain(|_, lane| lane.queued > 0 || lane.in_flight > 0);
            // Not recorded (Postgres away): the claims run out and the deliveries go again;
            // a receiver that already had one drops it by its id.
            if let Err(e) = webhooks::record(&self.pool, &records).await {
                tracing::warn!(error = %e, "webhook attempts not recorded; they will be sent again");
            }
            if let Err(e) = webhooks::release(&self.pool, &released).await {
                tracing::warn!(error = %e, "webhook deliveries not given back; their claims will run out");
            }
            released.clear();
            // Retries, other nodes' events and whatever a hand-off could not take, from
            // Postgres, now and then.
            if polled.elapsed() >= POLL {
                polled = Instant::now();
                let shares: Vec<(i64, i32)> = in_flight
                    .iter()
                    .map(|(id, n)| (*id, to_i32(each.saturating_sub(*n))))
                    .collect();
                let free = IN_FLIGHT_MAX.saturating_sub(in_flight.values().sum());
                if free > 0 {
                    match webhooks::claim(&self.pool, free as i64, hold, to_i32(each), &shares)
                        .await
                    {
                        Ok(due) => {
                            for d in due {
                                *in_flight.entry(d.subscription).or_default() += 1;
                                send(d, None);
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "could not claim webhook deliveries"),
                    }
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
            let busy = !in_flight.is_empty() || lanes.values().any(|l| l.in_flight > 0);
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                Some(done) = done_rx.recv() => {
                    finished.push(done);
                    // Let the attempts in flight finish together: one record per round, not
                    // per delivery, keeps Postgres's share small under load.
                    if busy {
                        tokio::time::sleep(GATHER).await;
                    }
                }
                Some(batch) = self.handoffs.recv() => {
                    if batch.iter().any(|h| !targets.contains_key(&h.subscription)) {
                        // A subscription newer than the last read of the targets.
                        targets_read = Instant::now() - TARGETS_EVERY;
                    }
                    pending.push(batch);
                }
                _ = self.wake.notified() => polled = Instant::now() - POLL,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// Sorts one batch of hand-offs into their lanes: each joins its stream's queue, and a
/// stream with nothing ahead of it is ready. A hand-off for a subscription this node does
/// not know (deleted, paused) or whose lane is full is given back to polling, and so is
/// every later one of its stream in the batch, so that none overtakes it. (Later batches
/// cannot: a delivery whose stream has one pending is never handed over.)
fn sort_in(
    batch: Vec<Handoff>,
    lane_max: usize,
    lanes: &mut HashMap<i64, Lane>,
    targets: &HashMap<i64, (String, String)>,
    released: &mut Vec<(i64, EventId)>,
) {
    let mut given_back: HashSet<(i64, String)> = HashSet::new();
    for h in batch {
        let lane = lanes.entry(h.subscription).or_default();
        let key = (h.subscription, h.stream.clone());
        if lane.queued >= lane_max
            || !targets.contains_key(&h.subscription)
            || given_back.contains(&key)
        {
            released.push((h.subscription, h.event));
            given_back.insert(key);
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

/// The body a receiver gets: `{id, type, created_at, data}`.
pub fn body(d: &Due) -> String {
    serde_json::json!({
        "id": d.event_id,
        "type": d.kind,
        "created_at": d.created_at,
        "data": d.data,
    })
    .to_string()
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
        status_code,
        latency_ms,
        error,
        state,
        next_attempt_at,
    }
}

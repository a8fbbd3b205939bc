//! The dispatcher: sends what the outbox recorded to each subscription, at least once.
//! It claims due deliveries in Postgres (so several nodes, or a restarted one, share the
//! work and a crashed sender's claims run out and are taken again), sends each as its own
//! task (a slow receiver holds only its own `concurrency` slots, never the group commit or
//! other receivers), and records each round's results in one statement. It wakes when the
//! group commit commits events, and polls as well, for retries and other nodes' events.

use super::target;
use super::WebhookSettings;
use crate::signature::{sign, SIGNATURE_HEADER};
use deadpool_postgres::Pool;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};
use souk_actors::domain::backoff::Backoff;
use souk_actors::store::webhooks::{self, Due, Sent};
use std::collections::HashMap;
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
/// How often events are pruned and the pending gauges refreshed.
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
}

impl Dispatcher {
    /// Runs until `stop`; attempts in flight then finish on their own (their deliveries stay
    /// claimed until the claim runs out, and are sent again: at least once).
    pub async fn run(self, stop: CancellationToken) {
        let client = match client(&self.settings, self.public_only) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "webhook client not built; webhooks are not delivered");
                return;
            }
        };
        let backoff = self.settings.backoff();
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        // A claim outlives its attempt's timeout, so a live sender always records first.
        let hold = timeout * 2 + Duration::from_secs(5);
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Sent>();
        let mut in_flight: HashMap<i64, usize> = HashMap::new();
        let mut finished: Vec<Sent> = Vec::new();
        let mut housekeeping = Instant::now() - HOUSEKEEPING;
        loop {
            while let Ok(sent) = done_rx.try_recv() {
                finished.push(sent);
            }
            if !finished.is_empty() {
                for sent in &finished {
                    if let Some(n) = in_flight.get_mut(&sent.subscription) {
                        *n = n.saturating_sub(1);
                    }
                }
                in_flight.retain(|_, n| *n > 0);
                // Not recorded (Postgres away): the claims run out and the deliveries go
                // again; a receiver that already had one drops it by its id.
                if let Err(e) = webhooks::record(&self.pool, &finished).await {
                    tracing::warn!(error = %e, "webhook attempts not recorded; they will be sent again");
                }
                finished.clear();
            }
            let each = self.settings.concurrency;
            let shares: Vec<(i64, i32)> = in_flight
                .iter()
                .map(|(id, n)| (*id, to_i32(each.saturating_sub(*n))))
                .collect();
            let free = IN_FLIGHT_MAX.saturating_sub(in_flight.values().sum());
            if free > 0 {
                match webhooks::claim(&self.pool, free as i64, hold, to_i32(each), &shares).await {
                    Ok(due) => {
                        for d in due {
                            *in_flight.entry(d.subscription).or_default() += 1;
                            let (client, done, metrics) =
                                (client.clone(), done_tx.clone(), self.metrics.clone());
                            actix_web::rt::spawn(async move {
                                let sent = attempt(&client, d, timeout, backoff, &metrics).await;
                                let _ = done.send(sent);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not claim webhook deliveries"),
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
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                Some(sent) = done_rx.recv() => {
                    finished.push(sent);
                    // Let the attempts in flight finish together: one record and one claim
                    // per round, not per delivery, keep Postgres's share small under load.
                    if in_flight.values().sum::<usize>() > finished.len() {
                        tokio::time::sleep(GATHER).await;
                    }
                }
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
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
    let age = (now - d.created_at).to_std().unwrap_or_default();
    let (state, next_attempt_at) = match &error {
        None => {
            metrics.delivery_seconds.observe(age.as_secs_f64());
            ("delivered", None)
        }
        Some(_) => {
            let attempts = u32::try_from(d.attempts).unwrap_or(0).saturating_add(1);
            match backoff.next(attempts, age, rand::random::<f64>()) {
                Some(wait) => (
                    "pending",
                    chrono::Duration::from_std(wait).ok().map(|w| now + w),
                ),
                None => ("failed", None),
            }
        }
    };
    let outcome = match state {
        "delivered" => "delivered",
        "pending" => "retry",
        _ => "failed",
    };
    metrics.deliveries.with_label_values(&[outcome]).inc();
    if state == "failed" {
        tracing::warn!(subscription = d.subscription, event = %d.event_id, "webhook delivery gave up after the retry horizon");
    }
    Sent {
        subscription: d.subscription,
        seq: d.seq,
        status_code,
        latency_ms,
        error,
        state,
        next_attempt_at,
    }
}

//! The load generator: clients that each own some users (so no two clients edit one cart)
//! and loop until the deadline. A checkout is `PUT` of one cart line, then `POST
//! /v1/me/checkout` with a fresh Idempotency-Key; its latency is the checkout's alone.

use hdrhistogram::Histogram;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn histogram() -> Histogram<u64> {
    Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures is valid"))
}

/// What the clients saw in the measured window.
pub struct Observed {
    pub checkouts: Histogram<u64>,
    /// Product pages (the catalog read model).
    pub reads: Histogram<u64>,
    /// Cart reads (the user's actor and its products' snapshots).
    pub cart_reads: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
    /// Flash: time from the start signal to the last successful checkout.
    pub last_success: Option<Duration>,
}

impl Observed {
    fn new() -> Observed {
        Observed {
            checkouts: histogram(),
            reads: histogram(),
            cart_reads: histogram(),
            errors: BTreeMap::new(),
            last_success: None,
        }
    }

    fn merge(&mut self, other: Observed) {
        let _ = self.checkouts.add(&other.checkouts);
        let _ = self.reads.add(&other.reads);
        let _ = self.cart_reads.add(&other.cart_reads);
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
        self.last_success = self.last_success.max(other.last_success);
    }

    fn error(&mut self, code: &str) {
        *self.errors.entry(code.to_string()).or_default() += 1;
    }
}

#[derive(Clone)]
pub struct Target {
    pub http: reqwest::Client,
    pub base: String,
    pub products: i64,
}

/// What each loop iteration does.
#[derive(Debug, Clone, Copy)]
pub enum Mix {
    /// Checkouts only.
    Checkouts,
    /// This share of iterations are reads (product or cart), the rest checkouts.
    Reads(f64),
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

async fn put_line(t: &Target, token: &str, product: i64) -> bool {
    let res = t
        .http
        .put(format!("{}/v1/me/cart/items/{product}", t.base))
        .bearer_auth(token)
        .json(&json!({ "quantity": 1 }))
        .send()
        .await;
    matches!(res, Ok(r) if r.status().is_success())
}

/// One checkout; `Ok(latency)` when it was 201, else the error code.
async fn checkout(t: &Target, token: &str) -> (Duration, Result<(), String>) {
    let sent = Instant::now();
    let res = t
        .http
        .post(format!("{}/v1/me/checkout", t.base))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({
            "payment": "wallet",
            "shipping_address": { "name": "Bench Buyer", "line1": "1 Load St", "city": "Testville",
                                  "postal_code": "00000", "country": "US" },
        }))
        .send()
        .await;
    let outcome = match res {
        Ok(r) if r.status().as_u16() == 201 => {
            // Read the body: the answer is complete only when it has arrived.
            let _ = r.bytes().await;
            Ok(())
        }
        Ok(r) => {
            let body: Value = r.json().await.unwrap_or(Value::Null);
            Err(body["error"]["code"]
                .as_str()
                .unwrap_or("unknown")
                .to_string())
        }
        Err(_) => Err("transport".to_string()),
    };
    (sent.elapsed(), outcome)
}

async fn read(t: &Target, token: &str, product: i64, cart: bool) -> Result<Duration, String> {
    let sent = Instant::now();
    let req = if cart {
        t.http
            .get(format!("{}/v1/me/cart", t.base))
            .bearer_auth(token)
    } else {
        t.http.get(format!("{}/v1/products/{product}", t.base))
    };
    match req.send().await {
        Ok(r) if r.status().is_success() => {
            let _ = r.bytes().await;
            Ok(sent.elapsed())
        }
        Ok(r) => Err(format!("read_{}", r.status().as_u16())),
        Err(_) => Err("transport".into()),
    }
}

/// One client: loops over its users until `deadline`, measuring from `measure_from`.
pub async fn client(
    t: Target,
    tokens: Vec<String>,
    mix: Mix,
    measure_from: Instant,
    deadline: Instant,
) -> Observed {
    let mut seen = Observed::new();
    if tokens.is_empty() {
        return seen;
    }
    while Instant::now() < deadline {
        let (token, product, roll) = {
            let mut rng = rand::rng();
            (
                &tokens[rng.random_range(0..tokens.len())],
                rng.random_range(1..=t.products),
                rng.random::<f64>(),
            )
        };
        let measured = || Instant::now() >= measure_from && Instant::now() <= deadline;
        if let Mix::Reads(share) = mix {
            if roll < share {
                let cart = roll < share / 2.0;
                let result = read(&t, token, product, cart).await;
                if measured() {
                    match result {
                        Ok(d) if cart => t_record(&mut seen.cart_reads, d),
                        Ok(d) => t_record(&mut seen.reads, d),
                        Err(code) => seen.error(&code),
                    }
                }
                continue;
            }
        }
        if !put_line(&t, token, product).await {
            if measured() {
                seen.error("cart");
            }
            continue;
        }
        let started_in_window = Instant::now() >= measure_from;
        let (latency, outcome) = checkout(&t, token).await;
        if !started_in_window || Instant::now() > deadline {
            continue;
        }
        match outcome {
            Ok(()) => t_record(&mut seen.checkouts, latency),
            Err(code) => seen.error(&code),
        }
    }
    seen
}

fn t_record(h: &mut Histogram<u64>, d: Duration) {
    let _ = h.record(micros(d));
}

/// Flash sale: every client fills its cart, then all check out at one signal, once.
pub async fn flash(t: Target, tokens: Vec<String>) -> (Observed, Duration) {
    let barrier = Arc::new(tokio::sync::Barrier::new(tokens.len() + 1));
    let start = Arc::new(tokio::sync::OnceCell::<Instant>::new());
    let runs: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (t, barrier, start) = (t.clone(), barrier.clone(), start.clone());
            tokio::spawn(async move {
                let mut seen = Observed::new();
                let ready = put_line(&t, &token, 1).await;
                barrier.wait().await;
                if !ready {
                    seen.error("cart");
                    return seen;
                }
                let (latency, outcome) = checkout(&t, &token).await;
                match outcome {
                    Ok(()) => {
                        t_record(&mut seen.checkouts, latency);
                        seen.last_success = start.get().map(Instant::elapsed);
                    }
                    Err(code) => seen.error(&code),
                }
                seen
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    let _ = start.set(started);
    let mut all = Observed::new();
    for run in runs {
        if let Ok(seen) = run.await {
            all.merge(seen);
        }
    }
    (all, started.elapsed())
}

/// Many clients run concurrently; their observations merge.
pub async fn run_clients(
    t: &Target,
    tokens_per_client: Vec<Vec<String>>,
    mix: Mix,
    warmup: Duration,
    duration: Duration,
) -> Observed {
    let measure_from = Instant::now() + warmup;
    let deadline = measure_from + duration;
    let runs: Vec<_> = tokens_per_client
        .into_iter()
        .map(|tokens| tokio::spawn(client(t.clone(), tokens, mix, measure_from, deadline)))
        .collect();
    let mut all = Observed::new();
    for run in runs {
        if let Ok(seen) = run.await {
            all.merge(seen);
        }
    }
    all
}

/// The HTTP ceiling: `clients` clients asking `GET /v1/health` for `time`.
pub async fn health_ceiling(t: &Target, clients: usize, time: Duration) -> f64 {
    let deadline = Instant::now() + time;
    let runs: Vec<_> = (0..clients)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if let Ok(r) = t.http.get(format!("{}/v1/health", t.base)).send().await {
                        let _ = r.bytes().await;
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for run in runs {
        total += run.await.unwrap_or(0);
    }
    total as f64 / time.as_secs_f64()
}

//! The load generator: clients that each own some users (so no two clients edit one cart)
//! and loop until the deadline. A checkout is `PUT` of one cart line, then `POST
//! /v1/me/checkout` with a fresh Idempotency-Key; its latency is the checkout's alone.
//!
//! Each client holds one keep-alive HTTP/1.1 connection of its own (hyper's connection
//! API, request bodies serialized once). The generator shares two cores with Souk and
//! Postgres, so every cycle it spends is taken from what it measures: a pooled general
//! client (reqwest) cost more CPU per request than the server's handling of it.

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
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

    fn summary(&self, measured: Duration, cpu: Option<Duration>) -> Summary {
        Summary {
            checkouts: Latencies::of(&self.checkouts),
            reads: Latencies::of(&self.reads),
            cart_reads: Latencies::of(&self.cart_reads),
            errors: self.errors.clone(),
            measured_s: measured.as_secs_f64(),
            cpu_ms: cpu.map(|c| c.as_secs_f64() * 1000.0),
            webhook: None,
        }
    }
}

/// What `souk load` reports when its window ends: the parent (`souk bench`) reads it from
/// the child's standard output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub checkouts: Latencies,
    /// Product pages (the catalog read model).
    pub reads: Latencies,
    /// Cart reads (the user's actor and its products' snapshots).
    pub cart_reads: Latencies,
    pub errors: BTreeMap<String, u64>,
    /// The measured window: the configured duration, or a flash sale's time to sell out.
    pub measured_s: f64,
    /// The load generator's own CPU time over the window.
    pub cpu_ms: Option<f64>,
    /// Webhook deliveries of events committed in the window, commit to arrival.
    #[serde(default)]
    pub webhook: Option<Latencies>,
}

/// One kind of request's count and latency percentiles, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latencies {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latencies {
    fn of(h: &Histogram<u64>) -> Latencies {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Latencies {
            count: h.len(),
            p50_ms: ms(0.50),
            p95_ms: ms(0.95),
            p99_ms: ms(0.99),
            max_ms: h.max() as f64 / 1000.0,
        }
    }
}

/// What `souk load` prints, one JSON object per line: `Measuring` when its measured window
/// opens (the parent samples CPU then), `Done` when it closes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Measuring,
    Done(Box<Summary>),
}

fn announce(event: &Event) {
    // One line each, flushed at once: stdout is line-buffered.
    println!("{}", serde_json::to_string(event).unwrap_or_default());
}

#[derive(Clone)]
pub struct Target {
    /// For the few requests outside the measured loops (metrics, the memory workload).
    pub http: reqwest::Client,
    /// The first node's URL.
    pub base: String,
    /// Every node's address; each new connection takes the next one in turn.
    addrs: Arc<Vec<SocketAddr>>,
    next: Arc<std::sync::atomic::AtomicUsize>,
    pub products: i64,
}

impl Target {
    pub fn new(http: reqwest::Client, ports: &[u16], products: i64) -> Target {
        let addrs: Vec<SocketAddr> = ports
            .iter()
            .map(|port| SocketAddr::from(([127, 0, 0, 1], *port)))
            .collect();
        Target {
            http,
            base: format!("http://127.0.0.1:{}", ports.first().copied().unwrap_or(0)),
            addrs: Arc::new(addrs),
            next: Arc::default(),
            products,
        }
    }

    /// The node the next connection goes to: round robin over the nodes.
    pub fn addr(&self) -> SocketAddr {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.addrs[i % self.addrs.len().max(1)]
    }
}

/// One client's connection to Souk; reopened after a transport error.
pub struct Conn {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// What a request came back with: its status and body, or a transport failure.
type Answer = Result<(u16, Bytes), ()>;

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn { addr, sender: None }
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, ()> {
        if self.sender.as_ref().is_some_and(|s| !s.is_closed()) {
            return self.sender.as_mut().ok_or(());
        }
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|_| ())?;
        let _ = stream.set_nodelay(true);
        let io = hyper_util::rt::TokioIo::new(stream);
        let (sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|_| ())?;
        tokio::spawn(connection);
        Ok(self.sender.insert(sender))
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Bytes>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "127.0.0.1");
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|_| ())?;
        let result = async {
            let sender = self.open().await?;
            sender.ready().await.map_err(|_| ())?;
            let response = sender.send_request(request).await.map_err(|_| ())?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|_| ())?;
            Ok((status, body.to_bytes()))
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}

static CART_LINE: LazyLock<Bytes> =
    LazyLock::new(|| Bytes::from(json!({ "quantity": 1 }).to_string()));
static CHECKOUT: LazyLock<Bytes> = LazyLock::new(|| {
    Bytes::from(
        json!({
            "payment": "wallet",
            "shipping_address": { "name": "Bench Buyer", "line1": "1 Load St", "city": "Testville",
                                  "postal_code": "00000", "country": "US" },
        })
        .to_string(),
    )
});

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

async fn put_line(conn: &mut Conn, token: &str, product: i64) -> bool {
    let path = format!("/v1/me/cart/items/{product}");
    let body = Some(CART_LINE.clone());
    let answer = conn.send(Method::PUT, &path, Some(token), None, body).await;
    matches!(answer, Ok((status, _)) if (200..300).contains(&status))
}

/// One checkout; `Ok(latency)` when it was 201, else the error code. The latency ends
/// when the whole answer has arrived.
async fn checkout(conn: &mut Conn, token: &str) -> (Duration, Result<(), String>) {
    let sent = Instant::now();
    let key = uuid::Uuid::new_v4().to_string();
    let body = Some(CHECKOUT.clone());
    let answer = conn
        .send(
            Method::POST,
            "/v1/me/checkout",
            Some(token),
            Some(&key),
            body,
        )
        .await;
    let outcome = match answer {
        Ok((201, _)) => Ok(()),
        Ok((_, body)) => {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Err(body["error"]["code"]
                .as_str()
                .unwrap_or("unknown")
                .to_string())
        }
        Err(()) => Err("transport".to_string()),
    };
    (sent.elapsed(), outcome)
}

async fn read(conn: &mut Conn, token: &str, product: i64, cart: bool) -> Result<Duration, String> {
    let sent = Instant::now();
    let answer = if cart {
        conn.send(Method::GET, "/v1/me/cart", Some(token), None, None)
            .await
    } else {
        let path = format!("/v1/products/{product}");
        conn.send(Method::GET, &path, None, None, None).await
    };
    match answer {
        Ok((status, _)) if (200..300).contains(&status) => Ok(sent.elapsed()),
        Ok((status, _)) => Err(format!("read_{status}")),
        Err(()) => Err("transport".into()),
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
    let mut conn = Conn::new(t.addr());
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
                let result = read(&mut conn, token, product, cart).await;
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
        if !put_line(&mut conn, token, product).await {
            if measured() {
                seen.error("cart");
            }
            continue;
        }
        let started_in_window = Instant::now() >= measure_from;
        let (latency, outcome) = checkout(&mut conn, token).await;
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
/// Answers what they saw, the time to the last sale and the generator's CPU meanwhile.
async fn flash(t: Target, tokens: Vec<String>) -> (Observed, Duration, Option<Duration>) {
    let barrier = Arc::new(tokio::sync::Barrier::new(tokens.len() + 1));
    let start = Arc::new(tokio::sync::OnceCell::<Instant>::new());
    let runs: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (t, barrier, start) = (t.clone(), barrier.clone(), start.clone());
            tokio::spawn(async move {
                let mut seen = Observed::new();
                let mut conn = Conn::new(t.addr());
                let ready = put_line(&mut conn, &token, 1).await;
                barrier.wait().await;
                if !ready {
                    seen.error("cart");
                    return seen;
                }
                let (latency, outcome) = checkout(&mut conn, &token).await;
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
    announce(&Event::Measuring);
    let cpu = super::cpu::own();
    let started = Instant::now();
    let _ = start.set(started);
    let mut all = Observed::new();
    for run in runs {
        if let Ok(seen) = run.await {
            all.merge(seen);
        }
    }
    let sold_out = all.last_success.unwrap_or_default();
    let spent = super::cpu::own()
        .zip(cpu)
        .map(|(now, then)| now.saturating_sub(then));
    (all, sold_out, spent)
}

/// Many clients run concurrently; their observations merge. Also answers the generator's
/// CPU over the measured window.
async fn run_clients(
    t: &Target,
    tokens_per_client: Vec<Vec<String>>,
    mix: Mix,
    warmup: Duration,
    duration: Duration,
) -> (Observed, Option<Duration>) {
    let measure_from = Instant::now() + warmup;
    let deadline = measure_from + duration;
    let runs: Vec<_> = tokens_per_client
        .into_iter()
        .map(|tokens| tokio::spawn(client(t.clone(), tokens, mix, measure_from, deadline)))
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    announce(&Event::Measuring);
    let cpu = super::cpu::own();
    let mut all = Observed::new();
    for run in runs {
        if let Ok(seen) = run.await {
            all.merge(seen);
        }
    }
    let spent = super::cpu::own()
        .zip(cpu)
        .map(|(now, then)| now.saturating_sub(then));
    (all, spent)
}

/// What `souk load` is to do; `souk bench` passes it on the command line.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub workload: super::Workload,
    pub ports: Vec<u16>,
    pub products: i64,
    pub users: i64,
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// A webhook receiver listens here (`souk bench --webhook`).
    pub webhook_port: Option<u16>,
}

/// The environment variable that carries the JWT secret to `souk load` (never its
/// arguments, which every user of the machine can read).
pub const SECRET_ENV: &str = "SOUK_LOAD_SECRET";

/// `souk load`: the workload's clients in this process, reporting on stdout. It runs
/// apart from Souk so the bench can tell its CPU from the server's.
pub async fn run(spec: LoadSpec) -> Result<(), String> {
    let secret = std::env::var(SECRET_ENV).map_err(|_| format!("{SECRET_ENV} is not set"))?;
    let keys = souk_http::auth::JwtKeys::new(&secrecy::SecretString::from(secret));
    let token = |u: i64| {
        souk_actors::domain::ids::UserId::new(u)
            .and_then(|u| {
                keys.mint(u, souk_http::auth::Role::Customer, 24 * 3600)
                    .ok()
            })
            .unwrap_or_default()
    };
    let http = reqwest::Client::new();
    let t = Target::new(http, &spec.ports, spec.products);
    let arrivals = match spec.webhook_port {
        Some(port) => Some(super::receiver::start(port).await?),
        None => None,
    };
    let window_start = chrono::Utc::now() + spec.warmup;
    let mut summary = if spec.workload == super::Workload::Flash {
        let tokens: Vec<String> = (1..=spec.users).map(token).collect();
        let (seen, sold_out, cpu) = flash(t, tokens).await;
        seen.summary(sold_out, cpu)
    } else {
        let clients = spec.concurrency.max(1);
        let per_client: Vec<Vec<String>> = (0..clients)
            .map(|c| {
                (1..=spec.users)
                    .filter(|u| (*u as usize) % clients == c)
                    .map(token)
                    .collect()
            })
            .collect();
        let mix = if spec.workload == super::Workload::Mixed {
            Mix::Reads(super::READ_SHARE)
        } else {
            Mix::Checkouts
        };
        let (seen, cpu) = run_clients(&t, per_client, mix, spec.warmup, spec.duration).await;
        seen.summary(spec.duration, cpu)
    };
    if let Some(arrivals) = arrivals {
        // Events of the window's last moments may still be on their way: the window
        // counted ends a quarter second early.
        let to = chrono::Utc::now() - chrono::Duration::milliseconds(250);
        let mut h = histogram();
        for latency in arrivals.between(window_start.timestamp_micros(), to.timestamp_micros()) {
            let _ = h.record(latency.max(1));
        }
        summary.webhook = Some(Latencies::of(&h));
    }
    announce(&Event::Done(Box::new(summary)));
    Ok(())
}

/// The HTTP ceiling: `clients` clients asking `GET /v1/health` for `time`.
pub async fn health_ceiling(t: &Target, clients: usize, time: Duration) -> f64 {
    let deadline = Instant::now() + time;
    let runs: Vec<_> = (0..clients)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                let mut conn = Conn::new(t.addr());
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let answer = conn.send(Method::GET, "/v1/health", None, None, None);
                    if let Ok((200, _)) = answer.await {
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

//! Real etcd members and real `souk` processes on loopback, started by the test and stopped
//! by their pids when it ends (also when it fails).

use crate::common::SECRET;
use crate::external::free_port;
use reqwest::StatusCode;
use serde_json::Value;
use souk_actors::domain::ids::UserId;
use souk_http::auth::{JwtKeys, Role};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CLUSTER_SECRET: &str = "cluster-secret-for-tests-only-0123456789abcdef";
/// Short, so a lost node's shards move within seconds, yet long enough that keep-alives
/// (every third of it) get through while the whole suite loads both cores.
pub const LEASE_TTL_SECS: u64 = 5;
pub const SHARDS: u32 = 256;
pub const PAYMENT_SECRET: &str = "payment-webhook-secret-for-tests-0123456789abcdef";

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Sends `signal` to a child by its pid.
fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, signal);
}

struct Member {
    name: String,
    client: u16,
    peer: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// An etcd cluster of real members (Debian's `etcd-server`).
pub struct Etcd {
    members: Vec<Member>,
    token: String,
}

impl Etcd {
    pub async fn start(n: usize) -> Etcd {
        let token = format!("souk-test-{}-{}", std::process::id(), free_port());
        let members: Vec<Member> = (0..n)
            .map(|i| {
                let (client, peer) = (free_port(), free_port());
                let name = format!("m{i}");
                let dir = tmp(&format!("etcd-{token}-{name}"));
                let _ = std::fs::remove_dir_all(&dir);
                Member {
                    name,
                    client,
                    peer,
                    dir,
                    child: None,
                }
            })
            .collect();
        let mut etcd = Etcd { members, token };
        for i in 0..n {
            etcd.spawn(i, "new");
        }
        for i in 0..n {
            etcd.wait_healthy(i).await;
        }
        etcd
    }

    fn initial_cluster(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn spawn(&mut self, i: usize, state: &str) {
        let initial = self.initial_cluster();
        let m = &mut self.members[i];
        let log = std::fs::File::create(tmp(&format!("{}-{}.log", self.token, m.name)))
            .expect("etcd log");
        let child = Command::new(etcd_binary())
            .args(["--name", &m.name])
            .arg("--data-dir")
            .arg(&m.dir)
            .args([
                "--listen-client-urls",
                &format!("http://127.0.0.1:{}", m.client),
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{}", m.client),
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{}", m.peer),
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{}", m.peer),
                "--initial-cluster",
                &initial,
                "--initial-cluster-state",
                state,
                "--initial-cluster-token",
                &self.token,
                "--heartbeat-interval",
                "100",
                "--election-timeout",
                "1000",
                "--log-level",
                "warn",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts (install etcd-server; .ci/run does)");
        m.child = Some(child);
    }

    async fn wait_healthy(&self, i: usize) {
        let url = format!("http://127.0.0.1:{}/health", self.members[i].client);
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "etcd member {i} not healthy");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("http://127.0.0.1:{}", m.client))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// SIGKILLs member `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Restarts a killed member on its data directory.
    pub async fn restart(&mut self, i: usize) {
        self.spawn(i, "existing");
        self.wait_healthy(i).await;
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
            let _ = std::fs::remove_dir_all(&self.members[i].dir);
        }
    }
}

fn etcd_binary() -> PathBuf {
    std::env::var_os("SOUK_ETCD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("etcd"))
}

/// One `souk` process, a member of the cluster.
pub struct Node {
    pub id: String,
    pub base: String,
    pub log: PathBuf,
    port: u16,
    db_url: String,
    etcd: String,
    prefix: String,
    /// Settings on top of the harness's own.
    extra: Vec<(String, String)>,
    child: Option<Child>,
}

impl Node {
    /// Starts a node; does not wait for it (see `wait_ready`).
    pub fn start(id: &str, db_url: &str, etcd: &str, prefix: &str) -> Node {
        Node::start_with(id, db_url, etcd, prefix, &[])
    }

    /// Starts a node with `extra` settings (`SOUK__…` variables) on top of the harness's.
    pub fn start_with(
        id: &str,
        db_url: &str,
        etcd: &str,
        prefix: &str,
        extra: &[(&str, &str)],
    ) -> Node {
        let port = free_port();
        let mut node = Node {
            id: id.to_string(),
            base: format!("http://127.0.0.1:{port}"),
            log: tmp(&format!("souk-{prefix}-{id}.log").replace('/', "")),
            port,
            db_url: db_url.to_string(),
            etcd: etcd.to_string(),
            prefix: prefix.to_string(),
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: None,
        };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_souk"));
        command
            .env("SOUK__DATABASE__URL", &self.db_url)
            .env("SOUK__HTTP__ADDR", format!("127.0.0.1:{}", self.port))
            .env("SOUK__HTTP__WORKERS", "2")
            .env("SOUK__AUTH__JWT_SECRET", SECRET)
            .env("SOUK__SHOP__DEMO_SEED", "false")
            .env("SOUK__CLUSTER__ETCD", &self.etcd)
            .env("SOUK__CLUSTER__NODE_ID", &self.id)
            .env("SOUK__CLUSTER__SECRET", CLUSTER_SECRET)
            .env("SOUK__PAYMENTS__WEBHOOK_SECRET", PAYMENT_SECRET)
            .env("SOUK__CLUSTER__PREFIX", &self.prefix)
            .env("SOUK__CLUSTER__SHARDS", SHARDS.to_string())
            .env("SOUK__CLUSTER__LEASE_TTL_SECS", LEASE_TTL_SECS.to_string())
            // Units a checkout cut off by a fault still holds come back this soon.
            .env("SOUK__ACTORS__RESERVATION_TTL_SECS", "5")
            .env("SOUK__RATE_LIMITS__CHECKOUT__PER_SECOND", "1000000")
            .env("SOUK__RATE_LIMITS__CHECKOUT__BURST", "1000000")
            .env("SOUK__RATE_LIMITS__WRITES__PER_SECOND", "1000000")
            .env("SOUK__RATE_LIMITS__WRITES__BURST", "1000000")
            .env("SOUK__RATE_LIMITS__READS__PER_SECOND", "1000000")
            .env("SOUK__RATE_LIMITS__READS__BURST", "1000000")
            .env("RUST_LOG", "info");
        for (key, value) in &self.extra {
            command.env(key, value);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("souk binary starts");
        self.child = Some(child);
    }

    /// Waits (bounded) for the process to exit by itself; its status and its log.
    pub async fn exited(&mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return (
                    status,
                    std::fs::read_to_string(&self.log).unwrap_or_default(),
                );
            }
            assert!(Instant::now() < deadline, "node {} did not exit", self.id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `/v1/ready` is 200: the node holds a lease.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{}/v1/ready", self.base)).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "node {} not ready; see {}",
                self.id,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn stop(&self) {
        if let Some(child) = &self.child {
            signal(child, nix::sys::signal::Signal::SIGSTOP);
        }
    }

    pub fn resume(&self) {
        if let Some(child) = &self.child {
            signal(child, nix::sys::signal::Signal::SIGCONT);
        }
    }

    /// SIGTERM, then the exit status (bounded wait).
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        signal(&child, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "node {} did not exit", self.id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the process again (same port and name) after `kill` or `terminate`.
    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        self.spawn();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            signal(child, nix::sys::signal::Signal::SIGCONT);
        }
        self.kill();
    }
}

pub fn token(user: i64, role: &str) -> String {
    let keys = JwtKeys::new(&secrecy::SecretString::from(SECRET.to_string()));
    keys.mint(
        UserId::new(user).expect("user"),
        Role::parse(role).expect("role"),
        3600,
    )
    .expect("token")
}

/// `GET /v1/admin/cluster` from `node`.
pub async fn cluster_view(http: &reqwest::Client, node: &Node) -> Option<Value> {
    let r = http
        .get(format!("{}/v1/admin/cluster", node.base))
        .bearer_auth(token(1, "admin"))
        .send()
        .await
        .ok()?;
    if r.status() != StatusCode::OK {
        return None;
    }
    r.json().await.ok()
}

/// Each live node's count of shards it serves, read from the nodes themselves.
pub async fn served(http: &reqwest::Client, nodes: &[&Node]) -> Vec<u32> {
    let mut counts = Vec::new();
    for node in nodes {
        let n = cluster_view(http, node)
            .await
            .and_then(|v| v["shards_served"].as_u64())
            .unwrap_or(0);
        counts.push(n as u32);
    }
    counts
}

/// Waits until the nodes together serve every shard, each its fair share (±1); returns
/// how long that took.
pub async fn wait_balanced(http: &reqwest::Client, nodes: &[&Node], within: Duration) -> Duration {
    let started = Instant::now();
    let (lo, hi) = (
        SHARDS / nodes.len() as u32,
        SHARDS.div_ceil(nodes.len() as u32),
    );
    loop {
        let counts = served(http, nodes).await;
        if counts.iter().sum::<u32>() == SHARDS && counts.iter().all(|c| (lo..=hi).contains(c)) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "shards not balanced over {} nodes after {within:?}: {counts:?}",
            nodes.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts one node per id on `etcd` and waits until they are ready and serve every shard
/// evenly between them.
pub async fn start_balanced(
    http: &reqwest::Client,
    ids: &[&str],
    db_url: &str,
    etcd: &Etcd,
    prefix: &str,
    extra: &[(&str, &str)],
) -> Vec<Node> {
    let nodes: Vec<Node> = ids
        .iter()
        .map(|id| Node::start_with(id, db_url, &etcd.endpoints(), prefix, extra))
        .collect();
    for node in &nodes {
        node.wait_ready().await;
    }
    wait_balanced(
        http,
        &nodes.iter().collect::<Vec<_>>(),
        Duration::from_secs(60),
    )
    .await;
    nodes
}

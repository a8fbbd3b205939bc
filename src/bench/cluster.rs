//! `souk bench --nodes N`: Souk's engine as a cluster of N nodes in this process, on a
//! private etcd member the bench starts (Debian's `etcd-server`) and stops by its pid. The
//! clients spread their connections over the nodes; a request for an owner on another node
//! is forwarded, as in production.

use crate::config::Settings;
use crate::startup::Background;
use secrecy::SecretString;
use souk_actors::domain::ids::UserId;
use souk_http::auth::{JwtKeys, Role};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct BenchCluster {
    pub nodes: Vec<Background>,
    etcd: Child,
    dir: PathBuf,
}

impl Drop for BenchCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = self.etcd.kill();
        let _ = self.etcd.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Starts etcd and `n` nodes with `settings`, and waits until they serve every shard.
pub async fn start(
    settings: &Settings,
    n: usize,
    keys: &JwtKeys,
    state_dir: &std::path::Path,
) -> Result<BenchCluster, String> {
    let (client, peer) = (free_port()?, free_port()?);
    let dir = std::env::temp_dir().join(format!("souk-bench-etcd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let etcd = Command::new(std::env::var_os("SOUK_ETCD_BIN").unwrap_or_else(|| "etcd".into()))
        .arg("--data-dir")
        .arg(&dir)
        .args([
            "--listen-client-urls",
            &format!("http://127.0.0.1:{client}"),
            "--advertise-client-urls",
            &format!("http://127.0.0.1:{client}"),
            "--listen-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
            "--initial-cluster",
            &format!("default=http://127.0.0.1:{peer}"),
            "--log-level",
            "error",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start etcd (Debian: apt-get install -y etcd-server): {e}"))?;
    let mut cluster = BenchCluster {
        nodes: Vec::new(),
        etcd,
        dir,
    };
    let endpoint = format!("http://127.0.0.1:{client}");
    for i in 0..n {
        let mut node = settings.clone();
        node.cluster.etcd = Some(endpoint.clone());
        node.cluster.node_id = Some(format!("bench-{i}"));
        node.cluster.prefix = format!("/souk-bench-{}", std::process::id());
        node.cluster.secret = Some(SecretString::from("bench-cluster-secret-".repeat(3)));
        cluster
            .nodes
            .push(Background::start(node, state_dir.to_path_buf()).await?);
    }
    wait_serving(&cluster, settings.cluster.shards, keys).await?;
    Ok(cluster)
}

/// Waits until the nodes together serve every shard and each node knows where every other
/// shard is served (its view lists every member and every claim), so no measured request
/// meets a shard between owners or a node that cannot yet route it.
async fn wait_serving(cluster: &BenchCluster, shards: u32, keys: &JwtKeys) -> Result<(), String> {
    let admin = UserId::new(1)
        .and_then(|u| keys.mint(u, Role::Admin, 3600).ok())
        .unwrap_or_default();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let nodes = cluster.nodes.len();
    loop {
        let mut served = 0;
        let mut routed = 0;
        for node in &cluster.nodes {
            let view = http
                .get(format!("http://127.0.0.1:{}/v1/admin/cluster", node.port))
                .bearer_auth(&admin)
                .send()
                .await;
            let Ok(view) = view else { continue };
            let body: serde_json::Value = view.json().await.unwrap_or_default();
            served += body["shards_served"].as_u64().unwrap_or(0);
            let members = body["members"].as_array().cloned().unwrap_or_default();
            let claimed: u64 = members.iter().filter_map(|m| m["shards"].as_u64()).sum();
            if members.len() == nodes && claimed == u64::from(shards) {
                routed += 1;
            }
        }
        if served == u64::from(shards) && routed == nodes {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "after 60 s the bench cluster serves {served} of {shards} shards and {routed} of {nodes} nodes know every claim"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

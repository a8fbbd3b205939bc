//! `[cluster]`: several nodes sharing the actors through etcd (unset `etcd`: one node,
//! exactly as without this section).

use super::secrets::secret_problem;
use super::{ConfigError, Profile, Settings};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Comma-separated etcd endpoints (`http://host:2379,…`); unset or empty: single node.
    pub etcd: Option<String>,
    /// This node's unique name; default: derived from the listen address.
    pub node_id: Option<String>,
    /// How the other nodes reach this one; default: `http://` + the listen address.
    pub advertise_url: Option<String>,
    /// Fixed when the cluster is created; a node configured otherwise refuses to join.
    pub shards: u32,
    /// The etcd lease a node holds its membership and shards under.
    pub lease_ttl_secs: u64,
    /// Authenticates the nodes' internal API; required in a cluster, never logged.
    pub secret: Option<SecretString>,
    /// The etcd key prefix under which the cluster keeps its members and shards, so several
    /// clusters (or tests) can share one etcd.
    pub prefix: String,
}

impl ClusterSettings {
    /// The etcd endpoints, or none for a single node.
    pub fn endpoints(&self) -> Vec<String> {
        self.etcd
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Settings {
    /// This node's name in the cluster: configured, or the listen address.
    pub fn node_id(&self) -> String {
        self.cluster
            .node_id
            .clone()
            .unwrap_or_else(|| format!("souk@{}", self.http.addr))
    }

    /// Where the other nodes reach this one, given the port it actually listens on.
    pub fn advertise_url(&self, port: u16) -> String {
        self.cluster.advertise_url.clone().unwrap_or_else(|| {
            let host = self
                .http
                .addr
                .rsplit_once(':')
                .map_or("127.0.0.1", |(host, _)| host);
            format!("http://{host}:{port}")
        })
    }

    pub(super) fn validate_cluster(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let c = &self.cluster;
        if !(1..=65_536).contains(&c.shards) {
            return invalid("SOUK__CLUSTER__SHARDS must be within 1..=65536".into());
        }
        if !(2..=300).contains(&c.lease_ttl_secs) {
            return invalid("SOUK__CLUSTER__LEASE_TTL_SECS must be within 2..=300".into());
        }
        if c.endpoints().is_empty() {
            return Ok(());
        }
        if let Some(bad) = c
            .endpoints()
            .iter()
            .find(|e| !(e.starts_with("http://") || e.starts_with("https://")))
        {
            return invalid(format!(
                "SOUK__CLUSTER__ETCD: {bad:?} is not an http:// or https:// endpoint"
            ));
        }
        if c.node_id.as_deref().is_some_and(|id| {
            id.is_empty() || id.len() > 128 || id.contains('/') || id.chars().any(char::is_control)
        }) {
            return invalid(
                "SOUK__CLUSTER__NODE_ID must be 1..=128 characters without '/' or control characters".into(),
            );
        }
        match (self.profile, secret_problem(c.secret.as_ref())) {
            (_, None) => Ok(()),
            (Profile::Dev, Some(_)) if c.secret.is_some() => Ok(()),
            (_, Some(problem)) => invalid(format!(
                "SOUK__CLUSTER__SECRET {problem}; a cluster needs it (production: at least 32 random bytes, e.g. `openssl rand -hex 32`)"
            )),
        }
    }
}

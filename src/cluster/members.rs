//! The etcd members, one at a time. A client given every endpoint balances requests over
//! them and goes on sending some to a member that died; this one talks to a single member
//! and moves to the next when a request to it fails, so losing a minority of the members
//! costs one failed request, not a share of all of them.

use etcd_client::{Client, ConnectOptions};
use std::time::Duration;

pub(super) struct Members {
    endpoints: Vec<String>,
    current: usize,
    client: Option<Client>,
    timeout: Duration,
}

impl Members {
    /// `timeout` bounds each request: a member that stalls counts as failed.
    pub(super) fn new(endpoints: Vec<String>, timeout: Duration) -> Members {
        Members {
            endpoints,
            current: 0,
            client: None,
            timeout,
        }
    }

    /// A client connected to a member that answered, trying each in turn.
    pub(super) async fn client(&mut self) -> Result<Client, etcd_client::Error> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let mut last = None;
        for _ in 0..self.endpoints.len() {
            let options = ConnectOptions::new()
                .with_connect_timeout(Duration::from_secs(1))
                .with_timeout(self.timeout);
            let endpoint = [self.endpoints[self.current].as_str()];
            match Client::connect(endpoint, Some(options)).await {
                Ok(client) => {
                    self.client = Some(client.clone());
                    return Ok(client);
                }
                Err(e) => {
                    last = Some(e);
                    self.current = (self.current + 1) % self.endpoints.len();
                }
            }
        }
        Err(last.unwrap_or(etcd_client::Error::InvalidArgs(
            "no etcd endpoints are configured".into(),
        )))
    }

    /// A request to the current member failed: the next request goes to the next one.
    pub(super) fn failed(&mut self) {
        self.client = None;
        self.current = (self.current + 1) % self.endpoints.len().max(1);
    }
}

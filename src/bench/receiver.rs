//! `souk bench --webhook`: a webhook receiver in the load process (so its CPU counts as the
//! load's, not Souk's). It answers every delivery 204 and notes, for each, when its event
//! was committed (the body's `created_at`) and when it arrived, on the machine's one clock.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::sync::{Arc, Mutex};

/// (commit, arrival) in microseconds since the epoch, one per delivery.
#[derive(Clone, Default)]
pub struct Arrivals(Arc<Mutex<Vec<(i64, i64)>>>);

impl Arrivals {
    /// Deliveries whose event committed in `[from, to)` (µs since the epoch), and the
    /// commit-to-arrival latency of each, in µs.
    pub fn between(&self, from: i64, to: i64) -> Vec<u64> {
        let arrivals = self.0.lock().map(|a| a.clone()).unwrap_or_default();
        arrivals
            .into_iter()
            .filter(|(committed, _)| (from..to).contains(committed))
            .map(|(committed, arrived)| u64::try_from(arrived - committed).unwrap_or(0))
            .collect()
    }
}

/// Listens on 127.0.0.1:`port` until the process ends.
pub async fn start(port: u16) -> Result<Arrivals, String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("webhook receiver on port {port}: {e}"))?;
    let arrivals = Arrivals::default();
    let noted = arrivals.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let noted = noted.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let noted = noted.clone();
                    async move {
                        let body = req.into_body().collect().await.map(|b| b.to_bytes());
                        let arrived = chrono::Utc::now().timestamp_micros();
                        if let Some(committed) = body.ok().and_then(|b| committed_at(&b)) {
                            if let Ok(mut all) = noted.0.lock() {
                                all.push((committed, arrived));
                            }
                        }
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .status(204)
                                .body(Full::new(Bytes::new()))
                                .unwrap_or_default(),
                        )
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    Ok(arrivals)
}

fn committed_at(body: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Delivery {
        created_at: chrono::DateTime<chrono::Utc>,
    }
    serde_json::from_slice::<Delivery>(body)
        .ok()
        .map(|d| d.created_at.timestamp_micros())
}

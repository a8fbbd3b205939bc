//! A local webhook receiver, as a shop's ERP would run one: it records every delivery
//! (headers and raw body) and answers as told: 2xx, a number of 500s per event before a
//! 2xx, or 503 for everything while it is "down".

#![allow(dead_code)]

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub kind: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub json: Value,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    deliveries: Vec<Delivery>,
    /// 500s still to answer, per event id, before a 2xx.
    fail_first: u32,
    failed: HashMap<String, u32>,
    down: bool,
}

pub struct Receiver {
    pub url: String,
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
    system: actix::System,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.system.stop();
    }
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        Receiver::listen(listener)
    }

    /// On `port`, where a subscription may already point.
    pub fn start_on(port: u16) -> Receiver {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind receiver");
        Receiver::listen(listener)
    }

    fn listen(listener: std::net::TcpListener) -> Receiver {
        let port = listener.local_addr().expect("addr").port();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = inner.clone();
        std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let data = web::Data::new(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/hook", web::post().to(answer))
                })
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run();
                let _ = tx.send(actix::System::current());
                let _ = server.await;
            });
        });
        let system = rx.recv().expect("receiver started");
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            inner,
            system,
        }
    }

    /// Each event is answered 500 this many times before a 200.
    pub fn fail_first(&self, times: u32) {
        self.inner.lock().unwrap().fail_first = times;
    }

    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().unwrap().deliveries.clone()
    }

    /// The deliveries answered 2xx, in the order they arrived.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| (200..300).contains(&d.status))
            .collect()
    }

    /// Polls until `done` holds for the accepted deliveries, or panics at the deadline.
    pub async fn wait_for(&self, what: &str, within: Duration, done: impl Fn(&[Delivery]) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            if done(&self.accepted()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; got {} deliveries, {} accepted",
                self.deliveries().len(),
                self.accepted().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let event_id = json["id"].as_str().unwrap_or("").to_string();
    let mut inner = inner.lock().unwrap();
    let status = if inner.down {
        503
    } else {
        let limit = inner.fail_first;
        let failed = inner.failed.entry(event_id.clone()).or_default();
        if *failed < limit {
            *failed += 1;
            500
        } else {
            200
        }
    };
    inner.deliveries.push(Delivery {
        event_id,
        kind: header("Souk-Event-Type"),
        signature: header("Souk-Signature"),
        body: body.to_vec(),
        json,
        status,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).finish()
}

//! I3: the real `souk` binary is killed with SIGKILL under load and started again; every
//! write it acknowledged is still there, and nothing was applied twice.

use crate::common::*;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Souk {
    child: Child,
    base: String,
}

impl Drop for Souk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start(db_url: &str, port: u16) -> Souk {
    let child = Command::new(env!("CARGO_BIN_EXE_souk"))
        .env("SOUK__DATABASE__URL", db_url)
        .env("SOUK__HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env("SOUK__AUTH__JWT_SECRET", SECRET)
        .env("SOUK__SHOP__DEMO_SEED", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("souk binary starts");
    let souk = Souk {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let http = reqwest::Client::new();
    loop {
        if let Ok(res) = http.get(format!("{}/v1/ready", souk.base)).send().await {
            if res.status() == StatusCode::OK {
                return souk;
            }
        }
        assert!(Instant::now() < deadline, "souk did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The harness's helpers against an external process: same calls, another base URL.
async fn call(
    http: &reqwest::Client,
    base: &str,
    m: Method,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: Value,
) -> Option<(StatusCode, Value)> {
    let mut req = http
        .request(m, format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.ok()?;
    let status = res.status();
    let body = res.json::<Value>().await.ok()?;
    Some((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_orders_survive_sigkill_and_restart() {
    let (db_url, _) = fresh_database().await;
    let port = free_port();
    let keys = TestKeys::new();
    let admin = keys.admin.clone();
    let mut souk = start(&db_url, port).await;
    let http = reqwest::Client::new();
    let base = souk.base.clone();

    let (s, cat) = call(
        &http,
        &base,
        Method::POST,
        "/v1/admin/categories",
        &admin,
        None,
        json!({"name": "Keys"}),
    )
    .await
    .expect("category");
    assert_eq!(s, StatusCode::CREATED);
    let body =
        json!({"category_id": cat["id"], "name": "Key", "kind": "digital", "price_minor": 100});
    let (_, key_product) = call(
        &http,
        &base,
        Method::POST,
        "/v1/admin/products",
        &admin,
        None,
        body,
    )
    .await
    .expect("product");
    let body =
        json!({"category_id": cat["id"], "name": "Mug", "kind": "physical", "price_minor": 250});
    let (_, mug) = call(
        &http,
        &base,
        Method::POST,
        "/v1/admin/products",
        &admin,
        None,
        body,
    )
    .await
    .expect("product");
    let (key_product, mug) = (
        key_product["id"].as_i64().expect("id"),
        mug["id"].as_i64().expect("id"),
    );
    let (s, _) = call(
        &http,
        &base,
        Method::POST,
        &format!("/v1/admin/products/{key_product}/stock"),
        &admin,
        Some("codes"),
        json!({"codes": codes("DUR", 400)}),
    )
    .await
    .expect("codes");
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &http,
        &base,
        Method::POST,
        &format!("/v1/admin/products/{mug}/stock"),
        &admin,
        Some("mugs"),
        json!({"quantity_delta": 10_000}),
    )
    .await
    .expect("mugs");
    assert_eq!(s, StatusCode::OK);

    // 16 customers each buy in a loop until the process dies.
    let acked: Arc<Mutex<Vec<(i64, Value)>>> = Arc::default();
    let customers: Vec<i64> = (300..316).collect();
    for &user in &customers {
        // A token's first request creates its user.
        call(
            &http,
            &base,
            Method::GET,
            "/v1/me/wallet",
            &keys.customer(user),
            None,
            Value::Null,
        )
        .await
        .expect("user");
        let (s, _) = call(
            &http,
            &base,
            Method::POST,
            &format!("/v1/admin/users/{user}/wallet/credits"),
            &admin,
            Some(&format!("c{user}")),
            json!({"amount_minor": 1_000_000, "reason": "load"}),
        )
        .await
        .expect("credit");
        assert_eq!(s, StatusCode::CREATED);
    }
    let load = customers.iter().map(|&user| {
        let (http, base, acked) = (http.clone(), base.clone(), acked.clone());
        let token = keys.customer(user);
        async move {
            for round in 0.. {
                let product = if round % 2 == 0 { key_product } else { mug };
                let path = format!("/v1/me/cart/items/{product}");
                if call(
                    &http,
                    &base,
                    Method::PUT,
                    &path,
                    &token,
                    None,
                    json!({"quantity": 1}),
                )
                .await
                .is_none()
                {
                    return;
                }
                match call(
                    &http,
                    &base,
                    Method::POST,
                    "/v1/me/checkout",
                    &token,
                    Some(&format!("o{user}-{round}")),
                    json!({"payment": "wallet"}),
                )
                .await
                {
                    Some((StatusCode::CREATED, order)) => {
                        acked.lock().expect("lock").push((user, order))
                    }
                    Some(_) => {}
                    None => return,
                }
            }
        }
    });
    let killer = async {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        souk.child.kill().expect("SIGKILL");
        souk.child.wait().expect("reaped");
    };
    tokio::join!(join_all(load), killer);
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() > 10,
        "the load made only {} orders before the kill",
        acked.len()
    );

    let souk = start(&db_url, port).await;
    let client = souk::db::connect_one(&db_url).await.expect("db");
    for (user, order) in &acked {
        let id = order["id"].as_i64().expect("order id");
        let (s, stored) = call(
            &http,
            &souk.base,
            Method::GET,
            &format!("/v1/me/orders/{id}"),
            &keys.customer(*user),
            None,
            Value::Null,
        )
        .await
        .expect("order");
        assert_eq!(
            s,
            StatusCode::OK,
            "acknowledged order {id} is missing: {stored}"
        );
        assert_eq!(stored["lines"], order["lines"], "order {id} changed");
        let debits: i64 = client
            .query_one(
                "SELECT count(*) FROM wallet_transactions WHERE order_id = $1 AND kind = 'debit'",
                &[&id],
            )
            .await
            .expect("debits")
            .get(0);
        assert_eq!(debits, 1, "order {id} was debited {debits} times");
    }
    assert_eq!(
        souk::check::violations(&client).await.expect("check"),
        Vec::<String>::new()
    );
    // Every acknowledged balance is intact: what the API says is what the ledger says.
    for &user in &customers {
        let (_, wallet) = call(
            &http,
            &souk.base,
            Method::GET,
            "/v1/me/wallet",
            &keys.customer(user),
            None,
            Value::Null,
        )
        .await
        .expect("wallet");
        let spent: i64 = client
            .query_one(
                "SELECT coalesce(sum(total_minor), 0)::bigint FROM orders WHERE user_id = $1",
                &[&user],
            )
            .await
            .expect("spent")
            .get(0);
        assert_eq!(wallet["balance_minor"], 1_000_000 - spent);
    }
    let sold_mugs: i64 = client
        .query_one(
            "SELECT coalesce(sum(quantity), 0)::bigint FROM order_lines WHERE product_id = $1",
            &[&mug],
        )
        .await
        .expect("mugs")
        .get(0);
    let (_, p) = call(
        &http,
        &souk.base,
        Method::GET,
        &format!("/v1/products/{mug}"),
        &admin,
        None,
        Value::Null,
    )
    .await
    .expect("product");
    assert_eq!(p["stock_available"], 10_000 - sold_mugs);
    drop(souk);
}

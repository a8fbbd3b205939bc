//! Several `souk` nodes on real etcd members and one Postgres: shards spread evenly over
//! the live nodes, every shard's token is recorded in Postgres, a node that leaves with
//! SIGTERM hands its shards over at once and exits 0, and a SIGKILLed node's shards are
//! taken by the survivors once its lease expires.

mod harness;

use crate::common::fresh_database;
use crate::telegram_harness::sample;
use harness::{served, start_balanced, wait_balanced, Etcd, Node, LEASE_TTL_SECS, SHARDS};
use souk_actors::domain::ids::UserId;
use souk_actors::domain::shards::{shard_of, EntityKey};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_spread_evenly_move_on_leave_and_crash_and_are_fenced_in_postgres() {
    let etcd = Etcd::start(3).await;
    let (db_url, _) = fresh_database().await;
    let prefix = format!("/souk-test-{}", std::process::id());
    let http = reqwest::Client::new();

    let mut a = Node::start("a", &db_url, &etcd.endpoints(), &prefix);
    a.wait_ready().await;
    wait_balanced(&http, &[&a], Duration::from_secs(20)).await;

    // Joins: the newcomers take their share from the nodes already there.
    let b = Node::start("b", &db_url, &etcd.endpoints(), &prefix);
    let mut c = Node::start("c", &db_url, &etcd.endpoints(), &prefix);
    b.wait_ready().await;
    c.wait_ready().await;
    wait_balanced(&http, &[&a, &b, &c], Duration::from_secs(60)).await;

    // Postgres holds a token for every shard, recorded by the node that serves it.
    let db = souk::db::connect_one(&db_url).await.expect("db");
    let rows = db
        .query("SELECT owner, count(*) FROM cluster_shards WHERE epoch > 0 GROUP BY owner ORDER BY owner", &[])
        .await
        .expect("epochs");
    let owners: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        owners.iter().map(|(_, n)| n).sum::<i64>(),
        i64::from(SHARDS),
        "{owners:?}"
    );
    assert_eq!(
        owners.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"],
        "{owners:?}"
    );
    let view = harness::cluster_view(&http, &a).await.expect("view");
    assert_eq!(view["mode"], "cluster");
    assert_eq!(view["members"].as_array().map(Vec::len), Some(3), "{view}");

    // A graceful leave: exit 0, and the others serve everything well before a lease
    // could have expired (the leaver deleted its claims instead of letting them lapse).
    let status = c.terminate().await;
    assert!(status.success(), "SIGTERM must exit 0, got {status:?}");
    let took = wait_balanced(&http, &[&a, &b], Duration::from_secs(20)).await;
    assert!(
        took < Duration::from_secs(LEASE_TTL_SECS),
        "a graceful hand-over took {took:?}, as long as a lease expiry"
    );

    // It comes back and gets its share again.
    c.restart();
    c.wait_ready().await;
    wait_balanced(&http, &[&a, &b, &c], Duration::from_secs(60)).await;

    // A crash: the survivors take its shards once its lease expires.
    a.kill();
    let took = wait_balanced(&http, &[&b, &c], Duration::from_secs(60)).await;
    eprintln!(
        "shards of a SIGKILLed node served again after {took:?} (lease TTL {LEASE_TTL_SECS} s)"
    );
    let epochs_after: i64 = db
        .query_one("SELECT count(*) FROM cluster_shards WHERE owner = 'a'", &[])
        .await
        .expect("epochs")
        .get(0);
    assert_eq!(
        epochs_after, 0,
        "every shard of the dead node has a newer token"
    );
    assert_eq!(served(&http, &[&b, &c]).await.iter().sum::<u32>(), SHARDS);
}

/// What a buyer's whole purchase came to (its first request creates the user), retrying each step with the same key on a 503
/// or a lost connection (against whichever node is up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bought {
    Yes,
    SoldOut,
}

/// One request, retried on a retryable answer (503, 408, a cut connection) at the next node
/// until it gets another answer or `deadline` passes.
async fn until_answered(
    http: &reqwest::Client,
    bases: &[String],
    start: usize,
    make: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    deadline: std::time::Instant,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut i = start;
    loop {
        let sent = make(http, &bases[i % bases.len()])
            .timeout(Duration::from_secs(15))
            .send()
            .await;
        if let Ok(r) = sent {
            let status = r.status();
            // 503: refused while shards move. 408: a request that reached a node while it
            // was SIGSTOPped waited past the read timeout and was never read; both are
            // retried, with the same Idempotency-Key.
            let retryable = [
                reqwest::StatusCode::SERVICE_UNAVAILABLE,
                reqwest::StatusCode::REQUEST_TIMEOUT,
            ];
            if !retryable.contains(&status) {
                let body = r.json().await.unwrap_or(serde_json::Value::Null);
                return (status, body);
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no answer before the deadline"
        );
        i += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn buy(
    http: reqwest::Client,
    bases: Vec<String>,
    user: i64,
    product: i64,
    deadline: std::time::Instant,
) -> Bought {
    let token = harness::token(user, "customer");
    let admin = harness::token(1, "admin");
    let start = user as usize;
    let (s, b) = until_answered(
        &http,
        &bases,
        start,
        |c, base| {
            c.put(format!("{base}/v1/me/cart/items/{product}"))
                .bearer_auth(&token)
                .json(&serde_json::json!({ "quantity": 1 }))
        },
        deadline,
    )
    .await;
    assert_eq!(s, reqwest::StatusCode::OK, "cart: {b}");
    let credit_key = uuid::Uuid::new_v4().to_string();
    let (s, b) = until_answered(
        &http,
        &bases,
        start + 1,
        |c, base| {
            c.post(format!("{base}/v1/admin/users/{user}/wallet/credits"))
                .bearer_auth(&admin)
                .header("Idempotency-Key", &credit_key)
                .json(&serde_json::json!({ "amount_minor": 1000, "reason": "race" }))
        },
        deadline,
    )
    .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "credit: {b}");
    let address = serde_json::json!({
        "name": "Buyer", "line1": "1 Street", "city": "Town", "postal_code": "12345", "country": "DE"
    });
    // "Sold out" may be units a checkout cut off by a fault still holds: they come back when
    // its reservation expires (5 s here), so a buyer told so tries again, with a new key (a
    // refusal is stored under its key), for a little longer than that.
    let mut give_up = None;
    loop {
        let key = uuid::Uuid::new_v4().to_string();
        let (s, b) = until_answered(
            &http,
            &bases,
            start + 2,
            |c, base| {
                c.post(format!("{base}/v1/me/checkout"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", &key)
                    .json(&serde_json::json!({ "payment": "wallet", "shipping_address": address }))
            },
            deadline,
        )
        .await;
        match s {
            reqwest::StatusCode::CREATED => return Bought::Yes,
            reqwest::StatusCode::CONFLICT if b["error"]["code"] == "out_of_stock" => {
                let now = std::time::Instant::now();
                if now > *give_up.get_or_insert(now + Duration::from_secs(8)) {
                    return Bought::SoldOut;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => panic!("checkout of user {user}: {other} {b}"),
        }
    }
}

/// Buyers spread over all nodes race for 100 license keys while one node is SIGKILLed,
/// another is SIGSTOPped past its lease and resumed, and one etcd member is killed. Exactly
/// 100 are sold, each acknowledged order is in Postgres with its debit and its one key,
/// `souk check` passes, and the resumed node's stale batches were fenced.
/// `SOUK_CLUSTER_FAULT_ROUNDS=n` (default 1) runs n rounds of the faults, with n times the
/// keys and buyers, restarting the killed node and etcd member between rounds: the soak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_race_across_nodes_through_a_crash_a_pause_and_an_etcd_loss_and_exactly_the_stock_sells(
) {
    let mut etcd = Etcd::start(3).await;
    let (db_url, _) = fresh_database().await;
    let prefix = format!("/souk-race-{}", std::process::id());
    let http = reqwest::Client::new();
    // Long write bounds: a batch held across the pause below must not time out by itself.
    let slow = [
        ("SOUK__PERSISTENCE__WRITE_TIMEOUT_MS", "60000"),
        ("SOUK__ACTORS__CALL_TIMEOUT_MS", "60000"),
    ];
    let mut nodes = start_balanced(&http, &["a", "b", "c"], &db_url, &etcd, &prefix, &slow).await;
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    let rounds: usize = std::env::var("SOUK_CLUSTER_FAULT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1)
        .max(1);
    let keys = 100 * rounds;

    // The shop, set up through node a: admin requests on a product go to its owner.
    let product = shop_with_stock(&http, &bases, Stock::Keys(keys)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(120 * rounds as u64);
    let buyers: Vec<_> = (1000..1000 + 150 * rounds as i64)
        .map(|user| tokio::spawn(buy(http.clone(), bases.clone(), user, product, deadline)))
        .collect();

    // The faults, while the buyers buy.
    let mut fenced = 0;
    for round in 0..rounds {
        if round > 0 {
            nodes[2].restart();
            etcd.restart(2).await;
            nodes[2].wait_ready().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        nodes[2].kill();
        etcd.kill(2);
        fenced =
            pause_with_writes_in_flight(&http, &db_url, &nodes[1], 7000 + 100 * round as i64).await;
    }

    let mut sold = 0;
    for buyer in buyers {
        if buyer.await.expect("buyer") == Bought::Yes {
            sold += 1;
        }
    }
    assert_eq!(sold, keys, "exactly the stock is sold");

    let db = souk::db::connect_one(&db_url).await.expect("db");
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM orders),
                    (SELECT count(*) FROM wallet_transactions WHERE kind = 'debit'),
                    (SELECT count(DISTINCT order_id) FROM digital_items WHERE product_id = $1),
                    (SELECT count(*) FROM digital_items WHERE product_id = $1 AND order_id IS NULL)",
            &[&product],
        )
        .await
        .expect("counts");
    let keys = keys as i64;
    assert_eq!(
        row.get::<_, i64>(0),
        keys,
        "one order per acknowledged checkout"
    );
    assert_eq!(row.get::<_, i64>(1), keys, "each with its debit");
    assert_eq!(row.get::<_, i64>(2), keys, "each with its own key");
    assert_eq!(row.get::<_, i64>(3), 0, "no key left unsold or sold twice");
    let (code, found) = crate::check::souk_check(&db_url);
    assert_eq!(code, 0, "souk check: {found}");

    eprintln!("node b after its pause: {fenced} writes fenced");
    assert!(
        fenced > 0,
        "the resumed node's stale batches must have been fenced"
    );
}

/// SIGSTOPs `node` with one batch of its group commit in flight and writes queued behind
/// it, past its lease, and resumes it; returns its count of fenced writes once they are in.
/// The batch is held by a row lock this test takes on one of the node's users (so it is
/// open when the pause begins, whatever the machine's load); the writes queued behind it
/// carry the node's old tokens, which the other nodes replace while it sleeps.
async fn pause_with_writes_in_flight(
    http: &reqwest::Client,
    db_url: &str,
    node: &Node,
    first_user: i64,
) -> u64 {
    let mut db = souk::db::connect_one(db_url).await.expect("db");
    let shards: Vec<i32> = db
        .query(
            "SELECT shard FROM cluster_shards WHERE owner = $1",
            &[&node.id],
        )
        .await
        .expect("shards")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let users: Vec<i64> = (first_user..)
        .filter(|u| {
            let key = EntityKey::User(UserId::new(*u).expect("user"));
            shards.contains(&(shard_of(&key, SHARDS).get() as i32))
        })
        .take(9)
        .collect();
    let cart = |user: i64| {
        let request = http
            .put(format!("{}/v1/me/cart/items/1", node.base))
            .bearer_auth(harness::token(user, "customer"))
            .json(&serde_json::json!({ "quantity": 1 }));
        async move { request.send().await.map(|r| r.status()) }
    };
    for user in &users {
        assert!(
            cart(*user).await.is_ok_and(|s| s.is_success()),
            "user {user} set up"
        );
    }
    let lock = db.transaction().await.expect("begin");
    // The cart line exists (set above), so the next write updates that row: lock it.
    lock.execute(
        "SELECT 1 FROM cart_items WHERE user_id = $1 FOR UPDATE",
        &[&users[0]],
    )
    .await
    .expect("lock");
    let held = tokio::spawn(cart(users[0]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queued: Vec<_> = users[1..].iter().map(|u| tokio::spawn(cart(*u))).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    node.stop();
    tokio::time::sleep(Duration::from_secs(LEASE_TTL_SECS + 3)).await;
    node.resume();
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.rollback().await.expect("release");
    let _ = held.await;
    for write in queued {
        let _ = write.await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let fenced = metric(http, &node.base, "souk_cluster_fenced_writes_total").await;
        if fenced > 0 || std::time::Instant::now() > deadline {
            return fenced;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One sample of `base`'s `/metrics` (0 when absent or unreachable).
async fn metric(http: &reqwest::Client, base: &str, series: &str) -> u64 {
    let Ok(answer) = http.get(format!("{base}/metrics")).send().await else {
        return 0;
    };
    sample(&answer.text().await.unwrap_or_default(), series)
}

/// An admin's wallet credit through `node`, with `key`: its status.
async fn credit(http: &reqwest::Client, node: &Node, user: i64, key: &str) -> reqwest::StatusCode {
    http.post(format!(
        "{}/v1/admin/users/{user}/wallet/credits",
        node.base
    ))
    .bearer_auth(harness::token(1, "admin"))
    .header("Idempotency-Key", key)
    .json(&serde_json::json!({ "amount_minor": 100, "reason": "quorum" }))
    .timeout(Duration::from_secs(10))
    .send()
    .await
    .map(|r| r.status())
    .unwrap_or(reqwest::StatusCode::SERVICE_UNAVAILABLE)
}

/// Two of three etcd members die: once the nodes cannot renew their leases, writes stop
/// with a retryable 503 (and `/v1/ready` says so); nothing is half-written; when the
/// members come back, the nodes serve again by themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_stop_without_an_etcd_quorum_and_resume_by_themselves_when_it_returns() {
    let mut etcd = Etcd::start(3).await;
    let (db_url, _) = fresh_database().await;
    let prefix = format!("/souk-quorum-{}", std::process::id());
    let http = reqwest::Client::new();
    let nodes = start_balanced(&http, &["a", "b"], &db_url, &etcd, &prefix, &[]).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    // Users 10..20 exist (a token's first request creates its user) and take a credit.
    for user in 10..20 {
        let token = harness::token(user, "customer");
        let mut tries = 0;
        while http
            .get(format!("{}/v1/me/wallet", a.base))
            .bearer_auth(&token)
            .send()
            .await
            .map_or(true, |r| r.status() != reqwest::StatusCode::OK)
        {
            tries += 1;
            assert!(tries < 100, "user {user} not created");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    etcd.kill(1);
    etcd.kill(2);
    let lost = std::time::Instant::now();
    // Within a lease TTL (and the keep-alive interval), every write is refused with 503.
    let mut refused_after = None;
    let mut acknowledged = 0;
    while refused_after.is_none() {
        let key = uuid::Uuid::new_v4().to_string();
        let statuses = [
            credit(&http, a, 10, &key).await,
            credit(&http, b, 11, &uuid::Uuid::new_v4().to_string()).await,
        ];
        acknowledged += statuses
            .iter()
            .filter(|s| **s == reqwest::StatusCode::CREATED)
            .count();
        if statuses
            .iter()
            .all(|s| *s == reqwest::StatusCode::SERVICE_UNAVAILABLE)
        {
            refused_after = Some(lost.elapsed());
        }
        assert!(
            lost.elapsed() < Duration::from_secs(LEASE_TTL_SECS + 5),
            "writes go on without a quorum: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "writes refused {:?} after etcd lost its quorum",
        refused_after
    );
    // Each node says so once its own lease may have run out.
    for node in [&a, &b] {
        loop {
            let ready = http
                .get(format!("{}/v1/ready", node.base))
                .send()
                .await
                .expect("ready");
            if ready.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            assert!(
                lost.elapsed() < Duration::from_secs(LEASE_TTL_SECS + 5),
                "node {} still ready without a quorum",
                node.id
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Refused writes stay refused: a credit's key retried now still gets 503, not a 2xx.
    let key = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        credit(&http, a, 12, &key).await,
        reqwest::StatusCode::SERVICE_UNAVAILABLE
    );

    etcd.restart(1).await;
    etcd.restart(2).await;
    let back = std::time::Instant::now();
    loop {
        if credit(&http, a, 12, &key).await == reqwest::StatusCode::CREATED {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "service did not resume"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "writes resumed {:?} after etcd's members returned",
        back.elapsed()
    );
    assert_eq!(
        credit(&http, b, 13, &uuid::Uuid::new_v4().to_string()).await,
        reqwest::StatusCode::CREATED
    );

    // Exactly what was acknowledged is in Postgres (the credits before the leases ran out
    // and the two after the return), and `souk check` passes.
    let db = souk::db::connect_one(&db_url).await.expect("db");
    let credits: i64 = db
        .query_one(
            "SELECT count(*) FROM wallet_transactions WHERE kind = 'credit'",
            &[],
        )
        .await
        .expect("credits")
        .get(0);
    assert_eq!(
        credits,
        acknowledged as i64 + 2,
        "only the acknowledged credits"
    );
    let (code, found) = crate::check::souk_check(&db_url);
    assert_eq!(code, 0, "souk check: {found}");
}

/// A rolling restart under load: each node in turn is sent SIGTERM (it hands its shards
/// over and exits 0) and started again, while buyers keep buying through all nodes. Every
/// purchase ends in exactly one order (a 503 or a cut connection is retried with the same
/// key), none is lost, and no unit is sold twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_loses_nothing_and_answers_only_retryable_errors() {
    const STOCK: i64 = 1_000_000;
    let etcd = Etcd::start(3).await;
    let (db_url, _) = fresh_database().await;
    let prefix = format!("/souk-rolling-{}", std::process::id());
    let http = reqwest::Client::new();
    let mut nodes = start_balanced(&http, &["a", "b", "c"], &db_url, &etcd, &prefix, &[]).await;
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    // More than any run sells, however long the restarts take.
    let product = shop_with_stock(&http, &bases, Stock::Units(STOCK)).await;

    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let buyers: Vec<_> = (0..16)
        .map(|i| {
            let (http, bases, running) = (http.clone(), bases.clone(), running.clone());
            tokio::spawn(async move {
                let deadline = std::time::Instant::now() + Duration::from_secs(180);
                let mut bought = 0;
                let mut user = 20_000 + i * 1000;
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    assert_eq!(
                        buy(http.clone(), bases.clone(), user, product, deadline).await,
                        Bought::Yes
                    );
                    bought += 1;
                    user += 1;
                }
                bought
            })
        })
        .collect();

    for i in 0..nodes.len() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let status = nodes[i].terminate().await;
        assert!(
            status.success(),
            "node {} exited with {status:?}",
            nodes[i].id
        );
        nodes[i].restart();
        nodes[i].wait_ready().await;
        wait_balanced(
            &http,
            &nodes.iter().collect::<Vec<_>>(),
            Duration::from_secs(60),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut bought = 0;
    for buyer in buyers {
        bought += buyer.await.expect("buyer");
    }
    eprintln!("{bought} purchases through a rolling restart of 3 nodes");

    let db = souk::db::connect_one(&db_url).await.expect("db");
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM orders),
                    (SELECT count(*) FROM wallet_transactions WHERE kind = 'debit'),
                    (SELECT stock_on_hand FROM products WHERE id = $1)",
            &[&product],
        )
        .await
        .expect("counts");
    assert_eq!(
        row.get::<_, i64>(0),
        bought,
        "one order per purchase, none lost"
    );
    assert_eq!(row.get::<_, i64>(1), bought, "each with its debit");
    assert_eq!(row.get::<_, i64>(2), STOCK - bought, "each unit sold once");
}

/// What a test shop sells: a physical product with units, or license keys.
#[derive(Clone, Copy)]
enum Stock {
    Units(i64),
    Keys(usize),
}

/// A category and one product with `stock`, set up through the first node.
async fn shop_with_stock(http: &reqwest::Client, bases: &[String], stock: Stock) -> i64 {
    let admin = harness::token(1, "admin");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (_, category) = until_answered(
        http,
        &bases[..1],
        0,
        |c, base| {
            c.post(format!("{base}/v1/admin/categories"))
                .bearer_auth(&admin)
                .json(&serde_json::json!({ "name": "Shirts" }))
        },
        deadline,
    )
    .await;
    let (_, product) = until_answered(
        http,
        &bases[..1],
        0,
        |c, base| {
            c.post(format!("{base}/v1/admin/products"))
                .bearer_auth(&admin)
                .json(&serde_json::json!({
                    "category_id": category["id"], "name": "Thing", "price_minor": 500,
                    "kind": match stock { Stock::Units(_) => "physical", Stock::Keys(_) => "digital" },
                }))
        },
        deadline,
    )
    .await;
    let product = product["id"].as_i64().expect("product id");
    let key = uuid::Uuid::new_v4().to_string();
    let (s, body) = until_answered(
        http,
        &bases[..1],
        0,
        |c, base| {
            c.post(format!("{base}/v1/admin/products/{product}/stock"))
                .bearer_auth(&admin)
                .header("Idempotency-Key", &key)
                .json(&match stock {
                    Stock::Units(n) => serde_json::json!({ "quantity_delta": n }),
                    Stock::Keys(n) => serde_json::json!({
                        "codes": (0..n).map(|i| format!("KEY-{i:05}")).collect::<Vec<_>>()
                    }),
                })
        },
        deadline,
    )
    .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{body}");
    product
}

/// A payment provider may call any node: each event reaches the node serving the user it
/// tops up (or the order's buyer) and is applied once, whichever nodes it is sent to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_events_land_on_any_node_and_apply_once() {
    let etcd = Etcd::start(1).await;
    let (db_url, _) = fresh_database().await;
    let prefix = format!("/souk-events-{}", std::process::id());
    let http = reqwest::Client::new();
    let nodes = start_balanced(&http, &["a", "b", "c"], &db_url, &etcd, &prefix, &[]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    for user in 30..40_i64 {
        // The user exists once its token's first request has been served.
        let token = harness::token(user, "customer");
        let (s, _) = until_answered(
            &http,
            &bases,
            0,
            |c, base| c.get(format!("{base}/v1/me/wallet")).bearer_auth(&token),
            deadline,
        )
        .await;
        assert_eq!(s, reqwest::StatusCode::OK);
        // The same event through every node: one top-up.
        let event = serde_json::json!({
            "event_id": format!("evt-{user}"), "type": "payment.succeeded", "amount_minor": 250,
            "currency": "USD", "wallet_topup": { "user_id": user }
        })
        .to_string();
        for base in &bases {
            let t = chrono::Utc::now().timestamp();
            let signature = souk_http::routes::payments::sign(
                harness::PAYMENT_SECRET.as_bytes(),
                event.as_bytes(),
                t,
            );
            let (s, body) = until_answered(
                &http,
                std::slice::from_ref(base),
                0,
                |c, base| {
                    c.post(format!("{base}/v1/payments/webhook"))
                        .header("Souk-Signature", &signature)
                        .header("content-type", "application/json")
                        .body(event.clone())
                },
                deadline,
            )
            .await;
            assert_eq!(s, reqwest::StatusCode::OK, "{body}");
        }
        let (_, wallet) = until_answered(
            &http,
            &bases,
            1,
            |c, base| c.get(format!("{base}/v1/me/wallet")).bearer_auth(&token),
            deadline,
        )
        .await;
        assert_eq!(wallet["balance_minor"], 250, "user {user}: {wallet}");
    }
    let mut forwarded = 0;
    for base in &bases {
        forwarded += metric(
            &http,
            base,
            "souk_cluster_forwarded_total{kind=\"request\"}",
        )
        .await;
    }
    assert!(forwarded > 0, "events for other nodes' users were sent on");
}

/// The nodes' internal API takes only messages signed with the cluster's secret; the
/// cluster view is for admins; a node configured with another shard count than the
/// cluster was created with refuses to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_api_is_closed_to_outsiders_and_a_wrong_shard_count_cannot_join() {
    let etcd = Etcd::start(1).await;
    let (db_url, _) = fresh_database().await;
    let prefix = format!("/souk-closed-{}", std::process::id());
    let http = reqwest::Client::new();
    let a = Node::start("a", &db_url, &etcd.endpoints(), &prefix);
    a.wait_ready().await;
    wait_balanced(&http, &[&a], Duration::from_secs(20)).await;

    let message = serde_json::json!({
        "kind": "product", "key": "1", "message": "GetSnapshot", "body": null
    })
    .to_string();
    let internal = format!("{}/internal/v1/actor", a.base);
    let unsigned = http
        .post(&internal)
        .body(message.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(unsigned.status(), reqwest::StatusCode::UNAUTHORIZED);
    let t = chrono::Utc::now().timestamp();
    let forged = souk_http::routes::payments::sign(
        b"not-the-cluster-secret-0123456789abcdef",
        message.as_bytes(),
        t,
    );
    let refused = http
        .post(&internal)
        .header("Souk-Signature", forged)
        .body(message.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let signed = souk_http::routes::payments::sign(
        harness::CLUSTER_SECRET.as_bytes(),
        message.as_bytes(),
        t,
    );
    let answered: serde_json::Value = http
        .post(&internal)
        .header("Souk-Signature", signed)
        .body(message)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(answered["err"]["NotFound"].is_object(), "{answered}");

    let customer = http
        .get(format!("{}/v1/admin/cluster", a.base))
        .bearer_auth(harness::token(7, "customer"))
        .send()
        .await
        .expect("send");
    assert_eq!(customer.status(), reqwest::StatusCode::FORBIDDEN);

    let mut odd = Node::start_with(
        "odd",
        &db_url,
        &etcd.endpoints(),
        &prefix,
        &[("SOUK__CLUSTER__SHARDS", "128")],
    );
    let (status, log) = odd.exited().await;
    assert!(!status.success());
    assert!(log.contains("created with 256 shards"), "{log}");
}

/// Telegram may call any node: a buyer's updates are served on the node of their actor,
/// from their very first message (the sender becomes a Souk user where the update lands,
/// then the update goes to that user's node), so every new buyer's /start is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_updates_land_on_any_node_and_every_new_buyer_is_answered() {
    use crate::fake_bot_api::FakeBotApi;
    use crate::telegram_harness::{BOT_TOKEN, WEBHOOK_SECRET};
    let etcd = Etcd::start(1).await;
    let (db_url, _) = fresh_database().await;
    let prefix = format!("/souk-bot-{}", std::process::id());
    let http = reqwest::Client::new();
    let bot_api = FakeBotApi::start();
    let telegram = [
        ("SOUK__TELEGRAM__BOT_TOKEN", BOT_TOKEN),
        ("SOUK__TELEGRAM__WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("SOUK__TELEGRAM__API_BASE", bot_api.base.as_str()),
    ];
    let nodes = start_balanced(&http, &["a", "b", "c"], &db_url, &etcd, &prefix, &telegram).await;
    let buyers: Vec<i64> = (0..12).map(|i| 880_000 + i).collect();
    for (i, chat) in buyers.iter().enumerate() {
        let update = crate::telegram_harness::message(50_000 + i as i64, 1, *chat, "/start");
        let answered = http
            .post(format!(
                "{}/v1/telegram/webhook",
                nodes[i % nodes.len()].base
            ))
            .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
            .json(&update)
            .send()
            .await
            .expect("webhook");
        assert_eq!(answered.status(), reqwest::StatusCode::OK);
    }
    bot_api
        .wait_for(
            "a reply in every new buyer's chat",
            Duration::from_secs(60),
            |calls| {
                buyers.iter().all(|chat| {
                    calls
                        .iter()
                        .any(|c| c.method == "sendMessage" && c.body["chat_id"] == *chat)
                })
            },
        )
        .await;
    let db = souk::db::connect_one(&db_url).await.expect("db");
    let users: i64 = db
        .query_one(
            "SELECT count(*) FROM users WHERE telegram_id >= 880000",
            &[],
        )
        .await
        .expect("users")
        .get(0);
    assert_eq!(users, buyers.len() as i64, "one Souk user per buyer");
}

//! Several `souk` nodes on real etcd members and one Postgres: shards spread evenly over
//! the live nodes, every shard's token is recorded in Postgres, a node that leaves with
//! SIGTERM hands its shards over at once and exits 0, and a SIGKILLed node's shards are
//! taken by the survivors once its lease expires.

mod harness;

use crate::common::fresh_database;
use harness::{served, wait_balanced, Etcd, Node, LEASE_TTL_SECS, SHARDS};
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
    wait_balanced(&http, &[&a, &b, &c], Duration::from_secs(30)).await;

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
    wait_balanced(&http, &[&a, &b, &c], Duration::from_secs(30)).await;

    // A crash: the survivors take its shards once its lease expires.
    a.kill();
    let took = wait_balanced(&http, &[&b, &c], Duration::from_secs(30)).await;
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

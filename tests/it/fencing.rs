//! Postgres fences a cluster node that lost a shard: once another owner's newer token is
//! recorded, a batch holding the old one is rolled back and its writes answer `Fenced`
//! (503), while writes for shards still held commit in the same pass. Deterministic: the
//! "other node" is this test recording a newer token, exactly as a new owner would.

use crate::common::*;
use souk_actors::domain::changes::{Write, WriteOp};
use souk_actors::domain::ids::UserId;
use souk_actors::domain::money::Money;
use souk_actors::domain::shards::{EntityKey, Fence};
use souk_actors::entity::ownership::Ownership;
use souk_actors::metrics::ActorMetrics;
use souk_actors::store::fencing;
use souk_actors::store::group_commit::{persist, PersistenceActor, PersistenceConfig};
use souk_actors::DomainError;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn credit(user: UserId, amount: i64) -> Write {
    Write::new(WriteOp::WalletCredit {
        user,
        amount: Money::from_minor(amount),
        reason: "test".into(),
    })
}

#[actix_rt::test]
async fn a_write_for_a_shard_taken_by_a_newer_owner_is_rolled_back_and_refused() {
    let (url, _) = fresh_database().await;
    let settings = test_settings(&url);
    let secret_url = settings.database.url.clone().expect("url");
    souk::db::migrate(&secret_url).await.expect("migrate");
    let client = souk::db::connect_one(&url).await.expect("db");
    client
        .batch_execute(
            "INSERT INTO users (display_name) SELECT 'u' || n FROM generate_series(1, 40) n",
        )
        .await
        .expect("seed");
    let pool = souk::db::pool(&secret_url, &settings).expect("pool");
    let metrics = ActorMetrics::new(&prometheus::Registry::new()).expect("metrics");

    // This node holds all 8 shards under token 10; its lease is alive.
    let ownership = Arc::new(Ownership::cluster(8, "node-a".into()));
    ownership.lease_until(Some(Instant::now() + Duration::from_secs(60)));
    for shard in 0..8 {
        let fence = Fence {
            shard: souk_actors::domain::shards::ShardId::new(shard),
            epoch: 10,
        };
        assert!(fencing::take_shard(&pool, fence, "node-a")
            .await
            .expect("take"));
        ownership.take(fence.shard, 10);
    }
    let config = PersistenceConfig {
        batch_max: 256,
        queue_max: 1000,
        write_timeout: Duration::from_secs(5),
        events: souk_actors::domain::events::EventRules::default(),
    };
    let persistence = actix::Actor::start(PersistenceActor::new(
        pool.clone(),
        config,
        metrics.clone(),
        ownership.clone(),
    ));

    let users: Vec<UserId> = (1..=40).map(|i| UserId::new(i).expect("id")).collect();
    let lost = ownership.shard_of(&EntityKey::User(users[0]));
    let (on_lost, elsewhere): (Vec<UserId>, Vec<UserId>) = users
        .iter()
        .partition(|u| ownership.shard_of(&EntityKey::User(**u)) == lost);
    assert!(!elsewhere.is_empty());

    // Held: commits.
    persist(&persistence, credit(on_lost[0], 100))
        .await
        .expect("first credit");

    // Another node takes the shard: a newer token in Postgres. A token that is not newer
    // is refused, as an old owner's late claim would be.
    let stale = Fence {
        shard: lost,
        epoch: 9,
    };
    assert!(!fencing::take_shard(&pool, stale, "node-old")
        .await
        .expect("take"));
    assert!(fencing::take_shard(
        &pool,
        Fence {
            shard: lost,
            epoch: 11
        },
        "node-b"
    )
    .await
    .expect("take"));

    // This node still believes it holds the shard: the batch's own check refuses the write,
    // and the writes for the other shards, batched with it, commit.
    let writes = on_lost
        .iter()
        .map(|u| (true, *u))
        .chain(elsewhere.iter().map(|u| (false, *u)))
        .map(|(fenced, user)| {
            let persistence = persistence.clone();
            async move { (fenced, persist(&persistence, credit(user, 7)).await) }
        });
    let results = futures_util::future::join_all(writes).await;
    for (fenced, result) in &results {
        if *fenced {
            assert!(
                matches!(result, Err(DomainError::Fenced { shard }) if *shard == lost.get()),
                "{result:?}"
            );
        } else {
            assert!(result.is_ok(), "{result:?}");
        }
    }
    assert_eq!(metrics.fenced_writes.get(), on_lost.len() as u64);
    assert!(
        !ownership.owns(&EntityKey::User(on_lost[0])),
        "the fenced shard is dropped"
    );

    // Now refused before any batch: the shard is no longer this node's.
    let late = persist(&persistence, credit(on_lost[0], 1)).await;
    assert!(
        matches!(late, Err(DomainError::NotOwner { .. })),
        "{late:?}"
    );

    let row = client
        .query_one(
            "SELECT (SELECT balance_minor FROM users WHERE id = $1),
                    (SELECT count(*) FROM wallet_transactions WHERE user_id = $1),
                    (SELECT coalesce(sum(balance_minor), 0) FROM users WHERE id <> $1)::bigint",
            &[&on_lost[0].get()],
        )
        .await
        .expect("balances");
    assert_eq!(row.get::<_, i64>(0), 100, "only the credit made while held");
    assert_eq!(row.get::<_, i64>(1), 1);
    assert_eq!(row.get::<_, i64>(2), elsewhere.len() as i64 * 7);
}

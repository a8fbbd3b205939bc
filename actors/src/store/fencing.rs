//! Postgres as the fencing authority of a cluster: the shard count fixed at creation, each
//! shard's current token (epoch), and the check every group-commit batch makes against it.

use crate::domain::error::DomainResult;
use crate::domain::shards::{Fence, ShardId};
use crate::store::tx::Db;
use deadpool_postgres::Pool;

/// Records `shards` as the cluster's shard count if none is recorded yet, and returns the
/// recorded one: a node configured otherwise must not join, since every key's shard
/// depends on it.
pub async fn shard_count(pool: &Pool, shards: u32) -> DomainResult<u32> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO cluster_meta (shards) VALUES ($1) ON CONFLICT (singleton) DO NOTHING",
            &[&(shards as i32)],
        )
        .await?;
    let recorded: i32 = client
        .query_one("SELECT shards FROM cluster_meta", &[])
        .await?
        .get(0);
    Ok(recorded as u32)
}

/// Records `epoch` as `shard`'s token if it is newer than the recorded one: the step a new
/// owner takes before it loads any of the shard's state. False: a newer token is recorded,
/// so the shard is not this claim's. Waits for any batch that is checking the old token to
/// end (the check holds a share lock on the row), so state loaded after this sees every
/// write the old owner committed, and no write of the old owner commits after it.
pub async fn take_shard(pool: &Pool, fence: Fence, owner: &str) -> DomainResult<bool> {
    let client = pool.get().await?;
    let taken = client
        .execute(
            "INSERT INTO cluster_shards (shard, epoch, owner, taken_at) VALUES ($1, $2, $3, now())
             ON CONFLICT (shard) DO UPDATE
                 SET epoch = EXCLUDED.epoch, owner = EXCLUDED.owner, taken_at = EXCLUDED.taken_at
                 WHERE cluster_shards.epoch < EXCLUDED.epoch",
            &[&(fence.shard.get() as i32), &fence.epoch, &owner],
        )
        .await?;
    Ok(taken == 1)
}

/// Every shard's recorded token and owner, by shard.
pub async fn epochs(pool: &Pool) -> DomainResult<Vec<(ShardId, i64, Option<String>)>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT shard, epoch, owner FROM cluster_shards ORDER BY shard",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (ShardId::new(r.get::<_, i32>(0) as u32), r.get(1), r.get(2)))
        .collect())
}

/// Inside a batch's transaction: the fences among `fences` whose shard now carries another
/// token. Takes a share lock on the shards' rows, so no new owner can record its token
/// until this transaction ends: a batch that passes this check commits before any new
/// owner loads.
pub(crate) async fn stale(db: &Db, fences: &[Fence]) -> Result<Vec<Fence>, tokio_postgres::Error> {
    let shards: Vec<i32> = fences.iter().map(|f| f.shard.get() as i32).collect();
    let rows = db
        .query(
            "SELECT shard, epoch FROM cluster_shards WHERE shard = ANY($1) ORDER BY shard FOR SHARE",
            &[&shards],
        )
        .await?;
    let current: std::collections::HashMap<i32, i64> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(fences
        .iter()
        .filter(|f| current.get(&(f.shard.get() as i32)) != Some(&f.epoch))
        .copied()
        .collect())
}

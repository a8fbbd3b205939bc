//! Idempotency-Key rows: the answer stored in the effect's own transaction, and the lookup
//! of a live key's answer.

use crate::domain::changes::IdempotencyDraft;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::idempotency::{KeyAnswer, StoredAnswer};
use crate::domain::ids::UserId;
use crate::store::tx::{ApplyError, Db};
use deadpool_postgres::Pool;
use std::collections::HashSet;

/// A key older than the 24 h replay window may be used afresh; a live one may not (that
/// would be a second effect for one key), so its row is left alone and not returned.
const RECORD_SQL: &str = "
INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::smallint[], $5::jsonb[])
ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
    status_code = EXCLUDED.status_code, response = EXCLUDED.response, created_at = now()
WHERE idempotency_keys.created_at <= now() - interval '24 hours'
RETURNING user_id, key";

/// Stores each answer under its draft's key, in one statement; answers, for each, whether
/// it was stored (false: the key is live with another answer). The (user, key) pairs of
/// `records` are distinct.
pub(crate) async fn record_all(
    tx: &Db,
    records: &[(&IdempotencyDraft, StoredAnswer)],
) -> Result<Vec<bool>, ApplyError> {
    let users: Vec<i64> = records.iter().map(|(d, _)| d.user.get()).collect();
    let keys: Vec<&str> = records.iter().map(|(d, _)| d.key.as_str()).collect();
    let hashes: Vec<&[u8]> = records
        .iter()
        .map(|(d, _)| d.request_hash.as_slice())
        .collect();
    let statuses: Vec<i16> = records.iter().map(|(_, a)| a.status as i16).collect();
    let bodies: Vec<&serde_json::Value> = records.iter().map(|(_, a)| &a.body).collect();
    let stmt = tx.prepare_cached(RECORD_SQL).await?;
    let rows = tx
        .query(&stmt, &[&users, &keys, &hashes, &statuses, &bodies])
        .await?;
    let mut stored = HashSet::with_capacity(rows.len());
    for row in &rows {
        stored.insert((row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?));
    }
    Ok(records
        .iter()
        .map(|(d, _)| stored.contains(&(d.user.get(), d.key.clone())))
        .collect())
}

/// Stores `answer` under the draft's key; a live key refuses the write with `KeyTaken`.
pub(crate) async fn record(
    tx: &Db,
    draft: &IdempotencyDraft,
    answer: StoredAnswer,
) -> Result<(), ApplyError> {
    match record_all(tx, &[(draft, answer)]).await?.as_slice() {
        [true] => Ok(()),
        _ => Err(ApplyError::Job(DomainError::KeyTaken)),
    }
}

/// The answer stored under a live key, with the hash of the request that produced it.
pub async fn find(pool: &Pool, user: UserId, key: &str) -> DomainResult<Option<KeyAnswer>> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT request_hash, status_code, response FROM idempotency_keys
             WHERE user_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'",
            &[&user.get(), &key],
        )
        .await?;
    row.map(|r| {
        Ok(KeyAnswer {
            request_hash: r.try_get(0)?,
            answer: StoredAnswer {
                status: r.try_get::<_, i16>(1)? as u16,
                body: r
                    .try_get::<_, Option<serde_json::Value>>(2)?
                    .unwrap_or(serde_json::Value::Null),
            },
        })
    })
    .transpose()
}

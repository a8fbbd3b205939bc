//! Idempotency-Key rows: the answer stored in the effect's own transaction, and the lookup
//! of a live key's answer.

use crate::domain::changes::IdempotencyDraft;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::idempotency::{KeyAnswer, StoredAnswer};
use crate::domain::ids::UserId;
use crate::store::tx::{ApplyError, Db};
use deadpool_postgres::Pool;

/// Stores `answer` under the draft's key. A key older than the 24 h replay window may be
/// used afresh; a live one may not (that would be a second effect for one key), so the
/// write is refused with `KeyTaken` instead.
pub(crate) async fn record(
    tx: &Db,
    draft: &IdempotencyDraft,
    answer: &StoredAnswer,
) -> Result<(), ApplyError> {
    let sql = "INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
                   status_code = EXCLUDED.status_code, response = EXCLUDED.response, created_at = now()
               WHERE idempotency_keys.created_at <= now() - interval '24 hours'";
    let stmt = tx.prepare_cached(sql).await?;
    let stored = tx
        .execute(
            &stmt,
            &[
                &draft.user.get(),
                &draft.key,
                &draft.request_hash,
                &(answer.status as i16),
                &answer.body,
            ],
        )
        .await?;
    if stored != 1 {
        return Err(ApplyError::Job(DomainError::KeyTaken));
    }
    Ok(())
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

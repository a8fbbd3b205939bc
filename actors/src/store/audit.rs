//! The audit log's one insert. Every change that leaves an audit row (the group commit's
//! writes, user and catalog creation, maintenance switches) writes it here, in the same
//! transaction as the change.

use crate::domain::changes::AuditEntry;
use deadpool_postgres::GenericClient;

/// Writes `entry`'s row on `client`, inside the caller's transaction.
pub(crate) async fn record(
    client: &impl GenericClient,
    entry: &AuditEntry,
) -> Result<(), tokio_postgres::Error> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO audit_log (actor, action, target, before, after, request_id)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    client
        .execute(
            &stmt,
            &[
                &entry.actor,
                &entry.action,
                &entry.target,
                &entry.before,
                &entry.after,
                &entry.request_id,
            ],
        )
        .await?;
    Ok(())
}

//! The audit log's one insert. Every change that leaves an audit row (the group commit's
//! writes, user and catalog creation, maintenance switches) writes it here, in the same
//! transaction as the change; a batch writes all its rows in one statement.

use crate::domain::changes::AuditEntry;
use deadpool_postgres::GenericClient;

const AUDIT_SQL: &str = "
INSERT INTO audit_log (actor, action, target, before, after, request_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::text[])";

/// Writes `entries`' rows on `client`, inside the caller's transaction.
pub(crate) async fn record_all(
    client: &impl GenericClient,
    entries: &[&AuditEntry],
) -> Result<(), tokio_postgres::Error> {
    let actors: Vec<&str> = entries.iter().map(|e| e.actor.as_str()).collect();
    let actions: Vec<&str> = entries.iter().map(|e| e.action).collect();
    let targets: Vec<&str> = entries.iter().map(|e| e.target.as_str()).collect();
    let before: Vec<Option<&serde_json::Value>> =
        entries.iter().map(|e| e.before.as_ref()).collect();
    let after: Vec<Option<&serde_json::Value>> = entries.iter().map(|e| e.after.as_ref()).collect();
    let requests: Vec<Option<&str>> = entries.iter().map(|e| e.request_id.as_deref()).collect();
    let stmt = client.prepare_cached(AUDIT_SQL).await?;
    client
        .execute(
            &stmt,
            &[&actors, &actions, &targets, &before, &after, &requests],
        )
        .await?;
    Ok(())
}

/// Writes `entry`'s row on `client`, inside the caller's transaction.
pub(crate) async fn record(
    client: &impl GenericClient,
    entry: &AuditEntry,
) -> Result<(), tokio_postgres::Error> {
    record_all(client, &[entry]).await
}

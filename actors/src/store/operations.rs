//! What operators set and read: maintenance mode (persisted, audited) and the audit log.

use crate::domain::changes::AuditEntry;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::maintenance::Maintenance;
use crate::domain::model::Timestamp;
use crate::store::{Page, PageRequest};
use deadpool_postgres::Pool;
use serde::Serialize;

pub async fn maintenance(pool: &Pool) -> DomainResult<Maintenance> {
    let client = pool.get().await?;
    let row = client
        .query_opt("SELECT enabled, message FROM maintenance", &[])
        .await?
        .ok_or_else(|| DomainError::Internal("the maintenance row is missing".into()))?;
    Ok(Maintenance {
        enabled: row.try_get(0)?,
        message: row.try_get(1)?,
    })
}

/// Sets maintenance mode and writes its audit row in the same transaction.
pub async fn set_maintenance(
    pool: &Pool,
    to: &Maintenance,
    audit: AuditEntry,
) -> DomainResult<Maintenance> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let before = tx
        .query_one("SELECT enabled, message FROM maintenance FOR UPDATE", &[])
        .await
        .map(|r| serde_json::json!({ "enabled": r.get::<_, bool>(0), "message": r.get::<_, Option<String>>(1) }))?;
    tx.execute(
        "UPDATE maintenance SET enabled = $1, message = $2, updated_by = $3, updated_at = now()",
        &[&to.enabled, &to.message, &audit.actor],
    )
    .await?;
    let after = serde_json::to_value(to).ok();
    let entry = AuditEntry {
        before: Some(before),
        after,
        ..audit
    };
    crate::store::audit::record(&tx, &entry).await?;
    tx.commit().await?;
    Ok(to.clone())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Exact-match filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
}

/// Newest first; the cursor is the last id seen.
pub async fn audit_log(
    pool: &Pool,
    filter: &AuditFilter,
    page: PageRequest,
) -> DomainResult<Page<AuditRow>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT id, actor, action, target, before, after, request_id, created_at FROM audit_log
             WHERE id < $1 AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR target = $3)
               AND ($4::text IS NULL OR action = $4)
             ORDER BY id DESC LIMIT $5",
            &[&page.after.unwrap_or(i64::MAX), &filter.actor, &filter.target, &filter.action, &(page.limit + 1)],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(AuditRow {
                id: r.try_get(0)?,
                actor: r.try_get(1)?,
                action: r.try_get(2)?,
                target: r.try_get(3)?,
                before: r.try_get(4)?,
                after: r.try_get(5)?,
                request_id: r.try_get(6)?,
                created_at: r.try_get(7)?,
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |a| a.id))
}

//! Users: created by admins or by a token's first request.

use crate::domain::changes::AuditEntry;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::UserId;
use crate::domain::model::User;
use crate::domain::msg::Msg;
use deadpool_postgres::Pool;
use tokio_postgres::Row;

fn user_from(row: &Row) -> DomainResult<User> {
    Ok(User {
        id: UserId::from_db(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        telegram_id: row.try_get("telegram_id")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Creates a user and its audit row in one transaction.
pub async fn create_user(
    pool: &Pool,
    display_name: Option<&str>,
    telegram_id: Option<i64>,
    audit: &AuditEntry,
) -> DomainResult<User> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_one(
            "INSERT INTO users (display_name, telegram_id) VALUES ($1, $2)
             RETURNING id, display_name, telegram_id, created_at",
            &[&display_name, &telegram_id],
        )
        .await
        .map_err(|e| match DomainError::from(e) {
            DomainError::Rejected { .. } => {
                DomainError::invalid("telegram_id", Msg::new("error-telegram-id-taken"))
            }
            other => other,
        })?;
    let user = user_from(&row)?;
    let entry = AuditEntry {
        target: format!("user:{}", user.id),
        after: serde_json::to_value(&user).ok(),
        ..audit.clone()
    };
    crate::store::audit::record(&tx, &entry).await?;
    tx.commit().await?;
    Ok(user)
}

/// Makes sure a user with this id exists (a token may name a user before any request did).
/// The shared id sequence is left where it is, so no token can push it towards the end of
/// what tokens carry; users created without an id step over this one (`souk_next_user_id`
/// takes the same lock).
pub async fn ensure_user(pool: &Pool, id: UserId) -> DomainResult<()> {
    let mut client = pool.get().await?;
    if client
        .query_opt("SELECT 1 FROM users WHERE id = $1", &[&id.get()])
        .await?
        .is_some()
    {
        return Ok(());
    }
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('souk.users_id_seq'))",
        &[],
    )
    .await?;
    tx.execute(
        "INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
        &[&id.get()],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn user_exists(pool: &Pool, id: UserId) -> DomainResult<bool> {
    let client = pool.get().await?;
    Ok(client
        .query_opt("SELECT 1 FROM users WHERE id = $1", &[&id.get()])
        .await?
        .is_some())
}

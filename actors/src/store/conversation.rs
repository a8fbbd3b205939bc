//! The Telegram conversation's step (what the bot asked last). It is the chat's UI state,
//! not money or stock, so it is written directly rather than through the group commit; the
//! owner still waits for the write before it believes its new step.

use crate::domain::error::DomainResult;
use crate::domain::ids::UserId;
use serde_json::Value;

pub(crate) async fn read_step(
    pool: &deadpool_postgres::Pool,
    user: UserId,
) -> DomainResult<Option<Value>> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT step FROM telegram_sessions WHERE user_id = $1",
            &[&user.get()],
        )
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<_, Option<Value>>(0)?,
        None => None,
    })
}

pub(crate) async fn write_step(
    pool: &deadpool_postgres::Pool,
    user: UserId,
    step: Option<&Value>,
) -> DomainResult<()> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO telegram_sessions (user_id, step) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET step = EXCLUDED.step, updated_at = now()",
            &[&user.get(), &step],
        )
        .await?;
    Ok(())
}

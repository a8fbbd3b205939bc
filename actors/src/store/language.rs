//! The language each user chose (`users.language`): read by the bot before it speaks, set
//! when the user picks one. A code the database does not know is refused by its check.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::UserId;
use crate::domain::msg::Msg;
use deadpool_postgres::Pool;

/// The user's chosen language code (`en`, `ru`, `de`), or `None` when they chose none (or
/// there is no such user): the caller then goes by the client's language.
pub async fn user_language(pool: &Pool, user: UserId) -> DomainResult<Option<String>> {
    let client = pool.get().await?;
    let row = client
        .query_opt("SELECT language FROM users WHERE id = $1", &[&user.get()])
        .await?;
    Ok(match row {
        Some(row) => row.try_get("language")?,
        None => None,
    })
}

/// The user's chosen language, as `user_language`, noting on the way the language their
/// Telegram app speaks now (`app`, a code Souk speaks) when it changed: one statement, which
/// writes only on a change.
pub async fn speaks(pool: &Pool, user: UserId, app: &str) -> DomainResult<Option<String>> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "WITH noted AS (
                 UPDATE users SET telegram_language = $2
                 WHERE id = $1 AND telegram_language IS DISTINCT FROM $2
             )
             SELECT language FROM users WHERE id = $1",
            &[&user.get(), &app],
        )
        .await?;
    Ok(match row {
        Some(row) => row.try_get("language")?,
        None => None,
    })
}

/// Sets (or with `None` clears) the user's language; `false` when there is no such user.
pub async fn set_user_language(
    pool: &Pool,
    user: UserId,
    language: Option<&str>,
) -> DomainResult<bool> {
    let client = pool.get().await?;
    let updated = client
        .execute(
            "UPDATE users SET language = $2 WHERE id = $1",
            &[&user.get(), &language],
        )
        .await
        .map_err(|e| match DomainError::from(e) {
            DomainError::Rejected { .. } => {
                DomainError::invalid("language", Msg::new("error-language-unknown"))
            }
            other => other,
        })?;
    Ok(updated == 1)
}

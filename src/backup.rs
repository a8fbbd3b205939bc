//! `souk backup --to FILE` and `souk restore --from FILE`: pg_dump's custom format
//! underneath. A restore goes into an empty database in one transaction, so it either
//! brings the whole shop back or nothing.

use crate::pgcluster::client_tool;
use std::path::Path;
use std::process::Command;

fn run(tool: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    let path = client_tool(tool).map_err(|e| e.to_string())?;
    let output = Command::new(&path)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{tool} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

pub fn backup(database_url: &str, to: &Path) -> Result<(), String> {
    run(
        "pg_dump",
        &[
            "--format=custom".as_ref(),
            "--no-owner".as_ref(),
            "--file".as_ref(),
            to.as_os_str(),
            "--dbname".as_ref(),
            database_url.as_ref(),
        ],
    )
}

/// Restores into `database_url`, which must hold no Souk schema yet.
pub async fn restore(database_url: &str, from: &Path) -> Result<(), String> {
    let client = crate::db::connect_one(database_url)
        .await
        .map_err(|e| e.to_string())?;
    let existing = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?
        .get::<_, i64>(0);
    if existing > 0 {
        return Err("restore needs an empty database; this one already has tables (create a new one and point SOUK__DATABASE__URL at it)".into());
    }
    let (url, file) = (database_url.to_string(), from.to_path_buf());
    tokio::task::spawn_blocking(move || {
        run(
            "pg_restore",
            &[
                "--no-owner".as_ref(),
                "--exit-on-error".as_ref(),
                "--single-transaction".as_ref(),
                "--dbname".as_ref(),
                url.as_ref(),
                file.as_os_str(),
            ],
        )
    })
    .await
    .map_err(|e| e.to_string())?
}

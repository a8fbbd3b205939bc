//! Finding PostgreSQL's programs: the server binaries the cluster runs on, and client tools
//! (`pg_dump`, `pg_restore`) from the same installation.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::ClusterError;

/// A PostgreSQL client tool (`pg_dump`, `pg_restore`) from the same installation the
/// private cluster uses, so its version matches the server's.
pub fn client_tool(name: &str) -> Result<PathBuf, ClusterError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_bindir()
        .into_iter()
        .chain(versioned_bindirs(Path::new("/usr/lib/postgresql")))
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join(name))
        .find(|tool| fs::metadata(tool).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0))
        .ok_or(ClusterError::ToolNotFound(name.to_string()))
}

/// The directory holding initdb, pg_ctl and postgres; pg_ctl starts the `postgres` beside it.
pub(super) fn find_bindir() -> Result<PathBuf, ClusterError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(versioned_bindirs(Path::new("/usr/lib/postgresql")))
        .chain(std::iter::once_with(pg_config_bindir).flatten())
        .find(|dir| has_server_binaries(dir))
        .ok_or(ClusterError::BinariesNotFound)
}

pub(super) fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"].into_iter().all(|name| {
        fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
    })
}

/// Debian keeps each major version in `/usr/lib/postgresql/<version>/bin`; newest first.
pub(super) fn versioned_bindirs(base: &Path) -> Vec<PathBuf> {
    let version = |dir: &Path| -> Option<Vec<u32>> {
        let name = dir.file_name()?.to_str()?;
        name.split('.').map(|part| part.parse().ok()).collect()
    };
    let entries = fs::read_dir(base).into_iter().flatten().flatten();
    let mut dirs: Vec<PathBuf> = entries.map(|entry| entry.path()).collect();
    dirs.retain(|dir| version(dir).is_some());
    dirs.sort_by_key(|dir| std::cmp::Reverse(version(dir)));
    dirs.into_iter().map(|dir| dir.join("bin")).collect()
}

pub(super) fn pg_config_bindir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| PathBuf::from(dir.trim()))
}

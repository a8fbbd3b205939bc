//! Souk's private PostgreSQL cluster. When no database URL is configured, dev runs and tests share
//! one cluster under `<repo>/.souk/pg`, made once with the system's `initdb` and left running
//! between runs so tests start fast. Creation and start happen under an exclusive file lock, so
//! racing processes end up sharing one server, and a half-made cluster is never mistaken for one.

mod binaries;
mod port;
mod site;

pub use binaries::client_tool;

use port::{port_setting, speaks_postgres};
use site::Site;

use std::fs;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::unistd::{Uid, User};
use tokio_postgres::NoTls;

const DB_USER: &str = "souk";
const DEFAULT_PG_PORT: u16 = 5432;
const START_TIMEOUT_S: &str = "60";
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const TAIL_LINES_MAX: usize = 25;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install -y postgresql`; Fedora: `dnf install postgresql-server`; macOS: `brew install postgresql`) or set SOUK__DATABASE__URL to an existing database.")]
    BinariesNotFound,
    #[error("{0} not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL's client tools (Debian/Ubuntu: `apt-get install -y postgresql-client`)")]
    ToolNotFound(String),
    #[error("PostgreSQL refuses to run as root, and neither a `postgres` nor a `nobody` user exists to run it as; create one or set SOUK__DATABASE__URL to an existing database")]
    NoUnprivilegedUser,
    #[error("{dir} belongs to another user (uid {uid}); run as that user or root, or delete it for a fresh cluster")]
    OwnedByOther { dir: PathBuf, uid: u32 },
    #[error("running as root, so PostgreSQL runs as user `{user}`, who cannot enter {dir}; allow it (`chmod o+x {dir}`), move the repository, or set SOUK__DATABASE__URL to an existing database")]
    NotTraversable { user: String, dir: PathBuf },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("`{command}` failed: {detail}")]
    CommandFailed { command: String, detail: String },
    #[error("{0} has no `port` setting; add one with a free port")]
    NoPort(PathBuf),
    #[error("port {port} of the private cluster is taken by another program; stop it or set a free `port` in {config}")]
    PortTaken { port: u16, config: PathBuf },
    #[error("the private cluster in {data} does not answer on 127.0.0.1:{port}; see postgres.log beside it, and if no postgres runs from it, delete its stale postmaster.pid")]
    NotAnswering { port: u16, data: PathBuf },
    #[error("the task starting the private cluster died: {0}")]
    Task(String),
}

/// Names the action and the path in every I/O error, since a bare "permission denied" helps no one.
trait At<T> {
    fn at(self, action: &'static str, path: &Path) -> Result<T, ClusterError>;
}

impl<T, E: Into<io::Error>> At<T> for Result<T, E> {
    fn at(self, action: &'static str, path: &Path) -> Result<T, ClusterError> {
        self.map_err(|e| ClusterError::Io {
            action,
            path: path.to_owned(),
            source: e.into(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct PrivateCluster {
    pub root: PathBuf,
    pub port: u16,
}

impl PrivateCluster {
    /// Makes sure a cluster exists under `root` (creating it with initdb on first use) and is running; blocking.
    pub fn ensure_running(root: &Path) -> Result<PrivateCluster, ClusterError> {
        let (site, _lock) = Site::lock(root)?;
        if !site.data.exists() {
            site.create()?;
        }
        let config = site.data.join("postgresql.conf");
        let text = fs::read_to_string(&config).at("reading", &config)?;
        let port = port_setting(&text).ok_or_else(|| ClusterError::NoPort(config.clone()))?;
        if !site.is_running()? {
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
                return Err(ClusterError::PortTaken { port, config });
            }
            tracing::info!(data = %site.data.display(), port, "starting the private PostgreSQL cluster");
            let mut start = site.pg_ctl("start");
            start.arg("-l").arg(&site.log);
            site.run(start.args(["-w", "-t", START_TIMEOUT_S]))?;
        }
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        while !speaks_postgres(port) {
            if Instant::now() > deadline {
                let data = site.data;
                return Err(ClusterError::NotAnswering { port, data });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let root = site.root;
        Ok(PrivateCluster { root, port })
    }

    /// postgres://souk@127.0.0.1:{port}/{dbname}
    pub fn url(&self, dbname: &str) -> String {
        format!("postgres://{DB_USER}@127.0.0.1:{}/{dbname}", self.port)
    }

    /// pg_ctl stop -m fast (used by nothing automatic; for operators/tests)
    pub fn stop(&self) -> Result<(), ClusterError> {
        let (site, _lock) = Site::lock(&self.root)?;
        if !site.is_running()? {
            return Ok(());
        }
        site.run(site.pg_ctl("stop").args(["-m", "fast", "-w"]))
    }
}

/// For integration tests: the URL of a server where tests may CREATE DATABASE, pointing at its `postgres` db.
/// Order: env SOUK_TEST_DATABASE_URL if set; else a Postgres answering on 127.0.0.1:5432 that accepts a connection
/// (try user "postgres" then the current OS user, no password, short connect timeout ~1s; if it answers but refuses auth, move on);
/// else PrivateCluster::ensure_running(<workspace_root>/.souk).
pub async fn test_server_url(workspace_root: &Path) -> Result<String, ClusterError> {
    let from_env = std::env::var("SOUK_TEST_DATABASE_URL").ok();
    if let Some(url) = from_env.filter(|url| !url.is_empty()) {
        return Ok(url);
    }
    let mut users = vec!["postgres".to_owned()];
    if let Ok(Some(me)) = User::from_uid(Uid::effective()) {
        users.extend((me.name != "postgres").then_some(me.name));
    }
    for user in users {
        let url = format!("postgres://{user}@127.0.0.1:{DEFAULT_PG_PORT}/postgres");
        if lets_tests_create_databases(&url).await {
            return Ok(url);
        }
    }
    let root = workspace_root.join(".souk");
    let cluster = tokio::task::spawn_blocking(move || PrivateCluster::ensure_running(&root));
    let cluster = cluster
        .await
        .map_err(|e| ClusterError::Task(e.to_string()))??;
    Ok(cluster.url("postgres"))
}

/// A server that lets us in but not create databases would fail every test, so it counts as absent.
async fn lets_tests_create_databases(url: &str) -> bool {
    let with_timeout = format!("{url}?connect_timeout={}", PROBE_TIMEOUT.as_secs());
    let probe = async {
        let (client, connection) = tokio_postgres::connect(&with_timeout, NoTls).await?;
        tokio::spawn(connection);
        let sql = "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user";
        client.query_one(sql, &[]).await?.try_get::<_, bool>(0)
    };
    match tokio::time::timeout(2 * PROBE_TIMEOUT, probe).await {
        Ok(Ok(may_create)) => may_create,
        Ok(Err(e)) => {
            tracing::debug!(url, error = %e, "no usable PostgreSQL on 127.0.0.1:5432");
            false
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::binaries::{has_server_binaries, versioned_bindirs};
    use super::*;

    #[test]
    fn url_names_the_souk_role_the_port_and_the_database() {
        let cluster = PrivateCluster {
            root: PathBuf::from("/x"),
            port: 40001,
        };
        assert_eq!(
            cluster.url("souk_test_1"),
            "postgres://souk@127.0.0.1:40001/souk_test_1"
        );
    }

    #[test]
    fn the_last_uncommented_port_line_wins() {
        let config = "#port = 5432\nport = 5433 # first\nmax_connections = 300\n  port=41234\n";
        assert_eq!(port_setting(config), Some(41234));
        assert_eq!(port_setting("#port = 5432\n"), None);
    }

    #[test]
    fn newest_postgres_version_is_tried_first() {
        let base = std::env::temp_dir().join(format!("souk-pgc-versions-{}", std::process::id()));
        for version in ["9.6", "15", "13", "notaversion"] {
            fs::create_dir_all(base.join(version)).unwrap();
        }
        let dirs = versioned_bindirs(&base);
        fs::remove_dir_all(&base).unwrap();
        assert_eq!(dirs, ["15", "13", "9.6"].map(|v| base.join(v).join("bin")));
    }

    #[test]
    fn missing_binaries_are_skipped_and_the_error_says_what_to_install() {
        assert!(!has_server_binaries(Path::new("/nonexistent/souk")));
        let message = ClusterError::BinariesNotFound.to_string();
        assert!(message.contains("apt-get install -y postgresql"));
        assert!(message.contains("SOUK__DATABASE__URL"));
    }

    /// Needs initdb and pg_ctl, which `cargo test --workspace` needs anyway.
    #[test]
    fn a_cluster_is_created_reused_and_stopped() {
        let root = std::env::temp_dir().join(format!("souk-pgc-cluster-{}", std::process::id()));
        let first = PrivateCluster::ensure_running(&root).unwrap();
        let again = PrivateCluster::ensure_running(&root).unwrap();
        assert_eq!(first.port, again.port);
        assert!(speaks_postgres(first.port));
        first.stop().unwrap();
        assert!(!speaks_postgres(first.port));
        fs::remove_dir_all(&root).unwrap();
    }
}

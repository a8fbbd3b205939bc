//! Souk's private PostgreSQL cluster. When no database URL is configured, dev runs and tests share
//! one cluster under `<repo>/.souk/pg`, made once with the system's `initdb` and left running
//! between runs so tests start fast. Creation and start happen under an exclusive file lock, so
//! racing processes end up sharing one server, and a half-made cluster is never mistaken for one.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{lchown, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
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
fn find_bindir() -> Result<PathBuf, ClusterError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(versioned_bindirs(Path::new("/usr/lib/postgresql")))
        .chain(std::iter::once_with(pg_config_bindir).flatten())
        .find(|dir| has_server_binaries(dir))
        .ok_or(ClusterError::BinariesNotFound)
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"].into_iter().all(|name| {
        fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
    })
}

/// Debian keeps each major version in `/usr/lib/postgresql/<version>/bin`; newest first.
fn versioned_bindirs(base: &Path) -> Vec<PathBuf> {
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

fn pg_config_bindir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| PathBuf::from(dir.trim()))
}

/// One cluster's files, the binaries that run it, and the user they run as: initdb and postgres
/// refuse to run as root, so as root they run as an unprivileged user.
struct Site {
    root: PathBuf,
    pg: PathBuf,
    data: PathBuf,
    log: PathBuf,
    bindir: PathBuf,
    run_as: Option<User>,
}

impl Site {
    /// Returns with the lock held until the guard drops (or the process dies: the kernel frees it).
    /// nix's flock, since `File::lock` is newer than the workspace's rust-version.
    fn lock(root: &Path) -> Result<(Site, Flock<File>), ClusterError> {
        let bindir = find_bindir()?;
        fs::create_dir_all(root.join("pg")).at("creating", &root.join("pg"))?;
        let root = root.canonicalize().at("resolving", root)?;
        let pg = root.join("pg");
        let run_as = cluster_user(&pg)?;
        let path = root.join("pg.lock");
        // The lock file stays empty, so truncating it under another holder's lock changes nothing.
        let file = File::create(&path).at("opening", &path)?;
        let guard = Flock::lock(file, FlockArg::LockExclusive);
        let guard = guard.map_err(|(_, errno)| errno).at("locking", &path)?;
        let (data, log) = (pg.join("data"), pg.join("postgres.log"));
        let site = Site {
            root,
            pg,
            data,
            log,
            bindir,
            run_as,
        };
        if let Some(user) = &site.run_as {
            site.hand_over(user)?;
        }
        Ok((site, guard))
    }

    /// Checks the user PostgreSQL runs as can reach `root` at all, then gives it `pg`.
    fn hand_over(&self, user: &User) -> Result<(), ClusterError> {
        let name = std::ffi::CString::new(user.name.as_str()).unwrap_or_default();
        // Without the group list only the primary group counts; at worst a needless refusal.
        let groups = nix::unistd::getgrouplist(&name, user.gid).unwrap_or_else(|_| vec![user.gid]);
        for dir in self.root.ancestors() {
            let meta = fs::metadata(dir).at("reading", dir)?;
            let search_bit = if meta.uid() == user.uid.as_raw() {
                0o100
            } else if groups.iter().any(|g| g.as_raw() == meta.gid()) {
                0o010
            } else {
                0o001
            };
            if meta.mode() & search_bit == 0 {
                let (user, dir) = (user.name.clone(), dir.to_owned());
                return Err(ClusterError::NotTraversable { user, dir });
            }
        }
        if fs::metadata(&self.pg).at("reading", &self.pg)?.uid() != user.uid.as_raw() {
            chown_tree(&self.pg, user)?;
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        // The unprivileged user may have no usable home or working directory; its own dir is both.
        cmd.current_dir(&self.pg).env("HOME", &self.pg);
        cmd.env_remove("PGDATA").stdin(Stdio::null());
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        cmd
    }

    fn pg_ctl(&self, action: &str) -> Command {
        let mut cmd = self.command("pg_ctl");
        cmd.arg(action).arg("-D").arg(&self.data);
        cmd
    }

    fn is_running(&self) -> Result<bool, ClusterError> {
        let mut status = self.pg_ctl("status");
        let status = status.stdout(Stdio::null()).stderr(Stdio::null()).status();
        Ok(status.at("running", &self.bindir.join("pg_ctl"))?.success())
    }

    /// Builds the cluster beside its final place and renames it there only when complete.
    fn create(&self) -> Result<(), ClusterError> {
        let fresh = self.pg.join("data.new");
        remove_dir_if_present(&fresh)?;
        let port = free_port()?;
        tracing::info!(data = %self.data.display(), port, "creating the private PostgreSQL cluster");
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(&fresh).arg("--locale=C");
        initdb.args(["-U", DB_USER, "--auth=trust", "-E", "UTF8"]);
        let made = self.run(&mut initdb);
        let made = made.and_then(|()| append_config(&fresh.join("postgresql.conf"), port));
        let made = made.and_then(|()| fs::rename(&fresh, &self.data).at("renaming", &fresh));
        if made.is_err() {
            if let Err(e) = remove_dir_if_present(&fresh) {
                tracing::warn!(error = %e, "could not remove a half-made cluster");
            }
        }
        made
    }

    /// Runs a command to completion; on failure the error carries its output and the log's tail.
    fn run(&self, cmd: &mut Command) -> Result<(), ClusterError> {
        let command = format!("{cmd:?}");
        let output = cmd.output().at("running", Path::new(cmd.get_program()))?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        // Before the first start there is no log yet, and nothing in it to show.
        if let Ok(log) = fs::read_to_string(&self.log) {
            text.push_str(&format!("--- end of {} ---\n{log}", self.log.display()));
        }
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL_LINES_MAX)..].join("\n");
        let detail = format!("{}\n{tail}", output.status);
        Err(ClusterError::CommandFailed { command, detail })
    }
}

/// A cluster keeps running as the user who owns it: taking it over could break their running server.
/// As root with no owner yet, it runs as `postgres` or else `nobody`; otherwise as the current user.
fn cluster_user(pg: &Path) -> Result<Option<User>, ClusterError> {
    let owner = Uid::from_raw(fs::metadata(pg).at("reading", pg)?.uid());
    let me = Uid::effective();
    if owner == me && !me.is_root() {
        return Ok(None);
    }
    if !me.is_root() {
        let (dir, uid) = (pg.to_owned(), owner.as_raw());
        return Err(ClusterError::OwnedByOther { dir, uid });
    }
    if !owner.is_root() {
        if let Some(user) = User::from_uid(owner).at("looking up the owner of", pg)? {
            return Ok(Some(user));
        }
    }
    for name in ["postgres", "nobody"] {
        if let Some(user) = User::from_name(name).at("looking up user", Path::new(name))? {
            return Ok(Some(user));
        }
    }
    Err(ClusterError::NoUnprivilegedUser)
}

fn chown_tree(path: &Path, user: &User) -> Result<(), ClusterError> {
    let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
    lchown(path, Some(uid), Some(gid)).at("changing the owner of", path)?;
    if fs::symlink_metadata(path).at("reading", path)?.is_dir() {
        for entry in fs::read_dir(path).at("listing", path)? {
            chown_tree(&entry.at("listing", path)?.path(), user)?;
        }
    }
    Ok(())
}

fn remove_dir_if_present(dir: &Path) -> Result<(), ClusterError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        result => result.at("removing", dir),
    }
}

/// Chosen once and kept in the config, so every later start reuses it. While the first listener
/// holds its port the kernel cannot hand that port out again, so 5432 costs one more try at most.
fn free_port() -> Result<u16, ClusterError> {
    let bind = || {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        Ok::<_, io::Error>((listener.local_addr()?.port(), listener))
    };
    let (port, _held) = bind().at("binding a port on", Path::new("127.0.0.1"))?;
    if port != DEFAULT_PG_PORT {
        return Ok(port);
    }
    Ok(bind().at("binding a port on", Path::new("127.0.0.1"))?.0)
}

fn append_config(config: &Path, port: u16) -> Result<(), ClusterError> {
    // TCP on loopback only (trust auth is safe there); no socket file, whose path may be too long.
    let settings = format!(
        "\n# Souk's private cluster\nlisten_addresses = '127.0.0.1'\nport = {port}\n\
         unix_socket_directories = ''\nmax_connections = 300\n"
    );
    let mut file = File::options()
        .append(true)
        .open(config)
        .at("opening", config)?;
    file.write_all(settings.as_bytes()).at("writing", config)?;
    file.sync_all().at("writing", config)
}

/// Like PostgreSQL itself, the last uncommented `port` line wins.
fn port_setting(config: &str) -> Option<u16> {
    config
        .lines()
        .filter_map(|line| line.split('#').next()?.split_once('='))
        .filter(|(key, _)| key.trim() == "port")
        .filter_map(|(_, value)| value.trim().parse().ok())
        .next_back()
}

/// Checks the port speaks PostgreSQL, not merely accepts TCP: an SSLRequest gets a one-byte answer.
fn speaks_postgres(port: u16) -> bool {
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) else {
        return false;
    };
    let mut reply = [0u8; 1];
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).is_ok()
        && stream.write_all(&SSL_REQUEST).is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && matches!(reply[0], b'S' | b'N')
}

#[cfg(test)]
mod tests {
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

//! One cluster's files under its lock: creating it with initdb, starting and stopping it
//! with pg_ctl, and, as root, handing it to the unprivileged user PostgreSQL runs as.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{lchown, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::binaries::find_bindir;
use super::port::{append_config, free_port};
use super::{At, ClusterError, DB_USER, TAIL_LINES_MAX};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Uid, User};

/// One cluster's files, the binaries that run it, and the user they run as: initdb and postgres
/// refuse to run as root, so as root they run as an unprivileged user.
pub(super) struct Site {
    pub(super) root: PathBuf,
    pub(super) pg: PathBuf,
    pub(super) data: PathBuf,
    pub(super) log: PathBuf,
    pub(super) bindir: PathBuf,
    pub(super) run_as: Option<User>,
}

impl Site {
    /// Returns with the lock held until the guard drops (or the process dies: the kernel frees it).
    /// nix's flock, since `File::lock` is newer than the workspace's rust-version.
    pub(super) fn lock(root: &Path) -> Result<(Site, Flock<File>), ClusterError> {
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

    pub(super) fn pg_ctl(&self, action: &str) -> Command {
        let mut cmd = self.command("pg_ctl");
        cmd.arg(action).arg("-D").arg(&self.data);
        cmd
    }

    pub(super) fn is_running(&self) -> Result<bool, ClusterError> {
        let mut status = self.pg_ctl("status");
        let status = status.stdout(Stdio::null()).stderr(Stdio::null()).status();
        Ok(status.at("running", &self.bindir.join("pg_ctl"))?.success())
    }

    /// Builds the cluster beside its final place and renames it there only when complete.
    pub(super) fn create(&self) -> Result<(), ClusterError> {
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
    pub(super) fn run(&self, cmd: &mut Command) -> Result<(), ClusterError> {
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

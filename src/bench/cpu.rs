//! CPU time by process, from `/proc`: the bench's own process (Souk's server threads, as
//! the load runs in a child process), Postgres (the postmaster and every process it
//! forked: backends, WAL writer, checkpointer) and the load generator. Linux only; where
//! `/proc` cannot be read the figures are absent, never made up.

use std::collections::HashMap;
use std::time::Duration;

/// One process's parent and its user plus system CPU time (all its threads), from one
/// read of `/proc/<pid>/stat`.
fn stat(pid: &str) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 4 (ppid), 14 (utime) and 15 (stime) of proc(5); `fields[0]` is field 3.
    let parent: u32 = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((parent, utime + stime))
}

fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

fn as_duration(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / ticks_per_second())
}

/// This process's CPU time so far.
pub fn own() -> Option<Duration> {
    stat("self").map(|(_, ticks)| as_duration(ticks))
}

/// A snapshot of Postgres's processes: the postmaster's and each child's CPU so far.
pub struct PostgresSample(HashMap<u32, u64>);

/// The postmaster of the server a backend with this pid belongs to, if it runs here.
pub fn postmaster_of(backend: u32) -> Option<u32> {
    stat(&backend.to_string()).map(|(parent, _)| parent)
}

impl PostgresSample {
    pub fn take(postmaster: u32) -> PostgresSample {
        let mut ticks = HashMap::new();
        if let Some((_, t)) = stat(&postmaster.to_string()) {
            ticks.insert(postmaster, t);
        }
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return PostgresSample(ticks);
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str() else { continue };
            let Ok(number) = pid.parse::<u32>() else {
                continue;
            };
            if let Some((parent, t)) = stat(pid) {
                if parent == postmaster {
                    ticks.insert(number, t);
                }
            }
        }
        PostgresSample(ticks)
    }

    /// CPU spent between `earlier` and this sample. A process that started in between
    /// counts whole; one that ended in between is lost (backends here are pooled and live
    /// through the run).
    pub fn since(&self, earlier: &PostgresSample) -> Duration {
        let ticks = self
            .0
            .iter()
            .map(|(pid, now)| now.saturating_sub(earlier.0.get(pid).copied().unwrap_or(0)))
            .sum();
        as_duration(ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_spent_cpu_and_spending_more_shows() {
        let before = own().expect("/proc/self/stat");
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(60) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = own().expect("/proc/self/stat");
        assert!(after > before, "{before:?} then {after:?}");
    }

    #[test]
    fn a_process_that_is_not_there_has_no_figures() {
        assert!(stat("999999999").is_none());
        assert!(PostgresSample::take(999_999_999).0.is_empty());
    }
}

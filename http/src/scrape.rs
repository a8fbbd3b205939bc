//! Figures `/metrics` samples when it is scraped rather than counts as things happen: the
//! Postgres pool, the process's CPU and memory, actor mailbox depths, and how many products
//! run low on stock.
//! CPU and memory come from `/proc/self` in a few lines instead of the prometheus crate's
//! `process` feature, which would pull in `procfs` and its dependencies for two numbers.

use deadpool_postgres::Pool;
use prometheus::{Counter, IntGauge, IntGaugeVec, Opts, Registry};

/// The kernel reports CPU time in USER_HZ ticks, fixed at 100 by the Linux ABI on every
/// architecture Souk runs on.
const USER_HZ: f64 = 100.0;

#[derive(Clone)]
pub struct ScrapeGauges {
    pub pool_size: IntGauge,
    pub pool_available: IntGauge,
    pub pool_waiting: IntGauge,
    pub cpu_seconds: Counter,
    pub resident_bytes: IntGauge,
    pub stock_low: IntGauge,
    /// Clients the rate limiter remembers: bounded by the periodic sweep.
    pub rate_limit_keys: IntGauge,
    /// Messages waiting on actors (sent, not yet answered), by kind: all, and the deepest.
    pub mailbox_depth: IntGaugeVec,
    pub mailbox_depth_max: IntGaugeVec,
}

impl ScrapeGauges {
    pub fn new(registry: &Registry) -> prometheus::Result<ScrapeGauges> {
        let gauge = |name: &str, help: &str| -> prometheus::Result<IntGauge> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let cpu_seconds = Counter::new(
            "souk_process_cpu_seconds_total",
            "CPU time the process used, user and system",
        )?;
        registry.register(Box::new(cpu_seconds.clone()))?;
        let by_kind = |name: &str, help: &str| -> prometheus::Result<IntGaugeVec> {
            let g = IntGaugeVec::new(Opts::new(name, help), &["kind"])?;
            for kind in ["product", "user", "promo"] {
                g.with_label_values(&[kind]);
            }
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        Ok(ScrapeGauges {
            mailbox_depth: by_kind(
                "souk_actor_mailbox_depth",
                "Messages waiting on actors of a kind, summed over all of them",
            )?,
            mailbox_depth_max: by_kind(
                "souk_actor_mailbox_depth_max",
                "Messages waiting on the busiest actor of a kind (a hot product shows here)",
            )?,
            pool_size: gauge("souk_db_pool_size", "Postgres connections open in the pool")?,
            pool_available: gauge(
                "souk_db_pool_available",
                "Postgres connections idle in the pool",
            )?,
            pool_waiting: gauge(
                "souk_db_pool_waiting",
                "Requests waiting for a Postgres connection",
            )?,
            cpu_seconds,
            resident_bytes: gauge(
                "souk_process_resident_memory_bytes",
                "Resident memory of the process",
            )?,
            stock_low: gauge(
                "souk_stock_low_products",
                "Active products with at most the configured low-stock threshold left",
            )?,
            rate_limit_keys: gauge(
                "souk_rate_limit_keys",
                "Users, addresses and webhooks the rate limiter currently remembers",
            )?,
        })
    }

    /// Mailbox depths by kind; walks the live actors, which passivation keeps few.
    pub fn sample_mailboxes(&self, registry: &souk_actors::entity::registry::Registry) {
        for (kind, total, max) in registry.mailbox_depths() {
            self.mailbox_depth
                .with_label_values(&[kind])
                .set(to_i64(total));
            self.mailbox_depth_max
                .with_label_values(&[kind])
                .set(to_i64(max));
        }
    }

    /// The pool and the process; cheap and infallible, so every scrape does it.
    pub fn sample(&self, pool: &Pool) {
        let status = pool.status();
        self.pool_size.set(to_i64(status.size));
        self.pool_available.set(to_i64(status.available));
        self.pool_waiting.set(to_i64(status.waiting));
        if let Some(cpu) = cpu_seconds() {
            // A counter only rises: add what was used since the last scrape.
            let delta = cpu - self.cpu_seconds.get();
            if delta > 0.0 {
                self.cpu_seconds.inc_by(delta);
            }
        }
        if let Some(bytes) = resident_bytes() {
            self.resident_bytes.set(bytes);
        }
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// utime + stime from `/proc/self/stat`, in seconds. Fields are counted after the command
/// name's closing parenthesis, since the name itself may contain spaces.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// VmRSS from `/proc/self/status`, which is in kB whatever the page size.
fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_reads_its_own_cpu_and_memory() {
        let spin = (0..2_000_000u64).fold(0u64, |a, b| a.wrapping_add(b * b));
        assert!(spin > 0);
        assert!(cpu_seconds().is_some_and(|s| s >= 0.0));
        assert!(resident_bytes().is_some_and(|b| b > 1024 * 1024));
    }
}

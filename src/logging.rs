//! Log output. actix-http logs each malformed request and each broken connection at ERROR,
//! one line apiece ("stream error: request parse error: ..."), so anyone who can open a
//! socket could fill the log and bury real errors. Those lines are kept out of the ordinary
//! output and written again at WARN, at most one per kind every `QUIET_FOR`, with how many
//! of that kind were left out since the last one.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The least time between two lines of one kind of connection noise.
pub const QUIET_FOR: Duration = Duration::from_secs(10);

/// Installs the subscriber: `RUST_LOG` (default `info`) on stderr, connection noise limited.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,souk=info".into());
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter.and(filter_fn(|meta| !is_connection_noise(meta))));
    let noise = ConnectionNoise {
        limiter: LogLimiter::new(QUIET_FOR),
    }
    .with_filter(filter_fn(is_connection_noise));
    tracing_subscriber::registry()
        .with(output)
        .with(noise)
        .init();
}

/// An ERROR that actix-http's HTTP/1 connection handling logs about what a client sent.
fn is_connection_noise(meta: &Metadata<'_>) -> bool {
    meta.is_event() && *meta.level() == Level::ERROR && meta.target().starts_with("actix_http::h1")
}

/// The kind of a noise line, from actix-http's message (`DispatchError`'s display).
fn kind_of(message: &str) -> &'static str {
    let message = message.strip_prefix("stream error: ").unwrap_or(message);
    if message.starts_with("request parse error") {
        "malformed_request"
    } else if message.starts_with("I/O error") {
        "connection_io"
    } else if message.contains("timeout") {
        "connection_timeout"
    } else {
        "connection_other"
    }
}

struct ConnectionNoise {
    limiter: LogLimiter,
}

impl<S: Subscriber> Layer<S> for ConnectionNoise {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        let kind = kind_of(&message.0);
        if let Some(suppressed) = self.limiter.admit(kind, Instant::now()) {
            let detail: String = message.0.chars().take(200).collect();
            tracing::warn!(kind, suppressed, %detail, "a client sent a request that could not be served");
        }
    }
}

/// The `message` field of an event, as text.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

/// At most one line per kind every `every`; counts the lines it holds back.
pub struct LogLimiter {
    every: Duration,
    kinds: Mutex<HashMap<&'static str, Window>>,
}

struct Window {
    last: Instant,
    suppressed: u64,
}

impl LogLimiter {
    pub fn new(every: Duration) -> LogLimiter {
        LogLimiter {
            every,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(n)` if a line of `kind` may be written at `now`, `n` being how many of that kind
    /// were held back since the last one; `None` to hold this one back. The map is keyed by
    /// `&'static str` kinds, so it stays as small as the set of kinds.
    pub fn admit(&self, kind: &'static str, now: Instant) -> Option<u64> {
        let mut kinds = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match kinds.get_mut(kind) {
            Some(w) if now.saturating_duration_since(w.last) < self.every => {
                w.suppressed += 1;
                None
            }
            Some(w) => {
                w.last = now;
                Some(std::mem::take(&mut w.suppressed))
            }
            None => {
                kinds.insert(
                    kind,
                    Window {
                        last: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_kind_per_window_then_the_count_of_those_held_back() {
        let limiter = LogLimiter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limiter.admit("malformed_request", t0), Some(0));
        for i in 1..=500 {
            let now = t0 + Duration::from_millis(i * 10);
            assert_eq!(limiter.admit("malformed_request", now), None);
        }
        assert_eq!(
            limiter.admit("connection_io", t0 + Duration::from_secs(1)),
            Some(0),
            "each kind has its own window"
        );
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.admit("malformed_request", later), Some(500));
        assert_eq!(limiter.admit("malformed_request", later), None);
        assert_eq!(
            limiter.admit("malformed_request", later + Duration::from_secs(10)),
            Some(1)
        );
    }

    #[test]
    fn actix_messages_fall_into_a_closed_set_of_kinds() {
        assert_eq!(
            kind_of("stream error: request parse error: invalid Header provided"),
            "malformed_request"
        );
        assert_eq!(
            kind_of("stream error: I/O error: Connection reset by peer (os error 104)"),
            "connection_io"
        );
        assert_eq!(kind_of("anything else"), "connection_other");
    }
}

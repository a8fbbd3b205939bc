//! Rate limits: every request is charged to one route class (checkout, writes, reads, auth,
//! webhooks) under one key — the user of a valid token, else the client's IP. A webhook call
//! is charged by its handler once its signature or secret is checked: an authentic one to the
//! webhook's own bucket (never the IP of the provider that sends them), anything else to its
//! sender's IP in `auth`, so junk cannot spend the provider's quota. Over its quota a
//! request answers 429 `rate_limited` with `Retry-After` and is counted by class.
//! Keyed state lives in governor's keyed store; a periodic `retain_recent` drops keys whose
//! bucket is full again, so memory is bounded by the clients seen within one sweep.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use prometheus::IntCounterVec;
use serde::Deserialize;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The slowest and fastest refill a quota may have.
const RATE_MIN: f64 = 0.001;
const RATE_MAX: f64 = 1e9;

/// One class's quota: `burst` requests at once, refilled at `per_second` (which may be a
/// fraction: 0.5 is one every two seconds).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassQuota {
    pub per_second: f64,
    pub burst: u32,
}

/// The `[rate_limits]` section of the settings.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub checkout: ClassQuota,
    pub writes: ClassQuota,
    pub reads: ClassQuota,
    pub auth: ClassQuota,
    pub webhooks: ClassQuota,
}

impl RateLimitSettings {
    /// Every class at `per_second` with an equal burst (tests and the benchmark).
    pub fn uniform(per_second: u32) -> RateLimitSettings {
        let q = ClassQuota {
            per_second: f64::from(per_second),
            burst: per_second,
        };
        RateLimitSettings {
            checkout: q,
            writes: q,
            reads: q,
            auth: q,
            webhooks: q,
        }
    }

    /// Names the first class whose quota is not usable: a zero burst, or a rate outside
    /// one per 1000 s ..= 10^9 per second.
    pub fn invalid(&self) -> Option<&'static str> {
        Class::ALL
            .iter()
            .find(|c| {
                let q = self.quota(**c);
                !(RATE_MIN..=RATE_MAX).contains(&q.per_second) || q.burst == 0
            })
            .map(|c| c.as_str())
    }

    fn quota(&self, class: Class) -> ClassQuota {
        match class {
            Class::Checkout => self.checkout,
            Class::Writes => self.writes,
            Class::Reads => self.reads,
            Class::Auth => self.auth,
            Class::Webhooks => self.webhooks,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Checkout,
    Writes,
    Reads,
    /// Requests whose bearer token does not verify (and future `/v1/auth/*` routes): keyed by
    /// IP, so guessing tokens is slow however many users the guesses name.
    Auth,
    Webhooks,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::Checkout,
        Class::Writes,
        Class::Reads,
        Class::Auth,
        Class::Webhooks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Checkout => "checkout",
            Class::Writes => "writes",
            Class::Reads => "reads",
            Class::Auth => "auth",
            Class::Webhooks => "webhooks",
        }
    }
}

/// Who a request is charged to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    User(i64),
    Ip(IpAddr),
    /// A webhook's authentic calls are one sender however many addresses they come from.
    Webhook(Webhook),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Webhook {
    Telegram,
    Payments,
}

const WEBHOOKS: [&str; 2] = ["/v1/telegram/webhook", "/v1/payments/webhook"];

/// Liveness, readiness and the scrape are for operators' probes, which must never be refused.
const EXEMPT: [&str; 3] = ["/metrics", "/v1/health", "/v1/ready"];

/// How often idle keys are dropped.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The request's caller as far as limits care: a verified user, a token that failed, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer {
    Valid(i64),
    Invalid,
    Absent,
}

/// The class and key of a request, or `None` for exempt paths and for the webhooks, which
/// their handlers charge once they know whether the call is authentic (`charge_webhook`).
pub fn classify(method: &Method, path: &str, bearer: Bearer, ip: IpAddr) -> Option<(Class, Key)> {
    // The internal API's callers are this cluster's nodes, which charged their own callers.
    if EXEMPT.contains(&path) || WEBHOOKS.contains(&path) || path.starts_with("/internal/") {
        return None;
    }
    let key = match bearer {
        Bearer::Valid(user) => Key::User(user),
        Bearer::Invalid => return Some((Class::Auth, Key::Ip(client_net(ip)))),
        Bearer::Absent => Key::Ip(client_net(ip)),
    };
    let class = if path.starts_with("/v1/auth/") {
        Class::Auth
    } else if path == "/v1/me/checkout" {
        Class::Checkout
    } else if matches!(*method, Method::GET | Method::HEAD) {
        Class::Reads
    } else {
        Class::Writes
    };
    Some((class, key))
}

/// Who pays for a webhook call whose signature or secret has been checked.
pub fn webhook_charge(hook: Webhook, authentic: bool, ip: IpAddr) -> (Class, Key) {
    if authentic {
        (Class::Webhooks, Key::Webhook(hook))
    } else {
        (Class::Auth, Key::Ip(client_net(ip)))
    }
}

/// Charges a checked webhook call (see `webhook_charge`); `Err` is the 429 to answer.
pub fn charge_webhook(req: &HttpRequest, hook: Webhook, authentic: bool) -> Result<(), ApiError> {
    let Some(limits) = req.app_data::<web::Data<RateLimits>>() else {
        return Ok(());
    };
    let (class, key) = webhook_charge(hook, authentic, peer_ip(req.peer_addr()));
    limits
        .check(class, &key)
        .map_err(|secs| ApiError::rate_limited(class.as_str(), secs))
}

/// The peer's address; a request without one (a test harness) counts as 0.0.0.0.
fn peer_ip(peer: Option<std::net::SocketAddr>) -> IpAddr {
    peer.map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip())
}

/// An IPv6 client controls a whole /64, so that is what one key covers.
fn client_net(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// One keyed limiter per class, and the counter of refusals.
pub struct RateLimits {
    limiters: Vec<(Class, DefaultKeyedRateLimiter<Key>)>,
    refused: IntCounterVec,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings, refused: IntCounterVec) -> Option<Arc<RateLimits>> {
        let mut limiters = Vec::with_capacity(Class::ALL.len());
        for class in Class::ALL {
            let q = settings.quota(class);
            let period = Duration::try_from_secs_f64(1.0 / q.per_second).ok()?;
            let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(q.burst)?);
            limiters.push((class, DefaultKeyedRateLimiter::keyed(quota)));
            refused.with_label_values(&[class.as_str()]);
        }
        Some(Arc::new(RateLimits {
            limiters,
            refused,
            clock: DefaultClock::default(),
        }))
    }

    /// `Ok` if the request may pass, else the whole seconds to wait (at least 1).
    pub fn check(&self, class: Class, key: &Key) -> Result<(), u32> {
        let Some((_, limiter)) = self.limiters.iter().find(|(c, _)| *c == class) else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            self.refused.with_label_values(&[class.as_str()]).inc();
            u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
        })
    }

    /// Drops keys whose bucket is full again: they behave exactly like keys never seen.
    pub fn sweep(&self) {
        for (_, limiter) in &self.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Keys held across all classes.
    pub fn keys(&self) -> usize {
        self.limiters.iter().map(|(_, l)| l.len()).sum()
    }

    /// Sweeps every `SWEEP_EVERY` for as long as the limits exist and the process runs.
    pub fn sweep_periodically(self: &Arc<Self>, shutdown: CancellationToken) {
        let weak = Arc::downgrade(self);
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.cancelled() => return,
                }
                match weak.upgrade() {
                    Some(limits) => limits.sweep(),
                    None => return,
                }
            }
        });
    }
}

fn bearer(req: &ServiceRequest, state: Option<&web::Data<AppState>>) -> Bearer {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (token, state) {
        (None, _) => Bearer::Absent,
        (Some(t), Some(state)) => match state.keys.verify(t.trim()) {
            Ok(caller) => Bearer::Valid(caller.user.get()),
            Err(_) => Bearer::Invalid,
        },
        (Some(_), None) => Bearer::Invalid,
    }
}

/// The middleware: charges the request to its class and key, or answers 429.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limits = req.app_data::<web::Data<RateLimits>>().cloned();
    if let Some(limits) = limits {
        let state = req.app_data::<web::Data<AppState>>();
        let ip = peer_ip(req.peer_addr());
        let who = bearer(&req, state);
        if let Some((class, key)) = classify(req.method(), req.path(), who, ip) {
            if let Err(secs) = limits.check(class, &key) {
                let error = ApiError::rate_limited(class.as_str(), secs);
                return Ok(req.error_response(error).map_into_boxed_body());
            }
        }
    }
    next.call(req).await.map(|res| res.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn requests_fall_into_their_class_and_key() {
        let c = |m: Method, p: &str, b: Bearer| classify(&m, p, b, HOME);
        assert_eq!(
            c(Method::POST, "/v1/me/checkout", Bearer::Valid(7)),
            Some((Class::Checkout, Key::User(7)))
        );
        assert_eq!(
            c(Method::GET, "/v1/products", Bearer::Absent),
            Some((Class::Reads, Key::Ip(HOME)))
        );
        assert_eq!(
            c(Method::PUT, "/v1/me/cart/items/1", Bearer::Valid(3)),
            Some((Class::Writes, Key::User(3)))
        );
        assert_eq!(
            c(Method::GET, "/v1/me/wallet", Bearer::Invalid),
            Some((Class::Auth, Key::Ip(HOME)))
        );
        for hook in WEBHOOKS {
            assert_eq!(
                c(Method::POST, hook, Bearer::Absent),
                None,
                "charged by the handler"
            );
        }
        assert_eq!(c(Method::GET, "/metrics", Bearer::Absent), None);
    }

    #[test]
    fn an_authentic_webhook_call_spends_the_webhooks_bucket_and_junk_its_senders() {
        for hook in [Webhook::Telegram, Webhook::Payments] {
            assert_eq!(
                webhook_charge(hook, true, HOME),
                (Class::Webhooks, Key::Webhook(hook)),
                "never keyed by the sender's address"
            );
            assert_eq!(
                webhook_charge(hook, false, HOME),
                (Class::Auth, Key::Ip(HOME))
            );
        }
    }

    #[test]
    fn an_ipv6_client_is_keyed_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_net(a), client_net(b));
    }

    #[test]
    fn idle_keys_are_swept_so_memory_stays_bounded() {
        let limits = RateLimits::new(
            &RateLimitSettings::uniform(1000),
            IntCounterVec::new(prometheus::Opts::new("t", "t"), &["class"]).unwrap(),
        )
        .unwrap();
        for user in 0..500 {
            limits.check(Class::Reads, &Key::User(user)).unwrap();
        }
        assert_eq!(limits.keys(), 500);
        std::thread::sleep(Duration::from_millis(50));
        limits.sweep();
        assert_eq!(limits.keys(), 0);
    }

    #[test]
    fn over_the_burst_the_wait_is_whole_seconds() {
        let settings = RateLimitSettings::uniform(1);
        let refused = IntCounterVec::new(prometheus::Opts::new("t", "t"), &["class"]).unwrap();
        let limits = RateLimits::new(&settings, refused.clone()).unwrap();
        assert!(limits.check(Class::Writes, &Key::User(1)).is_ok());
        assert_eq!(limits.check(Class::Writes, &Key::User(1)), Err(1));
        assert!(limits.check(Class::Writes, &Key::User(2)).is_ok());
        assert_eq!(refused.with_label_values(&["writes"]).get(), 1);
        assert!(RateLimitSettings::uniform(0).invalid().is_some());
    }
}

//! The one shutdown signal, as mini-redis's `shutdown.rs`: every background loop (payment
//! expiry, rate-limit sweeps, Bot API retry waits) watches the same token, and the loops that
//! do async work per item are tracked, so stopping waits for the item in hand to finish
//! instead of dropping it half done when the runtime goes away.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The longest `stop` waits for the loops' current items; an item is a few actor calls and
/// one group commit, each bounded well below this by its own timeout.
pub const LOOPS_FINISH_MAX: Duration = Duration::from_secs(10);

#[derive(Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    loops: TaskTracker,
}

impl Shutdown {
    /// The signal, for loops spawned elsewhere (they only watch it; nothing waits for them).
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// What `stop` waits for, for work spawned in other crates: a Telegram update that goes
    /// on applying and answering after its webhook call was answered.
    pub fn tracker(&self) -> TaskTracker {
        self.loops.clone()
    }

    /// Spawns `task` on the current actix runtime; `stop` waits for it to return.
    pub fn spawn_loop(&self, task: impl Future<Output = ()> + 'static) {
        actix_web::rt::spawn(self.loops.track_future(task));
    }

    /// Cancels the signal and waits, up to `bound`, for the tracked loops to finish their
    /// current item; false if one was still busy when the bound ran out.
    pub async fn stop(&self, bound: Duration) -> bool {
        self.token.cancel();
        self.loops.close();
        tokio::time::timeout(bound, self.loops.wait()).await.is_ok()
    }
}

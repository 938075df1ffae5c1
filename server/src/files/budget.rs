//! The node's budget of upload bytes a second (`--upload-rate`), shared
//! by every upload at once.
//!
//! Receiving a file costs CPU by the byte (the socket, SHA-256, the
//! write), and on a LAN or loopback a few phones uploading at full speed
//! would take every core the chat's messages need. Each chunk of every
//! body books its slot on one timeline, first come first served, and
//! waits for it: the sockets are read no faster than the budget, and TCP
//! slows the senders down. A short burst goes through at once, so a
//! small picture never waits.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// What an idle budget lets through at once: this long's worth of bytes.
const BURST: Duration = Duration::from_millis(100);

/// Upload bytes a second, for every upload on this node together.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Bytes a second; 0 for no limit.
    per_second: u64,
    /// When the bytes booked so far will have been spent.
    booked_until: Mutex<Instant>,
}

impl Budget {
    /// A budget of `per_second` bytes (0: none).
    pub(crate) fn new(per_second: u64) -> Self {
        Self {
            per_second,
            booked_until: Mutex::new(Instant::now()),
        }
    }

    /// Waits until `bytes` more fit: books them after everything booked
    /// before (or at once, within the burst, when the budget was idle).
    pub(crate) async fn spend(&self, bytes: usize) {
        if self.per_second == 0 {
            return;
        }
        let cost = Duration::from_secs_f64(bytes as f64 / self.per_second as f64);
        let due = {
            let mut booked = self
                .booked_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let idle_since = now.checked_sub(BURST).unwrap_or(now);
            *booked = (*booked).max(idle_since) + cost;
            // Within the burst, nothing to wait for.
            booked.checked_sub(BURST).unwrap_or(now)
        };
        tokio::time::sleep_until(due).await;
    }
}

#[cfg(test)]
mod tests {
    use super::Budget;
    use std::time::Duration;
    use tokio::time::Instant;

    /// The clock is tokio's paused one: what is measured is the waiting
    /// the budget asks for, not this machine's speed.
    #[tokio::test(start_paused = true)]
    async fn bytes_past_the_burst_wait_their_turn_at_the_rate() {
        let budget = Budget::new(1_000_000);
        let started = Instant::now();
        // The burst (100 ms of a MB a second) goes at once.
        budget.spend(100_000).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
        // Two more seconds' worth, from two uploads, share the rate.
        let (one, two) = tokio::join!(budget.spend(1_000_000), budget.spend(1_000_000));
        let _ = (one, two);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(1_990) && waited <= Duration::from_millis(2_010),
            "{waited:?}"
        );
        // Idle for a while, the burst is back.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let idle = Instant::now();
        budget.spend(50_000).await;
        assert_eq!(idle.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn no_budget_never_waits() {
        let budget = Budget::new(0);
        let started = Instant::now();
        budget.spend(usize::MAX).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}

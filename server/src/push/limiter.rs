//! How often one subscription is pushed to: at most a few pushes per
//! window; what comes beyond that within the window is held and counted,
//! and goes out as one summary push when the window ends. A flood of
//! mentions then costs the recipient's phone one buzz, not fifty, and the
//! push service does not throttle us.
//!
//! Plain state with methods that take the time as an argument: the caller
//! owns the clock and the timer (it sleeps until [`PushLimiter::next_due`]),
//! and tests step through windows without sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// What to do with a push the caller is about to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send it now.
    Send,
    /// Do not send it: it is counted into the summary that
    /// [`PushLimiter::due`] hands out when the window ends.
    Held,
}

/// One summary push to send: `count` held messages, the latest in `room`
/// (the room a click opens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary<K> {
    /// The subscription it goes to.
    pub subscription: K,
    /// The room of the latest held message.
    pub room: String,
    /// How many messages were held.
    pub count: u32,
}

/// One subscription's current window.
#[derive(Debug)]
struct Window {
    /// When the window began: the first push after the last window ended.
    opened: Instant,
    /// Pushes sent in this window (a summary counts as one).
    sent: u32,
    /// Pushes held back in this window.
    held: u32,
    /// The room of the latest held push.
    latest_room: String,
}

/// Per-subscription push limits, keyed by whatever names a subscription
/// for the caller (its endpoint, a row id).
#[derive(Debug)]
pub struct PushLimiter<K> {
    /// How many pushes a window lets through.
    per_window: u32,
    /// How long a window lasts.
    window: Duration,
    /// The subscriptions pushed to recently; a window that ended with
    /// nothing held is dropped by [`PushLimiter::due`].
    windows: HashMap<K, Window>,
}

impl<K: Eq + Hash + Clone> PushLimiter<K> {
    /// At most `per_window` pushes (at least one) per `window` to each
    /// subscription.
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window: per_window.max(1),
            window,
            windows: HashMap::new(),
        }
    }

    /// Whether a push for a message in `room` to `subscription` may go
    /// out at `now`, counting it either way.
    pub fn admit(&mut self, subscription: &K, room: &str, now: Instant) -> Admission {
        let (per_window, length) = (self.per_window, self.window);
        let window = self
            .windows
            .entry(subscription.clone())
            .or_insert_with(|| Window {
                opened: now,
                sent: 0,
                held: 0,
                latest_room: String::new(),
            });
        let ended = now.saturating_duration_since(window.opened) >= length;
        // A window that ended with pushes held keeps holding until its
        // summary is collected, so the summary stays the first to go out.
        if ended && window.held == 0 {
            *window = Window {
                opened: now,
                sent: 0,
                held: 0,
                latest_room: String::new(),
            };
        }
        if window.sent < per_window && window.held == 0 {
            window.sent += 1;
            Admission::Send
        } else {
            window.held = window.held.saturating_add(1);
            room.clone_into(&mut window.latest_room);
            Admission::Held
        }
    }

    /// The summaries whose windows have ended by `now`, each starting a
    /// new window in which it counts as the first push. Also forgets the
    /// subscriptions whose windows ended with nothing held.
    pub fn due(&mut self, now: Instant) -> Vec<Summary<K>> {
        let length = self.window;
        let mut summaries = Vec::new();
        self.windows.retain(|subscription, window| {
            if now.saturating_duration_since(window.opened) < length {
                return true;
            }
            if window.held == 0 {
                return false;
            }
            summaries.push(Summary {
                subscription: subscription.clone(),
                room: std::mem::take(&mut window.latest_room),
                count: window.held,
            });
            *window = Window {
                opened: now,
                sent: 1,
                held: 0,
                latest_room: String::new(),
            };
            true
        });
        summaries
    }

    /// When the next summary is due, if any is waiting: when the caller's
    /// timer should wake it to call [`PushLimiter::due`].
    pub fn next_due(&self) -> Option<Instant> {
        self.windows
            .values()
            .filter(|window| window.held > 0)
            .map(|window| window.opened + self.window)
            .min()
    }

    /// Drops what is known of a subscription (it answered 404 or 410, or
    /// its owner unsubscribed): nothing more is held or summarised for it.
    pub fn forget(&mut self, subscription: &K) {
        self.windows.remove(subscription);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn limiter() -> PushLimiter<&'static str> {
        PushLimiter::new(3, MINUTE)
    }

    #[test]
    fn pushes_within_the_limit_go_out() {
        let mut limits = limiter();
        let start = Instant::now();
        for second in 0..3 {
            let now = start + Duration::from_secs(second);
            assert_eq!(limits.admit(&"phone", "lobby", now), Admission::Send);
        }
        assert_eq!(limits.next_due(), None);
        assert!(limits.due(start + 2 * MINUTE).is_empty());
    }

    #[test]
    fn a_flood_becomes_one_summary_when_the_window_ends() {
        let mut limits = limiter();
        let start = Instant::now();
        for second in 0..3 {
            let now = start + Duration::from_secs(second);
            assert_eq!(limits.admit(&"phone", "lobby", now), Admission::Send);
        }
        for second in 3..20 {
            let room = if second < 19 { "lobby" } else { "kitchen" };
            let now = start + Duration::from_secs(second);
            assert_eq!(limits.admit(&"phone", room, now), Admission::Held);
        }
        assert_eq!(limits.next_due(), Some(start + MINUTE));
        assert!(limits
            .due(start + MINUTE - Duration::from_millis(1))
            .is_empty());
        assert_eq!(
            limits.due(start + MINUTE),
            vec![Summary {
                subscription: "phone",
                room: "kitchen".to_owned(),
                count: 17
            }]
        );
        assert_eq!(limits.next_due(), None);
        assert!(limits.due(start + MINUTE).is_empty(), "handed out once");
    }

    #[test]
    fn the_summary_counts_as_the_first_push_of_the_next_window() {
        let mut limits = limiter();
        let start = Instant::now();
        for _ in 0..4 {
            limits.admit(&"phone", "lobby", start);
        }
        let opened = start + MINUTE;
        assert_eq!(limits.due(opened).len(), 1);
        assert_eq!(limits.admit(&"phone", "lobby", opened), Admission::Send);
        assert_eq!(limits.admit(&"phone", "lobby", opened), Admission::Send);
        assert_eq!(limits.admit(&"phone", "lobby", opened), Admission::Held);
    }

    #[test]
    fn a_push_after_an_uncollected_window_joins_its_summary() {
        let mut limits = limiter();
        let start = Instant::now();
        for _ in 0..4 {
            limits.admit(&"phone", "lobby", start);
        }
        let late = start + 2 * MINUTE;
        assert_eq!(limits.admit(&"phone", "kitchen", late), Admission::Held);
        let summaries = limits.due(late);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].count, 2);
        assert_eq!(summaries[0].room, "kitchen");
    }

    #[test]
    fn subscriptions_are_limited_separately() {
        let mut limits = limiter();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limits.admit(&"phone", "lobby", start), Admission::Send);
        }
        assert_eq!(limits.admit(&"phone", "lobby", start), Admission::Held);
        assert_eq!(limits.admit(&"laptop", "lobby", start), Admission::Send);
    }

    #[test]
    fn a_quiet_subscription_starts_a_fresh_window() {
        let mut limits = limiter();
        let start = Instant::now();
        for _ in 0..3 {
            limits.admit(&"phone", "lobby", start);
        }
        let later = start + MINUTE + Duration::from_secs(1);
        for _ in 0..3 {
            assert_eq!(limits.admit(&"phone", "lobby", later), Admission::Send);
        }
    }

    #[test]
    fn ended_windows_are_forgotten() {
        let mut limits = limiter();
        let start = Instant::now();
        limits.admit(&"phone", "lobby", start);
        assert!(limits.due(start + MINUTE).is_empty());
        assert!(limits.windows.is_empty());
    }

    #[test]
    fn a_forgotten_subscription_gets_no_summary() {
        let mut limits = limiter();
        let start = Instant::now();
        for _ in 0..5 {
            limits.admit(&"phone", "lobby", start);
        }
        limits.forget(&"phone");
        assert_eq!(limits.next_due(), None);
        assert!(limits.due(start + MINUTE).is_empty());
    }
}

//! How fast one connection may send: token buckets for frames and typing
//! notices, and a tally of refusals that ends a flood. And what one
//! address may spend whatever its connections: wrong secrets, new rooms.

use crate::error::Rejection;
use crate::http::client_ip::limit_key;
use crate::limits::Limits;
use chat_shared::ErrorCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket: holds up to `capacity` tokens, refilled continuously at
/// `per_second`. Each allowed action takes one token.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(capacity: u32, per_second: f64, now: Instant) -> Self {
        let capacity = f64::from(capacity.max(1));
        Self {
            capacity,
            per_second,
            tokens: capacity,
            updated: now,
        }
    }

    /// Takes a token, or says how long until the next one.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.per_second;
            Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
        }
    }
}

/// What a connection sent, for the purpose of counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// A typing notice: frequent by nature, limited separately so that
    /// typing cannot eat the budget for messages.
    Typing { is_typing: bool },
    /// A `ping`: a client checking a quiet connection sends one every few
    /// seconds at most, so it has its own small budget rather than
    /// spending the one for messages; excess ones go unanswered.
    Ping,
    /// A `search`: each one reads the index, so it has its own budget
    /// (a few a second, enough to search as one types), spent apart from
    /// the one for messages.
    Search,
    /// Anything else, including frames that turn out to be invalid: garbage
    /// costs the server work too.
    Other,
}

/// Pings one connection may send at once: a client checks a quiet
/// connection every few seconds, and may check again on a nudge.
const PING_BURST: u32 = 3;
/// Pings per second, sustained: several times what a client needs.
const PING_RATE: f64 = 1.0;

/// Searches one connection may send at once.
pub(crate) const SEARCH_BURST: u32 = 5;
/// Searches per second, sustained: typing with a debounce sends fewer.
pub(crate) const SEARCH_RATE: f64 = 2.0;

/// What to do with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    /// Refuse this frame; the client may try again after the delay.
    Limited {
        retry_after: Duration,
    },
    /// Ignore this typing notice without an answer. Typing is a hint sent
    /// as a side effect of keystrokes: an error about it would be noise the
    /// user cannot act on (and a client would take it for a failed message).
    Dropped,
    /// The client keeps flooding: close the connection.
    Abusive,
}

/// One connection's rate limits.
#[derive(Debug, Clone)]
pub(crate) struct FrameLimiter {
    frames: TokenBucket,
    typing: TokenBucket,
    pings: TokenBucket,
    searches: TokenBucket,
    /// Refusals still held against the client. Each refusal takes a token;
    /// they come back at the sustained frame rate, so only a flood well
    /// above the limit empties this bucket.
    patience: TokenBucket,
    /// Whether the others were last told this client is typing. The
    /// `false` that ends it always goes through, free: there is at most one
    /// per relayed `true`, and a dropped one would leave a stale indicator.
    typing_shown: bool,
}

impl FrameLimiter {
    pub(crate) fn new(limits: &Limits, now: Instant) -> Self {
        Self {
            frames: TokenBucket::new(limits.message_burst, limits.message_rate, now),
            typing: TokenBucket::new(limits.typing_burst, limits.typing_rate, now),
            pings: TokenBucket::new(PING_BURST, PING_RATE, now),
            searches: TokenBucket::new(SEARCH_BURST, SEARCH_RATE, now),
            patience: TokenBucket::new(limits.abuse_limit, limits.message_rate, now),
            typing_shown: false,
        }
    }

    /// Counts one frame and judges it.
    pub(crate) fn check(&mut self, kind: FrameKind, now: Instant) -> Verdict {
        let taken = match kind {
            FrameKind::Typing { is_typing: false } if self.typing_shown => {
                self.typing_shown = false;
                return Verdict::Allowed;
            }
            FrameKind::Typing { is_typing } => {
                let taken = self.typing.take(now);
                self.typing_shown |= is_typing && taken.is_ok();
                taken
            }
            FrameKind::Ping => self.pings.take(now),
            FrameKind::Search => self.searches.take(now),
            FrameKind::Other => self.frames.take(now),
        };
        let Err(retry_after) = taken else {
            return Verdict::Allowed;
        };
        if self.patience.take(now).is_err() {
            return Verdict::Abusive;
        }
        match kind {
            // A late answer would prove nothing: no answer says "too fast".
            FrameKind::Typing { .. } | FrameKind::Ping => Verdict::Dropped,
            FrameKind::Search | FrameKind::Other => Verdict::Limited { retry_after },
        }
    }
}

/// Addresses a budget tracks before it forgets those with a full
/// budget, so a spread-out guesser cannot grow the map without bound.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// Tries per address key ([`limit_key`]: an IPv4 address, an IPv6 /64):
/// `burst` at once, then one more every `every`. What one address may
/// spend on something costly or dangerous (wrong secrets, new rooms),
/// however many connections it opens.
#[derive(Debug)]
pub(crate) struct AddressBudget {
    burst: u32,
    every: Duration,
    /// Tries left (fractional while refilling) as of the instant.
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl AddressBudget {
    /// A budget of `burst` tries, one more earned every `every`.
    pub(crate) fn new(burst: u32, every: Duration) -> Self {
        Self {
            burst: burst.max(1),
            every,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` when `client` may try now, else how long until it may. Spends
    /// nothing.
    pub(crate) fn available(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let left = self.tries_left(&buckets, limit_key(client), now);
        if left >= 1.0 {
            return Ok(());
        }
        Err(self.every.mul_f64(1.0 - left))
    }

    /// Spends one try of `client`'s (none left stays none).
    pub(crate) fn spend(&self, client: IpAddr, now: Instant) {
        let key = limit_key(client);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let left = self.tries_left(&buckets, key, now) - 1.0;
        if buckets.len() >= MAX_TRACKED_ADDRESSES {
            let burst = f64::from(self.burst);
            let full: Vec<IpAddr> = buckets
                .keys()
                .copied()
                .filter(|other| self.tries_left(&buckets, *other, now) >= burst)
                .collect();
            for other in full {
                buckets.remove(&other);
            }
        }
        buckets.insert(key, (left.max(0.0), now));
    }

    /// Spends a try if `client` has one, else says how long until it has.
    pub(crate) fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        self.available(client, now)?;
        self.spend(client, now);
        Ok(())
    }

    fn tries_left(
        &self,
        buckets: &HashMap<IpAddr, (f64, Instant)>,
        key: IpAddr,
        now: Instant,
    ) -> f64 {
        let burst = f64::from(self.burst);
        buckets.get(&key).map_or(burst, |(left, since)| {
            let earned =
                now.saturating_duration_since(*since).as_secs_f64() / self.every.as_secs_f64();
            (left + earned).min(burst)
        })
    }
}

/// The `rate_limited` refusal: its text and its `retry_after_ms` name the
/// same wait, so people and programs are told the same thing.
pub(crate) fn rate_limited(retry_after: Duration, limits: &Limits) -> Rejection {
    Rejection::new(ErrorCode::RateLimited, retry_message(retry_after, limits))
        .with_retry_after(retry_after)
}

/// The refusal of a `search` over its budget: when to search again.
pub(crate) fn searching_too_fast(retry_after: Duration) -> Rejection {
    let millis = crate::error::retry_after_millis(retry_after);
    Rejection::new(
        ErrorCode::RateLimited,
        format!(
            "Too many searches: retry in {millis} ms (at most {SEARCH_RATE} per second, bursts of {SEARCH_BURST})"
        ),
    )
    .with_retry_after(retry_after)
}

/// The text of a `rate_limited` error: when to retry, in whole
/// milliseconds (rounded up) so that programs can read it too.
fn retry_message(retry_after: Duration, limits: &Limits) -> String {
    let millis = crate::error::retry_after_millis(retry_after);
    format!(
        "Too many messages: retry in {millis} ms (at most {} per second, bursts of {})",
        limits.message_rate, limits.message_burst
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            message_rate: 5.0,
            message_burst: 10,
            typing_rate: 2.0,
            typing_burst: 2,
            abuse_limit: 400,
            ..Limits::default()
        }
    }

    #[test]
    fn a_burst_is_allowed_then_the_rate_applies() {
        let start = Instant::now();
        let mut limiter = FrameLimiter::new(&limits(), start);
        for _ in 0..10 {
            assert_eq!(limiter.check(FrameKind::Other, start), Verdict::Allowed);
        }
        let Verdict::Limited { retry_after } = limiter.check(FrameKind::Other, start) else {
            panic!("the eleventh frame at once must be limited");
        };
        assert_eq!(retry_after, Duration::from_millis(200));
        let later = start + Duration::from_millis(200);
        assert_eq!(limiter.check(FrameKind::Other, later), Verdict::Allowed);
        assert!(matches!(
            limiter.check(FrameKind::Other, later),
            Verdict::Limited { .. }
        ));
    }

    const TYPING: FrameKind = FrameKind::Typing { is_typing: true };
    const STOPPED: FrameKind = FrameKind::Typing { is_typing: false };

    #[test]
    fn typing_has_its_own_budget_and_excess_is_dropped_quietly() {
        let start = Instant::now();
        let mut limiter = FrameLimiter::new(&limits(), start);
        assert_eq!(limiter.check(TYPING, start), Verdict::Allowed);
        assert_eq!(limiter.check(TYPING, start), Verdict::Allowed);
        assert_eq!(limiter.check(TYPING, start), Verdict::Dropped);
        // Typing did not use up the message budget.
        assert_eq!(limiter.check(FrameKind::Other, start), Verdict::Allowed);
    }

    #[test]
    fn the_false_that_ends_typing_always_goes_through_once() {
        let start = Instant::now();
        let mut limiter = FrameLimiter::new(&limits(), start);
        assert_eq!(limiter.check(TYPING, start), Verdict::Allowed);
        assert_eq!(limiter.check(TYPING, start), Verdict::Allowed);
        assert_eq!(limiter.check(STOPPED, start), Verdict::Allowed);
        // Nothing left to clear: a repeated false costs like any notice.
        assert_eq!(limiter.check(STOPPED, start), Verdict::Dropped);
    }

    #[test]
    fn pings_have_their_own_budget_excess_goes_unanswered_and_a_flood_is_abuse() {
        let start = Instant::now();
        let mut limiter = FrameLimiter::new(&limits(), start);
        for _ in 0..PING_BURST {
            assert_eq!(limiter.check(FrameKind::Ping, start), Verdict::Allowed);
        }
        assert_eq!(limiter.check(FrameKind::Ping, start), Verdict::Dropped);
        // Pinging did not use up the message budget.
        assert_eq!(limiter.check(FrameKind::Other, start), Verdict::Allowed);
        // One every few seconds, as a client checking a quiet connection
        // sends them, is always answered.
        let later = start + Duration::from_secs(4);
        assert_eq!(limiter.check(FrameKind::Ping, later), Verdict::Allowed);
        let verdicts: Vec<Verdict> = (0..500)
            .map(|_| limiter.check(FrameKind::Ping, later))
            .collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Abusive));
    }

    #[test]
    fn a_typing_flood_is_abuse_too() {
        let start = Instant::now();
        let mut limiter = FrameLimiter::new(&limits(), start);
        let verdicts: Vec<Verdict> = (0..500).map(|_| limiter.check(TYPING, start)).collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Abusive));
    }

    /// Simulates `per_second` frames for `seconds`; returns when (if ever)
    /// the limiter called it abuse.
    fn flood(per_second: u32, seconds: u32) -> Option<Duration> {
        let start = Instant::now();
        let mut limiter = FrameLimiter::new(&limits(), start);
        let step = Duration::from_secs(1) / per_second;
        for i in 0..per_second * seconds {
            let at = step * i;
            if limiter.check(FrameKind::Other, start + at) == Verdict::Abusive {
                return Some(at);
            }
        }
        None
    }

    #[test]
    fn ten_times_the_limit_is_abuse_within_about_ten_seconds() {
        let at = flood(50, 20).expect("a 10x flood ends in a close");
        assert!(
            at > Duration::from_secs(8) && at < Duration::from_secs(12),
            "{at:?}"
        );
    }

    #[test]
    fn twice_the_limit_is_refused_but_never_closed() {
        assert_eq!(flood(10, 120), None);
    }

    #[test]
    fn the_retry_message_names_the_wait_in_milliseconds() {
        let text = retry_message(Duration::from_micros(199_001), &limits());
        assert!(text.contains("retry in 200 ms"), "{text}");
    }

    #[test]
    fn an_address_budget_is_per_address_and_refills() {
        let budget = AddressBudget::new(2, Duration::from_secs(6));
        let start = Instant::now();
        let guesser: IpAddr = "2001:db8:1:2::1".parse().expect("address");
        let neighbour: IpAddr = "2001:db8:1:2::9".parse().expect("address");
        let other: IpAddr = "192.0.2.1".parse().expect("address");
        assert_eq!(budget.take(guesser, start), Ok(()));
        assert_eq!(budget.take(guesser, start), Ok(()));
        // The same /64 is the same address.
        assert_eq!(budget.take(neighbour, start), Err(Duration::from_secs(6)));
        assert_eq!(budget.available(other, start), Ok(()));
        let later = start + Duration::from_secs(3);
        assert_eq!(
            budget.available(guesser, later),
            Err(Duration::from_secs(3))
        );
        assert_eq!(budget.take(guesser, start + Duration::from_secs(6)), Ok(()));
    }

    #[test]
    fn a_rate_limited_refusal_names_the_same_wait_as_its_text() {
        let rejection = rate_limited(Duration::from_micros(199_001), &limits());
        assert_eq!(rejection.code, ErrorCode::RateLimited);
        assert_eq!(rejection.retry_after_ms, Some(200));
        assert!(rejection.message.contains("retry in 200 ms"));
    }
}

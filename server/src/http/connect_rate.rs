//! How fast one address may open WebSocket connections.
//!
//! The per-address maximum bounds how many connections an address holds
//! at once, not how often it opens new ones: without this, one address
//! could join, leave and join again as fast as the network allows, and
//! every join costs a name claim, a history read and a presence change
//! for the whole room. A token bucket per address (IPv6 per /64, like the
//! other per-address limits) lets a burst of reconnects through and slows
//! anything faster.

use crate::http::client_ip::limit_key;
use crate::limits::Limits;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// The fewest addresses the table holds before it is swept of buckets
/// that have filled up again (and so say nothing a fresh one would not).
const SWEEP_FLOOR: usize = 1024;

/// The buckets of the addresses that opened connections lately.
#[derive(Debug)]
pub(crate) struct ConnectRate {
    per_second: f64,
    burst: u32,
    limit_loopback: bool,
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    buckets: HashMap<IpAddr, Bucket>,
    /// The size at which the next sweep runs: twice what the last one
    /// left, so sweeping costs little per connection however many
    /// addresses there are.
    sweep_at: usize,
}

impl ConnectRate {
    /// The limit `--connect-rate` and `--connect-burst` set.
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            per_second: limits.connect_rate,
            burst: limits.connect_burst,
            limit_loopback: limits.limit_loopback,
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                sweep_at: SWEEP_FLOOR,
            }),
        }
    }

    /// Counts a new connection from `client`, or says how long it must
    /// wait. Loopback clients are exempt unless `--limit-loopback`.
    pub(crate) fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if !self.limit_loopback && client.to_canonical().is_loopback() {
            return Ok(());
        }
        let key = limit_key(client);
        // A poisoned table still holds usable buckets.
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let (per_second, burst) = (self.per_second, f64::from(self.burst.max(1)));
        if table.buckets.len() >= table.sweep_at {
            table
                .buckets
                .retain(|_, bucket| bucket.tokens_at(now, per_second, burst) < burst);
            table.sweep_at = (table.buckets.len() * 2).max(SWEEP_FLOOR);
        }
        let bucket = table.buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        bucket.tokens = bucket.tokens_at(now, per_second, burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
        }
    }
}

/// One address's connections to come: up to the burst, refilled at the
/// rate.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    /// The tokens the bucket holds at `now`.
    fn tokens_at(&self, now: Instant, per_second: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * per_second).min(burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: f64, burst: u32, limit_loopback: bool) -> ConnectRate {
        ConnectRate::new(&Limits {
            connect_rate: per_second,
            connect_burst: burst,
            limit_loopback,
            ..Limits::default()
        })
    }

    #[test]
    fn a_burst_passes_and_then_the_rate_applies() {
        let limit = rate(2.0, 3, false);
        let now = Instant::now();
        let a: IpAddr = "198.51.100.1".parse().expect("ip");
        for _ in 0..3 {
            assert!(limit.take(a, now).is_ok());
        }
        let wait = limit.take(a, now).expect_err("over the burst");
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500));
        assert!(limit.take(a, now + Duration::from_millis(500)).is_ok());
        // Another address has its own bucket; a /64 shares one.
        assert!(limit.take("198.51.100.2".parse().expect("ip"), now).is_ok());
        let v6: IpAddr = "2001:db8::1".parse().expect("ip");
        let same_64: IpAddr = "2001:db8::2".parse().expect("ip");
        for _ in 0..3 {
            assert!(limit.take(v6, now).is_ok());
        }
        assert!(limit.take(same_64, now).is_err());
    }

    #[test]
    fn loopback_is_exempt_unless_limited() {
        let now = Instant::now();
        let local: IpAddr = "127.0.0.1".parse().expect("ip");
        let exempt = rate(1.0, 1, false);
        assert!((0..10).all(|_| exempt.take(local, now).is_ok()));
        let limited = rate(1.0, 1, true);
        assert!(limited.take(local, now).is_ok());
        assert!(limited.take(local, now).is_err());
    }

    #[test]
    fn full_buckets_are_swept() {
        let limit = rate(1000.0, 1, false);
        let now = Instant::now();
        for n in 0..u32::try_from(SWEEP_FLOOR).expect("small") {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            assert!(limit.take(ip, now).is_ok());
        }
        // The table is full; by now every bucket in it has refilled.
        let later = now + Duration::from_secs(1);
        assert!(limit
            .take("198.51.100.1".parse().expect("ip"), later)
            .is_ok());
        let table = limit.table.lock().expect("lock");
        assert!(table.buckets.len() < SWEEP_FLOOR, "{}", table.buckets.len());
    }
}

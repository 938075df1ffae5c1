//! The moderator's powers that need no database: checking the token (and
//! slowing down whoever guesses it), and deciding whom a ban keeps out.
//!
//! Bans are by name key and by address, where an IPv6 address counts as
//! its /64 (like the per-address connection limit: one subscriber usually
//! holds a whole /64, so banning one address of it would be easy to
//! dodge). They end at a wall-clock time, so a stored ban means the same
//! after a restart.

use crate::history::moderation::{hash_admin_token, StoredBan};
use crate::history::store::constant_time_eq;
use crate::http::client_ip::limit_key;
use chat_shared::is_valid_admin_token;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Wrong tokens one address may try at once.
pub const TOKEN_ATTEMPTS_BURST: u32 = 5;
/// How often an address earns one more try after that: guessing a token
/// of 128 random bits at one try per 12 s is hopeless.
pub const TOKEN_ATTEMPT_EVERY: Duration = Duration::from_secs(12);
/// Addresses tracked before fully refilled ones are forgotten, so a
/// spread-out guesser cannot grow the map without bound.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// What a `become_moderator` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenVerdict {
    /// The token in force: this connection may moderate.
    Accepted,
    /// Not the token (or not even shaped like one).
    Wrong,
    /// This address has guessed wrong too often: try again after this.
    Slow(Duration),
}

/// The moderator token's hash and the per-address budget of wrong guesses.
#[derive(Debug)]
pub struct Gate {
    token_hash: String,
    attempts: Mutex<Attempts>,
}

impl Gate {
    /// A gate for the token whose hash the store keeps.
    pub fn new(token_hash: String) -> Self {
        Self {
            token_hash,
            attempts: Mutex::new(Attempts::default()),
        }
    }

    /// Checks a token from `client`. While the address is over its budget
    /// even the right token is refused, so a guesser learns nothing from
    /// answers; every wrong one spends a try.
    pub fn check(&self, token: &str, client: IpAddr) -> TokenVerdict {
        let now = Instant::now();
        let key = limit_key(client);
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(wait) = attempts.available(key, now) {
            return TokenVerdict::Slow(wait);
        }
        let right = is_valid_admin_token(token)
            && constant_time_eq(
                hash_admin_token(token).as_bytes(),
                self.token_hash.as_bytes(),
            );
        if right {
            TokenVerdict::Accepted
        } else {
            attempts.spend(key, now);
            TokenVerdict::Wrong
        }
    }
}

/// Token buckets of wrong guesses, per address key.
#[derive(Debug, Default)]
struct Attempts {
    /// Tries left (fractional while refilling) as of the instant.
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl Attempts {
    fn tries_left(&self, key: IpAddr, now: Instant) -> f64 {
        let burst = f64::from(TOKEN_ATTEMPTS_BURST);
        self.buckets.get(&key).map_or(burst, |(left, since)| {
            let earned = now.saturating_duration_since(*since).as_secs_f64()
                / TOKEN_ATTEMPT_EVERY.as_secs_f64();
            (left + earned).min(burst)
        })
    }

    /// `Ok` when the address may try now, else how long until it may.
    fn available(&self, key: IpAddr, now: Instant) -> Result<(), Duration> {
        let left = self.tries_left(key, now);
        if left >= 1.0 {
            return Ok(());
        }
        Err(TOKEN_ATTEMPT_EVERY.mul_f64(1.0 - left))
    }

    fn spend(&mut self, key: IpAddr, now: Instant) {
        let left = self.tries_left(key, now) - 1.0;
        if self.buckets.len() >= MAX_TRACKED_ADDRESSES {
            let burst = f64::from(TOKEN_ATTEMPTS_BURST);
            let full: Vec<IpAddr> = self
                .buckets
                .keys()
                .copied()
                .filter(|other| self.tries_left(*other, now) >= burst)
                .collect();
            for other in full {
                self.buckets.remove(&other);
            }
        }
        self.buckets.insert(key, (left.max(0.0), now));
    }
}

/// One ban: a name and the addresses its user came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub name_key: String,
    /// Address keys ([`limit_key`]): IPv4 addresses, IPv6 /64 networks.
    pub addresses: Vec<IpAddr>,
    pub until: SystemTime,
}

impl Ban {
    /// A ban of `name_key` and of every address in `addresses` (each taken
    /// as its key), for `length` from `now`.
    pub fn new(
        name_key: String,
        addresses: impl IntoIterator<Item = IpAddr>,
        now: SystemTime,
        length: Duration,
    ) -> Self {
        let mut keys: Vec<IpAddr> = addresses.into_iter().map(limit_key).collect();
        keys.sort_unstable();
        keys.dedup();
        Self {
            name_key,
            addresses: keys,
            until: now + length,
        }
    }

    /// Whether this ban keeps out `name_key` or a connection from `client`.
    pub fn covers(&self, name_key: Option<&str>, client: IpAddr) -> bool {
        name_key == Some(self.name_key.as_str()) || self.addresses.contains(&limit_key(client))
    }

    /// The ban as the store keeps it.
    pub fn to_stored(&self) -> StoredBan {
        StoredBan {
            name_key: self.name_key.clone(),
            addresses: self.addresses.iter().map(IpAddr::to_string).collect(),
            until_ms: unix_ms(self.until),
        }
    }

    /// A stored ban; addresses that do not parse are skipped. The name key
    /// is computed again: one stored by an older rule maps to today's.
    pub fn from_stored(stored: &StoredBan) -> Self {
        Self {
            name_key: chat_shared::username_key(&stored.name_key),
            addresses: stored
                .addresses
                .iter()
                .filter_map(|text| text.parse().ok())
                .collect(),
            until: UNIX_EPOCH + Duration::from_millis(stored.until_ms),
        }
    }
}

/// The bans in force.
#[derive(Debug, Default)]
pub struct Bans {
    list: Vec<Ban>,
}

impl Bans {
    /// The bans read from the store at start.
    pub fn from_stored(stored: &[StoredBan]) -> Self {
        Self {
            list: stored.iter().map(Ban::from_stored).collect(),
        }
    }

    pub fn add(&mut self, ban: Ban) {
        self.list.push(ban);
    }

    /// How long the longest ban covering this name or address still lasts
    /// at `now`, or `None` when none does. Ended bans are dropped.
    pub fn time_left(
        &mut self,
        name_key: Option<&str>,
        client: IpAddr,
        now: SystemTime,
    ) -> Option<Duration> {
        self.list.retain(|ban| ban.until > now);
        self.list
            .iter()
            .filter(|ban| ban.covers(name_key, client))
            .filter_map(|ban| ban.until.duration_since(now).ok())
            .max()
    }
}

/// Bytes of randomness in a generated moderator token: 192 bits, 32
/// characters once encoded.
const ADMIN_TOKEN_BYTES: usize = 24;

/// A fresh random moderator token, for a server started without one.
pub fn new_admin_token() -> Result<String, String> {
    use base64::Engine as _;
    let mut bytes = [0u8; ADMIN_TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| format!("no randomness: {error}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Milliseconds since the Unix epoch (0 before it, which no clock shows).
pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// A ban's message, naming how long it still lasts.
pub fn banned_message(left: Duration) -> String {
    let secs = left.as_secs_f64().ceil();
    format!("A moderator has banned you from this chat: try again in {secs} s")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn an_ipv6_ban_covers_its_whole_64_and_nothing_more() {
        let now = SystemTime::now();
        let ban = Ban::new(
            "troll".into(),
            [ip("2001:db8:1:2::5")],
            now,
            Duration::from_secs(60),
        );
        assert!(ban.covers(None, ip("2001:db8:1:2:ffff::1")));
        assert!(!ban.covers(None, ip("2001:db8:1:3::5")));
        assert!(ban.covers(Some("troll"), ip("192.0.2.1")));
        assert!(!ban.covers(Some("someone"), ip("192.0.2.1")));
    }

    #[test]
    fn an_ipv4_ban_covers_that_address_also_when_mapped() {
        let ban = Ban::new(
            "troll".into(),
            [ip("192.0.2.7")],
            SystemTime::now(),
            Duration::from_secs(60),
        );
        assert!(ban.covers(None, ip("192.0.2.7")));
        assert!(ban.covers(None, ip("::ffff:192.0.2.7")));
        assert!(!ban.covers(None, ip("192.0.2.8")));
    }

    #[test]
    fn bans_end_on_time_and_the_longest_counts() {
        let now = SystemTime::now();
        let mut bans = Bans::default();
        bans.add(Ban::new("a".into(), [], now, Duration::from_secs(10)));
        bans.add(Ban::new(
            "b".into(),
            [ip("192.0.2.7")],
            now,
            Duration::from_secs(30),
        ));
        assert_eq!(
            bans.time_left(Some("a"), ip("192.0.2.7"), now),
            Some(Duration::from_secs(30))
        );
        let later = now + Duration::from_secs(10);
        assert_eq!(bans.time_left(Some("a"), ip("192.0.2.1"), later), None);
        assert_eq!(
            bans.time_left(None, ip("192.0.2.7"), later),
            Some(Duration::from_secs(20))
        );
        assert_eq!(bans.list.len(), 1, "the ended ban is dropped");
        assert_eq!(
            bans.time_left(None, ip("192.0.2.7"), now + Duration::from_secs(30)),
            None
        );
    }

    #[test]
    fn a_stored_ban_reads_back_the_same() {
        let ban = Ban::new(
            "troll".into(),
            [ip("192.0.2.7"), ip("2001:db8::1")],
            UNIX_EPOCH + Duration::from_millis(1_234_567),
            Duration::from_secs(5),
        );
        assert_eq!(Ban::from_stored(&ban.to_stored()), ban);
    }

    #[test]
    fn wrong_tokens_are_slowed_down_per_address() {
        let token = "the-right-token-0123";
        let gate = Gate::new(hash_admin_token(token));
        let guesser = ip("2001:db8:1:2::1");
        for _ in 0..TOKEN_ATTEMPTS_BURST {
            assert_eq!(
                gate.check("the-wrong-token-0123", guesser),
                TokenVerdict::Wrong
            );
        }
        // The same /64 is the same guesser, even with the right token.
        let neighbour = ip("2001:db8:1:2::9");
        assert!(matches!(
            gate.check(token, neighbour),
            TokenVerdict::Slow(wait) if wait <= TOKEN_ATTEMPT_EVERY
        ));
        assert_eq!(
            gate.check(token, ip("2001:db8:1:3::1")),
            TokenVerdict::Accepted
        );
        assert_eq!(gate.check("short", ip("192.0.2.1")), TokenVerdict::Wrong);
    }
}

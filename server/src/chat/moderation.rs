//! The moderator's powers that need no database: checking the token (and
//! slowing down whoever guesses it), and deciding whom a ban keeps out.
//!
//! Bans are by name key and by address, where an IPv6 address counts as
//! its /64 (like the per-address connection limit: one subscriber usually
//! holds a whole /64, so banning one address of it would be easy to
//! dodge). They end at a wall-clock time, so a stored ban means the same
//! after a restart.

use crate::chat::rate_limit::AddressBudget;
use crate::history::moderation::{hash_admin_token, StoredBan};
use crate::history::store::constant_time_eq;
use crate::http::client_ip::limit_key;
use chat_shared::is_valid_admin_token;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Wrong tokens one address may try at once.
pub(crate) const TOKEN_ATTEMPTS_BURST: u32 = 5;
/// How often an address earns one more try after that.
pub(crate) const TOKEN_ATTEMPT_EVERY: Duration = Duration::from_secs(12);

/// What a `become_moderator` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenVerdict {
    /// The token in force: this connection may moderate.
    Accepted,
    /// Not the token (or not even shaped like one).
    Wrong,
    /// Not the token, and this address has guessed wrong too often: try
    /// again after this.
    Slow(Duration),
}

/// The moderator token's hash and the per-address budget of wrong guesses.
#[derive(Debug)]
pub(crate) struct Gate {
    token_hash: String,
    /// Wrong guesses, per address.
    wrong: AddressBudget,
}

impl Gate {
    /// A gate for the token whose hash the store keeps.
    pub(crate) fn new(token_hash: String) -> Self {
        Self {
            token_hash,
            wrong: AddressBudget::new(TOKEN_ATTEMPTS_BURST, TOKEN_ATTEMPT_EVERY),
        }
    }

    /// Checks a token from `client`. The right token always works, even
    /// from an address that is being slowed: whoever shares the
    /// moderator's address (a NAT, a proxy) must not keep the moderator
    /// out by guessing wrong. Every wrong one spends a try, and past the
    /// budget is answered with the wait instead. What makes guessing
    /// hopeless is the token's length (at least
    /// [`chat_shared::MIN_ADMIN_TOKEN_CHARS`] characters); the budget keeps
    /// a guesser slow and visible in the log.
    pub(crate) fn check(&self, token: &str, client: IpAddr) -> TokenVerdict {
        let right = is_valid_admin_token(token)
            && constant_time_eq(
                hash_admin_token(token).as_bytes(),
                self.token_hash.as_bytes(),
            );
        if right {
            return TokenVerdict::Accepted;
        }
        let now = Instant::now();
        if let Err(wait) = self.wrong.available(client, now) {
            return TokenVerdict::Slow(wait);
        }
        self.wrong.spend(client, now);
        TokenVerdict::Wrong
    }
}

/// One ban: a name and the addresses its user came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ban {
    pub(crate) name_key: String,
    /// Address keys ([`limit_key`]): IPv4 addresses, IPv6 /64 networks.
    pub(crate) addresses: Vec<IpAddr>,
    pub(crate) until: SystemTime,
}

impl Ban {
    /// A ban of `name_key` and of every address in `addresses` (each taken
    /// as its key), for `length` from `now`.
    pub(crate) fn new(
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

    /// Adds addresses (each taken as its key) the ban did not cover yet;
    /// returns whether there were any.
    pub(crate) fn extend(&mut self, addresses: impl IntoIterator<Item = IpAddr>) -> bool {
        let before = self.addresses.len();
        for key in addresses.into_iter().map(limit_key) {
            if !self.addresses.contains(&key) {
                self.addresses.push(key);
            }
        }
        self.addresses.len() > before
    }

    /// Whether this ban keeps out `name_key` or a connection from `client`.
    pub(crate) fn covers(&self, name_key: Option<&str>, client: IpAddr) -> bool {
        name_key == Some(self.name_key.as_str()) || self.addresses.contains(&limit_key(client))
    }

    /// The ban as the store keeps it.
    pub(crate) fn to_stored(&self) -> StoredBan {
        StoredBan {
            name_key: self.name_key.clone(),
            addresses: self.addresses.iter().map(IpAddr::to_string).collect(),
            until_ms: unix_ms(self.until),
        }
    }

    /// A stored ban; addresses that do not parse are skipped. The name key
    /// is computed again: one stored by an older rule maps to today's.
    pub(crate) fn from_stored(stored: &StoredBan) -> Self {
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

/// How far back a ban of a name reaches for the addresses it used.
pub(crate) const RECENT_ADDRESSES_FOR: Duration = Duration::from_secs(24 * 60 * 60);
/// The most addresses remembered per name: the latest ones.
const ADDRESSES_PER_NAME: usize = 16;
/// The most names remembered; past it, those seen longest ago go first.
const MAX_REMEMBERED_NAMES: usize = 50_000;

/// The addresses each name joined from lately, on this node: what a ban
/// of the name covers besides the connections open when it is given, so
/// that leaving before the moderator acts is no way around it.
#[derive(Debug, Default)]
pub(crate) struct RecentAddresses {
    /// By name key: address keys ([`limit_key`]), oldest first, each with
    /// when it was last seen.
    names: HashMap<String, Vec<(IpAddr, SystemTime)>>,
}

impl RecentAddresses {
    /// Remembers that `name_key` joined from `client` at `now`.
    pub(crate) fn saw(&mut self, name_key: &str, client: IpAddr, now: SystemTime) {
        let key = limit_key(client);
        if !self.names.contains_key(name_key) && self.names.len() >= MAX_REMEMBERED_NAMES {
            self.prune(now);
        }
        let seen = self.names.entry(name_key.to_owned()).or_default();
        seen.retain(|(address, _)| *address != key);
        if seen.len() >= ADDRESSES_PER_NAME {
            seen.remove(0);
        }
        seen.push((key, now));
    }

    /// The address keys `name_key` joined from within
    /// [`RECENT_ADDRESSES_FOR`] before `now`.
    pub(crate) fn of(&self, name_key: &str, now: SystemTime) -> Vec<IpAddr> {
        let since = now.checked_sub(RECENT_ADDRESSES_FOR).unwrap_or(UNIX_EPOCH);
        self.names.get(name_key).map_or_else(Vec::new, |seen| {
            seen.iter()
                .filter(|(_, at)| *at >= since)
                .map(|(address, _)| *address)
                .collect()
        })
    }

    /// Forgets what is older than the window and, when that is not
    /// enough, the names seen longest ago, down to nine tenths of the cap
    /// (so this runs once per many new names, not for each).
    fn prune(&mut self, now: SystemTime) {
        let since = now.checked_sub(RECENT_ADDRESSES_FOR).unwrap_or(UNIX_EPOCH);
        self.names.retain(|_, seen| {
            seen.retain(|(_, at)| *at >= since);
            !seen.is_empty()
        });
        if self.names.len() < MAX_REMEMBERED_NAMES {
            return;
        }
        let mut by_age: Vec<(SystemTime, String)> = self
            .names
            .iter()
            .map(|(name, seen)| (seen.last().map_or(UNIX_EPOCH, |(_, at)| *at), name.clone()))
            .collect();
        by_age.sort_unstable();
        let excess = self.names.len() - MAX_REMEMBERED_NAMES * 9 / 10;
        for (_, name) in by_age.into_iter().take(excess) {
            self.names.remove(&name);
        }
    }
}

/// The bans in force.
#[derive(Debug, Default)]
pub(crate) struct Bans {
    list: Vec<Ban>,
}

impl Bans {
    /// The bans read from the store at start.
    pub(crate) fn from_stored(stored: &[StoredBan]) -> Self {
        Self {
            list: stored.iter().map(Ban::from_stored).collect(),
        }
    }

    pub(crate) fn add(&mut self, ban: Ban) {
        self.list.push(ban);
    }

    /// How long the longest ban covering this name or address still lasts
    /// at `now`, or `None` when none does. Ended bans are dropped.
    pub(crate) fn time_left(
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
pub(crate) fn new_admin_token() -> Result<String, String> {
    use base64::Engine as _;
    let mut bytes = [0u8; ADMIN_TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| format!("no randomness: {error}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Milliseconds since the Unix epoch (0 before it, which no clock shows).
pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// A ban's message, naming how long it still lasts.
pub(crate) fn banned_message(left: Duration) -> String {
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
    fn recent_addresses_reach_back_a_day_and_stay_bounded() {
        let now = SystemTime::now();
        let mut recent = RecentAddresses::default();
        let yesterday = now - RECENT_ADDRESSES_FOR - Duration::from_secs(1);
        recent.saw("troll", ip("192.0.2.1"), yesterday);
        recent.saw("troll", ip("2001:db8:1:2::5"), now);
        recent.saw("troll", ip("2001:db8:1:2::6"), now);
        assert_eq!(recent.of("troll", now), [ip("2001:db8:1:2::")]);
        assert!(recent.of("someone", now).is_empty());
        for n in 0..40u8 {
            recent.saw("troll", IpAddr::from([198, 51, 100, n]), now);
        }
        assert_eq!(recent.of("troll", now).len(), ADDRESSES_PER_NAME);
        assert_eq!(
            recent.of("troll", now).last(),
            Some(&IpAddr::from([198, 51, 100, 39]))
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
        // The same /64 is the same guesser...
        let neighbour = ip("2001:db8:1:2::9");
        assert!(matches!(
            gate.check("the-wrong-token-4567", neighbour),
            TokenVerdict::Slow(wait) if wait <= TOKEN_ATTEMPT_EVERY
        ));
        // ...but the right token still works from there.
        assert_eq!(gate.check(token, neighbour), TokenVerdict::Accepted);
        assert_eq!(
            gate.check(token, ip("2001:db8:1:3::1")),
            TokenVerdict::Accepted
        );
        assert_eq!(gate.check("short", ip("192.0.2.1")), TokenVerdict::Wrong);
    }
}

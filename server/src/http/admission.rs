//! Whether a WebSocket upgrade may proceed: the host and origin checks,
//! then how fast the address connects, then the global and per-address
//! connection limits. The same counting, with limits of its own, bounds
//! the connections that are not WebSockets (see `http::serve`).
//!
//! A refused upgrade costs one small HTTP response and nothing else: no
//! socket task, no buffers.

use crate::error::UpgradeRefusal;
use crate::http::client_ip::{self, limit_key, IpNet};
use crate::http::connect_rate::ConnectRate;
use crate::http::origin::{self, HostRule};
use crate::limits::Limits;
use axum::http::{header, HeaderMap};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What guards `/ws`, shared by every upgrade request.
#[derive(Debug)]
pub(crate) struct Upgrades {
    /// Open WebSocket connections, against `--max-connections` and
    /// `--max-connections-per-ip`.
    pub admission: Arc<Admission>,
    /// The host names `/ws` answers for, if the rule is in force.
    host_rule: Option<HostRule>,
    /// How fast one address may open connections.
    connect_rate: ConnectRate,
}

impl Upgrades {
    /// The guards `limits` set, for a server listening on `listening_on`.
    pub(crate) fn new(limits: &Limits, listening_on: IpAddr) -> Self {
        Self {
            admission: Admission::new(limits),
            host_rule: HostRule::new(listening_on, &limits.public_host, &limits.allowed_origins),
            connect_rate: ConnectRate::new(limits),
        }
    }
}

/// Counts open connections, in total and per client address.
#[derive(Debug)]
pub(crate) struct Admission {
    max_total: usize,
    max_per_ip: usize,
    limit_loopback: bool,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Only addresses with open connections, so the map stays as small as
    /// the number of connections.
    per_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection's place in the counts, given back when dropped.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// The client's address (through trusted proxies), for the logs.
    pub client: IpAddr,
    admission: Arc<Admission>,
    /// The per-address key, if this connection counts against one.
    key: Option<IpAddr>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self.admission.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(key) = self.key {
            if let Some(count) = counts.per_ip.get_mut(&key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    counts.per_ip.remove(&key);
                }
            }
        }
    }
}

impl Admission {
    /// The counts of WebSocket connections.
    pub(crate) fn new(limits: &Limits) -> Arc<Self> {
        Self::counting(
            limits.max_connections,
            limits.max_connections_per_ip,
            limits.limit_loopback,
        )
    }

    /// The counts of connections that are not WebSockets (yet).
    pub(crate) fn for_http(limits: &Limits) -> Arc<Self> {
        Self::counting(
            limits.max_http_connections,
            limits.max_http_connections_per_ip,
            limits.limit_loopback,
        )
    }

    fn counting(max_total: usize, max_per_ip: usize, limit_loopback: bool) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_ip,
            limit_loopback,
            counts: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Every update is a pair of counter changes; a poisoned lock still
        // holds usable numbers.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place for a connection from `client`, or refuses.
    pub(crate) fn admit(self: &Arc<Self>, client: IpAddr) -> Result<Ticket, UpgradeRefusal> {
        let key = (self.limit_loopback || !client.to_canonical().is_loopback())
            .then(|| limit_key(client));
        self.admit_as(client, key)
    }

    /// Takes a place for a TCP connection from `peer` before anything is
    /// read from it: a trusted proxy carries many clients, so it counts in
    /// the total only.
    pub(crate) fn admit_peer(
        self: &Arc<Self>,
        peer: IpAddr,
        trusted: &[IpNet],
    ) -> Result<Ticket, UpgradeRefusal> {
        if client_ip::is_trusted_proxy(peer, trusted) {
            return self.admit_as(peer, None);
        }
        self.admit(peer)
    }

    fn admit_as(
        self: &Arc<Self>,
        client: IpAddr,
        key: Option<IpAddr>,
    ) -> Result<Ticket, UpgradeRefusal> {
        let mut counts = self.lock();
        if counts.total >= self.max_total {
            return Err(UpgradeRefusal::ServerFull);
        }
        if let Some(key) = key {
            let count = counts.per_ip.entry(key).or_insert(0);
            if *count >= self.max_per_ip {
                if *count == 0 {
                    counts.per_ip.remove(&key);
                }
                return Err(UpgradeRefusal::TooManyFromAddress);
            }
            *count += 1;
        }
        counts.total += 1;
        Ok(Ticket {
            client,
            admission: self.clone(),
            key,
        })
    }

    /// Open connections, in total: what the tests check the tickets against.
    #[cfg(test)]
    fn open_connections(&self) -> usize {
        self.lock().total
    }
}

/// Checks one upgrade request; `peer` is the TCP peer's address.
pub(crate) fn admit_upgrade(
    upgrades: &Upgrades,
    limits: &Limits,
    peer: IpAddr,
    headers: &HeaderMap,
) -> Result<Ticket, UpgradeRefusal> {
    let from_proxy = client_ip::is_trusted_proxy(peer, &limits.trusted_proxies);
    let host = match from_proxy
        .then(|| client_ip::forwarded_host(headers, limits.proxy_header))
        .flatten()
    {
        Some(host) => Some(host),
        None => headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    };
    let origin = headers
        .get(header::ORIGIN)
        .map(|value| value.to_str().unwrap_or("(not readable)"));
    let client = client_ip::client_ip(peer, headers, &limits.trusted_proxies, limits.proxy_header);
    if let Some(rule) = &upgrades.host_rule {
        if !rule.allows(host.as_deref()) {
            tracing::debug!(%client, ?host, "upgrade for an unknown host refused");
            return Err(UpgradeRefusal::UnknownHost(origin::unknown_host(
                host.as_deref(),
            )));
        }
    }
    origin::check(origin, host.as_deref(), &limits.allowed_origins)
        .map_err(UpgradeRefusal::ForeignOrigin)?;
    if let Err(retry_after) = upgrades
        .connect_rate
        .take(client, tokio::time::Instant::now())
    {
        tracing::debug!(%client, "connecting too fast");
        return Err(UpgradeRefusal::ConnectingTooFast { retry_after });
    }
    upgrades.admission.admit(client).inspect_err(|refusal| {
        tracing::warn!(%client, ?refusal, "connection refused");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(total: usize, per_ip: usize) -> Arc<Admission> {
        Admission::new(&Limits {
            max_connections: total,
            max_connections_per_ip: per_ip,
            ..Limits::default()
        })
    }

    #[test]
    fn places_are_given_back_when_connections_end() {
        let admission = admission(2, 10);
        let a: IpAddr = "198.51.100.1".parse().expect("ip");
        let first = admission.admit(a).expect("first");
        let _second = admission.admit(a).expect("second");
        assert_eq!(admission.admit(a).err(), Some(UpgradeRefusal::ServerFull));
        drop(first);
        assert!(admission.admit(a).is_ok());
    }

    #[test]
    fn one_address_cannot_take_every_place() {
        let admission = admission(100, 2);
        let a: IpAddr = "198.51.100.1".parse().expect("ip");
        let b: IpAddr = "198.51.100.2".parse().expect("ip");
        let _one = admission.admit(a).expect("one");
        let _two = admission.admit(a).expect("two");
        assert_eq!(
            admission.admit(a).err(),
            Some(UpgradeRefusal::TooManyFromAddress)
        );
        assert!(admission.admit(b).is_ok());
    }

    #[test]
    fn loopback_is_exempt_from_the_per_address_limit_by_default() {
        let admission = admission(100, 1);
        let local: IpAddr = "127.0.0.1".parse().expect("ip");
        let tickets: Vec<_> = (0..5).map(|_| admission.admit(local)).collect();
        assert!(tickets.iter().all(Result::is_ok));
        assert_eq!(admission.open_connections(), 5);
    }
}

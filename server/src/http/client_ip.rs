//! Who the client is: the peer address, or the address a trusted reverse
//! proxy forwards for it.
//!
//! Forwarding headers are trivial to forge, so they are only read when the
//! peer itself is a configured proxy, and the chain they carry is walked
//! from the nearest hop outwards: the first address that is not a trusted
//! proxy is the client.
//!
//! Only one family of headers counts, the one the operator's proxy writes
//! ([`ProxyHeader`]): a proxy passes the other family through from the
//! client untouched, so believing it would let a client choose its own
//! address.

use axum::http::HeaderMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address range such as `10.0.0.0/8` or `::1/128` (a bare address is
/// a range of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), self.prefix, 32)
                    == masked(u128::from(u32::from(ip)), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `bits`-wide address.
fn masked(address: u128, prefix: u8, bits: u8) -> u128 {
    let host_bits = u32::from(bits.saturating_sub(prefix));
    address.checked_shr(host_bits).unwrap_or(0)
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => match prefix.parse::<u8>() {
                Ok(prefix) if prefix <= max => prefix,
                _ => return Err(format!("{text:?} has an invalid prefix length")),
            },
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Which forwarding headers the trusted proxies write, and so the only ones
/// believed: a proxy overwrites or appends to its own family of headers
/// and passes the other through from the client as it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProxyHeader {
    /// `X-Forwarded-For` and `X-Forwarded-Host`: what nginx and Caddy
    /// write.
    #[default]
    #[value(name = "x-forwarded-for")]
    XForwardedFor,
    /// The standard `Forwarded` (`for=`, `host=`), for proxies that write it
    /// instead.
    #[value(name = "forwarded")]
    Forwarded,
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(ip))
}

/// Whether the connection came from a configured reverse proxy.
pub(crate) fn is_trusted_proxy(peer: IpAddr, trusted: &[IpNet]) -> bool {
    is_trusted(peer, trusted)
}

/// The client's address: the peer's own, unless the peer is a trusted proxy
/// that forwards one in the headers `kind` names.
pub(crate) fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    kind: ProxyHeader,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let chain = forwarded_chain(headers, kind);
    let mut nearest = peer;
    // From the hop nearest to us outwards; entries left of the first
    // untrusted one may have been written by the client itself.
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) if is_trusted(*ip, trusted) => nearest = *ip,
            Some(ip) => return *ip,
            // "unknown" or an obfuscated name: nothing reliable beyond it.
            None => return nearest,
        }
    }
    nearest
}

/// The `for` addresses of every hop in the headers `kind` names, oldest
/// first; `None` for a hop whose address is hidden or unreadable.
fn forwarded_chain(headers: &HeaderMap, kind: ProxyHeader) -> Vec<Option<IpAddr>> {
    match kind {
        ProxyHeader::Forwarded => {
            let forwarded: Vec<&str> = header_values(headers, "forwarded");
            forwarded_parameter(&forwarded, "for")
                .map(parse_node)
                .collect()
        }
        ProxyHeader::XForwardedFor => header_values(headers, "x-forwarded-for")
            .iter()
            .flat_map(|value| value.split(','))
            .map(parse_node)
            .collect(),
    }
}

/// The `host` a trusted proxy says the client asked for, in the header
/// `kind` names (`Forwarded: host=` or `X-Forwarded-Host`), the nearest
/// proxy's word winning.
pub(crate) fn forwarded_host(headers: &HeaderMap, kind: ProxyHeader) -> Option<String> {
    match kind {
        ProxyHeader::Forwarded => {
            let forwarded = header_values(headers, "forwarded");
            let host = forwarded_parameter(&forwarded, "host")
                .map(|value| value.trim().trim_matches('"').to_owned())
                .next_back();
            host
        }
        ProxyHeader::XForwardedFor => header_values(headers, "x-forwarded-host")
            .iter()
            .flat_map(|value| value.split(','))
            .map(|host| host.trim().to_owned())
            .next_back(),
    }
}

/// The values of one parameter (`for`, `host`) across the elements of
/// `Forwarded` headers, in header order; elements without it are skipped.
fn forwarded_parameter<'a>(
    forwarded: &'a [&'a str],
    name: &'a str,
) -> impl DoubleEndedIterator<Item = &'a str> + 'a {
    forwarded
        .iter()
        .flat_map(|value| value.split(','))
        .filter_map(move |element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case(name).then_some(value)
            })
        })
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect()
}

/// One node of a forwarding header: `1.2.3.4`, `1.2.3.4:80`, `"[::1]:80"`,
/// `2001:db8::1`; anything else (`unknown`, `_hidden`) is `None`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"').trim();
    if let Some(rest) = text.strip_prefix('[') {
        let (address, _port) = rest.split_once(']')?;
        return address
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let (address, _port) = text.rsplit_once(':')?;
    address.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The key connections are counted under for the per-address limit: the
/// address itself for IPv4, its /64 network for IPv6 (one subscriber
/// usually holds a whole /64, so counting single addresses would be easy
/// to dodge).
pub(crate) fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn net(text: &str) -> IpNet {
        text.parse().expect("valid range")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("valid address")
    }

    const XFF: ProxyHeader = ProxyHeader::XForwardedFor;
    const STANDARD: ProxyHeader = ProxyHeader::Forwarded;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn ranges_contain_what_they_should() {
        assert!(net("10.0.0.0/8").contains(ip("10.200.1.2")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(net("fd00::/8").contains(ip("fd12::1")));
        assert!(net("::1").contains(ip("::1")));
        // An IPv4-mapped IPv6 peer is the IPv4 address.
        assert!(net("192.168.0.0/16").contains(ip("::ffff:192.168.1.1")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy.local".parse::<IpNet>().is_err());
    }

    #[test]
    fn forwarding_headers_from_strangers_are_ignored() {
        let forged = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_ip(ip("9.9.9.9"), &forged, &[], XFF), ip("9.9.9.9"));
        let trusted = [net("10.0.0.1")];
        assert_eq!(
            client_ip(ip("9.9.9.9"), &forged, &trusted, XFF),
            ip("9.9.9.9")
        );
    }

    #[test]
    fn a_trusted_proxy_is_believed_from_the_nearest_hop_outwards() {
        let trusted = [net("10.0.0.0/8")];
        let peer = ip("10.0.0.1");
        // The client wrote "6.6.6.6" itself; the proxy appended the real one.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        assert_eq!(client_ip(peer, &h, &trusted, XFF), ip("203.0.113.7"));
        // Two trusted proxies in a row.
        let h = headers(&[("x-forwarded-for", "203.0.113.7, 10.1.1.1")]);
        assert_eq!(client_ip(peer, &h, &trusted, XFF), ip("203.0.113.7"));
        // Several header lines count as one list.
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-for", "10.1.1.1"),
        ]);
        assert_eq!(client_ip(peer, &h, &trusted, XFF), ip("203.0.113.7"));
        // No header: the proxy itself.
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted, XFF), peer);
    }

    #[test]
    fn the_standard_forwarded_header_is_parsed_in_all_forms() {
        let trusted = [net("127.0.0.1")];
        let peer = ip("127.0.0.1");
        let h = headers(&[
            ("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"),
            ("x-forwarded-for", "1.1.1.1"),
        ]);
        assert_eq!(client_ip(peer, &h, &trusted, STANDARD), ip("192.0.2.60"));
        let h = headers(&[("forwarded", r#"For="[2001:db8:cafe::17]:4711""#)]);
        assert_eq!(
            client_ip(peer, &h, &trusted, STANDARD),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", r#"for="192.0.2.43:47011", for=127.0.0.1"#)]);
        assert_eq!(client_ip(peer, &h, &trusted, STANDARD), ip("192.0.2.43"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_ip(peer, &h, &trusted, STANDARD), peer);
    }

    #[test]
    fn only_the_header_the_proxy_writes_counts() {
        let trusted = [net("127.0.0.1")];
        let peer = ip("127.0.0.1");
        // nginx appended the real address to X-Forwarded-For and passed
        // the client's own `Forwarded` through.
        let h = headers(&[
            ("forwarded", "for=198.51.100.99;host=evil.example"),
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-host", "chat.example.com"),
        ]);
        assert_eq!(client_ip(peer, &h, &trusted, XFF), ip("203.0.113.7"));
        assert_eq!(forwarded_host(&h, XFF).as_deref(), Some("chat.example.com"));
        assert_eq!(client_ip(peer, &h, &trusted, STANDARD), ip("198.51.100.99"));
        assert_eq!(
            forwarded_host(&h, STANDARD).as_deref(),
            Some("evil.example")
        );
        // A header of the other family alone is not believed either.
        let only_forwarded = headers(&[("forwarded", "for=198.51.100.99")]);
        assert_eq!(client_ip(peer, &only_forwarded, &trusted, XFF), peer);
        let only_xff = headers(&[("x-forwarded-for", "198.51.100.99")]);
        assert_eq!(client_ip(peer, &only_xff, &trusted, STANDARD), peer);
    }

    #[test]
    fn forwarded_host_takes_the_nearest_proxys_word() {
        let h = headers(&[("forwarded", "for=1.2.3.4;host=chat.example.com")]);
        assert_eq!(
            forwarded_host(&h, STANDARD).as_deref(),
            Some("chat.example.com")
        );
        let h = headers(&[("x-forwarded-host", "a.example, b.example")]);
        assert_eq!(forwarded_host(&h, XFF).as_deref(), Some("b.example"));
        assert_eq!(forwarded_host(&HeaderMap::new(), XFF), None);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("198.51.100.4")), ip("198.51.100.4"));
        assert_eq!(limit_key(ip("::ffff:198.51.100.4")), ip("198.51.100.4"));
    }
}

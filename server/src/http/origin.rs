//! The defence against Cross-Site WebSocket Hijacking.
//!
//! Browsers attach a page's cookies and network position to WebSockets it
//! opens anywhere, and the same-origin policy does not apply to them; the
//! only thing a server can check is the `Origin` header, which browsers set
//! and page scripts cannot change. By default only pages served from the
//! same host and port as `/ws` may connect. Tools that are not browsers send
//! no `Origin` and are allowed: they cannot be made to act for a visitor.
//!
//! Comparing `Origin` with `Host` does not stop DNS rebinding: a page on
//! `evil.example`, whose name is then pointed at this server (or at
//! 127.0.0.1 on the visitor's machine), sends both as `evil.example`.
//! [`HostRule`] closes that: a server on a loopback address, or one told
//! its `--public-host`, answers `/ws` only for the host names it knows.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A web origin reduced to what is compared: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Whether this origin names the host the request was sent to. A `Host`
    /// without a port means the default port of the origin's scheme.
    fn is_host(&self, host_header: &str) -> bool {
        match split_host_port(host_header) {
            Some((host, port)) => {
                host.eq_ignore_ascii_case(&self.host)
                    && port.unwrap_or_else(|| default_port(&self.scheme)) == self.port
            }
            None => false,
        }
    }
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" {
        443
    } else {
        80
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; `None` if malformed.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let text = text.trim();
    let (host, port) = if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, rest) = text.split_at(end + 1);
        (host, rest.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(port) => Some(port.parse().ok()?),
        None => None,
    };
    Some((host, port))
}

impl FromStr for Origin {
    type Err = String;

    /// Parses an origin as browsers send it: `scheme://host[:port]`.
    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("{text:?} is not an origin like https://chat.example.com");
        let (scheme, rest) = text.trim().split_once("://").ok_or_else(invalid)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(invalid());
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(invalid());
        }
        let (host, port) = split_host_port(rest).ok_or_else(invalid)?;
        Ok(Self {
            port: port.unwrap_or_else(|| default_port(&scheme)),
            host: host.to_ascii_lowercase(),
            scheme,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Whether a WebSocket request may proceed: `origin` is the request's
/// `Origin` header (if any), `host` the host it was addressed to (the
/// `Host` header, or what a trusted proxy says it was).
pub(crate) fn check(
    origin: Option<&str>,
    host: Option<&str>,
    allowed: &[Origin],
) -> Result<(), String> {
    let Some(origin_text) = origin else {
        return Ok(());
    };
    let refusal = || {
        format!(
            "Forbidden: pages from {origin_text} may not open this chat's WebSocket. \
             Open the chat from its own address, or ask the operator to allow this origin."
        )
    };
    let origin: Origin = origin_text.parse().map_err(|_| refusal())?;
    let same_origin = host.is_some_and(|host| origin.is_host(host));
    if same_origin || allowed.contains(&origin) {
        Ok(())
    } else {
        Err(refusal())
    }
}

/// The host name of a `Host` header (`host`, `host:port`, `[v6]`,
/// `[v6]:port`), lower-cased and without a trailing dot; `None` if
/// malformed.
pub(crate) fn host_name(text: &str) -> Option<String> {
    let (host, _port) = split_host_port(text)?;
    let host = host.strip_suffix('.').unwrap_or(host);
    Some(host.to_ascii_lowercase())
}

/// Which host names `/ws` answers for, against DNS rebinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostRule {
    /// `--public-host` and the hosts of `--allowed-origins`, as
    /// [`host_name`] gives them; loopback names are always allowed.
    names: Vec<String>,
}

impl HostRule {
    /// The rule for a server listening on `listening_on`: in force when
    /// that is a loopback address (where a rebinding page reaches it from
    /// the visitor's own machine) or when the operator named the public
    /// hosts; `None` otherwise, when any host is answered.
    pub(crate) fn new(listening_on: IpAddr, public: &[String], allowed: &[Origin]) -> Option<Self> {
        if public.is_empty() && !listening_on.to_canonical().is_loopback() {
            return None;
        }
        let names = public
            .iter()
            .filter_map(|name| host_name(name))
            .chain(allowed.iter().map(|origin| origin.host.clone()))
            .collect();
        Some(Self { names })
    }

    /// Whether a request addressed to `host` (a `Host` header, or what a
    /// trusted proxy says the client asked for) may open `/ws`.
    pub(crate) fn allows(&self, host: Option<&str>) -> bool {
        let Some(name) = host.and_then(host_name) else {
            return false;
        };
        is_loopback_name(&name) || self.names.contains(&name)
    }
}

/// `localhost`, a 127.0.0.0/8 address or `[::1]`: names that only ever
/// lead to the visitor's own machine, which no outside page can own.
fn is_loopback_name(name: &str) -> bool {
    if name == "localhost" {
        return true;
    }
    let bare = name
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(name);
    bare.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// The refusal of a request addressed to a host this chat does not know.
pub(crate) fn unknown_host(host: Option<&str>) -> String {
    format!(
        "Forbidden: this chat is not reached as {:?}. Open it from its own address, or ask \
         the operator to name this host with --public-host.",
        host.unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Vec<Origin> {
        list.iter()
            .map(|text| text.parse().expect("valid origin"))
            .collect()
    }

    #[test]
    fn same_host_and_port_is_allowed() {
        let ok = |origin, host| check(Some(origin), Some(host), &[]).is_ok();
        assert!(ok("http://127.0.0.1:8765", "127.0.0.1:8765"));
        assert!(ok("https://Chat.Example.com", "chat.example.com"));
        assert!(ok("https://chat.example.com", "chat.example.com:443"));
        assert!(ok("http://chat.example.com", "chat.example.com"));
        assert!(ok("http://[::1]:8765", "[::1]:8765"));
    }

    #[test]
    fn other_hosts_ports_and_junk_are_refused() {
        let refused = |origin, host| check(Some(origin), Some(host), &[]).is_err();
        assert!(refused("http://evil.example", "chat.example.com"));
        assert!(refused("http://127.0.0.1:8080", "127.0.0.1:8765"));
        assert!(refused("https://chat.example.com", "chat.example.com:8765"));
        assert!(refused(
            "http://chat.example.com.evil.example",
            "chat.example.com"
        ));
        assert!(refused("null", "chat.example.com"));
        assert!(refused("file://", "chat.example.com"));
        assert!(check(Some("http://a.example"), None, &[]).is_err());
    }

    #[test]
    fn no_origin_is_allowed() {
        assert!(check(None, Some("chat.example.com"), &[]).is_ok());
        assert!(check(None, None, &[]).is_ok());
    }

    #[test]
    fn configured_origins_are_allowed() {
        let allowed = origins(&["http://127.0.0.1:8080", "https://chat.example.com/"]);
        assert!(check(
            Some("http://127.0.0.1:8080"),
            Some("127.0.0.1:8765"),
            &allowed
        )
        .is_ok());
        assert!(check(
            Some("https://chat.example.com"),
            Some("10.0.0.5:8765"),
            &allowed
        )
        .is_ok());
        assert!(check(
            Some("http://chat.example.com"),
            Some("10.0.0.5:8765"),
            &allowed
        )
        .is_err());
    }

    #[test]
    fn the_host_rule_guards_loopback_listeners_and_named_hosts() {
        let loopback: IpAddr = "127.0.0.1".parse().expect("ip");
        let any: IpAddr = "0.0.0.0".parse().expect("ip");
        assert_eq!(HostRule::new(any, &[], &[]), None);
        let rule = HostRule::new(loopback, &[], &[]).expect("in force on loopback");
        for host in [
            "localhost:8765",
            "127.0.0.1:8765",
            "[::1]:8765",
            "LOCALHOST",
        ] {
            assert!(rule.allows(Some(host)), "{host}");
        }
        for host in ["evil.example:8765", "localhost.evil.example", "10.0.0.1"] {
            assert!(!rule.allows(Some(host)), "{host}");
        }
        assert!(!rule.allows(None));
        let named = HostRule::new(
            any,
            &["chat.example.com".to_owned()],
            &origins(&["https://other.example:8443"]),
        )
        .expect("in force once named");
        assert!(named.allows(Some("Chat.Example.com.")));
        assert!(named.allows(Some("other.example:8765")));
        assert!(named.allows(Some("localhost")));
        assert!(!named.allows(Some("evil.example")));
    }

    #[test]
    fn malformed_configured_origins_are_rejected() {
        for bad in [
            "chat.example.com",
            "ftp://x",
            "https://x/path",
            "https://u@x",
        ] {
            assert!(bad.parse::<Origin>().is_err(), "{bad}");
        }
    }
}

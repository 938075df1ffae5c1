//! The defence against Cross-Site WebSocket Hijacking.
//!
//! Browsers attach a page's cookies and network position to WebSockets it
//! opens anywhere, and the same-origin policy does not apply to them; the
//! only thing a server can check is the `Origin` header, which browsers set
//! and page scripts cannot change. By default only pages served from the
//! same host and port as `/ws` may connect. Tools that are not browsers send
//! no `Origin` and are allowed: they cannot be made to act for a visitor.

use std::fmt;
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
pub fn check(origin: Option<&str>, host: Option<&str>, allowed: &[Origin]) -> Result<(), String> {
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

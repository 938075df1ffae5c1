//! The settings that protect the server from abusive, broken or vanished
//! clients: rates, connection counts, timeouts, trusted proxies and origins.
//!
//! They live apart from the rest of [`Config`](crate::Config) so that the
//! whole defence can be read, documented and tuned in one place.

use crate::config::duration_text;
// The types of the proxy and origin settings, so that code building a
// `Limits` can name them.
pub use crate::http::client_ip::{IpNet, ProxyHeader};
pub use crate::http::origin::Origin;
use chat_shared::{ClientLimits, MAX_MESSAGE_CHARS};
use clap::Args;
use std::sync::OnceLock;
use std::time::Duration;

/// What a client is told about the limits that touch it comes from
/// [`ClientLimits::default`]; the server's defaults for the same rules are
/// read from there, so the two can never disagree.
fn announced_defaults() -> ClientLimits {
    ClientLimits::default()
}

/// The default idle timeout, as announced to clients.
fn default_idle_timeout() -> Duration {
    Duration::from_millis(announced_defaults().idle_timeout_ms)
}

/// The default ping interval: the idle timeout spread over the heartbeats a
/// client may miss, so "missed heartbeats" means the same on both sides.
fn default_ping_interval() -> Duration {
    default_idle_timeout() / announced_defaults().missed_heartbeats.max(1)
}

fn default_idle_timeout_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, default_idle_timeout())
}

fn default_ping_interval_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, default_ping_interval())
}

/// Refused frames a connection may pile up before it is closed.
const DEFAULT_ABUSE_LIMIT: u32 = 400;
/// Open WebSocket connections in total.
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Open WebSocket connections from one address.
const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 100;
/// Open connections that are not (yet) WebSockets, in total: requests for
/// the app, probes, upgrades under way, TLS handshakes.
const DEFAULT_MAX_HTTP_CONNECTIONS: usize = 2048;
/// The same, from one address: a browser opens about six per server, and
/// several people may share an address.
const DEFAULT_MAX_HTTP_CONNECTIONS_PER_IP: usize = 64;
/// How long a client may take to send a request's head.
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kept-alive HTTP connection may wait for its next request.
const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// New WebSocket connections one address may open per second, sustained.
const DEFAULT_CONNECT_RATE: f64 = 5.0;
/// New WebSocket connections one address may open at once.
const DEFAULT_CONNECT_BURST: u32 = 30;
/// How long a connection may stay open without joining.
const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(30);

fn default_header_timeout_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_HEADER_TIMEOUT)
}

fn default_keep_alive_timeout_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_KEEP_ALIVE_TIMEOUT)
}

fn default_join_timeout_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_JOIN_TIMEOUT)
}

/// Limits on what one client, or one address, may do.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Frames per second one connection may send, sustained (typing has its
    /// own limit). Excess frames get a `rate_limited` error.
    #[arg(long, env = "CHAT_MESSAGE_RATE", default_value_t = announced_defaults().message_rate, value_parser = parse_rate)]
    pub message_rate: f64,

    /// Frames one connection may send at once before the rate applies.
    #[arg(long, env = "CHAT_MESSAGE_BURST", default_value_t = announced_defaults().message_burst)]
    pub message_burst: u32,

    /// Typing notices per second one connection may send, sustained.
    #[arg(long, env = "CHAT_TYPING_RATE", default_value_t = announced_defaults().typing_rate, value_parser = parse_rate)]
    pub typing_rate: f64,

    /// Typing notices one connection may send at once. Someone sending
    /// short messages quickly starts and stops typing for each one, so this
    /// is larger than one second's worth.
    #[arg(long, env = "CHAT_TYPING_BURST", default_value_t = announced_defaults().typing_burst)]
    pub typing_burst: u32,

    /// Refused frames a connection may pile up before it is closed with
    /// 1008. One is forgiven per `--message-rate` interval, so a client
    /// sending ten times the limit is closed after about 10 s, while one
    /// that is merely a little too fast never is.
    #[arg(long, env = "CHAT_ABUSE_LIMIT", default_value_t = DEFAULT_ABUSE_LIMIT)]
    pub abuse_limit: u32,

    /// Open WebSocket connections the server accepts in total; more are
    /// refused with 503.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Open WebSocket connections from one client address (IPv6: one /64);
    /// more are refused with 429. Loopback clients are exempt unless
    /// `--limit-loopback` is set.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_IP", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_IP)]
    pub max_connections_per_ip: usize,

    /// Apply the per-address maximum to loopback clients too. Off by
    /// default: behind a reverse proxy on the same host that is not listed
    /// in `--trusted-proxies`, every user would share 127.0.0.1.
    #[arg(long, env = "CHAT_LIMIT_LOOPBACK")]
    pub limit_loopback: bool,

    /// New WebSocket connections one client address (IPv6: one /64) may
    /// open per second, sustained; faster ones are refused with 429 and
    /// `Retry-After`, so one address cannot churn joins. Loopback clients
    /// are exempt unless `--limit-loopback` is set.
    #[arg(long, env = "CHAT_CONNECT_RATE", default_value_t = DEFAULT_CONNECT_RATE, value_parser = parse_rate)]
    pub connect_rate: f64,

    /// New WebSocket connections one address may open at once before
    /// `--connect-rate` applies.
    #[arg(long, env = "CHAT_CONNECT_BURST", default_value_t = DEFAULT_CONNECT_BURST)]
    pub connect_burst: u32,

    /// Open connections that are not WebSockets (page loads, probes,
    /// upgrades and TLS handshakes under way) the server keeps in total;
    /// more are closed at once. WebSockets count against
    /// `--max-connections` instead.
    #[arg(long, env = "CHAT_MAX_HTTP_CONNECTIONS", default_value_t = DEFAULT_MAX_HTTP_CONNECTIONS)]
    pub max_http_connections: usize,

    /// The same, from one TCP peer address (IPv6: one /64). Loopback and
    /// `--trusted-proxies` peers are exempt (unless `--limit-loopback`).
    #[arg(long, env = "CHAT_MAX_HTTP_CONNECTIONS_PER_IP", default_value_t = DEFAULT_MAX_HTTP_CONNECTIONS_PER_IP)]
    pub max_http_connections_per_ip: usize,

    /// How long a client may take to send a request's head (the request
    /// line and headers): from the connection's opening, or from the first
    /// byte of a kept-alive connection's next request. Slower ones are
    /// closed.
    #[arg(long, env = "CHAT_HEADER_TIMEOUT", default_value = default_header_timeout_text(), value_parser = parse_period)]
    pub header_timeout: Duration,

    /// How long a kept-alive HTTP connection may sit idle, and an answer
    /// may wait for a client that does not read it, before it is closed.
    #[arg(long, env = "CHAT_KEEP_ALIVE_TIMEOUT", default_value = default_keep_alive_timeout_text(), value_parser = parse_period)]
    pub keep_alive_timeout: Duration,

    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose
    /// `Forwarded` / `X-Forwarded-For` / `X-Forwarded-Host` headers are
    /// believed. Headers from anyone else are ignored.
    #[arg(long, env = "CHAT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,

    /// Which headers the `--trusted-proxies` write, and so the only ones
    /// believed: `x-forwarded-for` (with `X-Forwarded-Host`; what nginx
    /// and Caddy send) or `forwarded` (the standard header, `for=` and
    /// `host=`). The other family is ignored: a proxy passes it through
    /// from the client as it came.
    #[arg(long, env = "CHAT_PROXY_HEADER", value_enum, default_value_t = ProxyHeader::XForwardedFor)]
    pub proxy_header: ProxyHeader,

    /// Page origins, besides the server's own, allowed to open `/ws`
    /// (comma-separated, e.g. `https://chat.example.com`).
    #[arg(long, env = "CHAT_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<Origin>,

    /// The host names this chat is reached by (comma-separated, e.g.
    /// `chat.example.com`), against DNS rebinding: once given, or whenever
    /// the server listens on a loopback address, `/ws` answers only
    /// requests addressed to these, to the hosts of `--allowed-origins`
    /// and to `localhost`, `127.0.0.1` or `[::1]`; others get 403.
    #[arg(long, env = "CHAT_PUBLIC_HOST", value_delimiter = ',', value_parser = parse_public_host)]
    pub public_host: Vec<String>,

    /// How long a connection may stay open without joining.
    #[arg(long, env = "CHAT_JOIN_TIMEOUT", default_value = default_join_timeout_text(), value_parser = parse_period)]
    pub join_timeout: Duration,

    /// How often the server pings each client.
    #[arg(long, env = "CHAT_PING_INTERVAL", default_value = default_ping_interval_text(), value_parser = parse_period)]
    pub ping_interval: Duration,

    /// A connection the server has heard nothing from (no frame, no pong)
    /// for this long is treated as gone and closed. Make it a few ping
    /// intervals, so that one lost pong is not fatal.
    #[arg(long, env = "CHAT_IDLE_TIMEOUT", default_value = default_idle_timeout_text(), value_parser = parse_period)]
    pub idle_timeout: Duration,
}

impl Default for Limits {
    /// The same values as the command-line defaults.
    fn default() -> Self {
        let announced = announced_defaults();
        Self {
            message_rate: announced.message_rate,
            message_burst: announced.message_burst,
            typing_rate: announced.typing_rate,
            typing_burst: announced.typing_burst,
            abuse_limit: DEFAULT_ABUSE_LIMIT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            limit_loopback: false,
            connect_rate: DEFAULT_CONNECT_RATE,
            connect_burst: DEFAULT_CONNECT_BURST,
            max_http_connections: DEFAULT_MAX_HTTP_CONNECTIONS,
            max_http_connections_per_ip: DEFAULT_MAX_HTTP_CONNECTIONS_PER_IP,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            trusted_proxies: Vec::new(),
            proxy_header: ProxyHeader::XForwardedFor,
            allowed_origins: Vec::new(),
            public_host: Vec::new(),
            join_timeout: DEFAULT_JOIN_TIMEOUT,
            ping_interval: default_ping_interval(),
            idle_timeout: default_idle_timeout(),
        }
    }
}

impl Limits {
    /// The limits a client must respect, as `welcome` announces them, so
    /// clients follow this server's settings instead of guessing.
    pub(crate) fn for_clients(&self) -> ClientLimits {
        ClientLimits {
            message_rate: self.message_rate,
            message_burst: self.message_burst,
            typing_rate: self.typing_rate,
            typing_burst: self.typing_burst,
            idle_timeout_ms: u64::try_from(self.idle_timeout.as_millis()).unwrap_or(u64::MAX),
            missed_heartbeats: self.missed_heartbeats(),
            history_page: announced_defaults().history_page,
            max_message_chars: u32::try_from(MAX_MESSAGE_CHARS).unwrap_or(u32::MAX),
        }
    }

    /// The idle timeout in ping intervals, rounded up: a client that has
    /// heard nothing for that many heartbeats has outlived the timeout.
    fn missed_heartbeats(&self) -> u32 {
        let ping = self.ping_interval.as_nanos().max(1);
        let heartbeats = self.idle_timeout.as_nanos().div_ceil(ping).max(1);
        u32::try_from(heartbeats).unwrap_or(u32::MAX)
    }
}

/// The messages a `history` request without `limit` gets; announced to
/// clients as `history_page`.
pub(crate) fn default_history_page() -> usize {
    usize::try_from(announced_defaults().history_page).unwrap_or(usize::MAX)
}

/// A rate must be a positive, finite number of frames per second.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of frames per second"
        )),
    }
}

/// A host name as a `Host` header carries it, without port: lower-cased,
/// so that comparing is a plain equality.
fn parse_public_host(text: &str) -> Result<String, String> {
    crate::http::origin::host_name(text)
        .filter(|host| !host.is_empty())
        .ok_or_else(|| format!("{text:?} is not a host name like chat.example.com"))
}

/// Timeouts and intervals must be longer than zero.
fn parse_period(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(period) if !period.is_zero() => Ok(period),
        Ok(_) => Err("must be longer than zero".into()),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::Limits;
    use crate::Config;
    use chat_shared::ClientLimits;
    use clap::Parser;
    use std::time::Duration;

    #[test]
    fn the_default_limits_are_the_announced_defaults() {
        assert_eq!(Limits::default().for_clients(), ClientLimits::default());
    }

    #[test]
    fn missed_heartbeats_are_the_idle_timeout_in_pings_rounded_up() {
        let with = |ping_ms, idle_ms| Limits {
            ping_interval: Duration::from_millis(ping_ms),
            idle_timeout: Duration::from_millis(idle_ms),
            ..Limits::default()
        };
        assert_eq!(with(1_000, 5_000).for_clients().missed_heartbeats, 5);
        assert_eq!(with(2_000, 5_000).for_clients().missed_heartbeats, 3);
        assert_eq!(with(10_000, 5_000).for_clients().missed_heartbeats, 1);
    }

    #[test]
    fn the_command_line_defaults_match_default() {
        let parsed = Config::try_parse_from(["chat-server"]).expect("defaults parse");
        let default = Config::default();
        assert_eq!(
            format!("{:?}", parsed.limits),
            format!("{:?}", default.limits)
        );
    }

    #[test]
    fn lists_rates_and_periods_parse() {
        let config = Config::try_parse_from([
            "chat-server",
            "--trusted-proxies",
            "10.0.0.0/8,::1",
            "--allowed-origins",
            "https://chat.example.com,http://127.0.0.1:8080",
            "--message-rate",
            "0.5",
            "--ping-interval",
            "500ms",
            "--limit-loopback",
        ])
        .expect("valid options");
        assert_eq!(config.limits.trusted_proxies.len(), 2);
        assert_eq!(config.limits.allowed_origins.len(), 2);
        assert_eq!(config.limits.message_rate, 0.5);
        assert_eq!(config.limits.ping_interval, Duration::from_millis(500));
        assert!(config.limits.limit_loopback);
    }

    #[test]
    fn nonsense_is_refused_at_start_up() {
        for bad in [
            ["--ping-interval", "0s"],
            ["--idle-timeout", "soon"],
            ["--message-rate", "0"],
            ["--typing-rate", "-1"],
            ["--trusted-proxies", "proxy.local"],
            ["--allowed-origins", "chat.example.com"],
        ] {
            let args = ["chat-server", bad[0], bad[1]];
            assert!(
                Config::try_parse_from(args).is_err(),
                "{bad:?} was accepted"
            );
        }
    }
}

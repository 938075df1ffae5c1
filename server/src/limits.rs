//! The settings that protect the server from abusive, broken or vanished
//! clients: rates, connection counts, timeouts, trusted proxies and origins.
//!
//! They live apart from the rest of [`Config`](crate::Config) so that the
//! whole defence can be read, documented and tuned in one place.

use crate::client_ip::IpNet;
use crate::origin::Origin;
use clap::Args;
use std::time::Duration;

/// Limits on what one client, or one address, may do.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Frames per second one connection may send, sustained (typing has its
    /// own limit). Excess frames get a `rate_limited` error.
    #[arg(long, env = "CHAT_MESSAGE_RATE", default_value_t = 5.0, value_parser = parse_rate)]
    pub message_rate: f64,

    /// Frames one connection may send at once before the rate applies.
    #[arg(long, env = "CHAT_MESSAGE_BURST", default_value_t = 10)]
    pub message_burst: u32,

    /// Typing notices per second one connection may send, sustained.
    #[arg(long, env = "CHAT_TYPING_RATE", default_value_t = 2.0, value_parser = parse_rate)]
    pub typing_rate: f64,

    /// Typing notices one connection may send at once. Someone sending
    /// short messages quickly starts and stops typing for each one, so this
    /// is larger than one second's worth.
    #[arg(long, env = "CHAT_TYPING_BURST", default_value_t = 6)]
    pub typing_burst: u32,

    /// Refused frames a connection may pile up before it is closed with
    /// 1008. One is forgiven per `--message-rate` interval, so a client
    /// sending ten times the limit is closed after about 10 s, while one
    /// that is merely a little too fast never is.
    #[arg(long, env = "CHAT_ABUSE_LIMIT", default_value_t = 400)]
    pub abuse_limit: u32,

    /// Open WebSocket connections the server accepts in total; more are
    /// refused with 503.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Open WebSocket connections from one client address (IPv6: one /64);
    /// more are refused with 429. Loopback clients are exempt unless
    /// `--limit-loopback` is set.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 100)]
    pub max_connections_per_ip: usize,

    /// Apply the per-address maximum to loopback clients too. Off by
    /// default: behind a reverse proxy on the same host that is not listed
    /// in `--trusted-proxies`, every user would share 127.0.0.1.
    #[arg(long, env = "CHAT_LIMIT_LOOPBACK")]
    pub limit_loopback: bool,

    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose
    /// `Forwarded` / `X-Forwarded-For` / `X-Forwarded-Host` headers are
    /// believed. Headers from anyone else are ignored.
    #[arg(long, env = "CHAT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,

    /// Page origins, besides the server's own, allowed to open `/ws`
    /// (comma-separated, e.g. `https://chat.example.com`).
    #[arg(long, env = "CHAT_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<Origin>,

    /// How long a connection may stay open without joining.
    #[arg(long, env = "CHAT_JOIN_TIMEOUT", default_value = "30s", value_parser = parse_period)]
    pub join_timeout: Duration,

    /// How often the server pings each client.
    #[arg(long, env = "CHAT_PING_INTERVAL", default_value = "20s", value_parser = parse_period)]
    pub ping_interval: Duration,

    /// A connection the server has heard nothing from (no frame, no pong)
    /// for this long is treated as gone and closed. Make it a few ping
    /// intervals, so that one lost pong is not fatal.
    #[arg(long, env = "CHAT_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_period)]
    pub idle_timeout: Duration,
}

impl Default for Limits {
    /// The same values as the command-line defaults.
    fn default() -> Self {
        Self {
            message_rate: 5.0,
            message_burst: 10,
            typing_rate: 2.0,
            typing_burst: 6,
            abuse_limit: 400,
            max_connections: 10_000,
            max_connections_per_ip: 100,
            limit_loopback: false,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
            join_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
        }
    }
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
    use crate::Config;
    use clap::Parser;
    use std::time::Duration;

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

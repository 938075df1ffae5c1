//! Everything an operator can set, from flags or environment variables.

use crate::limits::Limits;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The server's settings. `chat-server --help` lists each with its variable.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-server", version, about = "WebSocket Chat server")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CHAT_ADDR", default_value = "127.0.0.1:8765")]
    pub addr: SocketAddr,

    /// Folder with the built browser app (the output of `trunk build`).
    #[arg(long, env = "CHAT_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// Frames that may wait for one slow client before it is disconnected.
    /// Bounded so that one client that stops reading cannot hold up the
    /// others or grow the server's memory.
    #[arg(long, env = "CHAT_OUTBOX_FRAMES", default_value_t = 256)]
    pub outbox_frames: usize,

    /// How long a graceful shutdown may take before connections are dropped.
    #[arg(long, env = "CHAT_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,

    /// Rates, connection limits, timeouts, trusted proxies and origins.
    #[command(flatten)]
    pub limits: Limits,
}

impl Default for Config {
    /// The same values as a bare `chat-server` with no variables set.
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8765)),
            static_dir: PathBuf::from("dist"),
            outbox_frames: 256,
            shutdown_timeout: Duration::from_secs(10),
            limits: Limits::default(),
        }
    }
}

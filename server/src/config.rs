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
    /// others or grow the server's memory; large enough that a healthy
    /// client absorbs a burst (the journal delivers up to 128 at once).
    #[arg(long, env = "CHAT_OUTBOX_FRAMES", default_value_t = 1024)]
    pub outbox_frames: usize,

    /// How long a graceful shutdown may take before connections are dropped.
    #[arg(long, env = "CHAT_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,

    /// The SQLite database file with the message history (created if
    /// missing; `:memory:` keeps nothing after exit).
    #[arg(long, env = "CHAT_DB", default_value = "chat.db")]
    pub db: PathBuf,

    /// Messages of the room's history sent with `welcome` on join.
    #[arg(long, env = "CHAT_HISTORY_ON_JOIN", default_value_t = 100)]
    pub history_on_join: usize,

    /// The most missed messages replayed to a reconnecting client; beyond
    /// this it gets the latest page and is told of the gap.
    #[arg(long, env = "CHAT_REPLAY_LIMIT", default_value_t = 1000)]
    pub replay_limit: usize,

    /// How long a dropped connection keeps its name and place in the room,
    /// so a quick reconnect is seamless.
    #[arg(long, env = "CHAT_RESUME_GRACE", default_value = "2m", value_parser = humantime::parse_duration)]
    pub resume_grace: Duration,

    /// The most rooms there may be (rooms are created by joining them).
    #[arg(long, env = "CHAT_MAX_ROOMS", default_value_t = 1000)]
    pub max_rooms: usize,
    /// Rates, connection limits, timeouts, trusted proxies and origins.
    #[command(flatten)]
    pub limits: Limits,
}

impl Default for Config {
    /// The same values as a bare `chat-server` with no variables set, except
    /// that the history is kept in memory: embedding code and tests get a
    /// fresh, private chat unless they name a database file.
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8765)),
            static_dir: PathBuf::from("dist"),
            outbox_frames: 1024,
            shutdown_timeout: Duration::from_secs(10),
            db: PathBuf::from(":memory:"),
            history_on_join: 100,
            replay_limit: 1000,
            resume_grace: Duration::from_secs(120),
            max_rooms: 1000,
            limits: Limits::default(),
        }
    }
}

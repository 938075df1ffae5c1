//! Everything an operator can set, from flags or environment variables.

use crate::limits::Limits;
use clap::{Parser, ValueEnum};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

// The defaults, written once: clap shows them in `--help` and
// `Config::default` uses the same values.
const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8765));
const DEFAULT_STATIC_DIR: &str = "dist";
const DEFAULT_DB: &str = "chat.db";
const DEFAULT_OUTBOX_FRAMES: usize = 1024;
/// About the same as 1,024 ordinary messages (some 250 bytes each), so a
/// healthy client meets neither limit before the other; 10,000 clients
/// that never read hold at most 2.5 GiB between them, and the 100 a single
/// address may open at most 25 MiB.
const DEFAULT_OUTBOX_BYTES: usize = 256 * 1024;
const MIN_OUTBOX_BYTES: usize = 1024;
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_HISTORY_ON_JOIN: usize = 100;
const DEFAULT_REPLAY_LIMIT: usize = 1000;
const DEFAULT_RESUME_GRACE: Duration = Duration::from_secs(120);
const DEFAULT_MAX_ROOMS: usize = 1000;
const DEFAULT_REDIS_PREFIX: &str = "chat:";
const DEFAULT_NODE_TIMEOUT: Duration = Duration::from_secs(15);
const DEFAULT_EDIT_WINDOW: Duration = Duration::from_secs(chat_shared::DEFAULT_EDIT_WINDOW_SECS);
/// Ninety days: a name nobody used for a season is free again.
const DEFAULT_NAME_HOLD: Duration = Duration::from_secs(90 * 24 * 60 * 60);
/// Ten minutes: long enough to pick up the other device.
const DEFAULT_LINK_CODE_LIFETIME: Duration = Duration::from_secs(chat_shared::LINK_CODE_SECS);

/// clap takes a default duration as text: rendered once, from the same
/// value the `Default` impls use.
pub(crate) fn duration_text(slot: &'static OnceLock<String>, value: Duration) -> &'static str {
    slot.get_or_init(|| humantime::format_duration(value).to_string())
}

fn default_shutdown_timeout_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_SHUTDOWN_TIMEOUT)
}

fn default_node_timeout_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_NODE_TIMEOUT)
}

fn default_edit_window_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_EDIT_WINDOW)
}

fn default_link_code_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_LINK_CODE_LIFETIME)
}

/// Written out: humantime would render ninety days in months of 30.44
/// days ("2months 29days 2h 52m 48s"). A test checks it parses back to
/// [`DEFAULT_NAME_HOLD`].
fn default_name_hold_text() -> &'static str {
    "90days"
}

fn default_resume_grace_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_RESUME_GRACE)
}

/// The shortest `--join-code` a server starts with: shorter ones are
/// guessed too easily, even slowed per address. (`rotate-join-code`
/// makes long random ones.)
pub const MIN_JOIN_CODE_CHARS: usize = 8;

/// Refuses, at start, a code that is too short to keep anyone out, or
/// that the app could not carry in its link.
pub(crate) fn parse_join_code(text: &str) -> Result<String, String> {
    if chat_shared::is_valid_join_code(text) && text.len() >= MIN_JOIN_CODE_CHARS {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "a join code is {MIN_JOIN_CODE_CHARS} to {} letters, digits, '-' or '_'",
            chat_shared::MAX_JOIN_CODE_CHARS
        ))
    }
}

/// Refuses, at start, an outbox too small to hold even a short answer.
fn parse_outbox_bytes(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(bytes) if bytes >= MIN_OUTBOX_BYTES => Ok(bytes),
        _ => Err(format!(
            "--outbox-bytes is a number of bytes, at least {MIN_OUTBOX_BYTES}"
        )),
    }
}

/// Refuses, at start, a moderator token that is too short to be safe.
fn parse_admin_token(text: &str) -> Result<String, String> {
    if chat_shared::is_valid_admin_token(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "a moderator token is {} to {} letters, digits, '-' or '_'",
            chat_shared::MIN_ADMIN_TOKEN_CHARS,
            chat_shared::MAX_ADMIN_TOKEN_CHARS
        ))
    }
}

/// The server's settings. `chat-server --help` lists each with its variable.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-server", version, about = "WebSocket Chat server")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CHAT_ADDR", default_value_t = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Folder with the built browser app (the output of `trunk build`). A
    /// binary with the app built in (see README, "One binary") serves its
    /// own copy unless this is given.
    #[arg(long, env = "CHAT_STATIC_DIR", default_value = DEFAULT_STATIC_DIR)]
    pub static_dir: PathBuf,

    /// Frames that may wait for one slow client before it is disconnected.
    /// Bounded so that one client that stops reading cannot hold up the
    /// others or grow the server's memory; large enough that a healthy
    /// client absorbs a burst (the journal delivers up to 128 at once).
    #[arg(long, env = "CHAT_OUTBOX_FRAMES", default_value_t = DEFAULT_OUTBOX_FRAMES)]
    pub outbox_frames: usize,

    /// Bytes that may wait for one slow client before it is disconnected,
    /// each frame counted whole. A frame can be large (a page of history),
    /// so this, not the frame count, bounds the memory one client that
    /// stops reading can hold. A quarter of it is the most a `welcome`'s
    /// history, a `history` or `users` page or an `audit` answer holds.
    #[arg(long, env = "CHAT_OUTBOX_BYTES", default_value_t = DEFAULT_OUTBOX_BYTES, value_parser = parse_outbox_bytes)]
    pub outbox_bytes: usize,

    /// How long a graceful shutdown may take before connections are dropped.
    #[arg(long, env = "CHAT_SHUTDOWN_TIMEOUT", default_value = default_shutdown_timeout_text(), value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,

    /// The SQLite database file with the message history (created if
    /// missing; `:memory:` keeps nothing after exit).
    #[arg(long, env = "CHAT_DB", default_value = DEFAULT_DB, global = true)]
    pub db: PathBuf,

    /// Where the history is kept, as a URL: `sqlite:PATH` (the same as
    /// `--db PATH`, which it overrides), or `postgres://USER@HOST/DATABASE`
    /// (`postgresql://` too) for a database several nodes share. Defaults
    /// to `--db`.
    // `--help` would otherwise show the variable's value, password and all.
    #[arg(long, env = "CHAT_DATABASE", value_parser = Database::parse, global = true, hide_env_values = true)]
    pub database: Option<Database>,

    /// A Redis (`redis://host:port`) that several nodes share: turns this
    /// node into one of a cluster, with the bus and presence on it. Needs
    /// a PostgreSQL `--database`.
    #[arg(long, env = "CHAT_REDIS_URL", hide_env_values = true)]
    pub redis: Option<String>,

    /// Put in front of every Redis key and channel, so that several chats
    /// can share one Redis.
    #[arg(long, env = "CHAT_REDIS_PREFIX", default_value = DEFAULT_REDIS_PREFIX)]
    pub redis_prefix: String,

    /// How long a cluster node may stay silent before the others count
    /// its users as dropped (their grace period starts).
    #[arg(long, env = "CHAT_NODE_TIMEOUT", default_value = default_node_timeout_text(), value_parser = humantime::parse_duration)]
    pub node_timeout: Duration,

    /// Messages of the room's history sent with `welcome` on join.
    #[arg(long, env = "CHAT_HISTORY_ON_JOIN", default_value_t = DEFAULT_HISTORY_ON_JOIN)]
    pub history_on_join: usize,

    /// The most missed messages replayed to a reconnecting client; beyond
    /// this it gets the latest page and is told of the gap.
    #[arg(long, env = "CHAT_REPLAY_LIMIT", default_value_t = DEFAULT_REPLAY_LIMIT)]
    pub replay_limit: usize,

    /// How long a dropped connection keeps its name and place in the room,
    /// so a quick reconnect is seamless.
    #[arg(long, env = "CHAT_RESUME_GRACE", default_value = default_resume_grace_text(), value_parser = humantime::parse_duration)]
    pub resume_grace: Duration,

    /// How long after posting its author may still edit a message
    /// (deleting is allowed at any time); `0s` turns editing off.
    #[arg(long, env = "CHAT_EDIT_WINDOW", default_value = default_edit_window_text(), value_parser = humantime::parse_duration)]
    pub edit_window: Duration,

    /// How long a held name (one joined with an author key) stays its
    /// holder's while none of its devices uses it; then anyone may take
    /// it. See docs/identity.md.
    #[arg(long, env = "CHAT_NAME_HOLD", default_value = default_name_hold_text(), value_parser = humantime::parse_duration)]
    pub name_hold: Duration,

    /// How long a code from "Link another device" works (once).
    #[arg(long, env = "CHAT_LINK_CODE_LIFETIME", default_value = default_link_code_text(), value_parser = humantime::parse_duration)]
    pub link_code_lifetime: Duration,

    /// The most rooms there may be (rooms are created by joining them).
    #[arg(long, env = "CHAT_MAX_ROOMS", default_value_t = DEFAULT_MAX_ROOMS)]
    pub max_rooms: usize,

    /// Where to serve Prometheus metrics at `/metrics`, on a port of their
    /// own so they need not be public; off when not set.
    #[arg(long, env = "CHAT_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// How log lines are written: `text` for people, `json` (one object a
    /// line) for log collectors. `CHAT_LOG` sets how much is logged.
    #[arg(long, env = "CHAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The PEM certificate chain to serve HTTPS and `wss://` with (needs
    /// `--tls-key`); re-read on SIGHUP. Plain HTTP when not set.
    #[arg(long, env = "CHAT_TLS_CERT", value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of `--tls-cert`; re-read with it on SIGHUP.
    #[arg(long, env = "CHAT_TLS_KEY", value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Makes the chat invite-only: a join must carry this code (the app
    /// takes it from the link `/#/join/<code>`). Written to the database
    /// at start, where `chat-server rotate-join-code` replaces it while the
    /// server runs; without this flag the database's code (if any) stays in
    /// force. 8 to 128 letters, digits, `-` or `_`.
    // `--help` would otherwise print the code taken from the environment.
    #[arg(long, env = "CHAT_JOIN_CODE", value_parser = parse_join_code, hide_env_values = true)]
    pub join_code: Option<String>,

    /// The moderator token: whoever presents it (the app's moderator
    /// switch, or `become_moderator`) may delete messages, ban users, lock
    /// rooms and set topics. Only its hash is written to the database at
    /// start. Without this flag the stored token stays in force; when none
    /// is stored, one is generated and printed once to the log. 16 to 128
    /// letters, digits, `-` or `_`.
    #[arg(long, env = "CHAT_ADMIN_TOKEN", value_parser = parse_admin_token, hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Rates, connection limits, timeouts, trusted proxies and origins.
    #[command(flatten)]
    pub limits: Limits,

    /// Web Push: on or off, the contact, a private relay, the rate.
    #[command(flatten)]
    pub push: crate::push::PushConfig,

    /// Files: where they are kept, and the limits.
    #[command(flatten)]
    pub files: crate::files::FilesConfig,

    /// Serve the browser app built into the binary (a build with the
    /// `embed` feature) instead of `static_dir`. [`Config::choose_app_source`]
    /// sets it unless `--static-dir` or `CHAT_STATIC_DIR` names a folder, so
    /// a folder given on purpose still wins; a build without the app serves
    /// `static_dir` regardless.
    #[arg(skip)]
    pub use_embedded_app: bool,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line, with the fields of the enclosing spans.
    Json,
}

impl Config {
    /// The database in force: `--database`, else the `--db` file.
    pub fn database(&self) -> Database {
        self.database
            .clone()
            .unwrap_or_else(|| Database::Sqlite(self.db.clone()))
    }

    /// The most bytes one answer's list (a `welcome`'s history, a
    /// `history` or `users` page, an `audit` answer) may encode to, a
    /// quarter of `--outbox-bytes`: an answer and the traffic that
    /// follows it fit in the outbox together. A list always holds at least
    /// one item, however large.
    pub fn page_bytes(&self) -> usize {
        self.outbox_bytes / 4
    }

    /// Sets [`Config::use_embedded_app`] from the command line the settings
    /// were read from: the built-in app is served unless `static_dir` was
    /// named (by flag or variable) rather than left at its default.
    pub fn choose_app_source(&mut self, matches: &clap::ArgMatches) {
        self.use_embedded_app =
            matches.value_source("static_dir") == Some(clap::parser::ValueSource::DefaultValue);
    }
}

impl Default for Config {
    /// The same values as a bare `chat-server` with no variables set, except
    /// that the history is kept in memory: embedding code and tests get a
    /// fresh, private chat unless they name a database file. It serves
    /// `static_dir`, never an app built into the binary.
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR,
            static_dir: PathBuf::from(DEFAULT_STATIC_DIR),
            outbox_frames: DEFAULT_OUTBOX_FRAMES,
            outbox_bytes: DEFAULT_OUTBOX_BYTES,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            db: PathBuf::from(":memory:"),
            database: None,
            redis: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            node_timeout: DEFAULT_NODE_TIMEOUT,
            history_on_join: DEFAULT_HISTORY_ON_JOIN,
            replay_limit: DEFAULT_REPLAY_LIMIT,
            resume_grace: DEFAULT_RESUME_GRACE,
            edit_window: DEFAULT_EDIT_WINDOW,
            name_hold: DEFAULT_NAME_HOLD,
            link_code_lifetime: DEFAULT_LINK_CODE_LIFETIME,
            max_rooms: DEFAULT_MAX_ROOMS,
            metrics_addr: None,
            log_format: LogFormat::Text,
            tls_cert: None,
            tls_key: None,
            join_code: None,
            admin_token: None,
            limits: Limits::default(),
            push: crate::push::PushConfig::default(),
            files: crate::files::FilesConfig::default(),
            use_embedded_app: false,
        }
    }
}

/// Which database holds the history, from `--database` (or `--db`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file (`:memory:` keeps nothing).
    Sqlite(PathBuf),
    /// A PostgreSQL database several nodes share, by its
    /// `postgres://` or `postgresql://` URL (which may hold a password:
    /// [`Database`]'s `Display` hides it).
    Postgres(String),
}

impl Database {
    /// Reads a `--database` URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite: needs a file path, e.g. sqlite:chat.db".to_owned());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Checked now, so a typo stops the start with a clear reason
            // instead of a failed connection later.
            return match url.parse::<postgres::Config>() {
                Ok(_) => Ok(Self::Postgres(url.to_owned())),
                Err(error) => Err(format!(
                    "{} is not a valid PostgreSQL URL: {error}",
                    redact_password(url)
                )),
            };
        }
        Err(format!(
            "{:?} is not a database URL this server knows: use sqlite:PATH or \
             postgres://USER@HOST/DATABASE",
            redact_password(url)
        ))
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

/// The URL with any password replaced by `***` (`user:***@host`, and a
/// `password=` parameter), so it can go to a log or an error message.
fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|at| at + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let mut redacted = url[..scheme_end].to_owned();
    let mut tail = rest;
    if let Some(at) = rest[..authority_end].rfind('@') {
        let userinfo = &rest[..at];
        match userinfo.find(':') {
            Some(colon) => {
                redacted.push_str(&userinfo[..colon]);
                redacted.push_str(":***");
            }
            None => redacted.push_str(userinfo),
        }
        tail = &rest[at..];
    }
    match tail.find('?') {
        Some(query_start) => {
            redacted.push_str(&tail[..=query_start]);
            let parameters: Vec<String> = tail[query_start + 1..]
                .split('&')
                .map(|parameter| match parameter.split_once('=') {
                    Some((name, _)) if name == "password" => format!("{name}=***"),
                    _ => parameter.to_owned(),
                })
                .collect();
            redacted.push_str(&parameters.join("&"));
        }
        None => redacted.push_str(tail),
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::{Config, Database};
    use clap::{CommandFactory, FromArgMatches, Parser};
    use std::path::PathBuf;

    #[test]
    fn the_command_line_defaults_match_default_but_for_the_database() {
        let parsed = Config::try_parse_from(["chat-server"]).expect("defaults parse");
        let default = Config {
            db: PathBuf::from(super::DEFAULT_DB),
            ..Config::default()
        };
        assert_eq!(format!("{parsed:?}"), format!("{default:?}"));
    }

    #[test]
    fn the_built_in_app_is_used_unless_a_static_dir_is_named() {
        let use_embedded = |args: &[&str]| {
            let matches = Config::command()
                .try_get_matches_from(args)
                .expect("arguments parse");
            let mut config = Config::from_arg_matches(&matches).expect("settings");
            config.choose_app_source(&matches);
            config.use_embedded_app
        };
        assert!(use_embedded(&["chat-server"]));
        assert!(use_embedded(&["chat-server", "--addr", "127.0.0.1:0"]));
        assert!(!use_embedded(&["chat-server", "--static-dir", "dist"]));
    }

    #[test]
    fn postgres_urls_parse_and_never_show_their_password() {
        let url = "postgres://chat:s3cret@db.example:5432/chat?sslmode=disable&password=other";
        let database = Database::parse(url).expect("a postgres URL");
        assert_eq!(database, Database::Postgres(url.to_owned()));
        let shown = database.to_string();
        assert!(
            !shown.contains("s3cret") && !shown.contains("other"),
            "{shown}"
        );
        assert_eq!(
            shown,
            "postgres://chat:***@db.example:5432/chat?sslmode=disable&password=***"
        );
        assert!(matches!(
            Database::parse("postgresql://chat@localhost/chat"),
            Ok(Database::Postgres(_))
        ));
        assert_eq!(
            Database::parse("postgresql://chat@localhost/chat")
                .expect("parse")
                .to_string(),
            "postgresql://chat@localhost/chat"
        );
        let refused = Database::parse("mysql://root:pw@localhost/chat").expect_err("unknown");
        assert!(
            refused.contains("postgres://") && !refused.contains("pw@"),
            "{refused}"
        );
    }
}

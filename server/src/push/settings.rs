//! The operator's push settings: whether the server pushes at all, who it
//! says runs it, and how often one browser may be pushed to.

use crate::config::duration_text;
use clap::Args;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// The VAPID contact when none is given. Push services may use it to
/// reach the operator about a misbehaving server; set a real one.
pub const DEFAULT_PUSH_CONTACT: &str = "mailto:postmaster@localhost";

/// One minute: at most [`PUSHES_PER_WINDOW`] pushes a minute to one
/// browser, the rest summed up in one.
pub const DEFAULT_PUSH_WINDOW: Duration = Duration::from_secs(60);

/// How many pushes one browser gets in a window before the rest wait for
/// the summary.
pub const PUSHES_PER_WINDOW: u32 = 3;

fn default_push_window_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    duration_text(&TEXT, DEFAULT_PUSH_WINDOW)
}

/// How the server sends Web Push (docs/notifications.md).
#[derive(Debug, Clone, Args)]
pub struct PushConfig {
    /// Send no Web Push: no VAPID key is made, joins are offered none, and
    /// `push_subscribe` is refused. Open tabs still get `notify`.
    #[arg(long, env = "CHAT_NO_PUSH")]
    pub no_push: bool,

    /// Who runs this server, as the push services are told (the VAPID
    /// `sub` claim): a `mailto:` or `https:` URL.
    #[arg(long, env = "CHAT_PUSH_CONTACT", default_value = DEFAULT_PUSH_CONTACT)]
    pub push_contact: String,

    /// A push relay of your own: trust the root certificates in this PEM
    /// file besides the public ones, and allow push endpoints on private
    /// and loopback addresses (which are refused otherwise, since a
    /// browser chooses its endpoint).
    #[arg(long, env = "CHAT_PUSH_RELAY_ROOTS", value_name = "PATH")]
    pub push_relay_roots: Option<PathBuf>,

    /// At most three pushes per this window to one browser; what comes
    /// beyond goes out as one summary push when it ends.
    #[arg(long, env = "CHAT_PUSH_WINDOW", default_value = default_push_window_text(), value_parser = humantime::parse_duration)]
    pub push_window: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            no_push: false,
            push_contact: DEFAULT_PUSH_CONTACT.to_owned(),
            push_relay_roots: None,
            push_window: DEFAULT_PUSH_WINDOW,
        }
    }
}

//! The WebSocket Chat server.
//!
//! One port serves both the browser app (the `trunk build` output) and the
//! chat itself at `/ws`. The binary only parses options and calls [`run`];
//! tests call the same [`run`] with their own listener and shutdown signal.
//!
//! # Layout
//! - [`config`]: the settings, from flags and environment variables.
//! - [`hub`]: rooms, presence and names; broadcast (each frame serialised
//!   once, the bytes shared by every recipient).
//! - [`journal`]: the thread that commits messages before delivering them
//!   and orders joins against them.
//! - [`store`]: the SQLite history.
//! - [`peer`]: the hub's handle on one connection: a bounded outbox and a
//!   way to close it.
//! - [`connection`]: one socket, split into a reader and a writer task.
//! - [`websocket`]: the handshake, and large messages sent in fragments.
//! - [`assets`]: the static files of the browser app.
//!
//! Defences against abusive or broken clients (see `SECURITY.md`):
//! - [`limits`]: their settings, in one place.
//! - [`admission`]: origin check and connection limits, before an upgrade.
//! - [`client_ip`]: the client's address, through trusted proxies.
//! - [`origin`]: which pages may open `/ws`.
//! - [`rate_limit`]: how fast one connection may send.
//! - [`headers`]: Content-Security-Policy and the other security headers.

pub mod admission;
pub mod assets;
pub mod client_ip;
pub mod config;
pub mod connection;
pub mod headers;
pub mod hub;
pub mod journal;
pub mod limits;
pub mod origin;
pub mod peer;
pub mod rate_limit;
pub mod store;
pub mod websocket;

pub use config::Config;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chat_shared::MAX_FRAME_BYTES;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Small socket buffers: an idle chat connection should cost a few KiB, not
/// the library's 128 KiB read buffer. Chat frames are small, and a large
/// frame still arrives whole, in more reads.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Frames are gathered up to this size before they are written out.
const WRITE_BUFFER_BYTES: usize = 4 * 1024;

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub hub: Arc<hub::Hub>,
    /// Where messages, joins and history reads are sequenced.
    pub journal: journal::Journal,
    /// Cancelled when the server shuts down; every connection's closer is a
    /// child of it, so each socket gets close 1001 (going away).
    pub shutdown: CancellationToken,
    /// Every connection task, so shutdown can wait for them to finish.
    pub connections: TaskTracker,
    /// Open connections per client address, against the limits.
    pub admission: Arc<admission::Admission>,
}

/// Serves the chat on `listener` until `shutdown` completes, then closes
/// every connection with 1001 and waits for them (at most
/// `config.shutdown_timeout`).
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = store::Store::open(&config.db).map_err(|error| {
        std::io::Error::other(format!(
            "cannot open the database {}: {error}",
            config.db.display()
        ))
    })?;
    let rooms = store.rooms().map_err(std::io::Error::other)?;
    let hub = Arc::new(hub::Hub::new(
        rooms,
        config.resume_grace,
        config.max_rooms,
        config.limits.ping_interval,
        config.limits.for_clients(),
    ));
    let limits = journal::HistoryLimits {
        on_join: config.history_on_join,
        replay: config.replay_limit,
    };
    let (journal, journal_thread) = journal::Journal::start(store, hub.clone(), limits)?;
    let shutdown_timeout = config.shutdown_timeout;
    let state = Arc::new(AppState {
        admission: admission::Admission::new(&config.limits),
        config,
        hub,
        journal,
        shutdown: CancellationToken::new(),
        connections: TaskTracker::new(),
    });
    tokio::spawn(expire_grace_periods(state.clone()));
    // The peer address feeds the per-address limits.
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let token = state.shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            token.cancel();
        })
        .await?;

    state.connections.close();
    if tokio::time::timeout(shutdown_timeout, state.connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} connections did not close within {shutdown_timeout:?}",
            state.connections.len()
        );
    }
    // The last handle on the journal goes with the state: it finishes the
    // queued writes and stops.
    drop(state);
    tokio::task::spawn_blocking(move || journal_thread.join())
        .await
        .map_err(std::io::Error::other)?
        .map_err(|_| std::io::Error::other("the journal thread panicked"))?;
    Ok(())
}

/// Ends the grace period of users who dropped and did not come back.
async fn expire_grace_periods(state: Arc<AppState>) {
    let period = (state.config.resume_grace / 4).clamp(
        std::time::Duration::from_millis(50),
        std::time::Duration::from_secs(1),
    );
    let mut ticks = tokio::time::interval(period);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticks.tick() => state.hub.expire_grace(std::time::Instant::now()),
        }
    }
}

/// The whole HTTP surface: `/ws` and the static app, with security headers.
pub fn router(state: Arc<AppState>) -> Router {
    let assets = assets::router(&state.config.static_dir);
    let security = headers::SecurityHeaders::new(&state.config.static_dir);
    Router::new()
        .route("/ws", get(upgrade))
        .with_state(state)
        .merge(assets)
        .layer(axum::middleware::from_fn_with_state(security, headers::add))
}

async fn upgrade(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let upgrade = match websocket::Upgrade::from_parts(&mut parts) {
        Ok(upgrade) => upgrade,
        Err(refusal) => return refusal.into_response(),
    };
    let limits = &state.config.limits;
    let ticket = match admission::admit_upgrade(&state.admission, limits, peer.ip(), &parts.headers)
    {
        Ok(ticket) => ticket,
        Err(refusal) => return refusal.into_response(),
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        // No cap on one outgoing frame: large messages go out in fragments,
        // and what may wait is bounded by the outbox.
        .max_write_buffer_size(usize::MAX)
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_message_size(Some(MAX_FRAME_BYTES));
    upgrade.respond(config, move |socket| {
        let connections = state.connections.clone();
        connections.track_future(connection::serve(socket, state, ticket))
    })
}

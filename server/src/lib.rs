//! The WebSocket Chat server.
//!
//! One port serves both the browser app (the `trunk build` output) and the
//! chat itself at `/ws`. The binary only parses options and calls [`run`];
//! tests call the same [`run`] with their own listener and shutdown signal.
//! The public surface is just that: [`run`] (and [`run_with_metrics`], for
//! a caller that binds the metrics listener itself), [`Config`] and the
//! [`limits`] inside it, the [`archive`] functions behind the
//! `backup`, `export` and `import` subcommands, and the [`push`] building
//! blocks, which the test push service drives. Everything else is
//! private, one module per concept.
//!
//! # Layout
//! - [`config`]: the settings, from flags and environment variables.
//! - [`limits`]: the settings that defend against abusive or broken
//!   clients (see `SECURITY.md`), and what `welcome` announces of them.
//! - `error`: every way the server says no: `Rejection` (an `error` frame
//!   on an open connection) and `UpgradeRefusal` (an HTTP answer before one).
//! - `http`: the router and the `/ws` upgrade, and around it:
//!   - `http::websocket`: the handshake, and large messages sent in
//!     fragments;
//!   - `http::serve`: the accept loop and each HTTP connection: the
//!     header and keep-alive timeouts, the limits on connections that are
//!     not WebSockets;
//!   - `http::admission`: host, origin and connection limits, before an
//!     upgrade;
//!   - `http::connect_rate`: how fast one address may open connections;
//!   - `http::client_ip`: the client's address, through trusted proxies;
//!   - `http::origin`: which pages, and which host names, may open `/ws`;
//!   - `http::headers`: Content-Security-Policy and the other security
//!     headers;
//!   - `http::tls`: HTTPS, the handshake, and certificates re-read on
//!     SIGHUP;
//!   - `http::health`: `/healthz` and `/readyz`, for load balancers;
//!   - `http::assets`: the static files of the browser app, from
//!     `--static-dir`;
//!   - `http::embedded`: the browser app built into the binary (the
//!     `embed` feature), precompressed by `build.rs`.
//! - `chat`: what happens on an open socket:
//!   - `chat::connection`: one socket, split into a reader and a writer
//!     task; it turns each frame into a command and keeps the socket, not
//!     the rules;
//!   - `chat::rate_limit`: how fast one connection may send;
//!   - `chat::peer`: the hub's handle on one connection: an outbox
//!     bounded in frames and in bytes, and a way to close it;
//!   - `chat::hub`: this node's connections by room; delivery in order
//!     (committed events by id, gaps filled from the store; presence
//!     changes by seq), each frame serialised once and shared by every
//!     recipient; room locks, topics and bans in force; `chat::hub::presence`
//!     is its second sequence, who is in each room;
//!   - `chat::delivery`: how what the journal committed reaches the hub
//!     and the bus (the journal's `Delivery` trait);
//!   - `chat::moderation`: the moderator token's check (wrong guesses
//!     slowed per address) and what a ban covers (names, addresses, IPv6
//!     per /64).
//! - `command`: one validated command per client frame
//!   (`Command::from_frame`), and the only place its rules live
//!   (`Command::apply`), one file per group of commands. See
//!   docs/architecture.md for a request's path through the layers.
//! - `cluster`: the seams that let several nodes be one chat: the bus
//!   (how events reach the other nodes) and the presence (who is online
//!   where, names, resume tokens, grace periods), each in this process
//!   (`cluster::local`, the default) or on Redis (`cluster::redis`), and
//!   `cluster::node`, where their events land. See docs/scaling.md.
//! - `telemetry`: the Prometheus metrics, on a listener of their own.
//! - `search_index`: indexes, in the background, the messages stored
//!   before search existed (issue 26).
//! - `files`: files shared in the chat (issue 25): `files::blobs` stores
//!   them content-addressed by SHA-256 in a folder (the default) or an
//!   S3-compatible bucket (shared by a cluster's nodes).
//! - `history`: what is said stays said:
//!   - `history::journal`: the thread that sequences store calls:
//!     commits messages before handing them to delivery, and orders joins
//!     against them; it reports typed outcomes and knows nothing of
//!     sockets;
//!   - `history::pages`: a joiner's replay and `history` pages, cut to a
//!     count and to a byte budget;
//!   - `history::store`: the seam for what must last, with its
//!     databases `history::sqlite` (the default) and
//!     `history::postgres` (shared by a cluster's nodes);
//!   - `history::moderation`: deletions as events in the id sequence,
//!     bans, room settings, the moderation log, the token's hash;
//!   - [`archive`]: backup, export and import, beside a running server.
//! - [`push`]: Web Push for names with no open connection: subscriptions
//!   checked, RFC 8291 encryption, VAPID (RFC 8292), the HTTPS sender and
//!   the per-subscription limit (not yet called by the hub).

mod chat;
mod cluster;
mod command;
pub mod config;
mod error;
pub mod files;
mod history;
mod http;
pub mod limits;
pub mod push;
mod search_index;
mod telemetry;

pub use config::Config;
pub use history::archive;

use chat::hub::{Hub, HubSettings};
use cluster::local::{LocalBus, MemoryPresence};
use cluster::node::ThisNode;
use cluster::redis::RedisSettings;
use cluster::{Bus, Cluster, Presence};
use history::journal::{HistoryLimits, Journal};
use history::searcher::Searcher;
use history::store::Store;
use http::admission::{Admission, Upgrades};
use std::future::Future;
use std::sync::Arc;
use telemetry::Metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What every request handler and connection shares.
struct AppState {
    config: Config,
    /// This node's hub, bus and presence.
    cluster: Cluster,
    /// Where messages, joins and history reads are sequenced.
    journal: Journal,
    /// Where searches run, beside the journal.
    searcher: Searcher,
    /// Cancelled when the server shuts down; every connection's closer is a
    /// child of it, so each socket gets close 1001 (going away).
    shutdown: CancellationToken,
    /// Every connection task, so shutdown can wait for them to finish.
    connections: TaskTracker,
    /// What guards `/ws`: host names, how fast an address connects, and
    /// open connections per client address, against the limits.
    upgrades: Upgrades,
    /// The last answer of `/readyz`, so a flood of probes costs one store
    /// query a second.
    readiness: http::health::Readiness,
    /// What the metrics listener serves; no-ops when it is off.
    metrics: Arc<Metrics>,
    /// The moderator token's hash, and how fast an address may guess it.
    gate: chat::moderation::Gate,
    /// This node's Web Push sender (a no-op with `--no-push`).
    pusher: push::dispatch::Pusher,
    /// Files on messages; `None` with `--no-files`.
    files: Option<Arc<files::Files>>,
}

/// Serves the chat on `listener` until `shutdown` completes, then closes
/// every connection with 1001 and waits for them (at most
/// `config.shutdown_timeout`). With `config.metrics_addr`, also serves
/// metrics there.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|error| {
            std::io::Error::new(
                error.kind(),
                format!("cannot listen for metrics on {addr}: {error}"),
            )
        })?),
        None => None,
    };
    run_with_metrics(listener, metrics_listener, config, shutdown).await
}

/// [`run`], with the metrics on a listener the caller bound (or none),
/// whatever `config.metrics_addr` says: a caller that binds port 0 learns
/// the port before the server starts.
pub async fn run_with_metrics(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let certificates = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            Some(http::tls::Certificates::load(cert, key).map_err(std::io::Error::other)?)
        }
        (None, None) => None,
        _ => {
            return Err(std::io::Error::other(
                "--tls-cert and --tls-key go together: give both or neither",
            ))
        }
    };
    if let Some(code) = &config.join_code {
        config::parse_join_code(code)
            .map_err(|error| std::io::Error::other(format!("--join-code: {error}")))?;
    }
    let metrics = Arc::new(match metrics_listener {
        Some(_) => Metrics::prometheus().map_err(std::io::Error::other)?,
        None => Metrics::off(),
    });
    // On the blocking pool: opening and reading the history blocks, and a
    // PostgreSQL client cannot block on a thread that drives async tasks.
    let database = config.database();
    let (join_code, admin_token) = (config.join_code.clone(), config.admin_token.clone());
    let push_on = !config.push.no_push;
    let OpenedHistory {
        store,
        admin_token_hash,
        rooms,
        room_settings,
        bans,
        vapid,
    } = tokio::task::spawn_blocking(move || {
        open_history(
            &database,
            join_code.as_deref(),
            admin_token.as_deref(),
            push_on,
        )
    })
    .await
    .map_err(std::io::Error::other)??;
    let gate = chat::moderation::Gate::new(admin_token_hash);
    let shutdown_token = CancellationToken::new();
    let settings = HubSettings {
        max_rooms: config.max_rooms,
        heartbeat: config.limits.ping_interval,
        client_limits: config.limits.for_clients(),
        limit_loopback: config.limits.limit_loopback,
        push_key: vapid.as_ref().map(push::VapidKey::public_key_base64),
    };
    let hub = Hub::start(rooms, settings);
    hub.restore_moderation(room_settings, chat::moderation::Bans::from_stored(&bans));
    tokio::spawn(chat::hub::presence::tell_counts(
        hub.clone(),
        shutdown_token.clone(),
    ));
    let node = ThisNode::new(hub.clone());
    let (bus, presence) = link_nodes(&config, node.clone(), &shutdown_token).await?;
    let limits = HistoryLimits {
        on_join: config.history_on_join,
        replay: config.replay_limit,
        page_bytes: config.page_bytes(),
    };
    let cluster = Cluster {
        hub,
        bus,
        presence: presence.clone(),
    };
    let (journal, journal_thread) =
        Journal::start(store, Arc::new(cluster.clone()), limits, metrics.clone())?;
    node.attach(&journal, &presence);
    let (pusher, pusher_task) = match vapid {
        Some(vapid) => {
            let sender = push::Sender::new(push::SenderSettings {
                vapid: vapid.clone(),
                subject: config.push.push_contact.clone(),
                extra_roots: config.push.push_relay_roots.clone(),
                timeout: push::dispatch::SEND_TIMEOUT,
                allow_private_addresses: config.push.push_relay_roots.is_some(),
            })
            .map_err(std::io::Error::other)?;
            let (pusher, task) = push::dispatch::Pusher::start(
                sender,
                journal.clone(),
                presence.clone(),
                config.push.push_window,
                shutdown_token.clone(),
            );
            (pusher, Some(task))
        }
        None => (push::dispatch::Pusher::off(), None),
    };
    let files = open_files(&config, &journal).await?;
    let (searcher, search_threads) = {
        let (database, journal) = (config.database(), journal.clone());
        tokio::task::spawn_blocking(move || Searcher::start(&database, &journal))
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?
    };
    tokio::spawn(search_index::index_backlog(
        journal.clone(),
        metrics.clone(),
        shutdown_token.clone(),
    ));
    let shutdown_timeout = config.shutdown_timeout;
    let listening_on = listener.local_addr()?.ip();
    let state = Arc::new(AppState {
        upgrades: Upgrades::new(&config.limits, listening_on),
        readiness: http::health::Readiness::default(),
        config,
        cluster,
        journal,
        searcher,
        shutdown: shutdown_token,
        connections: TaskTracker::new(),
        metrics,
        gate,
        pusher,
        files,
    });
    let metrics_task = metrics_listener.map(|listener| {
        let served = telemetry_server(listener, state.clone());
        tokio::spawn(served)
    });
    let token = state.shutdown.clone();
    tokio::spawn(async move {
        shutdown.await;
        token.cancel();
    });
    if let Some(certificates) = &certificates {
        tokio::spawn(http::tls::reload_on_hangup(
            certificates.clone(),
            state.shutdown.clone(),
        ));
    }
    let limits = &state.config.limits;
    let serving = http::serve::Serving {
        app: http::router(state.clone()),
        http: Admission::for_http(limits),
        trusted_proxies: limits.trusted_proxies.clone(),
        timeouts: http::serve::Timeouts {
            header: limits.header_timeout,
            keep_alive: limits.keep_alive_timeout,
        },
        tls: certificates,
        stop: state.shutdown.clone(),
    };
    http::serve::serve(listener, serving, shutdown_timeout).await;

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
    if let Some(mut task) = metrics_task {
        if tokio::time::timeout(shutdown_timeout, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
    // The pusher stopped with the shutdown token; its sends under way
    // end within their timeout, and its journal handle with them.
    if let Some(task) = pusher_task {
        if tokio::time::timeout(shutdown_timeout, task).await.is_err() {
            tracing::warn!("pushes under way did not end within {shutdown_timeout:?}");
        }
    }
    // The last handle on the journal goes with the state: it finishes the
    // queued writes and stops.
    // The searchers end with it too, once their queued searches are done.
    drop(state);
    tokio::task::spawn_blocking(move || {
        for thread in search_threads {
            thread
                .join()
                .map_err(|_| std::io::Error::other("a search thread panicked"))?;
        }
        journal_thread
            .join()
            .map_err(|_| std::io::Error::other("the journal thread panicked"))
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(())
}

/// Opens this node's files (`None` with `--no-files`): the token secret
/// every node shares comes from the store, and the bytes nothing refers
/// to any more since the last run are deleted, in the background.
async fn open_files(
    config: &Config,
    journal: &Journal,
) -> std::io::Result<Option<Arc<files::Files>>> {
    if config.files.no_files {
        return Ok(None);
    }
    let fresh = files::upload::random_id().map_err(std::io::Error::other)?;
    let secret = journal
        .people(move |store| store.files_secret(&fresh))
        .await
        .map_err(|_| std::io::Error::other("cannot read the files' token secret"))?;
    let opened = files::Files::open(&config.files, &config.database(), secret.as_bytes())
        .map_err(std::io::Error::other)?
        .map(Arc::new);
    if let Some(files) = &opened {
        let (files, journal) = (files.clone(), journal.clone());
        tokio::spawn(async move { files.sweep(&journal).await });
    }
    Ok(opened)
}

/// The bus and the presence: in this process, or with `--redis` shared
/// with the other nodes of a cluster.
async fn link_nodes(
    config: &Config,
    node: Arc<ThisNode>,
    shutdown: &CancellationToken,
) -> std::io::Result<(Arc<dyn Bus>, Arc<dyn Presence>)> {
    let Some(url) = &config.redis else {
        let presence = MemoryPresence::start(config.resume_grace, node, shutdown);
        return Ok((Arc::new(LocalBus), presence));
    };
    if !matches!(config.database(), config::Database::Postgres(_)) {
        return Err(std::io::Error::other(
            "--redis makes this node one of a cluster, and the nodes must share their \
             history: give a PostgreSQL --database (postgres://…) too; an SQLite file \
             cannot be shared between nodes",
        ));
    }
    let node_id = cluster::new_node_id().map_err(std::io::Error::other)?;
    tracing::info!(node = %node_id, "joining the cluster");
    let settings = RedisSettings {
        url: url.clone(),
        node_id,
        resume_grace: config.resume_grace,
        node_timeout: config.node_timeout,
        key_prefix: config.redis_prefix.clone(),
    };
    let (bus, presence) = cluster::redis::connect(settings, node, shutdown.clone())
        .await
        .map_err(std::io::Error::other)?;
    Ok((bus, presence))
}

/// What the server reads from its history before it serves: the store,
/// handed on to the journal thread, and what the hub and the moderator
/// gate start from.
struct OpenedHistory {
    store: Box<dyn Store>,
    admin_token_hash: String,
    rooms: Vec<String>,
    room_settings: Vec<history::moderation::RoomSettings>,
    bans: Vec<history::moderation::StoredBan>,
    /// The VAPID key every node signs pushes with; `None` with `--no-push`.
    vapid: Option<push::VapidKey>,
}

/// Opens (creating and migrating) the history, puts the configured join
/// code and moderator token in force, and reads the rooms, their settings
/// and the bans. Blocking: [`run_with_metrics`] calls it off the runtime.
fn open_history(
    database: &config::Database,
    join_code: Option<&str>,
    admin_token: Option<&str>,
    push_on: bool,
) -> std::io::Result<OpenedHistory> {
    let mut store = history::store::open(database).map_err(|error| {
        std::io::Error::other(format!("cannot open the database {database}: {error}"))
    })?;
    if let Some(code) = join_code {
        store.set_join_code(Some(code)).map_err(|error| {
            std::io::Error::other(format!("cannot store the join code: {error}"))
        })?;
    }
    let admin_token_hash = admin_token_hash(store.as_mut(), admin_token).map_err(|error| {
        std::io::Error::other(format!("cannot store the moderator token: {error}"))
    })?;
    // Rooms a join created that nobody posted in end with the process
    // that had them.
    store.forget_unused_rooms().map_err(std::io::Error::other)?;
    let rooms = store.rooms().map_err(std::io::Error::other)?;
    let room_settings = store.room_settings().map_err(std::io::Error::other)?;
    let now_ms = chat::moderation::unix_ms(std::time::SystemTime::now());
    let bans = store.active_bans(now_ms).map_err(std::io::Error::other)?;
    let vapid = if push_on {
        Some(vapid_key(store.as_mut()).map_err(std::io::Error::other)?)
    } else {
        None
    };
    Ok(OpenedHistory {
        store,
        admin_token_hash,
        rooms,
        room_settings,
        bans,
        vapid,
    })
}

/// The VAPID key in force: the stored one, else a new one, stored. Every
/// subscription is made for it, so it is made once and shared by every
/// node through the store.
fn vapid_key(store: &mut dyn Store) -> Result<push::VapidKey, String> {
    let fresh = push::VapidKey::generate().map_err(|error| error.to_string())?;
    let stored = store
        .vapid_key(&fresh.to_stored())
        .map_err(|error| format!("cannot store the VAPID key: {error}"))?;
    push::VapidKey::from_stored(&stored)
        .map_err(|error| format!("the stored VAPID key is not usable: {error}"))
}

/// The hash of the moderator token in force: `configured` when given
/// (stored, replacing any other), else the stored one, else a new one,
/// stored and printed once to the log, since nobody else will ever see it.
fn admin_token_hash(store: &mut dyn Store, configured: Option<&str>) -> Result<String, String> {
    if let Some(token) = configured {
        store
            .set_admin_token(token)
            .map_err(|error| error.to_string())?;
    } else if store
        .admin_token_hash()
        .map_err(|error| error.to_string())?
        .is_none()
    {
        let token = chat::moderation::new_admin_token()?;
        store
            .set_admin_token(&token)
            .map_err(|error| error.to_string())?;
        tracing::warn!(
            "generated the moderator token (shown only this once; keep it, or set \
             --admin-token): {token}"
        );
    }
    store
        .admin_token_hash()
        .map_err(|error| error.to_string())?
        .ok_or_else(|| "the moderator token was not stored".to_owned())
}

/// Serves `GET /metrics` until the server shuts down, keeping the
/// histograms trimmed meanwhile.
async fn telemetry_server(listener: TcpListener, state: Arc<AppState>) {
    /// How often histogram samples are folded, whether or not anyone scrapes.
    const UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("metrics at http://{addr}/metrics");
    }
    let token = state.shutdown.clone();
    let upkeep = {
        let state = state.clone();
        let token = token.clone();
        async move {
            let mut tick = tokio::time::interval(UPKEEP);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => state.metrics.upkeep(),
                }
            }
        }
    };
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state);
    let served = axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned());
    let (result, ()) = tokio::join!(served, upkeep);
    if let Err(error) = result {
        tracing::error!("the metrics listener failed: {error}");
    }
}

async fn scrape(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> impl axum::response::IntoResponse {
    let (users_joined, rooms) = state.cluster.hub.census();
    let text = state.metrics.render(telemetry::Snapshot {
        users_joined,
        rooms,
        journal_queue_depth: state.journal.queue_depth(),
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

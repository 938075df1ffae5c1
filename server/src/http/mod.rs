//! The HTTP side: the `/ws` upgrade and what guards it (origin, client
//! address, connection limits), the health endpoints, the static browser
//! app and the security headers on every response.

pub(crate) mod admission;
pub(crate) mod assets;
pub(crate) mod client_ip;
pub(crate) mod connect_rate;
pub(crate) mod embedded;
pub(crate) mod headers;
pub(crate) mod health;
pub(crate) mod origin;
pub(crate) mod serve;
pub(crate) mod tls;
pub(crate) mod websocket;

use crate::chat::connection;
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chat_shared::MAX_FRAME_BYTES;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Small socket buffers: an idle chat connection should cost a few KiB, not
/// the library's 128 KiB read buffer. Chat frames are small, and a large
/// frame still arrives whole, in more reads. Every connection holds this
/// much for as long as it lives, so it is sized for the common frame (a
/// message of a few hundred bytes), not the largest.
const READ_BUFFER_BYTES: usize = 1024;
/// Frames are gathered up to this size before they are written out.
const WRITE_BUFFER_BYTES: usize = 4 * 1024;

/// The whole HTTP surface: `/ws` and the static app, with security headers.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let (assets, security) = app(&state.config);
    let https = state.config.tls_cert.is_some();
    let router = Router::new()
        .route("/ws", get(upgrade))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/files",
            axum::routing::post(crate::files::upload::upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/files/{id}/{*rest}", get(crate::files::download::download))
        .with_state(state)
        .merge(assets)
        .layer(axum::middleware::from_fn_with_state(security, headers::add));
    // Over plain HTTP the header would be ignored, and behind a proxy that
    // ends TLS it is the proxy's to send.
    match https {
        true => router.layer(headers::hsts()),
        false => router,
    }
}

/// The browser app's routes and the CSP for its `index.html`: the app
/// built into the binary if it has one and should use it, else the files
/// in `static_dir`.
fn app(config: &crate::Config) -> (Router, Arc<headers::SecurityHeaders>) {
    match embedded::built_in().filter(|_| config.use_embedded_app) {
        Some(files) => {
            tracing::info!("serving the browser app built into this binary");
            let security = headers::SecurityHeaders::for_fixed_index(embedded::index_html(files));
            (embedded::router(files), security)
        }
        None => (
            assets::router(&config.static_dir),
            headers::SecurityHeaders::new(&config.static_dir),
        ),
    }
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
    let ticket = match admission::admit_upgrade(&state.upgrades, limits, peer.ip(), &parts.headers)
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

//! The WebSocket handshake and socket type, on tokio-tungstenite directly.
//!
//! axum's own WebSocket wrapper hides the raw stream, and with it the
//! ability to send a large message in fragments. tungstenite's write buffer
//! keeps the capacity of the largest frame it ever wrote, so one big
//! `welcome` (a long user list, replayed history) would otherwise cost the
//! connection that much memory for as long as it lives.

use crate::error::UpgradeRefusal;
use axum::body::Body;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// One upgraded connection.
pub(crate) type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Text messages longer than this go out in fragments of this size.
pub(crate) const FRAGMENT_BYTES: usize = 4 * 1024;

/// A valid WebSocket upgrade request, not yet answered.
pub(crate) struct Upgrade {
    accept_key: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl Upgrade {
    /// Checks that the request asks for a WebSocket (RFC 6455, section 4.2.1).
    pub(crate) fn from_parts(parts: &mut Parts) -> Result<Self, UpgradeRefusal> {
        let headers = &parts.headers;
        let asks_for_websocket = parts.method == Method::GET
            && header_has_token(headers, header::CONNECTION, "upgrade")
            && header_has_token(headers, header::UPGRADE, "websocket");
        if !asks_for_websocket {
            return Err(refuse(
                StatusCode::UPGRADE_REQUIRED,
                "This address is for WebSocket connections",
            ));
        }
        if headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .map(HeaderValue::as_bytes)
            != Some(b"13")
        {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Only WebSocket version 13 is supported",
            ));
        }
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Key is missing",
            ));
        };
        let accept_key = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "Bad Sec-WebSocket-Key"))?;
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            return Err(refuse(
                StatusCode::UPGRADE_REQUIRED,
                "This connection cannot be upgraded",
            ));
        };
        Ok(Self {
            accept_key,
            on_upgrade,
        })
    }

    /// Answers 101 and runs `serve` on the socket once the switch is done.
    pub(crate) fn respond<F, Fut>(self, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let io = TokioIo::new(upgraded);
                    let socket =
                        WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                    serve(socket).await;
                }
                Err(error) => tracing::debug!("upgrade failed: {error}"),
            }
        });
        (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
                (header::UPGRADE, HeaderValue::from_static("websocket")),
                (header::SEC_WEBSOCKET_ACCEPT, self.accept_key),
            ],
            Body::empty(),
        )
            .into_response()
    }
}

/// Queues a text message, in fragments when it is large, so the socket's
/// write buffer never grows much past [`FRAGMENT_BYTES`].
pub(crate) async fn feed_text<S>(sink: &mut S, text: Utf8Bytes) -> Result<(), S::Error>
where
    S: Sink<Message> + Unpin,
{
    if text.len() <= FRAGMENT_BYTES {
        return sink.feed(Message::Text(text)).await;
    }
    let bytes = bytes_of(text);
    let mut start = 0;
    while start < bytes.len() {
        let end = (start + FRAGMENT_BYTES).min(bytes.len());
        let opcode = if start == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let fragment = Frame::message(bytes.slice(start..end), opcode, end == bytes.len());
        // Each fragment is written out before the next is buffered.
        sink.send(Message::Frame(fragment)).await?;
        start = end;
    }
    Ok(())
}

fn bytes_of(text: Utf8Bytes) -> bytes::Bytes {
    bytes::Bytes::from(text)
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

fn refuse(status: StatusCode, why: &'static str) -> UpgradeRefusal {
    UpgradeRefusal::NotAnUpgrade { status, why }
}

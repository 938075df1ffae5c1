//! One WebSocket connection: a reader that handles client frames and a writer
//! that drains the connection's bounded outbox.

use crate::admission::Ticket;
use crate::hub::{encode, Membership, Rejection};
use crate::peer::{close_code, Closer, Peer};
use crate::rate_limit::{retry_message, FrameKind, FrameLimiter, Verdict};
use crate::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chat_shared::{ClientFrame, ErrorCode};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a close frame may take to go out before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs one connection until the client leaves, breaks a rule, goes
/// silent, or the server shuts down. `_ticket` holds the connection's place
/// in the connection limits until it ends.
pub async fn serve(socket: WebSocket, state: Arc<AppState>, _ticket: Ticket) {
    static NEXT_PEER_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_PEER_ID.fetch_add(1, Ordering::Relaxed);
    let closer = Arc::new(Closer::new(&state.shutdown));
    let (peer, outbox) = Peer::new(id, state.config.outbox_frames, closer.clone());
    let (sink, stream) = socket.split();
    let ping_interval = state.config.limits.ping_interval;
    let mut writer = tokio::spawn(write_loop(sink, outbox, closer.clone(), ping_interval));

    let mut session = Session {
        state: &state,
        peer,
        membership: None,
        limiter: FrameLimiter::new(&state.config.limits, Instant::now()),
    };
    tokio::select! {
        () = read_loop(stream, &mut session) => {}
        () = closer.token.cancelled() => {}
    }
    session.leave();
    // The hub no longer holds the peer, so once `session` is gone the
    // outbox closes and the writer finishes after flushing what is queued.
    drop(session);
    if tokio::time::timeout(CLOSE_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

/// What one connection knows about itself.
struct Session<'a> {
    state: &'a AppState,
    peer: Peer,
    /// Set once the client has joined.
    membership: Option<Membership>,
    /// How fast this client may send.
    limiter: FrameLimiter,
}

impl Session<'_> {
    fn handle_text(&mut self, text: &str) {
        let decoded = ClientFrame::decode(text);
        let kind = match decoded {
            Ok(ClientFrame::Typing { is_typing }) => FrameKind::Typing { is_typing },
            _ => FrameKind::Other,
        };
        if !self.within_rate(kind) {
            return;
        }
        let result = match decoded {
            Err(detail) => Err(Rejection {
                code: ErrorCode::BadRequest,
                message: format!("That frame was not understood: {detail}"),
            }),
            Ok(ClientFrame::Join { username }) => self.join(&username),
            Ok(ClientFrame::Message { text }) => self
                .joined()
                .and_then(|member| self.state.hub.post(member, &text).map(|_| ())),
            Ok(ClientFrame::Typing { is_typing }) => self.joined().map(|member| {
                self.state.hub.typing(member, is_typing);
            }),
        };
        if let Err(rejection) = result {
            self.peer.send(encode(&rejection.to_frame()));
        }
    }

    fn join(&mut self, username: &str) -> Result<(), Rejection> {
        if self.membership.is_some() {
            return Err(ErrorCode::AlreadyJoined.into());
        }
        self.membership = Some(self.state.hub.join(username, &self.peer)?);
        Ok(())
    }

    fn joined(&self) -> Result<&Membership, Rejection> {
        self.membership
            .as_ref()
            .ok_or_else(|| ErrorCode::NotJoined.into())
    }

    /// Counts a frame against the rate limits. A frame over the limit gets
    /// `rate_limited` (a typing notice is dropped quietly) and is otherwise
    /// ignored; a flood closes the connection with 1008.
    fn within_rate(&mut self, kind: FrameKind) -> bool {
        match self.limiter.check(kind, Instant::now()) {
            Verdict::Allowed => true,
            Verdict::Limited { retry_after } => {
                let limits = &self.state.config.limits;
                let rejection = Rejection {
                    code: ErrorCode::RateLimited,
                    message: retry_message(retry_after, limits),
                };
                self.peer.send(encode(&rejection.to_frame()));
                false
            }
            Verdict::Dropped => false,
            Verdict::Abusive => {
                tracing::warn!(peer = self.peer.id, "closing a client that keeps flooding");
                self.peer
                    .closer()
                    .close(close_code::POLICY, "too many messages");
                false
            }
        }
    }

    fn reject_binary(&mut self) {
        if !self.within_rate(FrameKind::Other) {
            return;
        }
        let rejection = Rejection {
            code: ErrorCode::BadRequest,
            message: "Binary frames are not supported: send JSON text frames".into(),
        };
        self.peer.send(encode(&rejection.to_frame()));
    }

    fn leave(&mut self) {
        if let Some(membership) = self.membership.take() {
            self.state.hub.leave(&membership, &self.peer);
        }
    }
}

async fn read_loop(mut stream: SplitStream<WebSocket>, session: &mut Session<'_>) {
    let limits = &session.state.config.limits;
    let join_deadline = Instant::now() + limits.join_timeout;
    let mut last_heard = Instant::now();
    loop {
        // Anything from the client, a pong included, proves it is there.
        let silence_deadline = last_heard + limits.idle_timeout;
        let deadline = match session.membership {
            None => silence_deadline.min(join_deadline),
            Some(_) => silence_deadline,
        };
        let received = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(received)) => received,
            Ok(None) => return,
            Err(_) if session.membership.is_none() && Instant::now() >= join_deadline => {
                tracing::debug!(peer = session.peer.id, "closing: did not join in time");
                session
                    .peer
                    .closer()
                    .close(close_code::POLICY, "did not join in time");
                return;
            }
            Err(_) => {
                tracing::info!(peer = session.peer.id, "closing: no answer to pings");
                session
                    .peer
                    .closer()
                    .close(close_code::GOING_AWAY, "no answer to pings");
                return;
            }
        };
        last_heard = Instant::now();
        match received {
            Ok(Message::Text(text)) => session.handle_text(&text),
            Ok(Message::Binary(_)) => session.reject_binary(),
            // tungstenite answers pings by itself.
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(Message::Close(_)) => return,
            Err(error) => {
                if is_too_big(error) {
                    session
                        .peer
                        .closer()
                        .close(close_code::TOO_BIG, "frame too large");
                }
                return;
            }
        }
    }
}

/// Whether a read failed because the client sent more than the size limit.
fn is_too_big(error: axum::Error) -> bool {
    match error.into_inner().downcast::<tungstenite::Error>() {
        Ok(inner) => matches!(*inner, tungstenite::Error::Capacity(_)),
        Err(other) => {
            tracing::debug!("read error: {other}");
            false
        }
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut outbox: mpsc::Receiver<Utf8Bytes>,
    closer: Arc<Closer>,
    ping_interval: Duration,
) {
    // Pings keep proxies from dropping quiet connections and make a vanished
    // client show itself: it stops answering, and the reader's silence
    // deadline passes.
    let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let goodbye = loop {
        tokio::select! {
            biased;
            () = closer.token.cancelled() => break closer.frame(),
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
            frame = outbox.recv() => match frame {
                Some(frame) => {
                    if send_batch(&mut sink, frame, &mut outbox).await.is_err() {
                        return;
                    }
                }
                // The reader ended and left the hub: a normal end.
                None => break CloseFrame { code: close_code::NORMAL, reason: Utf8Bytes::default() },
            },
        }
    };
    if goodbye.code == close_code::GOING_AWAY {
        // Shutting down: deliver what is already queued before saying goodbye.
        while let Ok(frame) = outbox.try_recv() {
            if sink.feed(Message::Text(frame)).await.is_err() {
                return;
            }
        }
    }
    let sent = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(goodbye))));
    if sent.await.is_err() {
        tracing::debug!("close frame not sent in time");
    }
}

/// Writes `first` and whatever else is already queued with a single flush,
/// so a burst costs one system call instead of one per frame.
async fn send_batch(
    sink: &mut SplitSink<WebSocket, Message>,
    first: Utf8Bytes,
    outbox: &mut mpsc::Receiver<Utf8Bytes>,
) -> Result<(), axum::Error> {
    const MAX_BATCH: usize = 64;
    sink.feed(Message::Text(first)).await?;
    for _ in 1..MAX_BATCH {
        match outbox.try_recv() {
            Ok(frame) => sink.feed(Message::Text(frame)).await?,
            Err(_) => break,
        }
    }
    sink.flush().await
}

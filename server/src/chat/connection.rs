//! One WebSocket connection: a reader that turns each client frame into a
//! [`Command`] and applies it, and a writer that drains the connection's
//! bounded outbox. What a frame may do is the command's business; this
//! keeps the socket: its timeouts, its rate limits and how it closes.

use crate::chat::hub::encode;
use crate::chat::peer::{Closer, Outbox, OutboxLimits, Peer, QueuedFrame};
use crate::chat::rate_limit::{rate_limited, searching_too_fast, FrameKind, FrameLimiter, Verdict};
use crate::command::{join, Caller, Command, Rules};
use crate::error::Rejection;
use crate::http::admission::Ticket;
use crate::http::websocket::{feed_text, Socket};
use crate::telemetry::Metrics;
use crate::AppState;
use chat_shared::close::{self, Departure};
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tracing::Instrument;

/// How long a close frame may take to go out before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs one connection until the client leaves, breaks a rule, goes
/// silent, or the server shuts down. `ticket` holds the connection's place
/// in the connection limits until it ends.
pub(crate) async fn serve(socket: Socket, state: Arc<AppState>, ticket: Ticket) {
    static NEXT_PEER_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_PEER_ID.fetch_add(1, Ordering::Relaxed);
    // Every line this connection logs, its writer's included, names it.
    let span = tracing::info_span!("connection", peer = id, addr = %ticket.client);
    serve_as(id, socket, state, ticket).instrument(span).await;
}

async fn serve_as(id: u64, socket: Socket, state: Arc<AppState>, ticket: Ticket) {
    let closer = Arc::new(Closer::new(&state.shutdown));
    tracing::debug!("connection open");
    let metrics = state.metrics.clone();
    metrics.connections_open.increment(1.0);
    let outbox_limits = OutboxLimits {
        frames: state.config.outbox_frames,
        bytes: state.config.outbox_bytes,
    };
    let (peer, outbox) = Peer::new(
        id,
        ticket.client,
        outbox_limits,
        closer.clone(),
        metrics.clone(),
    );
    let (sink, mut stream) = socket.split();
    let ping_interval = state.config.limits.ping_interval;
    let writer = Writer {
        closer: closer.clone(),
        ping_interval,
        metrics: metrics.clone(),
    };
    let mut writer = tokio::spawn(writer.run(sink, outbox).in_current_span());

    let mut session = Session {
        state: &state,
        caller: Caller::new(peer),
        rules: Rules {
            edit_window: state.config.edit_window,
        },
        departure: Departure::AfterGrace,
        limiter: FrameLimiter::new(&state.config.limits, Instant::now()),
    };
    tokio::select! {
        () = read_loop(&mut stream, &mut session) => {}
        () = closer.token.cancelled() => {}
    }
    join::leave(session.state, &mut session.caller, session.departure).await;
    // The hub no longer holds the peer, so once `session` is gone the
    // outbox closes and the writer finishes after flushing what is queued.
    drop(session);
    if tokio::time::timeout(CLOSE_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    linger(&mut stream).await;
    metrics.connections_open.decrement(1.0);
    tracing::debug!("connection closed");
}

/// Reads and drops what the client still sends until it answers our close
/// frame with its own (or goes), for at most [`CLOSE_TIMEOUT`]. A socket
/// closed with unread data in it is reset, and a reset can overtake the
/// close frame on its way: a flooding client would see "connection reset"
/// instead of 1008 and its reason. A client that closed first has already
/// ended the stream, so this returns at once.
async fn linger(stream: &mut SplitStream<Socket>) {
    let drained = async { while let Some(Ok(_)) = stream.next().await {} };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, drained).await;
}

/// What one connection knows about itself.
struct Session<'a> {
    state: &'a AppState,
    /// Who the commands come from: the hub's handle on this connection,
    /// and where it joined.
    caller: Caller,
    /// What the settings decide about a frame.
    rules: Rules,
    /// What the end of this connection means for the user's presence: what
    /// the client's close frame says, or at once when it was thrown out for
    /// breaking a rule (no grace period to wait for a reconnect). A
    /// connection that just drops keeps the grace period.
    departure: Departure,
    /// How fast this client may send.
    limiter: FrameLimiter,
}

impl Session<'_> {
    /// Turns one text frame into a command and applies it, unless the
    /// rate limits refuse it first.
    async fn handle_text(&mut self, text: &str) {
        let command = Command::from_frame(ClientFrame::decode(text), &self.rules);
        if !self.within_rate(command.rate_class(), command.client_id()) {
            return;
        }
        if let Err(rejection) = command.apply(self.state, &mut self.caller).await {
            self.caller.peer.reject(&rejection);
        }
    }

    /// Counts a frame against the rate limits. A frame over the limit gets
    /// `rate_limited` (naming the refused message's `client_id`, if any; a
    /// typing notice is dropped quietly) and is otherwise ignored; a flood
    /// closes the connection with 1008.
    fn within_rate(&mut self, kind: FrameKind, message_id: Option<&str>) -> bool {
        match self.limiter.check(kind, Instant::now()) {
            Verdict::Allowed => true,
            Verdict::Limited { retry_after } => {
                let limits = &self.state.config.limits;
                let rejection = match kind {
                    FrameKind::Search => searching_too_fast(retry_after),
                    _ => rate_limited(retry_after, limits),
                }
                .with_client_id(message_id.map(str::to_owned));
                self.caller.peer.reject(&rejection);
                false
            }
            Verdict::Dropped => false,
            Verdict::Abusive => {
                tracing::warn!("closing a client that keeps flooding");
                self.caller.peer.metrics().floods_closed.increment(1);
                self.departure = Departure::AtOnce;
                self.caller
                    .peer
                    .closer()
                    .close(close::POLICY, "too many messages");
                false
            }
        }
    }

    fn reject_binary(&mut self) {
        if !self.within_rate(FrameKind::Other, None) {
            return;
        }
        let rejection = Rejection::new(
            ErrorCode::BadRequest,
            "Binary frames are not supported: send JSON text frames",
        );
        self.caller.peer.reject(&rejection);
    }
}

async fn read_loop(stream: &mut SplitStream<Socket>, session: &mut Session<'_>) {
    let limits = &session.state.config.limits;
    let join_deadline = Instant::now() + limits.join_timeout;
    let mut last_heard = Instant::now();
    loop {
        // Closing (a flood, a slow reader, shutdown): read nothing more, even
        // frames that are already buffered.
        if session.caller.peer.closer().token.is_cancelled() {
            return;
        }
        // Anything from the client, a pong included, proves it is there.
        let silence_deadline = last_heard + limits.idle_timeout;
        let deadline = match session.caller.membership {
            None => silence_deadline.min(join_deadline),
            Some(_) => silence_deadline,
        };
        let received = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(received)) => received,
            Ok(None) => return,
            Err(_) if session.caller.membership.is_none() && Instant::now() >= join_deadline => {
                tracing::debug!("closing: did not join in time");
                session
                    .caller
                    .peer
                    .closer()
                    .close(close::POLICY, "did not join in time");
                return;
            }
            Err(_) => {
                tracing::info!("closing: no answer to pings");
                session
                    .caller
                    .peer
                    .closer()
                    .close(close::GOING_AWAY, "no answer to pings");
                return;
            }
        };
        last_heard = Instant::now();
        match received {
            // Boxed: handling a frame (a join, a page of history) needs far
            // more state than waiting for the next one, and every idle
            // connection would otherwise hold room for it.
            Ok(Message::Text(text)) => Box::pin(session.handle_text(&text)).await,
            Ok(Message::Binary(_)) => session.reject_binary(),
            // tungstenite answers pings by itself; raw frames never come
            // out of a read.
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            Ok(Message::Close(frame)) => {
                session.departure = close::departure(frame.map(|frame| u16::from(frame.code)));
                return;
            }
            Err(error) => {
                if is_too_big(error) {
                    session.departure = Departure::AtOnce;
                    session
                        .caller
                        .peer
                        .closer()
                        .close(close::TOO_BIG, "frame too large");
                }
                return;
            }
        }
    }
}

/// Whether a read failed because the client sent more than the size limit.
fn is_too_big(error: tokio_tungstenite::tungstenite::Error) -> bool {
    tracing::debug!("read error: {error}");
    matches!(error, tokio_tungstenite::tungstenite::Error::Capacity(_))
}

/// The writing half of a connection: drains the outbox, sends pings and
/// the close frame.
struct Writer {
    closer: Arc<Closer>,
    ping_interval: Duration,
    metrics: Arc<Metrics>,
}

impl Writer {
    async fn run(self, mut sink: SplitSink<Socket, Message>, mut outbox: Outbox) {
        let Self {
            closer,
            ping_interval,
            metrics,
        } = self;
        // Pings keep proxies from dropping quiet connections and make a vanished
        // client show itself: it stops answering, and the reader's silence
        // deadline passes.
        let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
        // Browsers answer the ping but never show it to the page: the heartbeat
        // frame is what the page can see. Encoded once; each tick shares it.
        let heartbeat = encode(&ServerFrame::Heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let goodbye = loop {
            tokio::select! {
                biased;
                () = closer.token.cancelled() => break closer.frame(),
                _ = ping.tick() => {
                    if sink.feed(Message::Ping(Default::default())).await.is_err()
                        || sink.send(Message::Text(heartbeat.clone())).await.is_err()
                    {
                        return;
                    }
                }
                frame = outbox.recv() => match frame {
                    Some(frame) => {
                        if send_batch(&mut sink, frame, &mut outbox, &metrics).await.is_err() {
                            return;
                        }
                    }
                    // The reader ended and left the hub: a normal end.
                    None => break CloseFrame { code: close::NORMAL.into(), reason: Utf8Bytes::default() },
                },
            }
        };
        if u16::from(goodbye.code) == close::GOING_AWAY || closer.flushes_first() {
            // Shutting down, or banned: deliver what is already queued
            // (why) before saying goodbye.
            while let Some(outgoing) = outbox.try_recv() {
                let len = outgoing.frame.len();
                if feed_text(&mut sink, outgoing.frame).await.is_err() {
                    return;
                }
                outbox.written(len);
            }
        }
        let sent = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(goodbye))));
        if sent.await.is_err() {
            tracing::debug!("close frame not sent in time");
        }
    }
}

/// Writes `first` and whatever else is already queued with a single flush,
/// so a burst costs one system call instead of one per frame. Chat
/// messages count as delivered once flushed.
async fn send_batch(
    sink: &mut SplitSink<Socket, Message>,
    first: QueuedFrame,
    outbox: &mut Outbox,
    metrics: &Metrics,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    const MAX_BATCH: usize = 64;
    // Allocates only when the batch holds chat messages.
    let mut committed = Vec::new();
    let mut next = Some(first);
    for _ in 0..MAX_BATCH {
        let Some(outgoing) = next.take().or_else(|| outbox.try_recv()) else {
            break;
        };
        committed.extend(outgoing.committed);
        // Counted until it is in the socket's write buffer: a frame stuck
        // behind a client that does not read still counts against it.
        let len = outgoing.frame.len();
        feed_text(sink, outgoing.frame).await?;
        outbox.written(len);
    }
    sink.flush().await?;
    // One clock read for the batch: one per message was a twentieth of a
    // busy server's CPU.
    let flushed = std::time::Instant::now();
    for at in committed {
        metrics
            .delivery_latency_seconds
            .record(flushed.saturating_duration_since(at));
    }
    Ok(())
}

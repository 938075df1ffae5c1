//! The hub's handle on one connection: its bounded outbox and a way to close it.

use crate::error::Rejection;
use crate::telemetry::Metrics;
use chat_shared::close;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

/// A cheap, cloneable handle for sending to one connection.
///
/// Frames are pre-serialised `Utf8Bytes`: a broadcast encodes its JSON once
/// and every recipient's queue holds a reference to the same bytes.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Identifies the connection in logs and when it leaves.
    pub id: u64,
    /// The client's address (through trusted proxies): what a ban by
    /// address matches.
    pub client: IpAddr,
    outbox: mpsc::Sender<Outgoing>,
    closer: Arc<Closer>,
    metrics: Arc<Metrics>,
    /// The connection's span: what the hub or the journal logs about this
    /// peer, from outside its task, still names the connection.
    span: tracing::Span,
    /// Set once the connection presented the moderator token: an address
    /// ban does not throw it out.
    moderator: Arc<AtomicBool>,
}

/// One frame waiting in an outbox.
#[derive(Debug)]
pub struct Outgoing {
    pub frame: Utf8Bytes,
    /// For a chat message, when it was committed: the writer measures the
    /// delivery latency from there.
    pub committed: Option<Instant>,
}

/// Why and how a connection should end; shared by the peer and its writer.
#[derive(Debug)]
pub struct Closer {
    /// Cancelled when the connection must close: by the server shutting down
    /// (a child of the server's token) or by the hub giving up on it.
    pub token: CancellationToken,
    /// The close frame to send; `None` means the server is going away.
    reason: Mutex<Option<CloseFrame>>,
    /// Whether the writer sends what is already queued before the close
    /// frame: a banned user must read why.
    flush_first: AtomicBool,
}

impl Closer {
    /// A closer that also fires when `shutdown` is cancelled.
    pub fn new(shutdown: &CancellationToken) -> Self {
        Self {
            token: shutdown.child_token(),
            reason: Mutex::new(None),
            flush_first: AtomicBool::new(false),
        }
    }

    /// Like [`Closer::close`], but the frames already queued (an error
    /// saying why) go out first.
    pub fn close_after_flush(&self, code: u16, reason: &'static str) {
        self.flush_first.store(true, Ordering::Relaxed);
        self.close(code, reason);
    }

    /// Whether queued frames go out before the close frame.
    pub fn flushes_first(&self) -> bool {
        self.flush_first.load(Ordering::Relaxed)
    }

    /// Asks the connection to close with this code; the first reason wins.
    pub fn close(&self, code: u16, reason: &'static str) {
        let mut slot = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() && !self.token.is_cancelled() {
            *slot = Some(CloseFrame {
                code: code.into(),
                reason: reason.into(),
            });
        }
        drop(slot);
        self.token.cancel();
    }

    /// The frame the writer sends when the token fires.
    pub fn frame(&self) -> CloseFrame {
        let slot = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
        slot.clone().unwrap_or(CloseFrame {
            code: close::GOING_AWAY.into(),
            reason: "server is shutting down".into(),
        })
    }
}

impl Peer {
    /// Creates the handle and the receiving end its writer task drains;
    /// call it inside the connection's span.
    pub fn new(
        id: u64,
        client: IpAddr,
        capacity: usize,
        closer: Arc<Closer>,
        metrics: Arc<Metrics>,
    ) -> (Self, mpsc::Receiver<Outgoing>) {
        let (outbox, frames) = mpsc::channel(capacity.max(1));
        let peer = Self {
            id,
            client,
            outbox,
            closer,
            metrics,
            span: tracing::Span::current(),
            moderator: Arc::new(AtomicBool::new(false)),
        };
        (peer, frames)
    }

    /// Marks the connection as a moderator's, for the rest of its life.
    pub fn become_moderator(&self) {
        self.moderator.store(true, Ordering::Relaxed);
    }

    /// Whether the connection presented the moderator token.
    pub fn is_moderator(&self) -> bool {
        self.moderator.load(Ordering::Relaxed)
    }

    /// The server's metrics, for the connection's writer.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The closer shared with this connection's writer.
    pub fn closer(&self) -> &Closer {
        &self.closer
    }

    /// Queues a frame without waiting. A peer whose queue is full has fallen
    /// too far behind: it is closed rather than allowed to slow anyone else.
    /// A frame for a connection that is already gone is simply dropped.
    pub fn send(&self, frame: Utf8Bytes) {
        self.queue(Outgoing {
            frame,
            committed: None,
        });
    }

    /// Queues a committed chat message, like [`Peer::send`].
    pub fn deliver(&self, frame: Utf8Bytes, committed: Instant) {
        self.queue(Outgoing {
            frame,
            committed: Some(committed),
        });
    }

    /// Sends an `error` frame, counted by its code.
    pub fn reject(&self, rejection: &Rejection) {
        self.metrics.refused(rejection.code);
        self.send(crate::chat::hub::encode(&rejection.to_frame()));
    }

    fn queue(&self, outgoing: Outgoing) {
        let result = self.outbox.try_send(outgoing);
        if result.is_ok() {
            self.metrics.deliveries.increment(1);
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = result {
            if !self.closer.token.is_cancelled() {
                self.metrics.slow_readers_dropped.increment(1);
                tracing::warn!(
                    parent: &self.span,
                    "outbox full: closing a client that reads too slowly"
                );
            }
            self.closer
                .close(close::POLICY, "too slow: messages were piling up");
        }
    }
}

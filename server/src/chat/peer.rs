//! The hub's handle on one connection: its bounded outbox and a way to close it.
//!
//! The outbox is bounded twice: in frames (`--outbox-frames`) and in bytes
//! (`--outbox-bytes`). A broadcast frame is one buffer shared by every
//! recipient, yet each connection that holds it counts its whole length:
//! what a client that never reads can cost in the worst case, when the
//! frames it holds are its own (history pages, welcomes).

use crate::error::Rejection;
use crate::telemetry::Metrics;
use chat_shared::close;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
pub(crate) struct Peer {
    /// Identifies the connection in logs and when it leaves.
    pub(crate) id: u64,
    /// The client's address (through trusted proxies): what a ban by
    /// address matches.
    pub(crate) client: IpAddr,
    outbox: mpsc::Sender<QueuedFrame>,
    /// The bytes of the frames in the outbox, the one being written
    /// included: added here, taken off by the writer once it wrote them.
    queued: Arc<AtomicUsize>,
    /// What `queued` may reach before the connection counts as too slow.
    max_bytes: usize,
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
pub(crate) struct QueuedFrame {
    pub(crate) frame: Utf8Bytes,
    /// For a chat message, when it was committed: the writer measures the
    /// delivery latency from there.
    pub(crate) committed: Option<Instant>,
}

/// Why and how a connection should end; shared by the peer and its writer.
#[derive(Debug)]
pub(crate) struct Closer {
    /// Cancelled when the connection must close: by the server shutting down
    /// (a child of the server's token) or by the hub giving up on it.
    pub(crate) token: CancellationToken,
    /// The close frame to send; `None` means the server is going away.
    reason: Mutex<Option<CloseFrame>>,
    /// Whether the writer sends what is already queued before the close
    /// frame: a banned user must read why.
    flush_first: AtomicBool,
}

impl Closer {
    /// A closer that also fires when `shutdown` is cancelled.
    pub(crate) fn new(shutdown: &CancellationToken) -> Self {
        Self {
            token: shutdown.child_token(),
            reason: Mutex::new(None),
            flush_first: AtomicBool::new(false),
        }
    }

    /// Like [`Closer::close`], but the frames already queued (an error
    /// saying why) go out first.
    pub(crate) fn close_after_flush(&self, code: u16, reason: &'static str) {
        self.flush_first.store(true, Ordering::Relaxed);
        self.close(code, reason);
    }

    /// Whether queued frames go out before the close frame.
    pub(crate) fn flushes_first(&self) -> bool {
        self.flush_first.load(Ordering::Relaxed)
    }

    /// Asks the connection to close with this code; the first reason wins.
    pub(crate) fn close(&self, code: u16, reason: &'static str) {
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
    pub(crate) fn frame(&self) -> CloseFrame {
        let slot = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
        slot.clone().unwrap_or(CloseFrame {
            code: close::GOING_AWAY.into(),
            reason: "server is shutting down".into(),
        })
    }
}

/// How much one connection's outbox may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutboxLimits {
    /// Frames (`--outbox-frames`).
    pub(crate) frames: usize,
    /// Bytes, each frame counted whole (`--outbox-bytes`).
    pub(crate) bytes: usize,
}

/// The receiving end of a connection's outbox, drained by its writer.
#[derive(Debug)]
pub(crate) struct Outbox {
    frames: mpsc::Receiver<QueuedFrame>,
    queued: Arc<AtomicUsize>,
}

impl Outbox {
    /// The next frame; `None` once every [`Peer`] handle is gone and the
    /// outbox is empty. Call [`Outbox::written`] when it is out.
    pub(crate) async fn recv(&mut self) -> Option<QueuedFrame> {
        self.frames.recv().await
    }

    /// The next frame if one is queued, without waiting.
    pub(crate) fn try_recv(&mut self) -> Option<QueuedFrame> {
        self.frames.try_recv().ok()
    }

    /// Takes a frame of `len` bytes off the count: it has left for the
    /// socket.
    pub(crate) fn written(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::Relaxed);
    }
}

impl Peer {
    /// Creates the handle and the receiving end its writer task drains;
    /// call it inside the connection's span.
    pub(crate) fn new(
        id: u64,
        client: IpAddr,
        limits: OutboxLimits,
        closer: Arc<Closer>,
        metrics: Arc<Metrics>,
    ) -> (Self, Outbox) {
        let (outbox, frames) = mpsc::channel(limits.frames.max(1));
        let queued = Arc::new(AtomicUsize::new(0));
        let peer = Self {
            id,
            client,
            outbox,
            queued: queued.clone(),
            max_bytes: limits.bytes,
            closer,
            metrics,
            span: tracing::Span::current(),
            moderator: Arc::new(AtomicBool::new(false)),
        };
        (peer, Outbox { frames, queued })
    }

    /// Marks the connection as a moderator's, for the rest of its life.
    pub(crate) fn become_moderator(&self) {
        self.moderator.store(true, Ordering::Relaxed);
    }

    /// Whether the connection presented the moderator token.
    pub(crate) fn is_moderator(&self) -> bool {
        self.moderator.load(Ordering::Relaxed)
    }

    /// The server's metrics, for the connection's writer.
    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The closer shared with this connection's writer.
    pub(crate) fn closer(&self) -> &Closer {
        &self.closer
    }

    /// Queues a frame without waiting. A peer whose queue is full has fallen
    /// too far behind: it is closed rather than allowed to slow anyone else.
    /// A frame for a connection that is already gone is simply dropped.
    pub(crate) fn send(&self, frame: Utf8Bytes) {
        self.queue(QueuedFrame {
            frame,
            committed: None,
        });
    }

    /// Queues a committed chat message, like [`Peer::send`].
    pub(crate) fn deliver(&self, frame: Utf8Bytes, committed: Instant) {
        self.queue(QueuedFrame {
            frame,
            committed: Some(committed),
        });
    }

    /// Sends an `error` frame, counted by its code.
    pub(crate) fn reject(&self, rejection: &Rejection) {
        self.metrics.refused(rejection.code);
        self.send(crate::chat::hub::encode(&rejection.to_frame()));
    }

    /// Queues a frame unless the outbox is full, in frames or in bytes. A
    /// frame always fits into an empty outbox, so one that is larger than
    /// the byte limit on its own (a single huge message) still goes out.
    fn queue(&self, outgoing: QueuedFrame) {
        let len = outgoing.frame.len();
        let before = self.queued.fetch_add(len, Ordering::Relaxed);
        if before > 0 && before + len > self.max_bytes {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            self.too_slow();
            return;
        }
        match self.outbox.try_send(outgoing) {
            Ok(()) => self.metrics.deliveries.increment(1),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.queued.fetch_sub(len, Ordering::Relaxed);
                self.too_slow();
            }
            // The connection is gone: nobody will read the count again.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Closes a connection whose outbox is full: it has fallen too far
    /// behind, and waiting for it would hold up everyone else.
    fn too_slow(&self) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(frames: usize, bytes: usize) -> (Peer, Outbox) {
        let closer = Arc::new(Closer::new(&CancellationToken::new()));
        let client = IpAddr::from([127, 0, 0, 1]);
        let limits = OutboxLimits { frames, bytes };
        Peer::new(1, client, limits, closer, Arc::new(Metrics::off()))
    }

    #[test]
    fn an_outbox_past_its_bytes_closes_the_connection_and_written_frames_make_room() {
        let (peer, mut outbox) = peer(1024, 100);
        let frame = Utf8Bytes::from("x".repeat(40));
        peer.send(frame.clone());
        peer.send(frame.clone());
        let first = outbox.try_recv().expect("queued");
        outbox.written(first.frame.len());
        // 80 queued, then 40 written: room for 40 more.
        peer.send(frame.clone());
        assert!(!peer.closer().token.is_cancelled());
        peer.send(frame);
        assert!(peer.closer().token.is_cancelled(), "120 bytes > 100");
        assert_eq!(u16::from(peer.closer().frame().code), close::POLICY);
    }

    #[test]
    fn one_frame_larger_than_the_limit_still_fits_an_empty_outbox() {
        let (peer, mut outbox) = peer(1024, 10);
        peer.send(Utf8Bytes::from("x".repeat(100)));
        assert!(!peer.closer().token.is_cancelled());
        // Still being written: it counts, and nothing more fits.
        let big = outbox.try_recv().expect("queued");
        peer.send(Utf8Bytes::from("y"));
        assert!(peer.closer().token.is_cancelled(), "101 bytes > 10");
        drop(big);
    }
}

//! The hub's handle on one connection: its bounded outbox and a way to close it.

use chat_shared::close;
use std::sync::{Arc, Mutex, PoisonError};
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
    outbox: mpsc::Sender<Utf8Bytes>,
    closer: Arc<Closer>,
}

/// Why and how a connection should end; shared by the peer and its writer.
#[derive(Debug)]
pub struct Closer {
    /// Cancelled when the connection must close: by the server shutting down
    /// (a child of the server's token) or by the hub giving up on it.
    pub token: CancellationToken,
    /// The close frame to send; `None` means the server is going away.
    reason: Mutex<Option<CloseFrame>>,
}

impl Closer {
    /// A closer that also fires when `shutdown` is cancelled.
    pub fn new(shutdown: &CancellationToken) -> Self {
        Self {
            token: shutdown.child_token(),
            reason: Mutex::new(None),
        }
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
    /// Creates the handle and the receiving end its writer task drains.
    pub fn new(id: u64, capacity: usize, closer: Arc<Closer>) -> (Self, mpsc::Receiver<Utf8Bytes>) {
        let (outbox, frames) = mpsc::channel(capacity.max(1));
        (Self { id, outbox, closer }, frames)
    }

    /// The closer shared with this connection's writer.
    pub fn closer(&self) -> &Closer {
        &self.closer
    }

    /// Queues a frame without waiting. A peer whose queue is full has fallen
    /// too far behind: it is closed rather than allowed to slow anyone else.
    /// A frame for a connection that is already gone is simply dropped.
    pub fn send(&self, frame: Utf8Bytes) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outbox.try_send(frame) {
            if !self.closer.token.is_cancelled() {
                tracing::warn!(
                    peer = self.id,
                    "outbox full: closing a client that reads too slowly"
                );
            }
            self.closer
                .close(close::POLICY, "too slow: messages were piling up");
        }
    }
}

//! The yardstick for `cargo xtask bench`: the least a WebSocket broadcast
//! server can do, so the chat server's figures have something to be read
//! against on the same machine in the same run.
//!
//! Kept deliberately tiny, and it must stay so: one room, no names checked,
//! no storage, no rate limits, no heartbeats, tokio-tungstenite with its
//! default buffers. It speaks just enough of docs/protocol.md for the
//! project's load generator (`server/examples/loadgen/`) to drive it
//! unchanged: a `join` is answered with a minimal `welcome`, and every
//! `message` goes back to everyone joined as a server `message` with an
//! increasing `id` and the sender's `client_id`. Each message is serialised
//! once and the same bytes are shared by every connection. Everything else
//! a client sends is ignored.
//!
//! ```text
//! cargo run --release -p chat-bench-reference -- 127.0.0.1:9400
//! ```

use chat_shared::{ChatMessage, ClientFrame, ServerFrame, Welcome};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Messages a connection may fall behind the room before it is dropped:
/// the broadcast ring holds this many, shared by all.
const ROOM_BACKLOG: usize = 4096;

/// The one room everybody joins.
struct Room {
    /// Every message, serialised once; each connection reads the same bytes.
    frames: broadcast::Sender<Utf8Bytes>,
    /// Where message ids come from, so they increase as the protocol says.
    next_id: AtomicU64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9400".into());
    let listener = TcpListener::bind(&addr).await?;
    let room = Arc::new(Room {
        frames: broadcast::channel(ROOM_BACKLOG).0,
        next_id: AtomicU64::new(1),
    });
    loop {
        // A failed accept (out of descriptors, say) costs that client only.
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve(stream, Arc::clone(&room)));
    }
}

/// One connection, in one task: its frames in, the room's frames out.
async fn serve(stream: TcpStream, room: Arc<Room>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let mut username = None;
    let mut frames = room.frames.subscribe();
    loop {
        tokio::select! {
            incoming = socket.next() => {
                let Some(Ok(Message::Text(text))) = incoming else {
                    match incoming {
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                };
                match (ClientFrame::decode(&text), &username) {
                    (Ok(ClientFrame::Join { username: name, .. }), None) => {
                        let welcome = ServerFrame::Welcome(Welcome::new(
                            &name,
                            vec![name.clone()],
                            "general",
                            "",
                        ));
                        if socket.send(Message::text(welcome.encode())).await.is_err() {
                            return;
                        }
                        username = Some(name);
                    }
                    (Ok(ClientFrame::Message { text, client_id, .. }), Some(name)) => {
                        let message = ChatMessage {
                            id: room.next_id.fetch_add(1, Ordering::Relaxed),
                            username: name.clone(),
                            text,
                            timestamp: humantime::format_rfc3339_millis(SystemTime::now())
                                .to_string(),
                            client_id,
                            ..ChatMessage::default()
                        };
                        // Nobody listening is not an error for a broadcast.
                        let _ = room.frames.send(ServerFrame::Message(message).encode().into());
                    }
                    _ => {}
                }
            }
            frame = frames.recv(), if username.is_some() => {
                let Ok(frame) = frame else {
                    // Lagged past the ring, or the room is gone: a bare
                    // server drops the reader rather than skip messages.
                    return;
                };
                // Queue whatever else is ready, then one flush: the cheapest
                // write a bare server can do.
                let mut batch = Some(frame);
                while let Some(frame) = batch {
                    if socket.feed(Message::Text(frame)).await.is_err() {
                        return;
                    }
                    batch = frames.try_recv().ok();
                }
                if socket.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

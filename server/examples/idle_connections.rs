//! Measures what idle joined connections cost the server.
//!
//! Opens N WebSocket connections to a running server, joins each under its
//! own name, then reads the server's resident memory (from /proc) before
//! and after and prints the cost per connection.
//!
//! ```text
//! ulimit -n 20000
//! target/release/chat-server --addr 127.0.0.1:9000 & SERVER=$!
//! cargo run --release -p chat-server --example idle_connections -- 127.0.0.1:9000 5000 $SERVER
//! ```

use chat_shared::ClientFrame;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, count, pid] = args.as_slice() else {
        return Err("usage: idle_connections ADDR COUNT SERVER_PID".into());
    };
    let count: usize = count.parse()?;
    let pid: u32 = pid.parse()?;
    let url = format!("ws://{addr}/ws");

    let before = rss_kib(pid);
    let mut readers = Vec::with_capacity(count);
    for n in 0..count {
        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
        let join = ClientFrame::join(format!("idle{n}"));
        socket.send(Message::text(join.encode())).await?;
        // Wait for the welcome so the join has really happened.
        socket.next().await.ok_or("closed before welcome")??;
        // Read (and drop) the join notices of later connections, as a real
        // client would; an unread queue would get the client disconnected.
        readers.push(tokio::spawn(async move {
            while let Some(Ok(_)) = socket.next().await {}
        }));
    }
    // Let the last notices drain.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let closed = readers.iter().filter(|reader| reader.is_finished()).count();
    if closed > 0 {
        return Err(format!("{closed} connections were closed by the server").into());
    }
    let after = rss_kib(pid);
    let per_connection = (after.saturating_sub(before)) as f64 / count as f64;
    println!(
        "{count} idle joined connections: server RSS {before} KiB -> {after} KiB, {per_connection:.1} KiB per connection"
    );
    Ok(())
}

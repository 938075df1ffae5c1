//! Message throughput through a running server, end to end: every message
//! committed to the database and delivered to every sender.
//!
//! SENDERS clients join, then each sends COUNT messages, keeping up to 32
//! of its own unconfirmed at a time, while reading everyone's. The clock stops when every
//! client has received all SENDERS x COUNT messages.
//!
//! ```text
//! target/release/chat-server --addr 127.0.0.1:9000 --db /tmp/bench.db &
//! cargo run --release -p chat-server --example loadgen -- 127.0.0.1:9000 10 2000
//! ```

use chat_shared::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};

/// Own messages a client may have sent but not yet seen confirmed.
const WINDOW: usize = 32;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, senders, count] = args.as_slice() else {
        return Err("usage: loadgen ADDR SENDERS COUNT".into());
    };
    let senders: usize = senders.parse()?;
    let count: usize = count.parse()?;
    let url = format!("ws://{addr}/ws");
    let run = std::process::id();

    let mut sockets = Vec::new();
    for n in 0..senders {
        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
        let name = format!("load{run}-{n}");
        socket
            .send(Message::text(ClientFrame::join(name.clone()).encode()))
            .await?;
        sockets.push((name, socket));
    }
    let total = senders * count;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (name, mut socket) in sockets {
        tasks.push(tokio::spawn(async move {
            let (mut sent, mut confirmed, mut received) = (0, 0, 0);
            while received < total {
                // Closed loop: at most WINDOW of our own messages in flight,
                // so the load is what the server sustains, not a flood it
                // must shed by disconnecting slow readers.
                if sent < count && sent - confirmed < WINDOW {
                    let text = format!("load message {sent} from {name}: the quick brown fox");
                    let frame = ClientFrame::message(text).encode();
                    socket
                        .send(Message::text(frame))
                        .await
                        .map_err(|e| e.to_string())?;
                    sent += 1;
                    continue;
                }
                match socket.next().await {
                    Some(Ok(Message::Text(text))) => match ServerFrame::decode(&text) {
                        Ok(ServerFrame::Message(message)) => {
                            received += 1;
                            if message.username == name {
                                confirmed += 1;
                            }
                        }
                        Ok(ServerFrame::Error { code, message, .. }) => {
                            return Err(format!("server refused: {code:?} {message}"))
                        }
                        _ => {}
                    },
                    Some(Ok(_)) => {}
                    other => return Err(format!("socket ended after {received}: {other:?}")),
                }
            }
            Ok::<usize, String>(received)
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    println!(
        "{senders} senders x {count} messages = {total} messages, each delivered to {senders} clients, in {:.2} s: {:.0} messages/s committed, {:.0} deliveries/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        (total * senders) as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

//! The real `chat-server` binary, stopped the way `docker stop` and systemd
//! stop it: SIGTERM. Every client gets close 1001 (going away, so it
//! reconnects) and the process exits 0 within its shutdown bound.

mod common;

use common::Client;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shutdown bound given to the server, and how much longer the test
/// allows for the process to start tearing down and exit.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
const EXIT_SLACK: Duration = Duration::from_secs(5);

/// Kills the child if the test fails half-way, so no server outlives it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on an ephemeral port; returns it and its address.
fn start_binary() -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--addr", "127.0.0.1:0"])
        .env("CHAT_SHUTDOWN_TIMEOUT", "5s")
        .env("CHAT_STATIC_DIR", std::env::temp_dir())
        .env("CHAT_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start chat-server");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut lines = BufReader::new(stdout);
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() && lines.read_line(&mut line).expect("read stdout") > 0 {
        // "WebSocket Chat is running: open http://127.0.0.1:PORT/"
        addr = line
            .split("http://")
            .nth(1)
            .map(|rest| rest.trim().trim_end_matches('/').to_owned());
        line.clear();
    }
    let addr = addr.expect("the server printed its address");
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = lines.read_to_end(&mut sink);
    });
    (server, addr)
}

#[tokio::test]
async fn sigterm_closes_every_client_with_1001_and_exits_0() {
    let (mut server, addr) = start_binary();
    let mut clients = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("handshake");
        let mut client = Client { socket };
        client.join(name).await;
        clients.push(client);
    }
    // One client that never joined is told too.
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("handshake");
    clients.push(Client { socket });

    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let signalled = Instant::now();

    for (i, client) in clients.iter_mut().enumerate() {
        let close = client
            .expect_close()
            .await
            .expect("close frame with a code");
        assert_eq!(u16::from(close.code), 1001, "client {i}");
    }

    let exit = loop {
        if let Some(exit) = server.0.try_wait().expect("wait for the server") {
            break exit;
        }
        assert!(
            signalled.elapsed() < SHUTDOWN_TIMEOUT + EXIT_SLACK,
            "the server did not exit within its bound"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
}

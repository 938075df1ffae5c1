//! The real `chat-server` binary, stopped the way `docker stop` and systemd
//! stop it: SIGTERM. Every client gets close 1001 (going away, so it
//! reconnects) and the process exits 0 within its shutdown bound.

mod common;

use common::process::{self, ServerProcess};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The shutdown bound given to the server, and how much longer the test
/// allows for the process to start tearing down and exit.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
const EXIT_SLACK: Duration = Duration::from_secs(5);

/// Starts the binary on an ephemeral port with this shutdown bound.
fn start_binary() -> ServerProcess {
    let mut command = process::command();
    command
        .env("CHAT_SHUTDOWN_TIMEOUT", "5s")
        .env("CHAT_LOG", "info")
        .stderr(Stdio::inherit());
    ServerProcess::start(command)
}

#[tokio::test]
async fn sigterm_closes_every_client_with_1001_and_exits_0() {
    let mut server = start_binary();
    let mut clients = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let mut client = server.connect().await;
        client.join(name).await;
        clients.push(client);
    }
    // One client that never joined is told too.
    clients.push(server.connect().await);

    server.signal("TERM");
    let signalled = Instant::now();

    for (i, client) in clients.iter_mut().enumerate() {
        let close = client
            .expect_close()
            .await
            .expect("close frame with a code");
        assert_eq!(u16::from(close.code), 1001, "client {i}");
    }

    let exit = loop {
        if let Some(exit) = server.try_wait() {
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

//! The real binary at `CHAT_LOG=trace` with `--log-format json`: every line
//! it writes is a JSON object, a connection's lines name the connection and
//! its client's address, and no message text or resume token is in any of
//! them, at any level.

mod common;

use chat_shared::ClientFrame;
use common::Client;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Kills the child if the test fails half-way, so no server outlives it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Collects every line of a stream until it ends, passing each on.
fn collect(
    stream: impl std::io::Read + Send + 'static,
    lines: mpsc::Sender<String>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    })
}

fn parse(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
}

#[tokio::test]
async fn json_logs_name_the_connection_and_hold_no_text_or_token() {
    const TEXT: &str = "the-zebra-eats-pineapples-at-4711";
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--addr", "127.0.0.1:0", "--log-format", "json"])
        .env("CHAT_LOG", "trace")
        .env("CHAT_STATIC_DIR", std::env::temp_dir())
        .env("CHAT_SHUTDOWN_TIMEOUT", "5s")
        .env_remove("CHAT_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chat-server");
    let (sender, lines) = mpsc::channel();
    let readers = [
        collect(child.stdout.take().expect("stdout"), sender.clone()),
        collect(child.stderr.take().expect("stderr"), sender),
    ];
    let mut server = Server(child);

    let mut seen = Vec::new();
    let addr = loop {
        let line = lines.recv().expect("the server logs its address");
        let found = parse(&line)["fields"]["message"]
            .as_str()
            .and_then(|message| message.split("http://").nth(1))
            .map(|rest| rest.trim_end_matches('/').to_owned());
        seen.push(line);
        if let Some(addr) = found {
            break addr;
        }
    };

    let connect = || async {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("handshake");
        Client { socket }
    };
    let mut alice = connect().await;
    let welcome = alice.join_with(ClientFrame::join("alice")).await;
    let token = welcome.resume;
    alice.say(TEXT).await;
    assert_eq!(alice.recv_message().await.text, TEXT);
    drop(alice);
    // The token goes back to the server too, on a resume.
    let mut again = connect().await;
    let resumed = again
        .join_with(ClientFrame::Join {
            username: "alice".into(),
            room: None,
            since: None,
            resume: Some(token.clone()),
            join_code: None,
            author_key: None,
        })
        .await;
    assert!(resumed.history.iter().any(|message| message.text == TEXT));
    again.socket.close(None).await.expect("close");
    drop(again);

    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let exit = server.0.wait().expect("the server exits");
    assert!(exit.success(), "{exit:?}");
    for reader in readers {
        reader.join().expect("reader thread");
    }
    seen.extend(lines.try_iter());

    let mut connection_lines = 0;
    let mut joined = 0;
    for line in &seen {
        assert!(!line.contains(TEXT), "message text logged: {line}");
        assert!(!line.contains(&token), "resume token logged: {line}");
        let entry = parse(line);
        let in_connection = entry["spans"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|span| span["name"] == "connection");
        if let Some(span) = in_connection {
            connection_lines += 1;
            assert!(span["peer"].as_u64().is_some(), "no peer: {line}");
            assert_eq!(span["addr"], "127.0.0.1", "{line}");
            if entry["fields"]["message"] == "joined" {
                joined += 1;
            }
        }
    }
    // Both joins, and at least each connection's opening and closing.
    assert_eq!(joined, 2, "{seen:#?}");
    assert!(connection_lines >= 6, "{connection_lines} connection lines");
}

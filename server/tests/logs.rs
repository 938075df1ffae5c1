//! The real binary at `CHAT_LOG=trace` with `--log-format json`: every line
//! it writes is a JSON object, a connection's lines name the connection and
//! its client's address, and no message text or resume token is in any of
//! them, at any level.

mod common;

use chat_shared::ClientFrame;
use common::process::{self, ServerProcess};
use std::process::Stdio;

fn parse(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
}

#[tokio::test]
async fn json_logs_name_the_connection_and_hold_no_text_or_token() {
    const TEXT: &str = "the-zebra-eats-pineapples-at-4711";
    let mut command = process::command();
    command
        .args(["--log-format", "json"])
        .env("CHAT_LOG", "trace")
        .env("CHAT_SHUTDOWN_TIMEOUT", "5s")
        .env_remove("CHAT_LOG_FORMAT")
        .stderr(Stdio::piped());
    let mut server = ServerProcess::start(command);
    let mut seen = server.start_lines.clone();
    let said = parse(seen.last().expect("the address line"));
    assert!(
        said["fields"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("http://")),
        "{said}"
    );

    let mut alice = server.connect().await;
    let welcome = alice.join_with(ClientFrame::join("alice")).await;
    let token = welcome.resume;
    alice.say(TEXT).await;
    assert_eq!(alice.recv_message().await.text, TEXT);
    drop(alice);
    // The token goes back to the server too, on a resume.
    let mut again = server.connect().await;
    let resumed = again
        .join_with(ClientFrame::Join {
            username: "alice".into(),
            room: None,
            since: None,
            resume: Some(token.clone()),
            join_code: None,
            author_key: None,
            link_code: None,
            device: None,
        })
        .await;
    assert!(resumed.history.iter().any(|message| message.text == TEXT));
    again.socket.close(None).await.expect("close");
    drop(again);

    server.signal("TERM");
    let exit = server.wait();
    assert!(exit.success(), "{exit:?}");
    seen.extend(server.lines());

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

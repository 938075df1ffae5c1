//! Names that look alike are one name (issue 20, item 8): while `alice` is
//! online nobody else is `ALICE`, `aIice` (a capital i), `аlice` (a
//! Cyrillic а) or `ａｌｉｃｅ` (fullwidth); and a name needs a letter or
//! a digit.

mod common;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::{Client, TestServer};

const LOOK_ALIKES: [&str; 4] = [
    "ALICE",
    "aIice",
    "\u{430}lice",
    "\u{FF41}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}",
];

async fn expect_error(client: &mut Client, expected: ErrorCode) -> String {
    match client.recv().await {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, expected, "message was {message:?}");
            message
        }
        other => panic!("expected error {expected:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_name_that_looks_like_one_online_is_taken() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    // In the cluster setup, connections alternate between the two nodes.
    let mut other = server.connect().await;
    for look_alike in LOOK_ALIKES {
        other.send(ClientFrame::join(look_alike)).await;
        let message = expect_error(&mut other, ErrorCode::NameTaken).await;
        assert_eq!(message, "That name is already in use", "{look_alike:?}");
    }
    // A name that only resembles it in letters is free.
    assert_eq!(other.join("alicia").await, ["alice", "alicia"]);
    assert!(matches!(alice.recv().await, ServerFrame::UserJoined { .. }));

    // Once alice has left, a look-alike is free again.
    alice.socket.close(None).await.expect("close");
    assert!(matches!(other.recv().await, ServerFrame::UserLeft { .. }));
    let mut cyrillic = server.connect().await;
    // Listed by key: the Cyrillic letter sorts after every Latin one.
    assert_eq!(
        cyrillic.join("\u{430}lice").await,
        ["alicia", "\u{430}lice"]
    );
}

#[tokio::test]
async fn look_alikes_of_a_capitalised_name_are_taken_too() {
    let server = TestServer::start().await;
    let mut first = server.connect().await;
    first.join("ALICE").await;
    let mut second = server.connect().await;
    // Neither has the key of "ALICE" ("alice"): one looks like its lower
    // case, the other like it with a capital i for the L.
    for look_alike in ["\u{430}lice", "aIice"] {
        second.send(ClientFrame::join(look_alike)).await;
        expect_error(&mut second, ErrorCode::NameTaken).await;
    }
}

#[tokio::test]
async fn a_name_without_a_letter_or_digit_is_refused() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    for bad in [
        "\u{301}\u{301}\u{301}",
        "\u{20DD}",
        "!!!",
        "-_-",
        "\u{1F642}",
    ] {
        client.send(ClientFrame::join(bad)).await;
        let message = expect_error(&mut client, ErrorCode::InvalidUsername).await;
        assert_eq!(
            message, "A name needs at least one letter or digit",
            "{bad:?}"
        );
    }
    assert_eq!(client.join("r2").await, ["r2"]);
}

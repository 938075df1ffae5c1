//! Every refusal is an error frame with a stable code, and the connection
//! that got it keeps working.

mod common;

use chat_server::Config;
use std::time::Duration;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame, MAX_MESSAGE_CHARS, MAX_USERNAME_CHARS};
use common::{joined, Client, TestServer};
use tokio_tungstenite::tungstenite::Message;

async fn expect_error(client: &mut Client, expected: ErrorCode) -> String {
    match client.recv().await {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, expected, "message was {message:?}");
            assert!(!message.is_empty());
            message
        }
        other => panic!("expected error {expected:?}, got {other:?}"),
    }
}

/// Proves the connection still works after an error: a message goes round.
async fn still_works(client: &mut Client) {
    client.say("still here").await;
    match client.recv().await {
        ServerFrame::Message(message) => assert_eq!(message.text, "still here"),
        other => panic!("expected the echo of our message, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_usernames_are_refused_and_the_connection_can_retry() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    let too_long = "x".repeat(MAX_USERNAME_CHARS + 1);
    for bad in [
        "",
        "   ",
        "a\u{0}b",
        "zero\u{200B}width",
        "tab\there",
        too_long.as_str(),
    ] {
        client.send(ClientFrame::join(bad)).await;
        expect_error(&mut client, ErrorCode::InvalidUsername).await;
    }
    assert_eq!(client.join("valid").await, vec!["valid"]);
    still_works(&mut client).await;
}

#[tokio::test]
async fn taken_names_are_refused_ignoring_case_and_composition() {
    let server = TestServer::start().await;
    let mut first = server.connect().await;
    first.join("Ren\u{e9}").await;
    let mut second = server.connect().await;
    for clash in ["Ren\u{e9}", "ren\u{e9}", "RENE\u{301}", "  rené  "] {
        second.send(ClientFrame::join(clash)).await;
        let message = expect_error(&mut second, ErrorCode::NameTaken).await;
        assert_eq!(message, "That name is already in use");
    }
    second.join("Renée").await;
    still_works(&mut second).await;
}

#[tokio::test]
async fn empty_and_overlong_messages_are_refused() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;

    alice.say("").await;
    expect_error(&mut alice, ErrorCode::EmptyMessage).await;
    alice.say(" \n\t ").await;
    expect_error(&mut alice, ErrorCode::EmptyMessage).await;
    alice.say(&"ы".repeat(MAX_MESSAGE_CHARS + 1)).await;
    expect_error(&mut alice, ErrorCode::MessageTooLong).await;
    // Nothing of the refused messages reached bob.
    bob.expect_silence().await;

    alice.say(&"ы".repeat(MAX_MESSAGE_CHARS)).await;
    match bob.recv().await {
        ServerFrame::Message(message) => {
            assert_eq!(message.text.chars().count(), MAX_MESSAGE_CHARS)
        }
        other => panic!("expected the longest allowed message, got {other:?}"),
    }
    alice.recv().await;
    still_works(&mut alice).await;
}

#[tokio::test]
async fn messages_and_typing_before_join_are_refused() {
    let server = TestServer::start().await;
    let mut watcher = server.connect().await;
    watcher.join("watcher").await;
    let mut client = server.connect().await;
    client.say("hello?").await;
    expect_error(&mut client, ErrorCode::NotJoined).await;
    client.send(ClientFrame::Typing { is_typing: true }).await;
    expect_error(&mut client, ErrorCode::NotJoined).await;
    watcher.expect_silence().await;
    client.join("late").await;
    still_works(&mut client).await;
}

#[tokio::test]
async fn a_second_join_is_refused_and_keeps_the_first_name() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client.join("first").await;
    client.send(ClientFrame::join("second")).await;
    expect_error(&mut client, ErrorCode::AlreadyJoined).await;
    client.say("who am I").await;
    match client.recv().await {
        ServerFrame::Message(message) => assert_eq!(message.username, "first"),
        other => panic!("expected our message, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_frames_get_bad_request() {
    // More frames at once than the default burst allows.
    let server = TestServer::start_with(chat_server::Config {
        limits: chat_server::limits::Limits {
            message_burst: 100,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut client = server.connect().await;
    client.join("tester").await;
    for bad in [
        "this is not json",
        "{\"type\":\"message\"",
        r#"{"type":"shout","text":"hi"}"#,
        r#"{"type":"message"}"#,
        r#"{"text":"no type"}"#,
        r#"{"type":"typing","is_typing":"maybe"}"#,
        r#"["message","hi"]"#,
        "null",
    ] {
        client.send_text(bad).await;
        expect_error(&mut client, ErrorCode::BadRequest).await;
    }
    client
        .send_raw(Message::binary(
            b"{\"type\":\"message\",\"text\":\"hi\"}".to_vec(),
        ))
        .await;
    let message = expect_error(&mut client, ErrorCode::BadRequest).await;
    assert!(message.contains("Binary"), "{message}");
    still_works(&mut client).await;
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client
        .send_text(r#"{"type":"join","username":"future","avatar":"🦀"}"#)
        .await;
    assert!(matches!(
        client.recv().await,
        ServerFrame::Welcome(chat_shared::Welcome { .. })
    ));
    client
        .send_text(r#"{"type":"message","text":"hi","format":"markdown"}"#)
        .await;
    assert!(matches!(client.recv().await, ServerFrame::Message(_)));
}

#[tokio::test]
async fn frames_over_64_kib_are_closed_with_1009() {
    // A connection the server closes keeps its place for the resume grace
    // period, like any dropped connection: keep it short here.
    let server = TestServer::start_with(Config {
        resume_grace: Duration::from_millis(200),
        ..Config::default()
    })
    .await;
    let mut watcher = server.connect().await;
    watcher.join("watcher").await;
    let mut big = joined(&server, "big", &mut [&mut watcher]).await;
    let oversized = format!(r#"{{"type":"message","text":"{}"}}"#, "a".repeat(64 * 1024));
    // The send may fail once the server has closed its side: either way
    // the server's answer is a close frame with 1009.
    big.try_send_raw(Message::text(oversized)).await;
    let close = big.expect_close().await.expect("close frame with a code");
    assert_eq!(u16::from(close.code), 1009);
    // The others are undisturbed: they see big leave and keep chatting.
    assert!(matches!(watcher.recv().await, ServerFrame::UserLeft { .. }));
    still_works(&mut watcher).await;
}

/// The next frame, which must be an error with `expected`; returns its
/// `client_id` and `retry_after_ms`.
async fn error_fields(client: &mut Client, expected: ErrorCode) -> (Option<String>, Option<u64>) {
    match client.recv().await {
        ServerFrame::Error {
            code,
            message,
            client_id,
            retry_after_ms,
            ..
        } => {
            assert_eq!(code, expected, "message was {message:?}");
            (client_id, retry_after_ms)
        }
        other => panic!("expected error {expected:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_message_names_its_client_id() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client.say_with_id("before joining", "m-0").await;
    let answer = error_fields(&mut client, ErrorCode::NotJoined).await;
    assert_eq!(answer, (Some("m-0".into()), None));
    client.join("alice").await;

    client.say_with_id(" \n ", "m-1").await;
    let answer = error_fields(&mut client, ErrorCode::EmptyMessage).await;
    assert_eq!(answer, (Some("m-1".into()), None));
    let too_long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    client.say_with_id(&too_long, "m-2").await;
    let answer = error_fields(&mut client, ErrorCode::MessageTooLong).await;
    assert_eq!(answer, (Some("m-2".into()), None));
    still_works(&mut client).await;
}

#[tokio::test]
async fn an_error_to_a_frame_without_client_id_names_none() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client.join("alice").await;
    client.say("").await;
    let answer = error_fields(&mut client, ErrorCode::EmptyMessage).await;
    assert_eq!(answer, (None, None));
    client.send(ClientFrame::join("again")).await;
    let answer = error_fields(&mut client, ErrorCode::AlreadyJoined).await;
    assert_eq!(answer, (None, None));
    client.send_text("not json").await;
    let answer = error_fields(&mut client, ErrorCode::BadRequest).await;
    assert_eq!(answer, (None, None));
}

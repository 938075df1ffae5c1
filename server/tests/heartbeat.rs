//! A client that vanishes without a goodbye (a phone losing its network)
//! stops answering pings; the server drops it and the others see it leave.

mod common;

use chat_server::config::Config;
use chat_server::limits::Limits;
use chat_shared::{ClientFrame, ClientLimits, ServerFrame, MAX_MESSAGE_CHARS};
use common::{joined, TestServer, PATIENCE};
use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn fast_heartbeat() -> Config {
    Config {
        limits: Limits {
            ping_interval: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(600),
            ..Limits::default()
        },
        // A dropped connection keeps its place this long before user_left.
        resume_grace: Duration::from_millis(200),
        ..Config::default()
    }
}

#[tokio::test]
async fn a_silent_client_is_dropped_and_the_others_get_user_left() {
    let server = TestServer::start_with(fast_heartbeat()).await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    // bob never reads again, so his client never answers a ping: to the
    // server he looks exactly like a connection whose other end is gone.
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;

    // alice keeps reading (and so answering pings) while she waits.
    assert_eq!(
        alice.recv().await,
        ServerFrame::UserLeft {
            username: "bob".into(),
            count: 1
        }
    );
    // The server closed bob's socket. Reading it now makes his client answer
    // the queued pings into a closed connection, which may fail before the
    // close frame is read; if the frame is read, it says why.
    loop {
        match tokio::time::timeout(PATIENCE, bob.socket.next())
            .await
            .expect("the server ends the connection")
        {
            Some(Ok(Message::Ping(_) | Message::Text(_))) => continue,
            Some(Ok(Message::Close(Some(close)))) => {
                assert_eq!(u16::from(close.code), 1001);
                assert_eq!(close.reason.as_str(), "no answer to pings");
                break;
            }
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            Some(Err(_)) | None => break,
        }
    }
}

#[tokio::test]
async fn a_quiet_client_that_answers_pings_stays() {
    let server = TestServer::start_with(fast_heartbeat()).await;
    let mut alice = server.connect().await;
    alice.join("alice").await;

    // Three idle timeouts of saying nothing, only answering pings.
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(1_800);
    let mut pings = 0;
    let mut heartbeats = 0;
    while let Ok(next) = tokio::time::timeout_at(quiet_until, alice.socket.next()).await {
        match next {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Text(text))) if text.as_str() == r#"{"type":"heartbeat"}"# => {
                heartbeats += 1
            }
            other => panic!("expected only pings and heartbeats, got {other:?}"),
        }
    }
    assert!(pings > 0, "the server pings");
    // A page cannot see pings: it sees one heartbeat frame per ping.
    assert_eq!(heartbeats, pings, "a heartbeat frame with every ping");
    alice.say("still here").await;
    match alice.recv().await {
        ServerFrame::Message(message) => assert_eq!(message.text, "still here"),
        other => panic!("expected our message, got {other:?}"),
    }
}

#[tokio::test]
async fn welcome_tells_how_often_heartbeats_come() {
    let server = TestServer::start_with(fast_heartbeat()).await;
    let mut alice = server.connect().await;
    let welcome = alice.join_with(ClientFrame::join("alice")).await;
    assert_eq!(welcome.heartbeat_ms, Some(100));
}

#[tokio::test]
async fn welcome_announces_the_limits_of_the_running_config() {
    let server = TestServer::start_with(Config {
        limits: Limits {
            message_rate: 7.0,
            message_burst: 3,
            typing_rate: 1.5,
            typing_burst: 4,
            ping_interval: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let mut client = server.connect().await;
    let welcome = client.join_with(ClientFrame::join("alice")).await;
    assert_eq!(welcome.heartbeat_ms, Some(1_000));
    assert_eq!(
        welcome.limits,
        Some(ClientLimits {
            message_rate: 7.0,
            message_burst: 3,
            typing_rate: 1.5,
            typing_burst: 4,
            idle_timeout_ms: 5_000,
            missed_heartbeats: 5,
            history_page: 50,
            max_message_chars: MAX_MESSAGE_CHARS as u32,
        })
    );
}

#[tokio::test]
async fn a_default_server_announces_the_shared_defaults() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    let welcome = client.join_with(ClientFrame::join("alice")).await;
    assert_eq!(welcome.limits, Some(ClientLimits::default()));
}

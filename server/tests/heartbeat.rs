//! A client that vanishes without a goodbye (a phone losing its network)
//! stops answering pings; the server drops it and the others see it leave.
//! And the other way round: a client checking a quiet connection with
//! `ping` is answered at once.

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

/// Reads raw frames until a `heartbeat` text frame, failing if it takes
/// longer than `within`; anything else before it fails the test.
async fn expect_heartbeat_within(client: &mut common::Client, within: Duration, what: &str) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let next = tokio::time::timeout_at(deadline, client.socket.next())
            .await
            .unwrap_or_else(|_| panic!("{what}: no heartbeat within {within:?}"));
        match next {
            Some(Ok(Message::Text(text))) => {
                assert_eq!(
                    ServerFrame::decode(&text),
                    Ok(ServerFrame::Heartbeat),
                    "{what}: the answer to a ping"
                );
                return;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("{what}: expected a heartbeat, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_ping_is_answered_at_once_joined_or_not_without_spending_the_message_budget() {
    // Heartbeats every 20 s, as by default: an answer within a second can
    // only be the answer to the ping. Two frames of budget: the join and
    // one message, refilled far too slowly to matter here.
    let server = TestServer::start_with(Config {
        limits: Limits {
            message_rate: 0.01,
            message_burst: 2,
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let mut alice = server.connect().await;
    let answer = Duration::from_secs(1);
    alice.send(ClientFrame::Ping).await;
    expect_heartbeat_within(&mut alice, answer, "before joining").await;

    let welcome = alice.join_with(ClientFrame::join("alice")).await;
    assert!(welcome.answers_ping, "welcome says pings are answered");
    for round in 0..2 {
        alice.send(ClientFrame::Ping).await;
        expect_heartbeat_within(&mut alice, answer, &format!("joined, ping {round}")).await;
    }
    // The pings left the message budget alone: the one message it still
    // holds goes through.
    alice.say("after the pings").await;
    match alice.recv().await {
        ServerFrame::Message(message) => assert_eq!(message.text, "after the pings"),
        other => panic!("expected our message, got {other:?}"),
    }
}

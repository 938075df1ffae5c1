//! One client flooding the chat is slowed down, told when to retry, and
//! closed if it keeps going; everyone else keeps chatting.

mod common;

use chat_server::config::Config;
use chat_server::limits::Limits;
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::{joined, Client, TestServer, PATIENCE};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

fn with_limits(limits: Limits) -> Config {
    Config {
        limits,
        ..Config::default()
    }
}

/// The wait a `rate_limited` message names ("retry in 200 ms").
fn retry_after(message: &str) -> Duration {
    let millis = message
        .split("retry in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no retry time in {message:?}"));
    Duration::from_millis(millis)
}

/// Reads until a chat message from `author` with `text` arrives, skipping
/// other chat traffic.
async fn expect_message_from(client: &mut Client, author: &str, text: &str) {
    loop {
        if let ServerFrame::Message(message) = client.recv().await {
            if message.username == author && message.text == text {
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited_while_the_others_keep_chatting() {
    let server = TestServer::start().await; // defaults: bursts of 10, 5/s
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;
    let flooder = joined(&server, "flooder", &mut [&mut alice, &mut bob]).await;

    const FLOOD: usize = 200;
    let started = Instant::now();
    let (mut sink, mut stream) = flooder.socket.split();
    let flood = tokio::spawn(async move {
        let frame = ClientFrame::message("spam").encode();
        for _ in 0..FLOOD {
            sink.send(Message::text(frame.clone())).await.expect("send");
        }
        sink
    });
    // While the flood goes on, alice and bob still reach each other.
    for round in 0..5 {
        let text = format!("round {round}");
        alice.say(&text).await;
        expect_message_from(&mut bob, "alice", &text).await;
        bob.say(&text).await;
        expect_message_from(&mut alice, "bob", &text).await;
    }
    let _sink = flood.await.expect("flood task");

    // Every flood frame got exactly one answer: its echo or rate_limited.
    let mut accepted = 0;
    let mut limited = 0;
    while accepted + limited < FLOOD {
        let message = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("an answer to every frame")
            .expect("socket open")
            .expect("valid frame");
        let Message::Text(text) = message else {
            continue;
        };
        match ServerFrame::decode(&text).expect("frame decodes") {
            ServerFrame::Message(message) if message.username == "flooder" => accepted += 1,
            ServerFrame::Error { code, message, .. } => {
                assert_eq!(code, ErrorCode::RateLimited);
                assert!(retry_after(&message) > Duration::ZERO);
                limited += 1;
            }
            _ => {}
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = 10.0 + 5.0 * elapsed;
    // The join took one token of the burst of ten.
    assert!(accepted >= 9, "the burst is allowed: {accepted}");
    assert!(
        accepted as f64 <= allowed + 1.0,
        "{accepted} accepted in {elapsed:.2} s, the limit allows {allowed:.1}"
    );
    assert!(limited > 0);
}

#[tokio::test]
async fn the_retry_time_in_rate_limited_is_enough() {
    let server = TestServer::start_with(with_limits(Limits {
        message_burst: 2,
        message_rate: 4.0,
        ..Limits::default()
    }))
    .await;
    let mut client = server.connect().await;
    client.join("alice").await; // the first of two
    client.say("one").await; // the second
    assert!(matches!(client.recv().await, ServerFrame::Message(_)));
    client.say("too soon").await;
    let wait = match client.recv().await {
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message,
            ..
        } => retry_after(&message),
        other => panic!("expected rate_limited, got {other:?}"),
    };
    assert!(wait <= Duration::from_millis(250), "{wait:?}");
    tokio::time::sleep(wait).await;
    client.say("now").await;
    match client.recv().await {
        ServerFrame::Message(message) => assert_eq!(message.text, "now"),
        other => panic!("after waiting as told the message is accepted, got {other:?}"),
    }
}

#[tokio::test]
async fn typing_over_its_limit_is_dropped_quietly_but_its_end_gets_through() {
    let server = TestServer::start_with(with_limits(Limits {
        typing_rate: 2.0,
        typing_burst: 2,
        ..Limits::default()
    }))
    .await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;
    for _ in 0..5 {
        alice.send(ClientFrame::Typing { is_typing: true }).await;
    }
    alice.send(ClientFrame::Typing { is_typing: false }).await;
    // Typing did not use up alice's message budget, and she got no error
    // about typing: the echo of her message is the next thing she reads.
    alice.say("hi").await;
    match alice.recv().await {
        ServerFrame::Message(message) => assert_eq!(message.text, "hi"),
        other => panic!("expected the echo, got {other:?}"),
    }
    let mut relayed = Vec::new();
    loop {
        match bob.recv().await {
            ServerFrame::Typing { is_typing, .. } => relayed.push(is_typing),
            ServerFrame::Message(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        relayed,
        vec![true, true, false],
        "the burst of two, then the end of typing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sustained_flood_is_closed_with_1008() {
    let server = TestServer::start_with(with_limits(Limits {
        abuse_limit: 20,
        ..Limits::default()
    }))
    .await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut flooder = joined(&server, "flooder", &mut [&mut alice]).await;
    let frame = ClientFrame::message("spam").encode();
    for _ in 0..100 {
        flooder.try_send_raw(Message::text(frame.clone())).await;
    }
    let close = flooder
        .expect_close()
        .await
        .expect("close frame with a code");
    assert_eq!(u16::from(close.code), 1008);
    loop {
        match alice.recv().await {
            ServerFrame::UserLeft { username, .. } => {
                assert_eq!(username, "flooder");
                break;
            }
            ServerFrame::Message(_) => continue, // the flood's allowed burst
            other => panic!("unexpected {other:?}"),
        }
    }
    // Alice is unaffected.
    alice.say("quiet again").await;
    expect_message_from(&mut alice, "alice", "quiet again").await;
}

#[tokio::test]
async fn rate_limited_names_the_wait_in_a_field_and_the_refused_message() {
    let server = TestServer::start_with(with_limits(Limits {
        message_burst: 2,
        message_rate: 4.0,
        ..Limits::default()
    }))
    .await;
    let mut client = server.connect().await;
    client.join("alice").await; // the first of two
    client.say_with_id("one", "c-1").await; // the second
    assert!(matches!(client.recv().await, ServerFrame::Message(_)));
    client.say_with_id("too soon", "c-2").await;
    match client.recv().await {
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message,
            retry_after_ms,
            client_id,
            reason: None,
        } => {
            let told = u64::try_from(retry_after(&message).as_millis()).expect("millis");
            assert_eq!(retry_after_ms, Some(told), "{message}");
            assert_eq!(client_id.as_deref(), Some("c-2"));
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
    // A refused frame that is not a message names no client_id.
    client.send(ClientFrame::ListRooms).await;
    match client.recv().await {
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms,
            client_id,
            ..
        } => {
            assert!(retry_after_ms.is_some());
            assert_eq!(client_id, None);
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
}

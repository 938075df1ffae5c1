//! The chat semantics of the protocol, through a real server and real sockets.

mod common;

use chat_server::Config;
use chat_shared::{ChatMessage, ClientFrame, ServerFrame, PRESENCE_LIST_LIMIT};
use common::{joined, TestServer};
use std::time::Duration;

#[tokio::test]
async fn welcome_lists_everyone_sorted() {
    let server = TestServer::start().await;
    let mut bob = server.connect().await;
    assert_eq!(bob.join("bob").await, vec!["bob"]);
    let mut carol = joined(&server, "Carol", &mut [&mut bob]).await;
    let mut alice = server.connect().await;
    assert_eq!(alice.join("  alice ").await, vec!["alice", "bob", "Carol"]);
    assert!(matches!(bob.recv().await, ServerFrame::UserJoined { .. }));
    assert!(matches!(carol.recv().await, ServerFrame::UserJoined { .. }));
}

#[tokio::test]
async fn join_and_leave_notices_carry_the_name_and_count() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = server.connect().await;
    bob.join("bob").await;
    assert_eq!(
        alice.recv().await,
        ServerFrame::UserJoined {
            username: "bob".into(),
            count: 2
        }
    );
    // The joiner gets its welcome, not a notice about itself.
    bob.expect_silence().await;

    bob.socket.close(None).await.expect("close");
    assert_eq!(
        alice.recv().await,
        ServerFrame::UserLeft {
            username: "bob".into(),
            count: 1
        }
    );
    // The name is free again.
    let mut bob_again = server.connect().await;
    assert_eq!(bob_again.join("bob").await, vec!["alice", "bob"]);
}

#[tokio::test]
async fn a_dropped_connection_leaves_when_its_grace_period_ends() {
    let server = TestServer::start_with(Config {
        resume_grace: Duration::from_millis(300),
        ..Config::default()
    })
    .await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let bob = joined(&server, "bob", &mut [&mut alice]).await;
    drop(bob); // no close frame: the TCP connection just goes away
    assert_eq!(
        alice.recv().await,
        ServerFrame::UserLeft {
            username: "bob".into(),
            count: 1
        }
    );
}

#[tokio::test]
async fn messages_reach_everyone_including_the_sender() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;

    alice.say("  hello\nworld  ").await;
    let for_alice = alice.recv().await;
    let for_bob = bob.recv().await;
    assert_eq!(for_alice, for_bob);
    let ServerFrame::Message(ChatMessage {
        id,
        username,
        text,
        timestamp,
        client_id: None,
        ..
    }) = for_alice
    else {
        panic!("expected a message, got {for_alice:?}");
    };
    assert_eq!(username, "alice");
    assert_eq!(text, "hello\nworld");
    assert_rfc3339_utc_millis(&timestamp);

    bob.say("hi").await;
    let ServerFrame::Message(reply) = alice.recv().await else {
        panic!("expected bob's message");
    };
    assert!(reply.id > id, "ids increase: {} then {}", id, reply.id);
    assert_eq!(reply.username, "bob");
    assert!(matches!(bob.recv().await, ServerFrame::Message(_)));
}

fn assert_rfc3339_utc_millis(timestamp: &str) {
    // 2026-11-25T21:00:00.123Z
    let bytes = timestamp.as_bytes();
    assert_eq!(bytes.len(), 24, "{timestamp}");
    assert_eq!(&timestamp[4..5], "-");
    assert_eq!(&timestamp[10..11], "T");
    assert_eq!(&timestamp[19..20], ".");
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    assert!(timestamp.starts_with("20"), "{timestamp}");
}

#[tokio::test]
async fn typing_goes_to_the_others_and_is_never_echoed() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;
    let mut carol = joined(&server, "carol", &mut [&mut alice, &mut bob]).await;

    alice.send(ClientFrame::Typing { is_typing: true }).await;
    for other in [&mut bob, &mut carol] {
        assert_eq!(
            other.recv().await,
            ServerFrame::Typing {
                username: "alice".into(),
                is_typing: true
            }
        );
    }
    alice.send(ClientFrame::Typing { is_typing: false }).await;
    assert_eq!(
        bob.recv().await,
        ServerFrame::Typing {
            username: "alice".into(),
            is_typing: false
        }
    );
    alice.expect_silence().await;
}

#[tokio::test]
async fn two_hundred_clients_all_receive_one_message() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for n in 0..200 {
        let mut client = server.connect().await;
        client.join(&format!("user{n:03}")).await;
        clients.push(client);
    }
    // Everyone has been told by name about those who joined after them
    // while the room was small; past the list limit, only counts follow.
    for (n, client) in clients.iter_mut().enumerate() {
        for _ in n + 1..PRESENCE_LIST_LIMIT {
            assert!(matches!(
                client.recv().await,
                ServerFrame::UserJoined { .. }
            ));
        }
    }
    clients[0].say("hello, everyone").await;
    for client in &mut clients {
        loop {
            match client.recv().await {
                ServerFrame::Online { count } => assert!(count as usize > PRESENCE_LIST_LIMIT),
                ServerFrame::Message(message) => {
                    assert_eq!(message.text, "hello, everyone");
                    assert_eq!(message.username, "user000");
                    break;
                }
                other => panic!("expected the message, got {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn server_stops_cleanly_and_says_going_away() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    alice.say("before shutdown").await;
    assert!(matches!(alice.recv().await, ServerFrame::Message(_)));
    let stopping = tokio::spawn(server.stop());
    let close = alice
        .expect_close()
        .await
        .expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1001);
    stopping.await.expect("stop task").expect("run returns Ok");
}

//! Invite-only access, through a real server and, for rotation, the real
//! binary's `rotate-join-code` on the same database file: a join without
//! the code in force is refused with `forbidden` on a socket that stays
//! usable; a rotation refuses the old code, admits the new one, and does
//! not throw out anyone already inside, even across a reconnect within the
//! grace period. On an invite-only chat a connection without the code
//! learns nothing (not even the rooms), wrong codes are slowed per
//! address, and a code too short to keep anyone out is refused at start.

mod common;

use chat_server::Config;
use chat_shared::{is_valid_join_code, ClientFrame, ErrorCode, ForbiddenReason, ServerFrame};
use common::{temp_db, Client, TestServer};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use tokio::net::TcpSocket;
use tokio_tungstenite::MaybeTlsStream;

fn join(name: &str, join_code: Option<&str>, resume: Option<&str>) -> ClientFrame {
    ClientFrame::Join {
        username: name.into(),
        room: None,
        since: None,
        resume: resume.map(Into::into),
        join_code: join_code.map(Into::into),
        author_key: None,
        link_code: None,
        device: None,
    }
}

async fn expect_forbidden(client: &mut Client, frame: ClientFrame) {
    client.send(frame).await;
    match client.recv().await {
        ServerFrame::Error {
            code,
            message,
            reason,
            ..
        } => {
            assert_eq!(code, ErrorCode::Forbidden);
            assert_eq!(message, ErrorCode::Forbidden.default_message());
            assert_eq!(reason, Some(ForbiddenReason::JoinCode));
        }
        other => panic!("expected forbidden, got {other:?}"),
    }
}

/// Runs the real binary's `rotate-join-code ARGS` on `db` and returns its
/// standard output.
async fn rotate(db: &Path, args: &[&str]) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .arg("rotate-join-code")
        .args(args)
        .env("CHAT_DB", db)
        .env("CHAT_LOG", "warn")
        .output()
        .await
        .expect("run chat-server");
    assert!(
        output.status.success(),
        "rotate-join-code failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[tokio::test]
async fn only_the_code_in_force_lets_a_join_in_and_a_refusal_keeps_the_socket() {
    let server = TestServer::start_with(Config {
        join_code: Some("the-right-code".into()),
        ..Config::default()
    })
    .await;
    let mut client = server.connect().await;
    expect_forbidden(&mut client, ClientFrame::join("alice")).await;
    expect_forbidden(&mut client, join("alice", Some("the-wrong-code"), None)).await;
    // A made-up resume token is no way around the code.
    expect_forbidden(&mut client, join("alice", None, Some("0123456789abcdef"))).await;
    let welcome = client
        .join_with(join("alice", Some("the-right-code"), None))
        .await;
    assert_eq!(welcome.username, "alice");
    client.say("inside").await;
    assert_eq!(client.recv_message().await.text, "inside");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_rotation_refuses_the_old_code_but_keeps_everyone_inside() {
    let db = temp_db("rotation.db");
    let server = TestServer::start_with(Config {
        db: db.clone(),
        join_code: Some("first-code".into()),
        ..Config::default()
    })
    .await;
    let mut alice = server.connect().await;
    let welcome = alice
        .join_with(join("alice", Some("first-code"), None))
        .await;
    let mut dana = server.connect().await;
    let dana_token = dana
        .join_with(join("dana", Some("first-code"), None))
        .await
        .resume;
    assert!(matches!(alice.recv().await, ServerFrame::UserJoined { .. }));

    let printed = rotate(&db, &[]).await;
    let new_code = printed
        .trim()
        .strip_prefix("/#/join/")
        .unwrap_or_else(|| panic!("an invitation path, got {printed:?}"))
        .to_owned();
    assert!(new_code.len() >= 20, "a long code, got {new_code:?}");
    assert!(is_valid_join_code(&new_code));

    let mut bob = server.connect().await;
    expect_forbidden(&mut bob, join("bob", Some("first-code"), None)).await;
    bob.join_with(join("bob", Some(&new_code), None)).await;
    assert!(matches!(alice.recv().await, ServerFrame::UserJoined { .. }));

    // Alice, inside since before the rotation, still posts and is heard.
    alice.say("still here").await;
    assert_eq!(alice.recv_message().await.text, "still here");
    assert_eq!(bob.recv_message().await.text, "still here");

    // Dana's connection drops; her page reconnects with the old code and
    // her resume token within the grace period, and is let back in.
    drop(dana);
    let mut dana = server.connect().await;
    let resumed = dana
        .join_with(join("dana", Some("first-code"), Some(&dana_token)))
        .await;
    assert_eq!(resumed.username, "dana");

    // Alice's token is no pass for a name it does not hold.
    let mut eve = server.connect().await;
    expect_forbidden(
        &mut eve,
        join("eve", Some("first-code"), Some(&welcome.resume)),
    )
    .await;
    server.stop().await.expect("clean stop");
    let _ = std::fs::remove_file(&db);
}

#[tokio::test]
async fn rotate_off_opens_the_chat_again() {
    let db = temp_db("off.db");
    let server = TestServer::start_with(Config {
        db: db.clone(),
        join_code: Some("some-code".into()),
        ..Config::default()
    })
    .await;
    let mut client = server.connect().await;
    expect_forbidden(&mut client, ClientFrame::join("alice")).await;
    rotate(&db, &["--off"]).await;
    client.join("alice").await;
    server.stop().await.expect("clean stop");
    let _ = std::fs::remove_file(&db);
}

#[tokio::test]
async fn without_a_code_the_chat_is_open() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    // A code sent to an open chat is ignored, as an old link would be.
    client
        .join_with(join("alice", Some("stale-code"), None))
        .await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_room_list_is_only_for_those_who_joined_with_the_code() {
    let server = TestServer::start_with(Config {
        join_code: Some("the-right-code".into()),
        ..Config::default()
    })
    .await;
    let mut client = server.connect().await;
    expect_forbidden(&mut client, ClientFrame::ListRooms).await;
    expect_forbidden(&mut client, join("alice", Some("a-wrong-code"), None)).await;
    expect_forbidden(&mut client, ClientFrame::ListRooms).await;
    client
        .join_with(join("alice", Some("the-right-code"), None))
        .await;
    client.send(ClientFrame::ListRooms).await;
    assert!(matches!(client.recv().await, ServerFrame::Rooms { .. }));
    server.stop().await.expect("clean stop");
}

/// A client whose connection comes from `local`, another loopback
/// address than the usual 127.0.0.1.
async fn connect_from(local: IpAddr, server: SocketAddr) -> Client {
    let tcp = TcpSocket::new_v4().expect("socket");
    tcp.bind(SocketAddr::new(local, 0)).expect("bind");
    let stream = tcp.connect(server).await.expect("connect");
    let url = format!("ws://{server}/ws");
    let (socket, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
        .await
        .expect("websocket handshake");
    Client { socket }
}

#[tokio::test]
async fn wrong_codes_are_slowed_per_address_and_the_right_code_from_elsewhere_works() {
    // Each node keeps its own budget; loopback is held to it only with
    // --limit-loopback.
    let server = TestServer::start_one_node(Config {
        join_code: Some("the-right-code".into()),
        limits: chat_server::limits::Limits {
            limit_loopback: true,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let mut guesser = server.connect().await;
    for guess in 0..10 {
        let code = format!("wrong-code-{guess}");
        expect_forbidden(&mut guesser, join("guesser", Some(&code), None)).await;
    }
    // From the same address, on another connection too, and even with
    // the right code: wait.
    let mut again = server.connect().await;
    for (client, code) in [
        (&mut guesser, "wrong-code-10"),
        (&mut again, "the-right-code"),
    ] {
        client.send(join("guesser", Some(code), None)).await;
        match client.recv().await {
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                retry_after_ms: Some(wait),
                message,
                ..
            } => {
                assert!((1..=6_000).contains(&wait), "{wait} ms");
                assert!(
                    message.contains(&format!("retry in {wait} ms")),
                    "{message}"
                );
            }
            other => panic!("expected rate_limited, got {other:?}"),
        }
    }
    // Another address is not slowed by the guesser.
    let mut friend = connect_from(IpAddr::from([127, 0, 0, 2]), server.addr).await;
    let welcome = friend
        .join_with(join("friend", Some("the-right-code"), None))
        .await;
    assert_eq!(welcome.username, "friend");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_short_join_code_is_refused_at_start_naming_the_option() {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--db",
            ":memory:",
            "--join-code",
            "1234567",
        ])
        .env("CHAT_LOG", "warn")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(common::PATIENCE, run)
        .await
        .expect("the server refuses to start rather than running")
        .expect("run chat-server");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--join-code"), "{stderr}");
    assert!(stderr.contains('8'), "names the shortest length: {stderr}");
}

//! How rooms come and go, through a real server: a refused join leaves no
//! room behind (nor uses up `--max-rooms`); a room that never held a
//! message is forgotten when its last member leaves; one address cannot
//! create rooms without end; and a room's lock and topic come back on
//! every start, on SQLite and on PostgreSQL, however the room was created.

mod common;

use chat_server::config::Database;
use chat_server::Config;
use chat_shared::{ClientFrame, ErrorCode, ForbiddenReason, RoomInfo, ServerFrame};
use common::{cluster_setup, temp_db, unthrottled, Client, TestServer, PATIENCE};
use std::path::PathBuf;
use tokio::time::Instant;

const CODE: &str = "the-invitation-code";
const TOKEN: &str = "the-moderator-token-for-tests";

fn join_to(name: &str, room: &str, code: Option<&str>) -> ClientFrame {
    ClientFrame::Join {
        username: name.into(),
        room: Some(room.into()),
        since: None,
        resume: None,
        join_code: code.map(Into::into),
        author_key: None,
        link_code: None,
        device: None,
    }
}

async fn expect_error(client: &mut Client, code: ErrorCode) -> Option<u64> {
    match client.recv().await {
        ServerFrame::Error {
            code: got,
            retry_after_ms,
            ..
        } if got == code => retry_after_ms,
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

async fn room_names(client: &mut Client) -> Vec<String> {
    client.send(ClientFrame::ListRooms).await;
    loop {
        match client.recv().await {
            ServerFrame::Rooms { rooms } => {
                return rooms
                    .into_iter()
                    .map(|RoomInfo { name, .. }| name)
                    .collect()
            }
            // Others coming and going while the list is on its way.
            ServerFrame::UserJoined { .. } | ServerFrame::UserLeft { .. } => continue,
            other => panic!("expected rooms, got {other:?}"),
        }
    }
}

/// Asks for the room list until it is `expected`: on a cluster, a
/// departure reaches the other node a moment later.
async fn until_rooms_are(client: &mut Client, expected: &[&str]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let names = room_names(client).await;
        if names == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "rooms stayed {names:?}, expected {expected:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Leaves on purpose (a normal close): the user is gone at once, with no
/// grace period for a reconnect.
async fn leave(mut client: Client) {
    client.leave().await;
}

#[tokio::test]
async fn a_refused_join_creates_no_room_and_uses_none_of_the_limit() {
    let server = TestServer::start_with(Config {
        join_code: Some(CODE.into()),
        max_rooms: 2,
        ..Config::default()
    })
    .await;
    let mut alice = server.connect().await;
    alice
        .join_with(join_to("alice", "general", Some(CODE)))
        .await;
    let mut mallory = server.connect().await;
    mallory.send(join_to("mallory", "no-code", None)).await;
    mallory.expect_forbidden(ForbiddenReason::JoinCode).await;
    mallory
        .send(join_to("mallory", "wrong-code", Some("not-the-code")))
        .await;
    mallory.expect_forbidden(ForbiddenReason::JoinCode).await;
    mallory.send(join_to("", "bad-name", Some(CODE))).await;
    expect_error(&mut mallory, ErrorCode::InvalidUsername).await;
    mallory.send(join_to("alice", "taken", Some(CODE))).await;
    expect_error(&mut mallory, ErrorCode::NameTaken).await;
    // None of those used up the second room.
    mallory
        .join_with(join_to("mallory", "real", Some(CODE)))
        .await;
    assert_eq!(room_names(&mut alice).await, ["general", "real"]);
    assert_eq!(room_names(&mut mallory).await, ["general", "real"]);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_room_that_never_held_a_message_is_forgotten_when_its_last_member_leaves() {
    // The watcher asks for the list often.
    let server = TestServer::start_with(Config {
        max_rooms: 3,
        ..unthrottled()
    })
    .await;
    let mut watcher = server.connect().await;
    watcher.join("watcher").await;
    // More rooms than the limit, one after the other: each is forgotten
    // when its only member leaves, so the limit is never reached.
    for round in 0..5 {
        let mut visitor = server.connect().await;
        let room = format!("scratch-{round}");
        visitor
            .join_with(join_to(&format!("visitor-{round}"), &room, None))
            .await;
        until_rooms_are(&mut watcher, &["general", &room]).await;
        leave(visitor).await;
        until_rooms_are(&mut watcher, &["general"]).await;
    }
    // A room that held a message stays.
    let mut poster = server.connect().await;
    poster.join_with(join_to("poster", "chatty", None)).await;
    poster.say("hello").await;
    poster.recv_message().await;
    leave(poster).await;
    until_rooms_are(&mut watcher, &["chatty", "general"]).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn one_address_creates_rooms_only_so_fast() {
    // Each node keeps its own budget; loopback is held to it only with
    // --limit-loopback.
    let server = TestServer::start_one_node(Config {
        limits: chat_server::limits::Limits {
            limit_loopback: true,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let mut creators = Vec::new();
    for n in 0..10 {
        let mut creator = server.connect().await;
        creator
            .join_with(join_to(&format!("creator-{n}"), &format!("room-{n}"), None))
            .await;
        creators.push(creator);
    }
    let mut eager = server.connect().await;
    eager.send(join_to("eager", "room-10", None)).await;
    let wait = expect_error(&mut eager, ErrorCode::RateLimited)
        .await
        .expect("says how long to wait");
    assert!((1..=60_000).contains(&wait), "{wait} ms");
    // Rooms that exist are open to it.
    eager.join_with(join_to("eager", "room-3", None)).await;
    server.stop().await.expect("clean stop");
}

/// Where a server keeps what lasts, the same on every start: an SQLite
/// file on a single node, a PostgreSQL database in the cluster setup.
fn lasting_store(name: &str) -> (Config, Option<PathBuf>) {
    let moderated = Config {
        join_code: Some(CODE.into()),
        admin_token: Some(TOKEN.into()),
        ..Config::default()
    };
    if cluster_setup() {
        let url = chat_engines::shared_postgres()
            .create_database()
            .expect("a fresh PostgreSQL database");
        let config = Config {
            database: Some(Database::Postgres(url)),
            ..moderated
        };
        return (config, None);
    }
    let path = temp_db(name);
    let config = Config {
        db: path.clone(),
        ..moderated
    };
    (config, Some(path))
}

#[tokio::test]
async fn a_locked_room_stays_locked_after_a_restart_however_it_was_created() {
    let (config, file) = lasting_store("locked.db");
    let server = TestServer::start_with(config.clone()).await;
    // Someone without the code tries the room first: before, that made
    // the room in memory, and the real first join never stored it.
    let mut intruder = server.connect().await;
    intruder.send(join_to("intruder", "vault", None)).await;
    intruder.expect_forbidden(ForbiddenReason::JoinCode).await;
    let mut moderator = server.connect().await;
    moderator
        .join_with(join_to("moderator", "vault", Some(CODE)))
        .await;
    moderator
        .send(ClientFrame::BecomeModerator {
            token: TOKEN.into(),
        })
        .await;
    assert!(matches!(moderator.recv().await, ServerFrame::Moderator));
    moderator.send(ClientFrame::LockRoom { locked: true }).await;
    assert!(matches!(
        moderator.recv().await,
        ServerFrame::RoomLocked { locked: true, .. }
    ));
    moderator
        .send(ClientFrame::SetTopic {
            topic: "read only".into(),
        })
        .await;
    assert!(matches!(moderator.recv().await, ServerFrame::Topic { .. }));
    drop((intruder, moderator));
    server.stop().await.expect("clean stop");

    for start in 0..2 {
        let server = TestServer::start_with(config.clone()).await;
        let mut bob = server.connect().await;
        let welcome = bob.join_with(join_to("bob", "vault", Some(CODE))).await;
        assert!(welcome.locked, "start {start}: locked");
        assert_eq!(welcome.topic.as_deref(), Some("read only"));
        bob.send(ClientFrame::message("let me write")).await;
        bob.expect_forbidden(ForbiddenReason::RoomLocked).await;
        assert!(room_names(&mut bob).await.contains(&"vault".to_owned()));
        drop(bob);
        server.stop().await.expect("clean stop");
    }
    if let Some(file) = file {
        let _ = std::fs::remove_file(file);
    }
}

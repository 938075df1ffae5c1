//! History, reconnects that lose and double nothing, resume, presence and
//! rooms: through real sockets and a real database file.

mod common;

use chat_server::Config;
use chat_shared::{ChatMessage, ClientFrame, ErrorCode, RoomInfo, ServerFrame, MAX_MESSAGE_CHARS};
use common::process::{self, ServerProcess};
use common::{join_frame, temp_db, unthrottled, TestServer, PATIENCE};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A server keeping its history in a fresh database file.
async fn server_with_db(name: &str) -> TestServer {
    TestServer::start_with(Config {
        db: temp_db(&format!("{name}.db")),
        ..unthrottled()
    })
    .await
}

/// Starts the real binary on an ephemeral port, on `db`.
fn spawn_binary(db: &Path) -> ServerProcess {
    let mut command = process::command();
    command
        .args([
            "--static-dir",
            "/nonexistent",
            // The test streams messages as fast as it can on purpose.
            "--message-rate",
            "1000000",
            "--message-burst",
            "1000000",
            // Everything the killed server stored must come back in one
            // replay, by count and by bytes (a quarter of the outbox).
            "--replay-limit",
            "100000",
            "--outbox-bytes",
            "67108864",
            "--db",
        ])
        .arg(db)
        .env("CHAT_LOG", "warn");
    ServerProcess::start(command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_confirmed_message() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let db = temp_db("sigkill.db");
    let mut server = spawn_binary(&db);
    let mut client = server.connect().await;
    client.join("writer").await;
    let (mut sink, mut stream) = client.socket.split();
    // Stream messages as fast as the socket takes them...
    let sender = tokio::spawn(async move {
        for n in 0..5_000 {
            let frame = ClientFrame::message(format!("message {n}")).encode();
            if sink.send(Message::text(frame)).await.is_err() {
                break;
            }
        }
    });
    // ...note every confirmation, and kill the server in the middle.
    let mut confirmed: Vec<ChatMessage> = Vec::new();
    while confirmed.len() < 300 {
        let next = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("confirmations keep coming")
            .expect("socket open")
            .expect("valid frame");
        let Message::Text(text) = next else { continue };
        if let Ok(ServerFrame::Message(message)) = ServerFrame::decode(&text) {
            confirmed.push(message);
        }
    }
    server.kill();
    // Whatever else arrived before the socket died was confirmed too.
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(2), stream.next()).await
    {
        if let Message::Text(text) = message {
            if let Ok(ServerFrame::Message(message)) = ServerFrame::decode(&text) {
                confirmed.push(message);
            }
        }
    }
    sender.abort();

    let server = spawn_binary(&db);
    let mut reader = server.connect().await;
    let welcome = reader
        .join_with(join_frame("reader", None, Some(0), None))
        .await;
    let stored = welcome.history;
    assert!(!welcome.history_gap, "fewer messages than the replay limit");
    assert!(
        stored.windows(2).all(|w| w[0].id < w[1].id),
        "stored in order"
    );
    for message in &confirmed {
        let copies = stored.iter().filter(|m| m.id == message.id).count();
        assert_eq!(copies, 1, "confirmed message {} stored once", message.id);
        let stored_copy = stored.iter().find(|m| m.id == message.id).expect("present");
        assert_eq!(stored_copy, message);
    }
    let mut texts: Vec<&str> = stored.iter().map(|m| m.text.as_str()).collect();
    let all = texts.len();
    texts.dedup();
    assert_eq!(texts.len(), all, "no message stored twice");
}

#[tokio::test]
async fn a_reconnect_with_since_gets_exactly_what_it_missed_then_live() {
    let server = server_with_db("since").await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = server.connect().await;
    let welcome = bob.join_with(join_frame("bob", None, None, None)).await;
    alice.recv().await; // bob joined
    alice.say("before").await;
    let last_seen = bob.recv_message().await.id;
    alice.recv_message().await;

    drop(bob); // the connection drops; bob keeps his place for the grace period
    let mut sent = Vec::new();
    for n in 0..100 {
        alice.say(&format!("missed {n}")).await;
        sent.push(alice.recv_message().await);
    }
    let mut bob = server.connect().await;
    let again = bob
        .join_with(join_frame(
            "bob",
            None,
            Some(last_seen),
            Some(&welcome.resume),
        ))
        .await;
    assert_eq!(again.history, sent, "exactly the 100 missed, in order");
    assert!(!again.history_gap);
    alice.expect_silence().await; // no left-and-joined flicker

    alice.say("live").await;
    let live = bob.recv_message().await;
    assert_eq!(live.text, "live");
    assert!(live.id > sent[99].id);
    bob.expect_silence().await;
}

#[tokio::test]
async fn a_resent_message_is_stored_and_shown_once() {
    let server = server_with_db("resend").await;
    let mut alice = server.connect().await;
    alice.join("alice").await;
    let mut bob = server.connect().await;
    let welcome = bob.join_with(join_frame("bob", None, None, None)).await;
    alice.recv().await;

    let frame = ClientFrame::Message {
        text: "only once".into(),
        client_id: Some("6f1d2c3b-0000-4000-8000-000000000001".into()),
        reply_to: None,
        attachments: Vec::new(),
    };
    // The first send may or may not be committed before the drop: bob
    // cannot know, so after reconnecting he sends it again.
    bob.send(frame.clone()).await;
    drop(bob);
    let mut bob = server.connect().await;
    bob.join_with(join_frame("bob", None, None, Some(&welcome.resume)))
        .await;
    bob.send(frame.clone()).await;
    let confirmation = bob.recv_message().await;
    assert_eq!(confirmation.text, "only once");
    assert_eq!(
        confirmation.client_id.as_deref(),
        Some("6f1d2c3b-0000-4000-8000-000000000001")
    );
    // And once more after the confirmation: still the same message.
    bob.send(frame).await;
    assert_eq!(bob.recv_message().await, confirmation);

    let seen_by_alice = alice.recv_message().await;
    assert_eq!(seen_by_alice, confirmation);
    alice.expect_silence().await;
}

#[tokio::test]
async fn a_resume_token_keeps_the_name_through_the_grace_period() {
    let server = TestServer::start_with(Config {
        resume_grace: Duration::from_millis(800),
        ..unthrottled()
    })
    .await;
    let mut watcher = server.connect().await;
    watcher.join("watcher").await;
    let mut alice = server.connect().await;
    let welcome = alice.join_with(join_frame("alice", None, None, None)).await;
    watcher.recv().await;
    assert_eq!(welcome.resume.len(), 32, "a 128-bit token");

    drop(alice);
    let mut stranger = server.connect().await;
    stranger.send(ClientFrame::join("alice")).await;
    match stranger.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::NameTaken),
        other => panic!("expected name_taken, got {other:?}"),
    }
    stranger
        .send(join_frame("ALICE", None, None, Some("not-the-token")))
        .await;
    match stranger.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::NameTaken),
        other => panic!("expected name_taken, got {other:?}"),
    }

    let mut alice = server.connect().await;
    let resumed = alice
        .join_with(join_frame("alice", None, None, Some(&welcome.resume)))
        .await;
    assert_eq!(resumed.username, "alice");
    assert_eq!(resumed.resume, welcome.resume);
    watcher.expect_silence().await;

    drop(alice);
    assert_eq!(
        watcher.recv().await,
        ServerFrame::UserLeft {
            username: "alice".into(),
            count: 1
        }
    );
    // Now the name is free for anyone.
    let taken = stranger.join_with(ClientFrame::join("alice")).await;
    assert_ne!(taken.resume, welcome.resume);
}

#[tokio::test]
async fn two_tabs_of_one_user_are_listed_once() {
    let server = TestServer::start().await;
    let mut bob = server.connect().await;
    bob.join("bob").await;
    let mut first_tab = server.connect().await;
    let welcome = first_tab.join_with(ClientFrame::join("alice")).await;
    bob.recv().await;
    let mut second_tab = server.connect().await;
    let second = second_tab
        .join_with(join_frame("alice", None, None, Some(&welcome.resume)))
        .await;
    assert_eq!(second.users, ["alice", "bob"]);
    bob.expect_silence().await;

    // Both tabs see what is said, including by the other tab.
    first_tab.say("from tab one").await;
    assert_eq!(second_tab.recv_message().await.text, "from tab one");
    assert_eq!(first_tab.recv_message().await.text, "from tab one");
    assert_eq!(bob.recv_message().await.text, "from tab one");

    first_tab.socket.close(None).await.expect("close");
    bob.expect_silence().await;
    second_tab.socket.close(None).await.expect("close");
    assert_eq!(
        bob.recv().await,
        ServerFrame::UserLeft {
            username: "alice".into(),
            count: 1
        }
    );
}

#[tokio::test]
async fn rooms_keep_their_own_people_messages_typing_and_history() {
    let server = server_with_db("rooms").await;
    let mut general = server.connect().await;
    let welcome = general.join_with(ClientFrame::join("gina")).await;
    assert_eq!(welcome.room, "general");
    let mut rust = server.connect().await;
    let welcome = rust
        .join_with(join_frame("rustacean", Some(" #Rust "), None, None))
        .await;
    assert_eq!(welcome.room, "rust");
    assert_eq!(welcome.users, ["rustacean"]);
    general.expect_silence().await;

    rust.say("borrow checker").await;
    rust.send(ClientFrame::Typing { is_typing: true }).await;
    assert_eq!(rust.recv_message().await.text, "borrow checker");
    general.say("hello").await;
    assert_eq!(general.recv_message().await.text, "hello");
    general.expect_silence().await;
    rust.expect_silence().await;

    let mut late = server.connect().await;
    let welcome = late
        .join_with(join_frame("late", Some("rust"), None, None))
        .await;
    let texts: Vec<&str> = welcome.history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["borrow checker"]);

    late.send(ClientFrame::ListRooms).await;
    match late.recv().await {
        ServerFrame::Rooms { rooms } => assert_eq!(
            rooms,
            [
                RoomInfo {
                    name: "general".into(),
                    online: 1,
                    ..RoomInfo::default()
                },
                RoomInfo {
                    name: "rust".into(),
                    online: 2,
                    ..RoomInfo::default()
                }
            ]
        ),
        other => panic!("expected rooms, got {other:?}"),
    }

    let mut bad = server.connect().await;
    bad.send(join_frame("bad", Some("no spaces"), None, None))
        .await;
    match bad.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::InvalidRoom),
        other => panic!("expected invalid_room, got {other:?}"),
    }
    bad.join("bad").await;
}

#[tokio::test]
async fn history_pages_go_back_to_the_first_message() {
    let server = server_with_db("paging").await;
    let mut writer = server.connect().await;
    writer.join("writer").await;
    let mut all = Vec::new();
    for n in 0..130 {
        writer.say(&format!("m{n}")).await;
        all.push(writer.recv_message().await);
    }
    // A plain join gets the latest 100 with its welcome.
    let mut reader = server.connect().await;
    let welcome = reader.join_with(ClientFrame::join("reader")).await;
    assert_eq!(welcome.history, all[30..]);
    reader
        .send(ClientFrame::History {
            before: Some(all[30].id),
            limit: Some(20),
            around: None,
        })
        .await;
    match reader.recv().await {
        ServerFrame::History {
            room,
            messages,
            has_more,
            ..
        } => {
            assert_eq!(room, "general");
            assert_eq!(messages, all[10..30]);
            assert!(has_more);
        }
        other => panic!("expected history, got {other:?}"),
    }
    reader
        .send(ClientFrame::History {
            before: Some(all[10].id),
            limit: Some(50),
            around: None,
        })
        .await;
    match reader.recv().await {
        ServerFrame::History {
            messages, has_more, ..
        } => {
            assert_eq!(messages, all[..10]);
            assert!(!has_more);
        }
        other => panic!("expected history, got {other:?}"),
    }
}

#[tokio::test]
async fn history_survives_a_restart() {
    let db = temp_db("restart.db");
    let config = || Config {
        db: db.clone(),
        ..unthrottled()
    };
    let server = TestServer::start_with(config()).await;
    let mut alice = server.connect().await;
    alice
        .join_with(join_frame("alice", Some("keep"), None, None))
        .await;
    alice.say("remember me").await;
    let said = alice.recv_message().await;
    server.stop().await.expect("clean stop");

    let server = TestServer::start_with(config()).await;
    let mut bob = server.connect().await;
    bob.send(ClientFrame::ListRooms).await;
    match bob.recv().await {
        ServerFrame::Rooms { rooms } => {
            assert!(rooms
                .iter()
                .any(|room| room.name == "keep" && room.online == 0));
        }
        other => panic!("expected rooms, got {other:?}"),
    }
    let welcome = bob
        .join_with(join_frame("bob", Some("keep"), None, None))
        .await;
    assert_eq!(welcome.history, [said]);
}

#[tokio::test]
async fn a_welcome_with_a_long_history_arrives_whole() {
    // Outboxes large enough that the welcome's history is not cut to
    // its byte budget (a quarter of them): this is about one large frame.
    let server = TestServer::start_with(Config {
        db: temp_db("long-history.db"),
        outbox_bytes: 2 * 1024 * 1024,
        ..unthrottled()
    })
    .await;
    let mut writer = server.connect().await;
    writer.join("writer").await;
    // 100 of the longest messages make a welcome of about 400 KB.
    let longest = "ж".repeat(MAX_MESSAGE_CHARS);
    for _ in 0..100 {
        writer.say(&longest).await;
        writer.recv_message().await;
    }
    let mut reader = server.connect().await;
    let welcome = reader.join_with(ClientFrame::join("reader")).await;
    assert_eq!(welcome.history.len(), 100);
    assert!(welcome.history.iter().all(|m| m.text == longest));
}

/// Whether `needle` occurs anywhere in the file's raw bytes (a missing
/// file holds nothing).
fn file_holds(path: &std::path::Path, needle: &[u8]) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.windows(needle.len()).any(|window| window == needle)
}

/// A deleted text is gone from the bytes of the database file and of its
/// WAL, not only from the rows, as soon as the deletion is seen: a short
/// message, a long one (kept in overflow pages), an edit of it and the
/// quote of a reply to it.
#[tokio::test]
async fn a_deleted_text_is_gone_from_the_database_file_and_its_wal() {
    let db = temp_db("secure-delete.db");
    let server = TestServer::start_with(Config {
        db: db.clone(),
        ..unthrottled()
    })
    .await;
    let mut alice = server.connect().await;
    alice
        .join_with(ClientFrame::Join {
            username: "alice".into(),
            room: None,
            since: None,
            resume: None,
            join_code: None,
            author_key: Some("alice-key-0123456789abcdef".into()),
            link_code: None,
            device: None,
        })
        .await;
    let marker = format!("secret-marker-{}", std::process::id());
    alice.say(&format!("short {marker}")).await;
    let short = alice.recv_message().await;
    // Three bytes a character: past what one page keeps, so its end (and
    // the marker there) lands in an overflow page.
    let filler = "€".repeat(MAX_MESSAGE_CHARS - 2 * marker.len() - 2);
    let long_text = format!("{marker} {filler} {marker}");
    alice.say(&long_text).await;
    let long = alice.recv_message().await;
    alice
        .send(ClientFrame::Edit {
            id: short.id,
            text: format!("edited {marker}"),
            client_id: None,
        })
        .await;
    assert!(matches!(alice.recv().await, ServerFrame::MessageEdited(_)));
    alice
        .send(ClientFrame::Message {
            text: "a reply".into(),
            client_id: None,
            reply_to: Some(short.id),
            attachments: Vec::new(),
        })
        .await;
    alice.recv_message().await;
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    assert!(
        file_holds(&db, marker.as_bytes()) || file_holds(&wal, marker.as_bytes()),
        "the test looks in the right files"
    );
    for id in [short.id, long.id] {
        alice
            .send(ClientFrame::Delete {
                id,
                client_id: None,
            })
            .await;
        assert!(matches!(alice.recv().await, ServerFrame::MessageDeleted(_)));
    }
    for file in [&db, &wal] {
        assert!(
            !file_holds(file, marker.as_bytes()),
            "{} still holds the deleted text",
            file.display()
        );
    }
    server.stop().await.expect("clean stop");
    assert!(!file_holds(&db, marker.as_bytes()), "nor after the stop");
}

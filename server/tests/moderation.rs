//! Moderation over real sockets against a real server: the token (wrong
//! ones refused and slowed down), deleting any message (gone live, from
//! history pages, and replayed once to a client that was away), bans that
//! hold across names from one address and end on time, locked rooms,
//! topics, the moderation log, and what survives a restart. The right
//! token works even while someone at the same address guesses wrong, and a
//! ban reaches the addresses its name used lately, not only open ones. The last test
//! runs the real binary: a token generated on first start is printed once,
//! works, and is not in the database file.

mod common;

use chat_server::Config;
use chat_shared::{
    AuditAction, Change, ChatMessage, ClientFrame, Deletion, ErrorCode, ForbiddenReason,
    ServerFrame,
};
use common::process::{self, ServerProcess};
use common::{joined, temp_db, Client, TestServer};
use std::time::{Duration, Instant};

const TOKEN: &str = "the-moderator-token-for-tests";

fn moderated() -> Config {
    Config {
        admin_token: Some(TOKEN.into()),
        ..Config::default()
    }
}

/// Presents the token and waits for the answer.
async fn become_moderator(client: &mut Client) {
    client
        .send(ClientFrame::BecomeModerator {
            token: TOKEN.into(),
        })
        .await;
    match client.recv().await {
        ServerFrame::Moderator => {}
        other => panic!("expected moderator, got {other:?}"),
    }
}

/// A joined moderator, the first in the room.
async fn moderator(server: &TestServer, name: &str) -> Client {
    let mut client = server.connect().await;
    client.join(name).await;
    become_moderator(&mut client).await;
    client
}

async fn expect_error(client: &mut Client, code: ErrorCode) -> (String, Option<u64>) {
    match client.recv().await {
        ServerFrame::Error {
            code: got,
            message,
            retry_after_ms,
            ..
        } if got == code => (message, retry_after_ms),
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

fn delete(id: u64, client_id: &str) -> ClientFrame {
    ClientFrame::Delete {
        id,
        client_id: Some(client_id.into()),
    }
}

#[tokio::test]
async fn wrong_tokens_are_refused_and_guessing_is_slowed_per_address() {
    // Each node keeps its own budget of wrong guesses (docs/scaling.md).
    let server = TestServer::start_one_node(moderated()).await;
    let mut guesser = server.connect().await;
    guesser.join("guesser").await;
    // Without the token, moderator actions are forbidden.
    guesser.send(ClientFrame::LockRoom { locked: true }).await;
    guesser
        .expect_forbidden(ForbiddenReason::NotModerator)
        .await;
    // Deleting is for authors too, so a missing message is that first.
    guesser.send(delete(1, "d-1")).await;
    expect_error(&mut guesser, ErrorCode::NotFound).await;
    for guess in 0..5 {
        guesser
            .send(ClientFrame::BecomeModerator {
                token: format!("a-wrong-token-number-{guess}"),
            })
            .await;
        guesser
            .expect_forbidden(ForbiddenReason::ModeratorToken)
            .await;
    }
    // Now wrong guesses wait, on another connection from the same
    // address too.
    let mut again = server.connect().await;
    for client in [&mut guesser, &mut again] {
        client
            .send(ClientFrame::BecomeModerator {
                token: "still-a-wrong-token".into(),
            })
            .await;
        let (message, retry_after_ms) = expect_error(client, ErrorCode::RateLimited).await;
        let wait = retry_after_ms.expect("says how long to wait");
        assert!((1..=12_000).contains(&wait), "{wait} ms");
        assert!(
            message.contains(&format!("retry in {wait} ms")),
            "{message}"
        );
    }
    guesser.send(ClientFrame::LockRoom { locked: true }).await;
    guesser
        .expect_forbidden(ForbiddenReason::NotModerator)
        .await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_right_token_works_while_someone_at_the_same_address_guesses_wrong() {
    let server = TestServer::start_one_node(moderated()).await;
    let mut guesser = server.connect().await;
    guesser.join("guesser").await;
    for guess in 0..6 {
        guesser
            .send(ClientFrame::BecomeModerator {
                token: format!("a-wrong-token-number-{guess}"),
            })
            .await;
        let code = match guess {
            0..=4 => ErrorCode::Forbidden,
            _ => ErrorCode::RateLimited,
        };
        expect_error(&mut guesser, code).await;
    }
    // The moderator shares the address (a NAT, a proxy) and gets in.
    let mut alice = server.connect().await;
    alice.join("alice").await;
    become_moderator(&mut alice).await;
    assert!(matches!(
        guesser.recv().await,
        ServerFrame::UserJoined { .. }
    ));
    // The guesser is still slowed.
    guesser
        .send(ClientFrame::BecomeModerator {
            token: "one-more-wrong-token".into(),
        })
        .await;
    expect_error(&mut guesser, ErrorCode::RateLimited).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_ban_covers_the_address_its_name_used_after_it_left() {
    let server = TestServer::start_with(moderated()).await;
    // In the cluster setup connections go to the nodes in turn: the
    // troll, the moderator and the newcomer all reach the first node,
    // the one that saw the troll's address.
    let mut troll = server.connect().await;
    troll.join("troll").await;
    // Leaves on purpose (a normal close): the name is free at once.
    troll.leave().await;
    let _elsewhere = server.connect().await;
    let mut alice = moderator(&server, "alice").await;
    let _elsewhere_too = server.connect().await;
    alice
        .send(ClientFrame::Ban {
            username: "troll".into(),
            duration_secs: 600,
        })
        .await;
    assert!(matches!(alice.recv().await, ServerFrame::UserBanned { .. }));
    // Back from the same address under a new name: no.
    let mut newcomer = server.connect().await;
    newcomer.send(ClientFrame::join("innocent-newcomer")).await;
    let (_, left) = expect_error(&mut newcomer, ErrorCode::Banned).await;
    assert!(left.is_some_and(|left| left > 500_000));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn moderator_frames_count_against_the_frame_rate_limit() {
    let server = TestServer::start_with(Config {
        limits: chat_server::limits::Limits {
            message_burst: 3,
            message_rate: 0.5,
            ..Default::default()
        },
        ..moderated()
    })
    .await;
    // The join and the token are the first two of three.
    let mut alice = moderator(&server, "alice").await;
    alice.send(ClientFrame::Audit { limit: None }).await;
    assert!(matches!(alice.recv().await, ServerFrame::Audit { .. }));
    alice.send(ClientFrame::LockRoom { locked: true }).await;
    let (_, wait) = expect_error(&mut alice, ErrorCode::RateLimited).await;
    assert!(wait.is_some());
    alice.expect_silence().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_moderator_deletes_any_message_for_everyone_live_in_history_and_on_replay() {
    let server = TestServer::start_with(moderated()).await;
    let mut alice = moderator(&server, "alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;
    let mut dana = joined(&server, "dana", &mut [&mut alice, &mut bob]).await;
    bob.say("kept").await;
    let kept = bob.recv_message().await.id;
    for client in [&mut alice, &mut dana] {
        assert_eq!(client.recv_message().await.id, kept);
    }
    // Dana drops after seeing `kept`, and comes back after the deletion.
    drop(dana);
    bob.say("something awful").await;
    let awful = bob.recv_message().await.id;
    assert_eq!(alice.recv_message().await.id, awful);

    alice.send(delete(awful, "del-1")).await;
    let event_id = match alice.recv().await {
        ServerFrame::MessageDeleted(Deletion {
            id,
            target,
            username,
            client_id,
        }) => {
            assert_eq!((target, username.as_str()), (awful, "alice"));
            assert_eq!(client_id.as_deref(), Some("del-1"));
            assert!(id > awful, "the deletion takes the next id");
            id
        }
        other => panic!("expected message_deleted, got {other:?}"),
    };
    match bob.recv().await {
        ServerFrame::MessageDeleted(deletion) => {
            assert_eq!((deletion.id, deletion.target), (event_id, awful));
        }
        other => panic!("expected message_deleted, got {other:?}"),
    }
    // A resend gets the original event back, to the sender only.
    alice.send(delete(awful, "del-1")).await;
    match alice.recv().await {
        ServerFrame::MessageDeleted(deletion) => assert_eq!(deletion.id, event_id),
        other => panic!("expected the original message_deleted, got {other:?}"),
    }
    bob.expect_silence().await;
    // Only a tombstone is left in history pages.
    bob.send(ClientFrame::History {
        before: Some(u64::MAX >> 1),
        limit: None,
        around: None,
    })
    .await;
    match bob.recv().await {
        ServerFrame::History { messages, .. } => {
            assert_eq!(texts(&messages), ["kept"]);
            let tombstone = messages.iter().find(|m| m.id == awful);
            assert!(tombstone.is_some_and(|m| m.deleted && m.text.is_empty()));
        }
        other => panic!("expected history, got {other:?}"),
    }
    // Nothing left to delete: not_found, naming the request.
    alice.send(delete(awful, "del-2")).await;
    expect_error(&mut alice, ErrorCode::NotFound).await;
    alice.send(delete(9_999, "del-3")).await;
    expect_error(&mut alice, ErrorCode::NotFound).await;
    // A plain user cannot delete someone else's message.
    bob.send(delete(kept, "del-4")).await;
    bob.expect_forbidden(ForbiddenReason::NotAuthor).await;

    // Dana comes back with what she had: the deleted message is not
    // replayed, its deletion is, once, in the welcome.
    let mut dana = server.connect().await;
    let welcome = dana
        .join_with(ClientFrame::Join {
            // Her old name is held for its grace period; the replay is
            // the same under any name.
            username: "dana-again".into(),
            room: None,
            since: Some(kept),
            resume: None,
            join_code: None,
            author_key: None,
            link_code: None,
            device: None,
        })
        .await;
    assert!(welcome.history.is_empty(), "{:?}", welcome.history);
    match &welcome.changes[..] {
        [Change::MessageDeleted(deletion)] => {
            assert_eq!((deletion.id, deletion.target), (event_id, awful));
        }
        other => panic!("expected the replayed message_deleted, got {other:?}"),
    }
    bob.say("after").await;
    assert_eq!(dana.recv_message().await.text, "after");
    dana.expect_silence().await;
    // A fresh page without `since` gets no deleted text and no events.
    let mut erin = server.connect().await;
    let fresh = erin.join_with(ClientFrame::join("erin")).await;
    assert_eq!(texts(&fresh.history), ["kept", "after"]);
    assert!(fresh.changes.is_empty());
    erin.expect_silence().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn deletions_count_toward_the_replay_limit() {
    let server = TestServer::start_with(Config {
        replay_limit: 2,
        ..moderated()
    })
    .await;
    let mut alice = moderator(&server, "alice").await;
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        alice.say(text).await;
        ids.push(alice.recv_message().await.id);
    }
    for (n, id) in ids[1..].iter().enumerate() {
        alice.send(delete(*id, &format!("d-{n}"))).await;
        assert!(matches!(alice.recv().await, ServerFrame::MessageDeleted(_)));
    }
    let rejoin = |since| ClientFrame::Join {
        username: format!("bob{since}"),
        room: None,
        since: Some(since),
        resume: None,
        join_code: None,
        author_key: None,
        link_code: None,
        device: None,
    };
    // Two deletions after `one`: within the limit, replayed.
    let mut bob = server.connect().await;
    let welcome = bob.join_with(rejoin(ids[0])).await;
    assert!(!welcome.history_gap);
    let targets: Vec<u64> = welcome.changes.iter().map(Change::target).collect();
    assert_eq!(targets, ids[1..]);
    // One more: three from the start, over it, so the page starts afresh.
    alice.send(delete(ids[0], "d-last")).await;
    loop {
        match alice.recv().await {
            ServerFrame::UserJoined { .. } => continue,
            ServerFrame::MessageDeleted(deletion) => break assert_eq!(deletion.target, ids[0]),
            other => panic!("expected message_deleted, got {other:?}"),
        }
    }
    let mut carol = server.connect().await;
    let welcome = carol.join_with(rejoin(0)).await;
    assert!(welcome.history_gap);
    assert!(
        welcome.history.iter().all(|m| m.deleted),
        "only tombstones left"
    );
    carol.expect_silence().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_ban_holds_across_names_from_one_address_and_ends_on_time() {
    let server = TestServer::start_with(moderated()).await;
    let mut alice = moderator(&server, "alice").await;
    let mut troll = joined(&server, "troll", &mut [&mut alice]).await;
    alice
        .send(ClientFrame::Ban {
            username: "Troll".into(),
            duration_secs: 2,
        })
        .await;
    let banned_at = Instant::now();
    let (message, left) = expect_error(&mut troll, ErrorCode::Banned).await;
    let left = left.expect("the time left");
    assert!((1..=2_000).contains(&left), "{left} ms");
    assert!(message.contains("banned"), "{message}");
    let close = troll.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), chat_shared::close::POLICY);
    // Both, in either order: on a cluster the departure comes through
    // the presence, the answer straight from the moderator's node.
    let (mut saw_left, mut saw_banned) = (false, false);
    while !(saw_left && saw_banned) {
        match alice.recv().await {
            ServerFrame::UserLeft { username, .. } if !saw_left => {
                assert_eq!(username, "troll");
                saw_left = true;
            }
            ServerFrame::UserBanned {
                username,
                duration_secs,
                ..
            } if !saw_banned => {
                assert_eq!((username.as_str(), duration_secs), ("Troll", 2));
                saw_banned = true;
            }
            other => panic!("expected user_left and user_banned, got {other:?}"),
        }
    }
    // From the same address under another name, and under the name: no.
    for name in ["troll", "innocent-newcomer"] {
        let mut again = server.connect().await;
        again.send(ClientFrame::join(name)).await;
        let (_, left) = expect_error(&mut again, ErrorCode::Banned).await;
        assert!(left.is_some_and(|left| left <= 2_000));
    }
    // The moderator, on the same address, keeps moderating.
    alice.send(ClientFrame::Audit { limit: Some(1) }).await;
    assert!(matches!(alice.recv().await, ServerFrame::Audit { .. }));
    // Bad lengths are refused with the bounds.
    for duration_secs in [0, chat_shared::MAX_BAN_SECS + 1] {
        alice
            .send(ClientFrame::Ban {
                username: "x".into(),
                duration_secs,
            })
            .await;
        expect_error(&mut alice, ErrorCode::BadRequest).await;
    }
    // When it ends, it has ended.
    let over = banned_at + Duration::from_millis(2_100);
    tokio::time::sleep_until(over.into()).await;
    let mut back = server.connect().await;
    assert_eq!(back.join("troll").await, ["alice", "troll"]);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_locked_room_refuses_posts_with_forbidden_until_unlocked() {
    let server = TestServer::start_with(moderated()).await;
    let mut alice = moderator(&server, "alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;
    alice.send(ClientFrame::LockRoom { locked: true }).await;
    for client in [&mut alice, &mut bob] {
        match client.recv().await {
            ServerFrame::RoomLocked {
                room,
                locked,
                username,
            } => assert_eq!(
                (room.as_str(), locked, username.as_str()),
                ("general", true, "alice")
            ),
            other => panic!("expected room_locked, got {other:?}"),
        }
    }
    bob.say_with_id("let me speak", "m-1").await;
    let refused = bob.expect_forbidden(ForbiddenReason::RoomLocked).await;
    assert_eq!(refused.as_deref(), Some("m-1"));
    alice.expect_silence().await;
    // Newcomers learn it from welcome.
    let mut carol = server.connect().await;
    assert!(carol.join_with(ClientFrame::join("carol")).await.locked);
    for client in [&mut alice, &mut bob] {
        assert!(matches!(
            client.recv().await,
            ServerFrame::UserJoined { .. }
        ));
    }
    // The moderator may still speak.
    alice.say("announcement").await;
    for client in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(client.recv_message().await.text, "announcement");
    }
    alice.send(ClientFrame::LockRoom { locked: false }).await;
    for client in [&mut alice, &mut bob, &mut carol] {
        assert!(matches!(
            client.recv().await,
            ServerFrame::RoomLocked { locked: false, .. }
        ));
    }
    bob.say("free again").await;
    assert_eq!(bob.recv_message().await.text, "free again");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_topic_reaches_members_and_new_joiners() {
    let server = TestServer::start_with(moderated()).await;
    let mut alice = moderator(&server, "alice").await;
    let mut bob = joined(&server, "bob", &mut [&mut alice]).await;
    bob.send(ClientFrame::SetTopic {
        topic: "bob's topic".into(),
    })
    .await;
    bob.expect_forbidden(ForbiddenReason::NotModerator).await;
    alice
        .send(ClientFrame::SetTopic {
            topic: "two\nlines".into(),
        })
        .await;
    expect_error(&mut alice, ErrorCode::BadRequest).await;
    alice
        .send(ClientFrame::SetTopic {
            topic: "  Be kind; Rust 2027  ".into(),
        })
        .await;
    for client in [&mut alice, &mut bob] {
        match client.recv().await {
            ServerFrame::Topic { room, topic, .. } => {
                assert_eq!(
                    (room.as_str(), topic.as_str()),
                    ("general", "Be kind; Rust 2027")
                );
            }
            other => panic!("expected topic, got {other:?}"),
        }
    }
    let mut carol = server.connect().await;
    let welcome = carol.join_with(ClientFrame::join("carol")).await;
    assert_eq!(welcome.topic.as_deref(), Some("Be kind; Rust 2027"));
    // Another room has its own (no) topic.
    let mut dana = server.connect().await;
    let elsewhere = dana
        .join_with(ClientFrame::Join {
            username: "dana".into(),
            room: Some("rust".into()),
            since: None,
            resume: None,
            join_code: None,
            author_key: None,
            link_code: None,
            device: None,
        })
        .await;
    assert_eq!(elsewhere.topic, None);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_audit_list_shows_each_action_newest_first() {
    let server = TestServer::start_with(moderated()).await;
    let mut alice = moderator(&server, "alice").await;
    alice.say("oops").await;
    let oops = alice.recv_message().await.id;
    alice.send(delete(oops, "d-1")).await;
    assert!(matches!(alice.recv().await, ServerFrame::MessageDeleted(_)));
    alice
        .send(ClientFrame::Ban {
            username: "absent".into(),
            duration_secs: 60,
        })
        .await;
    assert!(matches!(alice.recv().await, ServerFrame::UserBanned { .. }));
    for locked in [true, false] {
        alice.send(ClientFrame::LockRoom { locked }).await;
        assert!(matches!(alice.recv().await, ServerFrame::RoomLocked { .. }));
    }
    alice
        .send(ClientFrame::SetTopic {
            topic: "news".into(),
        })
        .await;
    assert!(matches!(alice.recv().await, ServerFrame::Topic { .. }));
    alice.send(ClientFrame::Audit { limit: None }).await;
    let ServerFrame::Audit { entries } = alice.recv().await else {
        panic!("expected audit");
    };
    let seen: Vec<(AuditAction, &str, &str)> = entries
        .iter()
        .map(|e| (e.action, e.moderator.as_str(), e.target.as_str()))
        .collect();
    let oops = oops.to_string();
    assert_eq!(
        seen,
        [
            (AuditAction::Topic, "alice", "general"),
            (AuditAction::Unlock, "alice", "general"),
            (AuditAction::Lock, "alice", "general"),
            (AuditAction::Ban, "alice", "absent"),
            (AuditAction::Delete, "alice", oops.as_str()),
        ]
    );
    assert_eq!(entries[0].detail.as_deref(), Some("news"));
    assert_eq!(entries[3].detail.as_deref(), Some("60 s"));
    assert!(entries.iter().all(|e| e.at.ends_with('Z')));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn bans_locks_and_topics_survive_a_restart() {
    let db = temp_db("restart.db");
    let config = || Config {
        db: db.clone(),
        ..moderated()
    };
    let server = TestServer::start_with(config()).await;
    let mut alice = moderator(&server, "alice").await;
    alice
        .send(ClientFrame::Ban {
            username: "troll".into(),
            duration_secs: 600,
        })
        .await;
    assert!(matches!(alice.recv().await, ServerFrame::UserBanned { .. }));
    alice.send(ClientFrame::LockRoom { locked: true }).await;
    assert!(matches!(alice.recv().await, ServerFrame::RoomLocked { .. }));
    alice
        .send(ClientFrame::SetTopic {
            topic: "kept".into(),
        })
        .await;
    assert!(matches!(alice.recv().await, ServerFrame::Topic { .. }));
    drop(alice);
    server.stop().await.expect("clean stop");

    let server = TestServer::start_with(config()).await;
    let mut troll = server.connect().await;
    troll.send(ClientFrame::join("troll")).await;
    let (_, left) = expect_error(&mut troll, ErrorCode::Banned).await;
    assert!(left.is_some_and(|left| left > 500_000));
    let mut bob = server.connect().await;
    let welcome = bob.join_with(ClientFrame::join("bob")).await;
    assert!(welcome.locked);
    assert_eq!(welcome.topic.as_deref(), Some("kept"));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_generated_token_is_printed_once_works_and_is_stored_hashed() {
    let db = temp_db("generated.db");
    let first = start_binary(&db);
    let mut alice = first.connect().await;
    // Joined: the server is past its start, token and all.
    alice.join("alice").await;
    let lines = logged(&first);
    let printed: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("moderator token"))
        .collect();
    assert_eq!(printed.len(), 1, "{lines:?}");
    let message = serde_json::from_str::<serde_json::Value>(printed[0]).expect("JSON")["fields"]
        ["message"]
        .as_str()
        .map(str::to_owned)
        .expect("a message");
    let token = message
        .rsplit(' ')
        .next()
        .map(str::to_owned)
        .expect("the token ends the line");
    assert!(chat_shared::is_valid_admin_token(&token), "{token:?}");
    alice
        .send(ClientFrame::BecomeModerator {
            token: token.clone(),
        })
        .await;
    assert!(matches!(alice.recv().await, ServerFrame::Moderator));
    drop(alice);
    drop(first);

    let second = start_binary(&db);
    let mut bob = second.connect().await;
    bob.join("bob").await;
    let lines = logged(&second);
    assert!(
        lines.iter().all(|line| !line.contains("moderator token")),
        "printed again: {lines:?}"
    );
    bob.send(ClientFrame::BecomeModerator {
        token: token.clone(),
    })
    .await;
    assert!(matches!(bob.recv().await, ServerFrame::Moderator));
    drop(bob);
    drop(second);
    for suffix in ["", "-wal"] {
        let bytes = std::fs::read(format!("{}{suffix}", db.display())).unwrap_or_default();
        let needle = token.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|window| window == needle),
            "the token is in the database file{suffix}"
        );
    }
}

/// The real binary on a loopback port with JSON logs, on `db`, with no
/// moderator token configured.
fn start_binary(db: &std::path::Path) -> ServerProcess {
    let mut command = process::command();
    command
        .args(["--log-format", "json"])
        .env("CHAT_DB", db)
        .env("CHAT_LOG", "info")
        .env_remove("CHAT_ADMIN_TOKEN")
        .stderr(std::process::Stdio::null());
    ServerProcess::start(command)
}

/// Every line logged since the last call (after the address).
fn logged(server: &ServerProcess) -> Vec<String> {
    // The log line of a step just done may still be on its way.
    std::thread::sleep(Duration::from_millis(200));
    server.lines()
}

/// The texts of the messages that are not deleted.
fn texts(messages: &[ChatMessage]) -> Vec<&str> {
    messages
        .iter()
        .filter(|m| !m.deleted)
        .map(|m| m.text.as_str())
        .collect()
}

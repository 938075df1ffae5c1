//! Names that last, linked devices, direct messages, my rooms, activity
//! and reports (issue 23), through real sockets, on one node and on the
//! cluster: refusals first, then what the owner may do.

mod common;

use chat_server::Config;
use chat_shared::close::REVOKED;
use chat_shared::{AuditAction, ClientFrame, ErrorCode, ForbiddenReason, RoomInfo, ServerFrame};
use common::{join, Client, Joined, TestServer};
use std::time::Duration;

const LAPTOP: &str = "laptop-key-0123456789abcdef";
const PHONE: &str = "phone-key-0123456789abcdef0";
const STRANGER: &str = "stranger-key-0123456789abcd";
const BOB: &str = "bob-key-0123456789abcdef012";
const CAROL: &str = "carol-key-0123456789abcdef0";
const TOKEN: &str = "moderator-token-0123456789abcdef";

/// A connection that joined `name` with `key`, and its welcome.
async fn joined(server: &TestServer, frame: ClientFrame) -> (Client, Joined) {
    let mut client = server.connect().await;
    let welcome = client.join_with(frame).await;
    (client, welcome)
}

/// The error a join gets instead of a welcome.
async fn refused(server: &TestServer, frame: ClientFrame) -> (ErrorCode, Option<ForbiddenReason>) {
    let mut client = server.connect().await;
    client.send(frame).await;
    match client.recv().await {
        ServerFrame::Error { code, reason, .. } => (code, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The next frame of `client` that is not presence news.
async fn answer(client: &mut Client) -> ServerFrame {
    loop {
        match client.recv().await {
            ServerFrame::UserJoined { .. }
            | ServerFrame::UserLeft { .. }
            | ServerFrame::Activity { .. }
            | ServerFrame::Notify { .. } => {}
            other => return other,
        }
    }
}

/// The next answer of `client`, which must be an error with `code`.
async fn expect_code(client: &mut Client, code: ErrorCode) {
    match answer(client).await {
        ServerFrame::Error { code: got, .. } => assert_eq!(got, code),
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

/// A link code from a held connection.
async fn link_code(client: &mut Client) -> String {
    client.send(ClientFrame::LinkDevice).await;
    match answer(client).await {
        ServerFrame::DeviceLink { code, expires_at } => {
            assert!(chat_shared::is_valid_link_code(&code), "{code:?}");
            assert!(expires_at.ends_with('Z'), "{expires_at:?}");
            code
        }
        other => panic!("expected device_link, got {other:?}"),
    }
}

/// The devices list a held connection gets.
async fn devices(client: &mut Client) -> Vec<chat_shared::DeviceInfo> {
    client.send(ClientFrame::Devices).await;
    match answer(client).await {
        ServerFrame::Devices { devices } => devices,
        other => panic!("expected devices, got {other:?}"),
    }
}

async fn rooms(client: &mut Client) -> Vec<RoomInfo> {
    client.send(ClientFrame::ListRooms).await;
    match answer(client).await {
        ServerFrame::Rooms { rooms } => rooms,
        other => panic!("expected rooms, got {other:?}"),
    }
}

async fn open_dm(client: &mut Client, with: &[&str]) -> ServerFrame {
    let with = with.iter().map(|name| name.to_string()).collect();
    client.send(ClientFrame::OpenDm { with }).await;
    answer(client).await
}

fn moderated() -> Config {
    Config {
        admin_token: Some(TOKEN.into()),
        ..Config::default()
    }
}

async fn moderator(server: &TestServer) -> Client {
    let (mut client, _) = joined(server, join("mod", Some("modroom"), None, None)).await;
    client
        .send(ClientFrame::BecomeModerator {
            token: TOKEN.into(),
        })
        .await;
    assert_eq!(answer(&mut client).await, ServerFrame::Moderator);
    client
}

async fn audit(moderator: &mut Client) -> Vec<chat_shared::AuditEntry> {
    moderator.send(ClientFrame::Audit { limit: None }).await;
    match answer(moderator).await {
        ServerFrame::Audit { entries } => entries,
        other => panic!("expected audit, got {other:?}"),
    }
}

#[tokio::test]
async fn a_held_name_is_refused_to_another_key_to_no_key_and_to_a_look_alike() {
    let server = TestServer::start().await;
    let (mut laptop, welcome) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    assert!(welcome.held, "a join with a key holds the name");
    let held = (ErrorCode::NameHeld, None);
    // While its holder is online: held, not merely taken.
    assert_eq!(
        refused(&server, join("alice", None, None, None)).await,
        held
    );
    laptop.leave().await;
    // And after it left.
    for (name, key) in [
        ("alice", Some(STRANGER)),
        ("alice", None),
        ("ALICE", None),
        ("\u{430}lice", Some(STRANGER)), // a Cyrillic а
        ("aIice", None),                 // a capital i
    ] {
        assert_eq!(
            refused(&server, join(name, Some("rust"), key, None)).await,
            held,
            "{name:?} with {key:?}"
        );
    }
    // Its own key gets it back, in any room.
    let (_laptop, welcome) = joined(&server, join("alice", Some("rust"), Some(LAPTOP), None)).await;
    assert!(welcome.held);
    assert_eq!(welcome.username, "alice");
    // Keyless names stay free, exactly as before.
    let (mut first, welcome) = joined(&server, join("bob", None, None, None)).await;
    assert!(!welcome.held);
    first.leave().await;
    let (_second, welcome) = joined(&server, join("bob", None, None, None)).await;
    assert!(!welcome.held);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_link_code_adds_a_device_once_and_a_wrong_one_adds_none() {
    let server = TestServer::start().await;
    let (mut laptop, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    let code = link_code(&mut laptop).await;
    // A wrong code of the right shape, and codes without a key or of the
    // wrong shape.
    let wrong = "0".repeat(32);
    assert_eq!(
        refused(&server, join("alice", None, Some(PHONE), Some(&wrong))).await,
        (ErrorCode::NameHeld, None)
    );
    assert_eq!(
        refused(&server, join("alice", None, None, Some(&code)))
            .await
            .0,
        ErrorCode::BadRequest
    );
    assert_eq!(
        refused(&server, join("alice", None, Some(PHONE), Some("xyz")))
            .await
            .0,
        ErrorCode::BadRequest
    );
    // The code is for alice, not for another name.
    let (_bob, _) = joined(&server, join("bob", None, Some(BOB), None)).await;
    assert_eq!(
        refused(&server, join("bob", None, Some(PHONE), Some(&code))).await,
        (ErrorCode::NameHeld, None)
    );
    // The phone joins as alice while the laptop is online.
    let (mut phone, welcome) = joined(
        &server,
        join("alice", Some("rust"), Some(PHONE), Some(&code)),
    )
    .await;
    assert!(welcome.held);
    assert_eq!(welcome.username, "alice");
    // Once only.
    assert_eq!(
        refused(&server, join("alice", None, Some(STRANGER), Some(&code))).await,
        (ErrorCode::NameHeld, None)
    );
    // Both devices are listed, each knowing which it is.
    let listed = devices(&mut laptop).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed[0].this && !listed[1].this, "{listed:?}");
    assert_eq!(listed[1].label, "Test on Loopback");
    let listed = devices(&mut phone).await;
    assert!(!listed[0].this && listed[1].this, "{listed:?}");
    // The phone joins again later with its own key, no code needed.
    phone.leave().await;
    let (_phone, welcome) = joined(&server, join("alice", None, Some(PHONE), None)).await;
    assert!(welcome.held);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_link_code_expires() {
    let server = TestServer::start_with(Config {
        link_code_lifetime: Duration::from_millis(300),
        ..Config::default()
    })
    .await;
    let (mut laptop, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    let code = link_code(&mut laptop).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        refused(&server, join("alice", None, Some(PHONE), Some(&code))).await,
        (ErrorCode::NameHeld, None)
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_revoked_device_is_closed_and_kept_out() {
    let server = TestServer::start().await;
    let (mut laptop, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    let code = link_code(&mut laptop).await;
    // In the cluster, the phone is on the other node.
    let (mut phone, _) = joined(
        &server,
        join("alice", Some("rust"), Some(PHONE), Some(&code)),
    )
    .await;
    let listed = devices(&mut laptop).await;
    let phone_id = listed[1].id;
    // Only the person's own devices can be revoked.
    let (mut bob, _) = joined(&server, join("bob", None, Some(BOB), None)).await;
    bob.send(ClientFrame::RevokeDevice { id: phone_id }).await;
    expect_code(&mut bob, ErrorCode::NotFound).await;
    laptop
        .send(ClientFrame::RevokeDevice { id: phone_id })
        .await;
    match answer(&mut laptop).await {
        ServerFrame::Devices { devices } => {
            assert_eq!(devices.len(), 1, "{devices:?}");
            assert!(devices[0].this);
        }
        other => panic!("expected devices, got {other:?}"),
    }
    let close = phone.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), REVOKED);
    assert_eq!(close.reason.as_str(), "this device was revoked");
    assert_eq!(
        refused(&server, join("alice", None, Some(PHONE), None)).await,
        (ErrorCode::NameHeld, None)
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_name_given_up_or_freed_is_free_and_logged() {
    let server = TestServer::start_with(moderated()).await;
    let (mut laptop, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    laptop.send(ClientFrame::ReleaseName).await;
    assert_eq!(
        answer(&mut laptop).await,
        ServerFrame::NameReleased {
            username: "alice".into()
        }
    );
    // Nothing of a held name's is left to this connection.
    laptop.send(ClientFrame::LinkDevice).await;
    assert_eq!(
        laptop.expect_forbidden(ForbiddenReason::NotHeld).await,
        None
    );
    laptop.leave().await;
    let (mut stranger, welcome) = joined(&server, join("alice", None, Some(STRANGER), None)).await;
    assert!(welcome.held, "the released name is anyone's");
    stranger.leave().await;
    let mut moderator = moderator(&server).await;
    moderator
        .send(ClientFrame::FreeName {
            username: "Alice".into(),
        })
        .await;
    assert_eq!(
        answer(&mut moderator).await,
        ServerFrame::NameReleased {
            username: "alice".into()
        }
    );
    moderator
        .send(ClientFrame::FreeName {
            username: "alice".into(),
        })
        .await;
    expect_code(&mut moderator, ErrorCode::NotFound).await;
    let (_keyless, welcome) = joined(&server, join("alice", None, None, None)).await;
    assert!(!welcome.held);
    // Not a moderator: refused.
    let (mut bob, _) = joined(&server, join("bob", None, Some(BOB), None)).await;
    bob.send(ClientFrame::FreeName {
        username: "alice".into(),
    })
    .await;
    bob.expect_forbidden(ForbiddenReason::NotModerator).await;
    let actions: Vec<(AuditAction, String, String)> = audit(&mut moderator)
        .await
        .into_iter()
        .map(|entry| (entry.action, entry.moderator, entry.target))
        .collect();
    assert_eq!(
        actions,
        [
            (AuditAction::FreeName, "mod".into(), "alice".into()),
            (AuditAction::Release, "alice".into(), "alice".into()),
        ]
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_hold_lapses_after_the_hold_period() {
    let server = TestServer::start_with(Config {
        name_hold: Duration::from_millis(500),
        ..Config::default()
    })
    .await;
    let (mut laptop, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    laptop.leave().await;
    assert_eq!(
        refused(&server, join("alice", None, Some(STRANGER), None)).await,
        (ErrorCode::NameHeld, None),
        "within the hold"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_stranger, welcome) = joined(&server, join("alice", None, Some(STRANGER), None)).await;
    assert!(welcome.held, "the lapsed name is the stranger's now");
    assert_eq!(
        refused(&server, join("alice", Some("rust"), Some(LAPTOP), None)).await,
        (ErrorCode::NameHeld, None),
        "the old key is no device of the new holder"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_second_device_edits_and_deletes_what_the_first_posted() {
    let server = TestServer::start().await;
    let (mut laptop, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    laptop.say("helo").await;
    let first = laptop.recv_message().await.id;
    laptop.say("second").await;
    let second = laptop.recv_message().await.id;
    let code = link_code(&mut laptop).await;
    let (mut phone, _) = joined(&server, join("alice", None, Some(PHONE), Some(&code))).await;
    phone
        .send(ClientFrame::Edit {
            id: first,
            text: "hello".into(),
            client_id: None,
        })
        .await;
    match answer(&mut phone).await {
        ServerFrame::MessageEdited(edit) => {
            assert_eq!((edit.target, edit.text.as_deref()), (first, Some("hello")));
        }
        other => panic!("expected the edit, got {other:?}"),
    }
    phone
        .send(ClientFrame::Delete {
            id: second,
            client_id: None,
        })
        .await;
    assert!(matches!(
        answer(&mut phone).await,
        ServerFrame::MessageDeleted(deletion) if deletion.target == second
    ));
    // Another person may not, whatever name it joins under.
    let (mut bob, _) = joined(&server, join("bob", None, Some(BOB), None)).await;
    bob.send(ClientFrame::Delete {
        id: first,
        client_id: None,
    })
    .await;
    bob.expect_forbidden(ForbiddenReason::NotAuthor).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_dm_is_for_its_members_only() {
    let server = TestServer::start().await;
    let (mut alice, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    let (mut bob, _) = joined(&server, join("bob", Some("rust"), Some(BOB), None)).await;
    let (mut carol, _) = joined(&server, join("carol", Some("rust"), Some(CAROL), None)).await;
    let (mut keyless, _) = joined(&server, join("dave", Some("rust"), None, None)).await;
    // Refusals first: no held name, a name nobody holds, too many names.
    keyless
        .send(ClientFrame::OpenDm {
            with: vec!["bob".into()],
        })
        .await;
    keyless.expect_forbidden(ForbiddenReason::NotHeld).await;
    match open_dm(&mut alice, &["dave"]).await {
        ServerFrame::Error {
            reason: Some(ForbiddenReason::NotHeld),
            message,
            ..
        } => assert!(message.contains("dave"), "{message}"),
        other => panic!("expected not_held, got {other:?}"),
    }
    let many: Vec<String> = (0..8).map(|i| format!("n{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(matches!(
        open_dm(&mut alice, &many).await,
        ServerFrame::Error {
            code: ErrorCode::BadRequest,
            ..
        }
    ));
    // The same members, the same room, whoever opens it.
    let ServerFrame::Dm { room, with } = open_dm(&mut alice, &["Bob"]).await else {
        panic!("expected dm");
    };
    assert!(room.starts_with("dm-"), "{room}");
    assert_eq!(with, ["alice", "bob"]);
    assert_eq!(
        open_dm(&mut bob, &["alice"]).await,
        ServerFrame::Dm {
            room: room.clone(),
            with: with.clone()
        }
    );
    let (mut in_dm, _) = joined(&server, join("alice", Some(&room), Some(LAPTOP), None)).await;
    in_dm.say("a secret").await;
    let secret = in_dm.recv_message().await.id;
    // A third name, a keyless name, the member's name without its key, a
    // moderator-less guess at a DM that does not exist: all refused alike.
    let not_member = (ErrorCode::Forbidden, Some(ForbiddenReason::NotMember));
    assert_eq!(
        refused(&server, join("carol", Some(&room), Some(CAROL), None)).await,
        not_member
    );
    assert_eq!(
        refused(&server, join("erin", Some(&room), None, None)).await,
        not_member
    );
    let mut since = join("carol", Some(&room), Some(CAROL), None);
    if let ClientFrame::Join { since: s, .. } = &mut since {
        *s = Some(0);
    }
    assert_eq!(refused(&server, since).await, not_member);
    assert_eq!(
        refused(&server, join("bob", Some(&room), None, None)).await,
        (ErrorCode::NameHeld, None)
    );
    let nowhere = format!("dm-{}", "0".repeat(24));
    assert_eq!(
        refused(&server, join("carol", Some(&nowhere), Some(CAROL), None)).await,
        not_member
    );
    // A refused join leaves nothing to read: history and around need a
    // join.
    let mut outsider = server.connect().await;
    outsider
        .send(join("carol", Some(&room), Some(CAROL), None))
        .await;
    outsider.expect_forbidden(ForbiddenReason::NotMember).await;
    outsider
        .send(ClientFrame::History {
            before: None,
            limit: None,
            around: Some(secret),
        })
        .await;
    assert!(matches!(
        outsider.recv().await,
        ServerFrame::Error {
            code: ErrorCode::NotJoined,
            ..
        }
    ));
    // In the room list, only members see it, with its members' names.
    let listed = rooms(&mut carol).await;
    assert!(
        listed.iter().all(|room| !room.name.starts_with("dm-")),
        "{listed:?}"
    );
    let listed = rooms(&mut keyless).await;
    assert!(
        listed.iter().all(|room| !room.name.starts_with("dm-")),
        "{listed:?}"
    );
    let listed = rooms(&mut bob).await;
    let dm = listed
        .iter()
        .find(|info| info.name == room)
        .expect("bob sees the DM");
    assert!(dm.mine);
    assert_eq!(dm.with, ["alice", "bob"]);
    // Bob reads it.
    let (_bob_in_dm, welcome) = joined(&server, join("bob", Some(&room), Some(BOB), None)).await;
    assert_eq!(
        welcome.history.last().map(|m| m.text.as_str()),
        Some("a secret")
    );
    let _ = &mut alice;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn activity_reaches_a_member_in_another_room_once_a_second() {
    let server = TestServer::start_with(common::unthrottled()).await;
    // Alice has "rust" among her rooms, and sits in "general".
    let (mut once, _) = joined(&server, join("alice", Some("rust"), Some(LAPTOP), None)).await;
    once.leave().await;
    let (mut alice, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    let (mut bob, _) = joined(&server, join("bob", Some("rust"), Some(BOB), None)).await;
    let mut last = 0;
    for n in 0..20 {
        bob.say(&format!("news {n}")).await;
        last = bob.recv_message().await.id;
    }
    // Coalesced: a handful of frames for twenty messages, the last one
    // naming the newest.
    let mut heard = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while heard.last() != Some(&last) && tokio::time::Instant::now() < deadline {
        if let common::Next::Frame(ServerFrame::Activity { room, latest }) =
            alice.next_frame(Duration::from_secs(3)).await
        {
            assert_eq!(room, "rust");
            heard.push(latest);
        }
    }
    assert_eq!(heard.last(), Some(&last), "{heard:?}");
    assert!(heard.len() <= 4, "not coalesced: {heard:?}");
    // Bob sits in "rust": he hears no activity for it.
    // A new DM reaches alice live, in "general".
    let ServerFrame::Dm { room, .. } = open_dm(&mut bob, &["alice"]).await else {
        panic!("expected dm");
    };
    let (mut bob_dm, _) = joined(&server, join("bob", Some(&room), Some(BOB), None)).await;
    bob_dm.say("psst").await;
    let psst = bob_dm.recv_message().await.id;
    loop {
        match alice.recv().await {
            ServerFrame::Activity { room: news, latest } if news == room => {
                assert_eq!(latest, psst);
                break;
            }
            ServerFrame::Activity { .. }
            | ServerFrame::UserJoined { .. }
            | ServerFrame::Notify { .. } => {}
            other => panic!("expected activity, got {other:?}"),
        }
    }
    // Leaving a room stops its news and its mark.
    alice
        .send(ClientFrame::LeaveRoom {
            room: "rust".into(),
        })
        .await;
    assert_eq!(
        answer(&mut alice).await,
        ServerFrame::RoomLeft {
            room: "rust".into()
        }
    );
    let listed = rooms(&mut alice).await;
    let rust = listed
        .iter()
        .find(|info| info.name == "rust")
        .expect("rust");
    assert!(!rust.mine);
    assert!(listed.iter().any(|info| info.name == room && info.mine));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_report_reaches_the_moderators_with_the_text_even_from_a_dm() {
    let server = TestServer::start_with(moderated()).await;
    let mut moderator = moderator(&server).await;
    let (mut alice, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    let (mut bob, _) = joined(&server, join("bob", None, Some(BOB), None)).await;
    bob.say("buy my spam").await;
    let spam = bob.recv_message().await.id;
    assert!(matches!(answer(&mut alice).await, ServerFrame::Message(m) if m.id == spam));
    alice
        .send(ClientFrame::Report {
            id: spam + 1000,
            reason: "spam".into(),
        })
        .await;
    expect_code(&mut alice, ErrorCode::NotFound).await;
    alice
        .send(ClientFrame::Report {
            id: spam,
            reason: "x".repeat(501),
        })
        .await;
    expect_code(&mut alice, ErrorCode::BadRequest).await;
    alice
        .send(ClientFrame::Report {
            id: spam,
            reason: " spam ".into(),
        })
        .await;
    assert_eq!(answer(&mut alice).await, ServerFrame::Reported { id: spam });
    // In a DM: the moderator cannot join it, but sees what was reported.
    let ServerFrame::Dm { room, .. } = open_dm(&mut bob, &["alice"]).await else {
        panic!("expected dm");
    };
    let (mut bob_dm, _) = joined(&server, join("bob", Some(&room), Some(BOB), None)).await;
    bob_dm.say("a rude private word").await;
    let rude = bob_dm.recv_message().await.id;
    let (mut alice_dm, _) = joined(&server, join("alice", Some(&room), Some(LAPTOP), None)).await;
    alice_dm
        .send(ClientFrame::Report {
            id: rude,
            reason: "rude".into(),
        })
        .await;
    assert_eq!(
        answer(&mut alice_dm).await,
        ServerFrame::Reported { id: rude }
    );
    assert_eq!(
        refused(&server, join("mod", Some(&room), None, None)).await,
        (ErrorCode::Forbidden, Some(ForbiddenReason::NotMember))
    );
    let reports: Vec<(String, String, String)> = audit(&mut moderator)
        .await
        .into_iter()
        .filter(|entry| entry.action == AuditAction::Report)
        .map(|entry| {
            (
                entry.moderator,
                entry.target,
                entry.detail.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(
        (reports[0].0.as_str(), reports[0].1.clone()),
        ("alice", rude.to_string())
    );
    assert!(
        reports[0].2.contains("a rude private word"),
        "{:?}",
        reports[0]
    );
    assert!(reports[0].2.contains("rude"), "{:?}", reports[0]);
    assert_eq!(reports[1].1, spam.to_string());
    assert!(reports[1].2.contains("buy my spam") && reports[1].2.contains("\"spam\""));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_dm_does_not_count_against_the_room_limit() {
    let server = TestServer::start_with(Config {
        max_rooms: 1,
        ..Config::default()
    })
    .await;
    let (mut alice, _) = joined(&server, join("alice", None, Some(LAPTOP), None)).await;
    let (_bob, _) = joined(&server, join("bob", None, Some(BOB), None)).await;
    assert_eq!(
        refused(&server, join("carol", Some("rust"), None, None))
            .await
            .0,
        ErrorCode::InvalidRoom,
        "the limit is reached"
    );
    let ServerFrame::Dm { room, .. } = open_dm(&mut alice, &["bob"]).await else {
        panic!("expected dm");
    };
    let (_in_dm, welcome) = joined(&server, join("bob", Some(&room), Some(BOB), None)).await;
    assert_eq!(welcome.room, room);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn on_an_invite_only_chat_the_code_is_asked_first_and_a_link_code_invites() {
    const CODE: &str = "invitation-code-0123";
    let server = TestServer::start_with(Config {
        join_code: Some(CODE.into()),
        ..Config::default()
    })
    .await;
    let mut invited = join("alice", None, Some(LAPTOP), None);
    if let ClientFrame::Join { join_code, .. } = &mut invited {
        *join_code = Some(CODE.into());
    }
    let (mut laptop, _) = joined(&server, invited).await;
    // Without the code nobody learns whether a name is held.
    assert_eq!(
        refused(&server, join("alice", None, Some(STRANGER), None)).await,
        (ErrorCode::Forbidden, Some(ForbiddenReason::JoinCode))
    );
    // A link code is the holder's invitation.
    let code = link_code(&mut laptop).await;
    let (_phone, welcome) = joined(&server, join("alice", None, Some(PHONE), Some(&code))).await;
    assert!(welcome.held);
    server.stop().await.expect("clean stop");
}

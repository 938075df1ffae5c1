//! The wire contract, frame by frame: each frame's exact JSON (the
//! snapshots `docs/protocol.md` documents), and what a client of this
//! build does with frames and codes from a newer server.

use chat_shared::protocol::*;

fn assert_client_golden(frame: ClientFrame, json: &str) {
    assert_eq!(frame.encode(), json);
    assert_eq!(ClientFrame::decode(json), Ok(frame));
}

fn assert_server_golden(frame: ServerFrame, json: &str) {
    assert_eq!(frame.encode(), json);
    assert_eq!(ServerFrame::decode(json), Ok(frame));
}

#[test]
fn client_frames_have_the_documented_json() {
    assert_client_golden(
        ClientFrame::join("alice"),
        r#"{"type":"join","username":"alice"}"#,
    );
    assert_client_golden(
        ClientFrame::Join {
            username: "alice".into(),
            room: Some("rust".into()),
            since: Some(123),
            resume: Some("t0k3n".into()),
            join_code: None,
            author_key: None,
            link_code: None,
            device: None,
        },
        r#"{"type":"join","username":"alice","room":"rust","since":123,"resume":"t0k3n"}"#,
    );
    assert_client_golden(
        ClientFrame::Join {
            username: "alice".into(),
            room: None,
            since: None,
            resume: None,
            join_code: Some("Xy_9-abcdefghijklmnop".into()),
            author_key: None,
            link_code: None,
            device: None,
        },
        r#"{"type":"join","username":"alice","join_code":"Xy_9-abcdefghijklmnop"}"#,
    );
    assert_client_golden(
        ClientFrame::message("hello"),
        r#"{"type":"message","text":"hello"}"#,
    );
    assert_client_golden(
        ClientFrame::Message {
            text: "hello".into(),
            client_id: Some("5f0c6a8e-1b7e-4d5a-9a53-3c2f1e0d9b7a".into()),
            reply_to: None,
            attachments: Vec::new(),
        },
        r#"{"type":"message","text":"hello","client_id":"5f0c6a8e-1b7e-4d5a-9a53-3c2f1e0d9b7a"}"#,
    );
    assert_client_golden(
        ClientFrame::History {
            before: Some(120),
            limit: Some(50),
            around: None,
        },
        r#"{"type":"history","before":120,"limit":50}"#,
    );
    assert_client_golden(ClientFrame::ListRooms, r#"{"type":"list_rooms"}"#);
    assert_client_golden(ClientFrame::Ping, r#"{"type":"ping"}"#);
    assert_client_golden(
        ClientFrame::Users {
            after: None,
            limit: None,
        },
        r#"{"type":"users"}"#,
    );
    assert_client_golden(
        ClientFrame::Users {
            after: Some("bob".into()),
            limit: Some(200),
        },
        r#"{"type":"users","after":"bob","limit":200}"#,
    );
    assert_client_golden(
        ClientFrame::Typing { is_typing: true },
        r#"{"type":"typing","is_typing":true}"#,
    );
}

#[test]
fn server_frames_have_the_documented_json() {
    let hi = ChatMessage {
        id: 17,
        username: "bob".into(),
        text: "hi".into(),
        timestamp: "2026-11-25T21:00:00.123Z".into(),
        ..ChatMessage::default()
    };
    assert_server_golden(
        ServerFrame::Welcome(Welcome {
            history: vec![HistoryItem::Message(hi.clone())],
            ..Welcome::new(
                "alice",
                vec!["alice".into(), "bob".into()],
                "general",
                "t0k3n",
            )
        }),
        r#"{"type":"welcome","username":"alice","users":["alice","bob"],"room":"general","history":[{"id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z"}],"resume":"t0k3n"}"#,
    );
    assert_server_golden(
        ServerFrame::Message(hi.clone()),
        r#"{"type":"message","id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z"}"#,
    );
    assert_server_golden(
        ServerFrame::Message(ChatMessage {
            client_id: Some("c-1".into()),
            ..hi.clone()
        }),
        r#"{"type":"message","id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z","client_id":"c-1"}"#,
    );
    assert_server_golden(
        ServerFrame::History {
            room: "general".into(),
            messages: vec![hi],
            has_more: true,
            has_newer: false,
        },
        r#"{"type":"history","room":"general","messages":[{"id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z"}],"has_more":true}"#,
    );
    assert_server_golden(
        ServerFrame::Rooms {
            rooms: vec![RoomInfo {
                name: "general".into(),
                online: 2,
                ..RoomInfo::default()
            }],
        },
        r#"{"type":"rooms","rooms":[{"name":"general","online":2}]}"#,
    );
    assert_server_golden(ServerFrame::Heartbeat, r#"{"type":"heartbeat"}"#);
    assert_server_golden(
        ServerFrame::Welcome(Welcome {
            heartbeat_ms: Some(20_000),
            ..Welcome::new("a", vec!["a".into()], "general", "t")
        }),
        r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":[],"resume":"t","heartbeat_ms":20000}"#,
    );
    assert_server_golden(
        ServerFrame::Welcome(Welcome {
            heartbeat_ms: Some(20_000),
            answers_ping: true,
            ..Welcome::new("a", vec!["a".into()], "general", "t")
        }),
        r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":[],"resume":"t","heartbeat_ms":20000,"answers_ping":true}"#,
    );
    assert_server_golden(
        ServerFrame::Welcome(Welcome {
            heartbeat_ms: Some(20_000),
            limits: Some(ClientLimits::default()),
            ..Welcome::new("a", vec!["a".into()], "general", "t")
        }),
        r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":[],"resume":"t","heartbeat_ms":20000,"limits":{"message_rate":5.0,"message_burst":10,"typing_rate":2.0,"typing_burst":6,"idle_timeout_ms":60000,"missed_heartbeats":3,"history_page":50,"max_message_chars":2000}}"#,
    );
    assert_server_golden(
        ServerFrame::Typing {
            username: "bob".into(),
            is_typing: true,
        },
        r#"{"type":"typing","username":"bob","is_typing":true}"#,
    );
    assert_server_golden(
        ServerFrame::UserJoined {
            username: "carol".into(),
            count: 3,
        },
        r#"{"type":"user_joined","username":"carol","count":3}"#,
    );
    assert_server_golden(
        ServerFrame::UserLeft {
            username: "carol".into(),
            count: 2,
        },
        r#"{"type":"user_left","username":"carol","count":2}"#,
    );
    assert_server_golden(
        ServerFrame::Error {
            code: ErrorCode::NameTaken,
            message: "That name is already in use".into(),
            retry_after_ms: None,
            client_id: None,
            reason: None,
        },
        r#"{"type":"error","code":"name_taken","message":"That name is already in use"}"#,
    );
    assert_server_golden(
        ServerFrame::error(ErrorCode::Forbidden),
        r#"{"type":"error","code":"forbidden","message":"This chat is invite-only: open the invitation link"}"#,
    );
    assert_server_golden(
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "Too many messages: retry in 180 ms".into(),
            retry_after_ms: Some(180),
            client_id: Some("c-1".into()),
            reason: None,
        },
        r#"{"type":"error","code":"rate_limited","message":"Too many messages: retry in 180 ms","retry_after_ms":180,"client_id":"c-1"}"#,
    );
    for (reason, wire) in [
        (ForbiddenReason::JoinCode, "join_code"),
        (ForbiddenReason::ModeratorToken, "moderator_token"),
        (ForbiddenReason::NotModerator, "not_moderator"),
        (ForbiddenReason::RoomLocked, "room_locked"),
        (ForbiddenReason::NotAuthor, "not_author"),
        (ForbiddenReason::NotMember, "not_member"),
        (ForbiddenReason::NotHeld, "not_held"),
    ] {
        assert_server_golden(
            ServerFrame::Error {
                code: ErrorCode::Forbidden,
                message: "No".into(),
                retry_after_ms: None,
                client_id: None,
                reason: Some(reason),
            },
            &format!(r#"{{"type":"error","code":"forbidden","message":"No","reason":"{wire}"}}"#),
        );
    }
}

#[test]
fn moderation_frames_have_the_documented_json() {
    assert_client_golden(
        ClientFrame::BecomeModerator {
            token: "Xy_9-abcdefghijklmnop".into(),
        },
        r#"{"type":"become_moderator","token":"Xy_9-abcdefghijklmnop"}"#,
    );
    assert_client_golden(
        ClientFrame::Delete {
            id: 17,
            client_id: Some("c-2".into()),
        },
        r#"{"type":"delete","id":17,"client_id":"c-2"}"#,
    );
    assert_client_golden(
        ClientFrame::Ban {
            username: "troll".into(),
            duration_secs: 3600,
        },
        r#"{"type":"ban","username":"troll","duration_secs":3600}"#,
    );
    assert_client_golden(
        ClientFrame::LockRoom { locked: true },
        r#"{"type":"lock_room","locked":true}"#,
    );
    assert_client_golden(
        ClientFrame::SetTopic {
            topic: "Rust 2027".into(),
        },
        r#"{"type":"set_topic","topic":"Rust 2027"}"#,
    );
    assert_client_golden(ClientFrame::Audit { limit: None }, r#"{"type":"audit"}"#);
    assert_server_golden(ServerFrame::Moderator, r#"{"type":"moderator"}"#);
    assert_server_golden(
        ServerFrame::MessageDeleted(Deletion {
            id: 32,
            target: 17,
            username: "mod".into(),
            client_id: Some("c-2".into()),
        }),
        r#"{"type":"message_deleted","id":32,"target":17,"username":"mod","client_id":"c-2"}"#,
    );
    assert_server_golden(
        ServerFrame::UserBanned {
            username: "troll".into(),
            until: "2026-11-25T22:00:00.000Z".into(),
            duration_secs: 3600,
        },
        r#"{"type":"user_banned","username":"troll","until":"2026-11-25T22:00:00.000Z","duration_secs":3600}"#,
    );
    assert_server_golden(
        ServerFrame::RoomLocked {
            room: "general".into(),
            locked: true,
            username: "mod".into(),
        },
        r#"{"type":"room_locked","room":"general","locked":true,"username":"mod"}"#,
    );
    assert_server_golden(
        ServerFrame::Topic {
            room: "general".into(),
            topic: "Rust 2027".into(),
            username: "mod".into(),
        },
        r#"{"type":"topic","room":"general","topic":"Rust 2027","username":"mod"}"#,
    );
    assert_server_golden(
        ServerFrame::Audit {
            entries: vec![AuditEntry {
                id: 3,
                at: "2026-11-25T21:00:00.123Z".into(),
                moderator: "mod".into(),
                action: AuditAction::Ban,
                target: "troll".into(),
                detail: Some("3600 s".into()),
            }],
        },
        r#"{"type":"audit","entries":[{"id":3,"at":"2026-11-25T21:00:00.123Z","moderator":"mod","action":"ban","target":"troll","detail":"3600 s"}]}"#,
    );
    assert_server_golden(
        ServerFrame::Welcome(Welcome {
            topic: Some("Be kind".into()),
            locked: true,
            ..Welcome::new("a", vec!["a".into()], "general", "t")
        }),
        r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":[],"resume":"t","topic":"Be kind","locked":true}"#,
    );
    assert_server_golden(
        ServerFrame::Error {
            code: ErrorCode::Banned,
            message: "Banned for 2 more seconds".into(),
            retry_after_ms: Some(2000),
            client_id: None,
            reason: None,
        },
        r#"{"type":"error","code":"banned","message":"Banned for 2 more seconds","retry_after_ms":2000}"#,
    );
    for action in [
        AuditAction::Delete,
        AuditAction::Ban,
        AuditAction::Lock,
        AuditAction::Unlock,
        AuditAction::Topic,
        AuditAction::Release,
        AuditAction::FreeName,
        AuditAction::Report,
    ] {
        assert_eq!(AuditAction::parse(action.as_str()), action);
    }
}

#[test]
fn message_action_frames_have_the_documented_json() {
    assert_client_golden(
        ClientFrame::Join {
            username: "alice".into(),
            room: None,
            since: None,
            resume: None,
            join_code: None,
            author_key: Some("k3y-0123456789abcdef".into()),
            link_code: None,
            device: None,
        },
        r#"{"type":"join","username":"alice","author_key":"k3y-0123456789abcdef"}"#,
    );
    assert_client_golden(
        ClientFrame::Message {
            text: "yes".into(),
            client_id: Some("c-3".into()),
            reply_to: Some(17),
            attachments: Vec::new(),
        },
        r#"{"type":"message","text":"yes","client_id":"c-3","reply_to":17}"#,
    );
    assert_client_golden(
        ClientFrame::Edit {
            id: 17,
            text: "fixed".into(),
            client_id: Some("c-4".into()),
        },
        r#"{"type":"edit","id":17,"text":"fixed","client_id":"c-4"}"#,
    );
    assert_client_golden(
        ClientFrame::React {
            id: 17,
            emoji: "👍".into(),
            on: true,
            client_id: Some("c-5".into()),
        },
        r#"{"type":"react","id":17,"emoji":"👍","on":true,"client_id":"c-5"}"#,
    );
    assert_client_golden(
        ClientFrame::History {
            before: None,
            limit: Some(20),
            around: Some(17),
        },
        r#"{"type":"history","limit":20,"around":17}"#,
    );
    // `on` is required: a toggle without it would be ambiguous.
    assert!(ClientFrame::decode(r#"{"type":"react","id":17,"emoji":"👍"}"#).is_err());
    assert_server_golden(
        ServerFrame::MessageEdited(Edit {
            id: 31,
            target: 17,
            text: Some("fixed".into()),
            edited_at: "2026-11-25T21:05:00.000Z".into(),
            username: "bob".into(),
            client_id: Some("c-4".into()),
        }),
        r#"{"type":"message_edited","id":31,"target":17,"text":"fixed","edited_at":"2026-11-25T21:05:00.000Z","username":"bob","client_id":"c-4"}"#,
    );
    assert_server_golden(
        ServerFrame::Reaction(Reaction {
            id: 33,
            target: 17,
            emoji: "👍".into(),
            on: true,
            username: "ann".into(),
            client_id: None,
        }),
        r#"{"type":"reaction","id":33,"target":17,"emoji":"👍","on":true,"username":"ann"}"#,
    );
    let reply = ChatMessage {
        id: 40,
        username: "ann".into(),
        text: "indeed".into(),
        timestamp: "2026-11-25T21:06:00.000Z".into(),
        reply_to: Some(17),
        reply: Some(Quote {
            id: 17,
            username: "bob".into(),
            text: "hi".into(),
            deleted: false,
        }),
        ..ChatMessage::default()
    };
    assert_server_golden(
        ServerFrame::Message(reply),
        r#"{"type":"message","id":40,"username":"ann","text":"indeed","timestamp":"2026-11-25T21:06:00.000Z","reply_to":17,"reply":{"id":17,"username":"bob","text":"hi"}}"#,
    );
    let edited = ChatMessage {
        id: 17,
        username: "bob".into(),
        text: "fixed".into(),
        timestamp: "2026-11-25T21:00:00.123Z".into(),
        edited_at: Some("2026-11-25T21:05:00.000Z".into()),
        reactions: vec![Reactions {
            emoji: "👍".into(),
            users: vec!["ann".into(), "bob".into()],
        }],
        ..ChatMessage::default()
    };
    let tombstone = ChatMessage {
        id: 18,
        username: "bob".into(),
        timestamp: "2026-11-25T21:00:01.000Z".into(),
        deleted: true,
        ..ChatMessage::default()
    };
    let reply_to_deleted = ChatMessage {
        id: 19,
        username: "ann".into(),
        text: "what?".into(),
        timestamp: "2026-11-25T21:00:02.000Z".into(),
        reply_to: Some(18),
        reply: Some(Quote {
            id: 18,
            username: "bob".into(),
            text: String::new(),
            deleted: true,
        }),
        ..ChatMessage::default()
    };
    assert_server_golden(
        ServerFrame::History {
            room: "general".into(),
            messages: vec![edited, tombstone, reply_to_deleted],
            has_more: false,
            has_newer: true,
        },
        concat!(
            r#"{"type":"history","room":"general","messages":["#,
            r#"{"id":17,"username":"bob","text":"fixed","timestamp":"2026-11-25T21:00:00.123Z","edited_at":"2026-11-25T21:05:00.000Z","reactions":[{"emoji":"👍","users":["ann","bob"]}]},"#,
            r#"{"id":18,"username":"bob","timestamp":"2026-11-25T21:00:01.000Z","deleted":true},"#,
            r#"{"id":19,"username":"ann","text":"what?","timestamp":"2026-11-25T21:00:02.000Z","reply_to":18,"reply":{"id":18,"username":"bob","deleted":true}}"#,
            r#"],"has_more":false,"has_newer":true}"#
        ),
    );
    assert_server_golden(
        ServerFrame::error(ErrorCode::EditExpired),
        r#"{"type":"error","code":"edit_expired","message":"That message is too old to edit"}"#,
    );
}

#[test]
fn a_replay_interleaves_messages_and_changes_in_id_order() {
    let history = vec![
        HistoryItem::Message(ChatMessage {
            id: 20,
            username: "bob".into(),
            text: "new".into(),
            timestamp: "2026-11-25T21:00:00.000Z".into(),
            ..ChatMessage::default()
        }),
        HistoryItem::Change(Change::MessageEdited(Edit {
            id: 21,
            target: 3,
            text: None,
            edited_at: "2026-11-25T21:01:00.000Z".into(),
            username: "bob".into(),
            client_id: None,
        })),
        HistoryItem::Change(Change::MessageDeleted(Deletion {
            id: 22,
            target: 3,
            username: "bob".into(),
            client_id: None,
        })),
        HistoryItem::Change(Change::Reaction(Reaction {
            id: 23,
            target: 20,
            emoji: "🎉".into(),
            on: false,
            username: "ann".into(),
            client_id: None,
        })),
    ];
    assert_server_golden(
        ServerFrame::Welcome(Welcome {
            history,
            ..Welcome::new("a", vec!["a".into()], "general", "t")
        }),
        concat!(
            r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":["#,
            r#"{"id":20,"username":"bob","text":"new","timestamp":"2026-11-25T21:00:00.000Z"},"#,
            r#"{"type":"message_edited","id":21,"target":3,"edited_at":"2026-11-25T21:01:00.000Z","username":"bob"},"#,
            r#"{"type":"message_deleted","id":22,"target":3,"username":"bob"},"#,
            r#"{"type":"reaction","id":23,"target":20,"emoji":"🎉","on":false,"username":"ann"}"#,
            r#"],"resume":"t"}"#
        ),
    );
}

#[test]
fn large_room_presence_frames_match_the_documented_json() {
    assert_server_golden(
        ServerFrame::Welcome(Welcome {
            online: Some(5000),
            ..Welcome::new("a", vec!["a".into(), "b".into()], "general", "t")
        }),
        r#"{"type":"welcome","username":"a","users":["a","b"],"room":"general","history":[],"resume":"t","online":5000}"#,
    );
    assert_server_golden(
        ServerFrame::Online { count: 5000 },
        r#"{"type":"online","count":5000}"#,
    );
    assert_server_golden(
        ServerFrame::Users {
            users: vec!["ann".into(), "bob".into()],
            online: 5000,
            next: Some("bob".into()),
        },
        r#"{"type":"users","users":["ann","bob"],"online":5000,"next":"bob"}"#,
    );
    assert_server_golden(
        ServerFrame::Users {
            users: vec!["ann".into()],
            online: 1,
            next: None,
        },
        r#"{"type":"users","users":["ann"],"online":1}"#,
    );
}

/// A code as `device_link` hands it out: 32 lower-case hex digits.
const LINK_CODE: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn people_client_frames_have_the_documented_json() {
    assert_client_golden(
        ClientFrame::Join {
            username: "alice".into(),
            room: None,
            since: None,
            resume: None,
            join_code: None,
            author_key: Some("k3y-phone-0123456789".into()),
            link_code: Some(LINK_CODE.into()),
            device: Some("Firefox on Android".into()),
        },
        r#"{"type":"join","username":"alice","author_key":"k3y-phone-0123456789","link_code":"0123456789abcdef0123456789abcdef","device":"Firefox on Android"}"#,
    );
    assert_client_golden(
        ClientFrame::Join {
            username: "alice".into(),
            room: Some("rust".into()),
            since: None,
            resume: None,
            join_code: None,
            author_key: Some("k3y-0123456789abcdef".into()),
            link_code: None,
            device: Some("Chrome on Linux".into()),
        },
        r#"{"type":"join","username":"alice","room":"rust","author_key":"k3y-0123456789abcdef","device":"Chrome on Linux"}"#,
    );
    assert_client_golden(ClientFrame::ReleaseName, r#"{"type":"release_name"}"#);
    assert_client_golden(
        ClientFrame::FreeName {
            username: "alice".into(),
        },
        r#"{"type":"free_name","username":"alice"}"#,
    );
    assert_client_golden(ClientFrame::LinkDevice, r#"{"type":"link_device"}"#);
    assert_client_golden(ClientFrame::Devices, r#"{"type":"devices"}"#);
    assert_client_golden(
        ClientFrame::RevokeDevice { id: 2 },
        r#"{"type":"revoke_device","id":2}"#,
    );
    assert_client_golden(
        ClientFrame::OpenDm {
            with: vec!["bob".into()],
        },
        r#"{"type":"open_dm","with":["bob"]}"#,
    );
    assert_client_golden(
        ClientFrame::OpenDm {
            with: vec!["bob".into(), "carol".into()],
        },
        r#"{"type":"open_dm","with":["bob","carol"]}"#,
    );
    assert_client_golden(
        ClientFrame::LeaveRoom {
            room: "rust".into(),
        },
        r#"{"type":"leave_room","room":"rust"}"#,
    );
    assert_client_golden(
        ClientFrame::Report {
            id: 17,
            reason: "spam".into(),
        },
        r#"{"type":"report","id":17,"reason":"spam"}"#,
    );
    // An empty reason is allowed, but the field is not optional.
    assert_client_golden(
        ClientFrame::Report {
            id: 17,
            reason: String::new(),
        },
        r#"{"type":"report","id":17,"reason":""}"#,
    );
    for bad in [
        r#"{"type":"free_name"}"#,
        r#"{"type":"revoke_device"}"#,
        r#"{"type":"revoke_device","id":"2"}"#,
        r#"{"type":"open_dm"}"#,
        r#"{"type":"open_dm","with":"bob"}"#,
        r#"{"type":"leave_room"}"#,
        r#"{"type":"report","reason":"spam"}"#,
        r#"{"type":"report","id":17}"#,
    ] {
        assert!(ClientFrame::decode(bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn people_server_frames_have_the_documented_json() {
    assert_server_golden(
        ServerFrame::Welcome(Welcome {
            held: true,
            ..Welcome::new("alice", vec!["alice".into()], "general", "t")
        }),
        r#"{"type":"welcome","username":"alice","users":["alice"],"room":"general","history":[],"resume":"t","held":true}"#,
    );
    assert_server_golden(
        ServerFrame::DeviceLink {
            code: LINK_CODE.into(),
            expires_at: "2026-11-25T21:10:00.000Z".into(),
        },
        r#"{"type":"device_link","code":"0123456789abcdef0123456789abcdef","expires_at":"2026-11-25T21:10:00.000Z"}"#,
    );
    assert_server_golden(
        ServerFrame::Devices {
            devices: vec![
                DeviceInfo {
                    id: 1,
                    label: "Firefox on Linux".into(),
                    first_seen: "2026-11-20T09:00:00.000Z".into(),
                    last_seen: "2026-11-25T21:00:00.000Z".into(),
                    this: true,
                },
                DeviceInfo {
                    id: 2,
                    label: "Safari on iPhone".into(),
                    first_seen: "2026-11-25T21:01:00.000Z".into(),
                    last_seen: "2026-11-25T21:01:00.000Z".into(),
                    this: false,
                },
            ],
        },
        concat!(
            r#"{"type":"devices","devices":["#,
            r#"{"id":1,"label":"Firefox on Linux","first_seen":"2026-11-20T09:00:00.000Z","last_seen":"2026-11-25T21:00:00.000Z","this":true},"#,
            r#"{"id":2,"label":"Safari on iPhone","first_seen":"2026-11-25T21:01:00.000Z","last_seen":"2026-11-25T21:01:00.000Z"}"#,
            r#"]}"#
        ),
    );
    // A device that sent no label is listed with an empty one.
    assert_server_golden(
        ServerFrame::Devices {
            devices: vec![DeviceInfo {
                id: 3,
                label: String::new(),
                first_seen: "2026-11-25T21:02:00.000Z".into(),
                last_seen: "2026-11-25T21:02:00.000Z".into(),
                this: false,
            }],
        },
        r#"{"type":"devices","devices":[{"id":3,"label":"","first_seen":"2026-11-25T21:02:00.000Z","last_seen":"2026-11-25T21:02:00.000Z"}]}"#,
    );
    assert_server_golden(
        ServerFrame::NameReleased {
            username: "alice".into(),
        },
        r#"{"type":"name_released","username":"alice"}"#,
    );
    assert_server_golden(
        ServerFrame::Dm {
            room: "dm-5d41402abc4b2a76b9719d91".into(),
            with: vec!["alice".into(), "bob".into()],
        },
        r#"{"type":"dm","room":"dm-5d41402abc4b2a76b9719d91","with":["alice","bob"]}"#,
    );
    assert_server_golden(
        ServerFrame::Activity {
            room: "rust".into(),
            latest: 120,
        },
        r#"{"type":"activity","room":"rust","latest":120}"#,
    );
    assert_server_golden(
        ServerFrame::RoomLeft {
            room: "rust".into(),
        },
        r#"{"type":"room_left","room":"rust"}"#,
    );
    assert_server_golden(
        ServerFrame::Reported { id: 17 },
        r#"{"type":"reported","id":17}"#,
    );
    assert_server_golden(
        ServerFrame::Rooms {
            rooms: vec![
                RoomInfo {
                    name: "general".into(),
                    online: 2,
                    mine: true,
                    with: vec![],
                    ..RoomInfo::default()
                },
                RoomInfo {
                    name: "rust".into(),
                    online: 0,
                    mine: false,
                    with: vec![],
                    ..RoomInfo::default()
                },
                RoomInfo {
                    name: "dm-5d41402abc4b2a76b9719d91".into(),
                    online: 0,
                    mine: true,
                    with: vec!["alice".into(), "bob".into()],
                    ..RoomInfo::default()
                },
            ],
        },
        concat!(
            r#"{"type":"rooms","rooms":["#,
            r#"{"name":"general","online":2,"mine":true},"#,
            r#"{"name":"rust","online":0},"#,
            r#"{"name":"dm-5d41402abc4b2a76b9719d91","online":0,"mine":true,"with":["alice","bob"]}"#,
            r#"]}"#
        ),
    );
    assert_server_golden(
        ServerFrame::error(ErrorCode::NameHeld),
        r#"{"type":"error","code":"name_held","message":"That name belongs to someone. If it is yours, open \"Link another device\" on a device that has it and use the link here; otherwise pick another name"}"#,
    );
    assert_server_golden(
        ServerFrame::Error {
            code: ErrorCode::Forbidden,
            message: "bob does not hold a name: a direct message goes only to held names".into(),
            retry_after_ms: None,
            client_id: None,
            reason: Some(ForbiddenReason::NotHeld),
        },
        r#"{"type":"error","code":"forbidden","message":"bob does not hold a name: a direct message goes only to held names","reason":"not_held"}"#,
    );
    let entry = |id, action, moderator: &str, target: &str, detail: Option<&str>| AuditEntry {
        id,
        at: "2026-11-25T21:00:00.123Z".into(),
        moderator: moderator.into(),
        action,
        target: target.into(),
        detail: detail.map(str::to_owned),
    };
    assert_server_golden(
        ServerFrame::Audit {
            entries: vec![
                entry(
                    9,
                    AuditAction::Report,
                    "bob",
                    "17",
                    Some(r#"#general, by troll: "spam" — buy now"#),
                ),
                entry(8, AuditAction::FreeName, "mod", "alice", None),
                entry(7, AuditAction::Release, "carol", "carol", None),
            ],
        },
        concat!(
            r#"{"type":"audit","entries":["#,
            r##"{"id":9,"at":"2026-11-25T21:00:00.123Z","moderator":"bob","action":"report","target":"17","detail":"#general, by troll: \"spam\" — buy now"},"##,
            r#"{"id":8,"at":"2026-11-25T21:00:00.123Z","moderator":"mod","action":"free_name","target":"alice"},"#,
            r#"{"id":7,"at":"2026-11-25T21:00:00.123Z","moderator":"carol","action":"release","target":"carol"}"#,
            r#"]}"#
        ),
    );
}

/// A client written before issue 23 must see the same bytes as before
/// from a server that has nothing new to say to it (a keyless join).
#[test]
fn frames_without_the_people_fields_encode_exactly_as_before() {
    let welcome = Welcome {
        heartbeat_ms: Some(20_000),
        answers_ping: true,
        ..Welcome::new("a", vec!["a".into()], "general", "t")
    };
    assert!(!welcome.held);
    assert_eq!(
        ServerFrame::Welcome(welcome).encode(),
        r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":[],"resume":"t","heartbeat_ms":20000,"answers_ping":true}"#
    );
    assert_eq!(
        ServerFrame::Rooms {
            rooms: vec![RoomInfo {
                name: "general".into(),
                online: 2,
                mine: false,
                with: vec![],
                ..RoomInfo::default()
            }],
        }
        .encode(),
        r#"{"type":"rooms","rooms":[{"name":"general","online":2}]}"#
    );
    assert_eq!(
        ClientFrame::join("alice").encode(),
        r#"{"type":"join","username":"alice"}"#
    );
}

/// This build reading a server from before issue 23: every new field
/// takes its default.
#[test]
fn an_older_servers_frames_decode_with_the_people_defaults() {
    let Ok(ServerFrame::Welcome(welcome)) = ServerFrame::decode(
        r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":[],"resume":"t","heartbeat_ms":20000}"#,
    ) else {
        panic!("an old welcome did not decode")
    };
    assert!(!welcome.held, "an old welcome is not held");
    assert_eq!(
        ServerFrame::decode(r#"{"type":"rooms","rooms":[{"name":"general","online":2}]}"#),
        Ok(ServerFrame::Rooms {
            rooms: vec![RoomInfo {
                name: "general".into(),
                online: 2,
                mine: false,
                with: vec![],
                ..RoomInfo::default()
            }],
        })
    );
    // A device listed without a label (or by a server that sends none).
    assert_eq!(
        ServerFrame::decode(
            r#"{"type":"devices","devices":[{"id":1,"first_seen":"x","last_seen":"y"}]}"#
        ),
        Ok(ServerFrame::Devices {
            devices: vec![DeviceInfo {
                id: 1,
                label: String::new(),
                first_seen: "x".into(),
                last_seen: "y".into(),
                this: false,
            }],
        })
    );
    // And a join from a client before issue 23 has no people fields.
    assert_eq!(
        ClientFrame::decode(
            r#"{"type":"join","username":"a","author_key":"k3y-0123456789abcdef"}"#
        ),
        Ok(ClientFrame::Join {
            username: "a".into(),
            room: None,
            since: None,
            resume: None,
            join_code: None,
            author_key: Some("k3y-0123456789abcdef".into()),
            link_code: None,
            device: None,
        })
    );
}

/// The close code of a revoked device is part of the contract
/// (docs/protocol.md, "Close codes"): a client must not reconnect under
/// the name after it.
#[test]
fn a_revoked_device_is_closed_with_4003() {
    assert_eq!(chat_shared::close::REVOKED, 4003);
}

#[test]
fn every_error_code_round_trips() {
    for code in [
        ErrorCode::InvalidUsername,
        ErrorCode::NameTaken,
        ErrorCode::EmptyMessage,
        ErrorCode::MessageTooLong,
        ErrorCode::NotJoined,
        ErrorCode::AlreadyJoined,
        ErrorCode::BadRequest,
        ErrorCode::InvalidRoom,
        ErrorCode::ServerError,
        ErrorCode::RateLimited,
        ErrorCode::Forbidden,
        ErrorCode::Banned,
        ErrorCode::NotFound,
        ErrorCode::EditExpired,
        ErrorCode::NameHeld,
    ] {
        let frame = ServerFrame::error(code);
        assert_eq!(ServerFrame::decode(&frame.encode()), Ok(frame));
    }
}

#[test]
fn unknown_fields_are_ignored_both_ways() {
    assert_eq!(
        ClientFrame::decode(r#"{"type":"join","username":"a","colour":"red"}"#),
        Ok(ClientFrame::join("a"))
    );
    assert_eq!(
        ServerFrame::decode(r#"{"type":"user_left","username":"a","count":0,"why":"x"}"#),
        Ok(ServerFrame::UserLeft {
            username: "a".into(),
            count: 0
        })
    );
}

#[test]
fn the_first_version_of_welcome_still_decodes() {
    assert_eq!(
        ServerFrame::decode(r#"{"type":"welcome","username":"a","users":["a"]}"#),
        Ok(ServerFrame::Welcome(Welcome::new(
            "a",
            vec!["a".into()],
            "",
            ""
        )))
    );
}

#[test]
fn clients_tolerate_new_server_frames_and_codes() {
    assert_eq!(
        ServerFrame::decode(r#"{"type":"poll","question":"?"}"#),
        Ok(ServerFrame::Unknown)
    );
    assert_eq!(
        ServerFrame::decode(r#"{"type":"error","code":"brand_new","message":"m"}"#),
        Ok(ServerFrame::Error {
            code: ErrorCode::Unknown,
            message: "m".into(),
            retry_after_ms: None,
            client_id: None,
            reason: None,
        })
    );
    assert_eq!(
        ServerFrame::decode(
            r#"{"type":"error","code":"forbidden","message":"m","reason":"brand_new"}"#
        ),
        Ok(ServerFrame::Error {
            code: ErrorCode::Forbidden,
            message: "m".into(),
            retry_after_ms: None,
            client_id: None,
            reason: Some(ForbiddenReason::Unknown),
        })
    );
}

#[test]
fn the_server_rejects_unknown_or_incomplete_client_frames() {
    for bad in [
        r#"{"type":"shout","text":"x"}"#,
        r#"{"type":"message"}"#,
        r#"{"text":"no type"}"#,
        r#"{"type":"typing","is_typing":"yes"}"#,
        "not json",
        "[]",
        r#"["message","hi"]"#,
        "null",
    ] {
        assert!(ClientFrame::decode(bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn file_frames_have_the_documented_json() {
    assert_client_golden(ClientFrame::UploadToken, r#"{"type":"upload_token"}"#);
    assert_client_golden(
        ClientFrame::Message {
            text: "the sea".into(),
            client_id: Some("c-7".into()),
            reply_to: None,
            attachments: vec!["up-1".into(), "up-2".into()],
        },
        r#"{"type":"message","text":"the sea","client_id":"c-7","attachments":["up-1","up-2"]}"#,
    );
    assert_client_golden(
        ClientFrame::Message {
            text: String::new(),
            client_id: None,
            reply_to: None,
            attachments: vec!["up-1".into()],
        },
        r#"{"type":"message","text":"","attachments":["up-1"]}"#,
    );
    assert_server_golden(
        ServerFrame::UploadToken {
            room: "general".into(),
            token: "u.t0k3n".into(),
            expires_in_secs: 1800,
            read: Some("r.t0k3n".into()),
            max_bytes: 26_214_400,
        },
        r#"{"type":"upload_token","room":"general","token":"u.t0k3n","expires_in_secs":1800,"read":"r.t0k3n","max_bytes":26214400}"#,
    );
    assert_server_golden(
        ServerFrame::UploadToken {
            room: "general".into(),
            token: "u.t0k3n".into(),
            expires_in_secs: 1800,
            read: None,
            max_bytes: 1000,
        },
        r#"{"type":"upload_token","room":"general","token":"u.t0k3n","expires_in_secs":1800,"max_bytes":1000}"#,
    );
    let id = "4f0c6a8e1b7e4d5a9a533c2f1e0d9b7a";
    assert_server_golden(
        ServerFrame::Message(ChatMessage {
            id: 21,
            username: "bob".into(),
            text: format!("the sea\n📎 sea.jpg (2.3 MB) /files/{id}/sea.jpg\n📎 notes.pdf (10 KB) /files/{id}/notes.pdf"),
            timestamp: "2026-11-25T21:00:00.123Z".into(),
            attachments: vec![
                chat_shared::files::Attachment {
                    id: id.into(),
                    name: "sea.jpg".into(),
                    size: 2_400_000,
                    content_type: "image/jpeg".into(),
                    thumbs: vec![320, 1280],
                    width: Some(4000),
                    height: Some(3000),
                    preview: Some("/9j/4AAQ".into()),
                },
                chat_shared::files::Attachment {
                    id: id.into(),
                    name: "notes.pdf".into(),
                    size: 10_240,
                    content_type: "application/pdf".into(),
                    ..Default::default()
                },
            ],
            ..ChatMessage::default()
        }),
        &format!(
            r#"{{"type":"message","id":21,"username":"bob","text":"the sea\n📎 sea.jpg (2.3 MB) /files/{id}/sea.jpg\n📎 notes.pdf (10 KB) /files/{id}/notes.pdf","timestamp":"2026-11-25T21:00:00.123Z","attachments":[{{"id":"{id}","name":"sea.jpg","size":2400000,"type":"image/jpeg","thumbs":[320,1280],"width":4000,"height":3000,"preview":"/9j/4AAQ"}},{{"id":"{id}","name":"notes.pdf","size":10240,"type":"application/pdf"}}]}}"#
        ),
    );
    assert_server_golden(
        ServerFrame::error(ErrorCode::AttachmentNotFound),
        r#"{"type":"error","code":"attachment_not_found","message":"That file is not one you uploaded to this room, or it was sent already: upload it again"}"#,
    );
}

#[test]
fn search_frames_have_the_documented_json() {
    use chat_shared::search::{FoundFile, SearchHit, SearchOrder};
    assert_client_golden(
        ClientFrame::Search {
            query: "deploy from:bob".into(),
            room: None,
            order: SearchOrder::Newest,
            page: None,
        },
        r#"{"type":"search","query":"deploy from:bob"}"#,
    );
    assert_client_golden(
        ClientFrame::Search {
            query: "\"new server\"".into(),
            room: Some("rust".into()),
            order: SearchOrder::Best,
            page: Some("s50".into()),
        },
        r#"{"type":"search","query":"\"new server\"","room":"rust","order":"best","page":"s50"}"#,
    );
    assert_server_golden(
        ServerFrame::SearchResults {
            query: "deploy".into(),
            room: None,
            order: SearchOrder::Newest,
            page: None,
            hits: vec![SearchHit {
                id: 42,
                room: "rust".into(),
                username: "bob".into(),
                timestamp: "2026-12-01T10:00:00.000Z".into(),
                text: "we deployed it".into(),
                highlights: vec![[3, 11]],
                files: vec![FoundFile {
                    name: "deploy.log".into(),
                    highlights: vec![[0, 6]],
                }],
                ..SearchHit::default()
            }],
            next: Some("o42".into()),
        },
        r#"{"type":"search_results","query":"deploy","hits":[{"id":42,"room":"rust","username":"bob","timestamp":"2026-12-01T10:00:00.000Z","text":"we deployed it","highlights":[[3,11]],"files":[{"name":"deploy.log","highlights":[[0,6]]}]}],"next":"o42"}"#,
    );
    assert_server_golden(
        ServerFrame::error(ErrorCode::BadSearch),
        r#"{"type":"error","code":"bad_search","message":"That search was not understood"}"#,
    );
}

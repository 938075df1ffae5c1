//! Golden JSON for issue 24's frames (read markers, notification levels,
//! `notify`, push subscriptions), and that frames without them encode and
//! decode as before: the wire only grows.

use chat_shared::{ClientFrame, ErrorCode, NotifyLevel, PushKeys, RoomInfo, ServerFrame, Welcome};

fn assert_client_golden(frame: ClientFrame, json: &str) {
    assert_eq!(serde_json::to_string(&frame).expect("encodes"), json);
    assert_eq!(ClientFrame::decode(json).expect("decodes"), frame);
}

fn assert_server_golden(frame: ServerFrame, json: &str) {
    assert_eq!(frame.encode(), json);
    assert_eq!(ServerFrame::decode(json).expect("decodes"), frame);
}

#[test]
fn attention_client_frames_have_the_documented_json() {
    assert_client_golden(
        ClientFrame::MarkRead {
            room: "rust".into(),
            id: 42,
        },
        r#"{"type":"mark_read","room":"rust","id":42}"#,
    );
    for (level, name) in [
        (NotifyLevel::All, "all"),
        (NotifyLevel::Mentions, "mentions"),
        (NotifyLevel::None, "none"),
    ] {
        assert_client_golden(
            ClientFrame::SetLevel {
                room: "rust".into(),
                level,
            },
            &format!(r#"{{"type":"set_level","room":"rust","level":"{name}"}}"#),
        );
    }
    assert_client_golden(
        ClientFrame::PushSubscribe {
            endpoint: "https://push.example/abc".into(),
            keys: PushKeys {
                p256dh: "BPub".into(),
                auth: "c2VjcmV0".into(),
            },
        },
        r#"{"type":"push_subscribe","endpoint":"https://push.example/abc","keys":{"p256dh":"BPub","auth":"c2VjcmV0"}}"#,
    );
    assert_client_golden(
        ClientFrame::PushUnsubscribe {
            endpoint: "https://push.example/abc".into(),
        },
        r#"{"type":"push_unsubscribe","endpoint":"https://push.example/abc"}"#,
    );
}

#[test]
fn a_browsers_subscription_json_is_taken_as_it_comes() {
    // `PushSubscription.toJSON()` also has `expirationTime`: ignored.
    let json = r#"{"type":"push_subscribe","endpoint":"https://push.example/abc","expirationTime":null,"keys":{"p256dh":"BPub","auth":"c2VjcmV0"}}"#;
    assert!(matches!(
        ClientFrame::decode(json),
        Ok(ClientFrame::PushSubscribe { .. })
    ));
}

#[test]
fn attention_server_frames_have_the_documented_json() {
    assert_server_golden(
        ServerFrame::Read {
            room: "rust".into(),
            id: 42,
        },
        r#"{"type":"read","room":"rust","id":42}"#,
    );
    assert_server_golden(
        ServerFrame::Level {
            room: "dm-ab12".into(),
            level: NotifyLevel::None,
        },
        r#"{"type":"level","room":"dm-ab12","level":"none"}"#,
    );
    assert_server_golden(
        ServerFrame::Notify {
            room: "rust".into(),
            id: 43,
            author: "bob".into(),
            text: "@alice look at this".into(),
            mention: true,
        },
        r#"{"type":"notify","room":"rust","id":43,"author":"bob","text":"@alice look at this","mention":true}"#,
    );
    assert_server_golden(
        ServerFrame::Notify {
            room: "dm-ab12".into(),
            id: 44,
            author: "bob".into(),
            text: "hi".into(),
            mention: false,
        },
        r#"{"type":"notify","room":"dm-ab12","id":44,"author":"bob","text":"hi"}"#,
    );
    assert_server_golden(
        ServerFrame::PushSubscribed {
            endpoint: "https://push.example/abc".into(),
        },
        r#"{"type":"push_subscribed","endpoint":"https://push.example/abc"}"#,
    );
    assert_server_golden(
        ServerFrame::PushUnsubscribed {
            endpoint: "https://push.example/abc".into(),
        },
        r#"{"type":"push_unsubscribed","endpoint":"https://push.example/abc"}"#,
    );
    assert_server_golden(
        ServerFrame::Rooms {
            rooms: vec![RoomInfo {
                name: "rust".into(),
                online: 2,
                mine: true,
                read: Some(40),
                unread: 3,
                mentions: 1,
                level: Some(NotifyLevel::All),
                ..RoomInfo::default()
            }],
        },
        r#"{"type":"rooms","rooms":[{"name":"rust","online":2,"mine":true,"read":40,"unread":3,"mentions":1,"level":"all"}]}"#,
    );
    assert_server_golden(
        ServerFrame::error(ErrorCode::InvalidSubscription),
        &format!(
            r#"{{"type":"error","code":"invalid_subscription","message":"{}"}}"#,
            ErrorCode::InvalidSubscription.default_message()
        ),
    );
}

#[test]
fn frames_without_the_attention_fields_encode_exactly_as_before() {
    let room = RoomInfo {
        name: "general".into(),
        online: 1,
        ..RoomInfo::default()
    };
    assert_eq!(
        serde_json::to_string(&room).expect("encodes"),
        r#"{"name":"general","online":1}"#
    );
    let welcome = ServerFrame::Welcome(Welcome::new("alice", vec![], "general", "t"));
    assert!(!welcome.encode().contains("push_key"));
    let with_key = ServerFrame::Welcome(Welcome {
        push_key: Some("BKey".into()),
        ..Welcome::new("alice", vec![], "general", "t")
    });
    assert!(with_key.encode().contains(r#""push_key":"BKey""#));
}

#[test]
fn a_level_from_a_newer_server_is_the_rooms_default() {
    let frame =
        ServerFrame::decode(r#"{"type":"level","room":"rust","level":"loud"}"#).expect("decodes");
    assert_eq!(
        frame,
        ServerFrame::Level {
            room: "rust".into(),
            level: NotifyLevel::Unknown,
        }
    );
    assert_eq!(
        NotifyLevel::effective(Some(NotifyLevel::Unknown), "rust"),
        NotifyLevel::Mentions
    );
}

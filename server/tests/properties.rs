//! Property: whatever text frame a client sends, the server either accepts
//! it or answers with exactly one error frame, and the connection keeps
//! working. Checked through a real socket with generated frames.

mod common;

use chat_server::config::Config;
use chat_server::limits::Limits;
use chat_shared::files::{is_valid_file_id, MAX_ATTACHMENTS};
use chat_shared::{
    is_dm_room, is_valid_author_key, is_valid_client_id, is_valid_link_code,
    normalize_device_label, normalize_message, normalize_report_reason, normalize_room,
    normalize_username, ClientFrame, ErrorCode, ServerFrame, DEFAULT_ROOM,
};
use common::TestServer;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// Generated frames are checked for validation, not for speed.
fn unlimited() -> Config {
    Config {
        limits: Limits {
            message_rate: 1e9,
            message_burst: u32::MAX,
            typing_rate: 1e9,
            ..Limits::default()
        },
        ..Config::default()
    }
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Room names around the rules: fine, too long, or with bad characters.
fn text_for_room() -> impl Strategy<Value = String> {
    prop_oneof!["#?[a-zA-Zя0-9_-]{0,40}", any::<String>()]
}

/// Text that looks more or less like a client frame.
fn frame_text() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        any::<String>(),
        "[ \t\n]{0,3}[a-zé\u{200B}\u{0}]{0,40}[ \n]{0,3}",
        // Around the 2,000-character limit.
        (1_990usize..2_010).prop_map(|n| "ы".repeat(n)),
    ];
    let kind = prop_oneof![
        Just("join".to_owned()),
        Just("message".to_owned()),
        Just("typing".to_owned()),
        Just("history".to_owned()),
        Just("list_rooms".to_owned()),
        Just("edit".to_owned()),
        Just("delete".to_owned()),
        Just("react".to_owned()),
        Just("ping".to_owned()),
        Just("search".to_owned()),
        "[a-z_]{0,10}",
    ];
    prop_oneof![
        // Junk.
        any::<String>(),
        // Frames of the right shape with any content.
        text.clone()
            .prop_map(|u| json!({"type": "join", "username": u}).to_string()),
        text.clone()
            .prop_map(|t| json!({"type": "message", "text": t}).to_string()),
        (text.clone(), "[a-zA-Z0-9-]{0,70}")
            .prop_map(|(t, id)| json!({"type": "message", "text": t, "client_id": id}).to_string()),
        (text.clone(), text_for_room())
            .prop_map(|(u, r)| json!({"type": "join", "username": u, "room": r}).to_string()),
        any::<bool>().prop_map(|b| json!({"type": "typing", "is_typing": b}).to_string()),
        text.prop_map(|q| json!({"type": "search", "query": q}).to_string()),
        // Any type, any fields, any values.
        (
            kind,
            prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..4)
        )
            .prop_map(|(kind, fields)| {
                let mut object: serde_json::Map<String, Value> = fields.into_iter().collect();
                object.insert("type".into(), Value::String(kind));
                Value::Object(object).to_string()
            }),
        json_value().prop_map(|value| value.to_string()),
    ]
}

/// What the protocol says the answer to `text` must be: `Ok(())` for an
/// accepted frame (its welcome, its echo, or nothing for typing) or the
/// error code.
fn expected(text: &str, joined: bool) -> Result<(), Vec<ErrorCode>> {
    match ClientFrame::decode(text) {
        Err(_) => Err(vec![ErrorCode::BadRequest]),
        Ok(ClientFrame::Join { .. }) if joined => Err(vec![ErrorCode::AlreadyJoined]),
        Ok(ClientFrame::Join {
            username,
            room,
            author_key,
            link_code,
            device,
            ..
        }) => {
            normalize_username(&username).map_err(|error| vec![error.code()])?;
            normalize_room(room.as_deref().unwrap_or(DEFAULT_ROOM))
                .map_err(|error| vec![error.code()])?;
            if author_key
                .as_deref()
                .is_some_and(|key| !is_valid_author_key(key))
            {
                return Err(vec![ErrorCode::BadRequest]);
            }
            if device.is_some_and(|label| normalize_device_label(&label).is_none()) {
                return Err(vec![ErrorCode::BadRequest]);
            }
            // A link code needs a key to hold the name with; for a name
            // nobody holds it changes nothing.
            if link_code.is_some_and(|code| author_key.is_none() || !is_valid_link_code(&code)) {
                return Err(vec![ErrorCode::BadRequest]);
            }
            // Only a DM's members may join it: no case is one.
            if room.as_deref().is_some_and(is_dm_room) {
                return Err(vec![ErrorCode::Forbidden, ErrorCode::NameHeld]);
            }
            // An earlier case may still hold the same name: see check_one.
            Ok(())
        }
        Ok(ClientFrame::ListRooms | ClientFrame::Ping) => Ok(()),
        // No case knows the token; guesses from one address are slowed.
        Ok(ClientFrame::BecomeModerator { .. }) => {
            Err(vec![ErrorCode::Forbidden, ErrorCode::RateLimited])
        }
        Ok(_) if !joined => Err(vec![ErrorCode::NotJoined]),
        // Other cases' messages may exist, none posted with an author key:
        // not there, not the sender's, or a malformed field; a reaction
        // may land.
        Ok(ClientFrame::Delete { .. } | ClientFrame::Edit { .. }) => Err(vec![
            ErrorCode::NotFound,
            ErrorCode::Forbidden,
            ErrorCode::BadRequest,
        ]),
        Ok(ClientFrame::React { .. }) => Err(vec![
            ErrorCode::NotFound,
            ErrorCode::BadRequest,
            ErrorCode::Unknown,
        ]),
        Ok(
            ClientFrame::Ban { .. }
            | ClientFrame::LockRoom { .. }
            | ClientFrame::SetTopic { .. }
            | ClientFrame::Audit { .. }
            | ClientFrame::FreeName { .. },
        ) => Err(vec![ErrorCode::Forbidden]),
        // Every case joins without a key: nothing of a held name's.
        Ok(
            ClientFrame::ReleaseName
            | ClientFrame::LinkDevice
            | ClientFrame::Devices
            | ClientFrame::RevokeDevice { .. }
            | ClientFrame::OpenDm { .. }
            | ClientFrame::LeaveRoom { .. }
            | ClientFrame::MarkRead { .. }
            | ClientFrame::SetLevel { .. }
            | ClientFrame::PushSubscribe { .. }
            | ClientFrame::PushUnsubscribe { .. },
        ) => Err(vec![ErrorCode::Forbidden]),
        Ok(ClientFrame::Report { reason, .. }) => {
            if normalize_report_reason(&reason).is_none() {
                return Err(vec![ErrorCode::BadRequest]);
            }
            // Another case's message may be there to report.
            Err(vec![ErrorCode::NotFound, ErrorCode::Unknown])
        }
        Ok(ClientFrame::Message {
            text,
            client_id,
            reply_to,
            attachments,
        }) => {
            let files_ok = attachments.len() <= MAX_ATTACHMENTS
                && attachments.iter().all(|id| is_valid_file_id(id));
            if !files_ok {
                return Err(vec![ErrorCode::BadRequest]);
            }
            if attachments.is_empty() || !text.trim().is_empty() {
                normalize_message(&text).map_err(|error| vec![error.code()])?;
            }
            match client_id {
                Some(id) if !is_valid_client_id(&id) => Err(vec![ErrorCode::BadRequest]),
                // No case uploads a file: whatever it names is not one.
                _ if !attachments.is_empty() => Err(vec![ErrorCode::AttachmentNotFound]),
                // An id that may or may not be another case's message.
                _ if reply_to.is_some() => Err(vec![ErrorCode::NotFound, ErrorCode::Unknown]),
                _ => Ok(()),
            }
        }
        Ok(ClientFrame::History {
            before: Some(_),
            around: Some(_),
            ..
        }) => Err(vec![ErrorCode::BadRequest]),
        // The query by the shared rules, the room as rooms are named, the
        // page as a search's `next` is written; no case's search fails.
        Ok(ClientFrame::Search {
            query, room, page, ..
        }) => {
            let page_ok = page.is_none_or(|page| {
                page.split_at_checked(1).is_some_and(|(kind, number)| {
                    (kind == "o" || kind == "s") && number.parse::<u64>().is_ok()
                })
            });
            let room_ok = room.is_none_or(|room| normalize_room(&room).is_ok());
            if chat_shared::search::parse_query(&query).is_ok() && page_ok && room_ok {
                Ok(())
            } else {
                Err(vec![ErrorCode::BadSearch])
            }
        }
        Ok(
            ClientFrame::Typing { .. }
            | ClientFrame::History { .. }
            | ClientFrame::Users { .. }
            | ClientFrame::UploadToken,
        ) => Ok(()),
    }
}

async fn check_one(server: &TestServer, text: &str, join_first: bool, case: u64) {
    let mut client = server.connect().await;
    if join_first {
        client.join(&format!("case{case}")).await;
    }
    client.send_text(text).await;
    // A frame type no server knows: its bad_request names it, marking the
    // end of the answers to `text`.
    let sentinel = format!("sentinel{case}");
    client
        .send_text(&json!({ "type": sentinel }).to_string())
        .await;
    let mut answers = Vec::new();
    loop {
        let frame = client.recv().await;
        if let ServerFrame::Error { message, .. } = &frame {
            if message.contains(&sentinel) {
                break;
            }
        }
        // Earlier cases' clients leaving are news, not answers.
        if !matches!(
            frame,
            ServerFrame::UserLeft { .. } | ServerFrame::UserJoined { .. }
        ) {
            answers.push(frame);
        }
    }
    // An accepted message comes back through the room's delivery (after
    // the journal commits it), which the sentinel's direct answer may
    // overtake: wait for it then.
    if answers.is_empty() && matches!(ClientFrame::decode(text), Ok(ClientFrame::Message { .. })) {
        loop {
            match client.recv().await {
                ServerFrame::UserLeft { .. } | ServerFrame::UserJoined { .. } => {}
                frame => {
                    answers.push(frame);
                    break;
                }
            }
        }
    }
    let expectation = expected(text, join_first);
    match (answers.as_slice(), &expectation) {
        // A ping's answer is a heartbeat, which `recv` skips like all.
        ([], Ok(())) => assert!(
            matches!(
                ClientFrame::decode(text),
                Ok(ClientFrame::Typing { .. } | ClientFrame::Ping)
            ),
            "only typing and ping are accepted silently: {text:?}"
        ),
        (
            [ServerFrame::Welcome(chat_shared::Welcome { .. })
            | ServerFrame::Message(_)
            | ServerFrame::History { .. }
            | ServerFrame::Rooms { .. }
            | ServerFrame::SearchResults { .. }
            | ServerFrame::UploadToken { .. }],
            Ok(()),
        ) => {}
        // An earlier case may be online under the name, or may hold it
        // with its author key.
        ([ServerFrame::Error { code, .. }], Ok(())) => assert!(
            matches!(code, ErrorCode::NameTaken | ErrorCode::NameHeld),
            "{text:?} should have been accepted, got {code:?}"
        ),
        // `Unknown` in the expected codes: the frame may also succeed.
        (
            [ServerFrame::Message(_) | ServerFrame::Reaction(_) | ServerFrame::Reported { .. }],
            Err(codes),
        ) if codes.contains(&ErrorCode::Unknown) => {}
        ([ServerFrame::Error { code, .. }], Err(codes)) => {
            assert!(
                codes.contains(code),
                "{text:?}: got {code:?}, expected {codes:?}"
            )
        }
        _ => panic!("{text:?}: expected {expectation:?}, got {answers:?}"),
    }
    client.socket.close(None).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_frame_is_accepted_or_gets_exactly_one_error() {
    let server = TestServer::start_with(unlimited()).await;
    let runtime = tokio::runtime::Handle::current();
    let cases = AtomicU64::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = tokio::task::block_in_place(|| {
        runner.run(&(frame_text(), any::<bool>()), |(text, join_first)| {
            let case = cases.fetch_add(1, Ordering::Relaxed);
            runtime.block_on(check_one(&server, &text, join_first, case));
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

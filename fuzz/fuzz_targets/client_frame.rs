//! Arbitrary bytes into everything the server does with a client's text
//! frame before any state changes: decoding and the validation rules.
//! Any panic, or any broken invariant below, is a bug.
#![no_main]

use chat_shared::{
    message_length, normalize_message, normalize_room, normalize_topic, normalize_username,
    username_key, ClientFrame, MAX_MESSAGE_CHARS, MAX_ROOM_CHARS, MAX_TOPIC_CHARS,
    MAX_USERNAME_CHARS,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The WebSocket layer only hands the server valid UTF-8 text frames.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ClientFrame::decode(text) {
        Ok(frame) => {
            // What the server accepts survives its own encoding unchanged.
            assert_eq!(ClientFrame::decode(&frame.encode()), Ok(frame.clone()));
            // `..`: fields that grow later need no rule here to compile.
            match &frame {
                ClientFrame::Join {
                    username,
                    room,
                    link_code,
                    device,
                    ..
                } => {
                    check_username(username);
                    if let Some(room) = room {
                        check_room(room);
                    }
                    if let Some(code) = link_code {
                        // A valid code travels in a link as it is.
                        if chat_shared::is_valid_link_code(code) {
                            assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
                        }
                    }
                    if let Some(label) = device {
                        if let Some(kept) = chat_shared::normalize_device_label(label) {
                            assert!(kept.chars().count() <= chat_shared::MAX_DEVICE_LABEL_CHARS);
                            assert!(!kept.chars().any(char::is_control));
                        }
                    }
                }
                ClientFrame::FreeName { username } => check_username(username),
                ClientFrame::LeaveRoom { room } => check_room(room),
                ClientFrame::OpenDm { with } => {
                    // The members kept are valid names, none twice, at most seven.
                    if let Ok(names) = chat_shared::normalize_dm_with(with, "me") {
                        assert!((1..=chat_shared::MAX_DM_OTHERS).contains(&names.len()));
                        for name in &names {
                            assert_eq!(chat_shared::normalize_username(name).as_ref(), Ok(name));
                        }
                    }
                }
                ClientFrame::Report { reason, .. } => {
                    if let Some(kept) = chat_shared::normalize_report_reason(reason) {
                        assert!(kept.chars().count() <= chat_shared::MAX_REPORT_CHARS);
                    }
                }
                ClientFrame::Message { text, .. } | ClientFrame::Edit { text, .. } => {
                    check_message(text);
                    check_mentions(text);
                }
                ClientFrame::MarkRead { room, .. } | ClientFrame::SetLevel { room, .. } => {
                    check_room(room)
                }
                ClientFrame::PushSubscribe { .. } | ClientFrame::PushUnsubscribe { .. } => {}
                ClientFrame::React { emoji, .. } => {
                    // Whatever came in, what is stored is one of the eight.
                    if let Some(stored) = chat_shared::normalize_emoji(emoji) {
                        assert!(chat_shared::REACTION_EMOJI.contains(&stored));
                    }
                }
                ClientFrame::SetTopic { topic } => check_topic(topic),
                ClientFrame::Search { query, .. } => {
                    // Taken or refused with a reason, never a panic; what
                    // is taken stays within the limits.
                    if let Ok(parsed) = chat_shared::search::parse_query(query) {
                        assert!(
                            parsed.words.len() + parsed.phrases.len()
                                <= chat_shared::search::MAX_QUERY_TERMS
                        );
                    }
                }
                ClientFrame::Ban { username, .. } => check_username(username),
                ClientFrame::Typing { .. }
                | ClientFrame::UploadToken
                | ClientFrame::History { .. }
                | ClientFrame::ListRooms
                | ClientFrame::BecomeModerator { .. }
                | ClientFrame::Delete { .. }
                | ClientFrame::LockRoom { .. }
                | ClientFrame::Audit { .. }
                | ClientFrame::Users { .. }
                | ClientFrame::Ping
                | ClientFrame::ReleaseName
                | ClientFrame::LinkDevice
                | ClientFrame::Devices
                | ClientFrame::RevokeDevice { .. } => {}
            }
        }
        // The client is told what was wrong.
        Err(detail) => assert!(!detail.is_empty()),
    }
    check_username(text);
    check_message(text);
    check_room(text);
    check_topic(text);
    check_mentions(text);
});

/// The names a text mentions, which the server stores beside a message
/// and looks up to call people: bounded, valid names, each once, and each
/// one `mentions` agrees with.
fn check_mentions(text: &str) {
    let names = chat_shared::mention::mentioned(text);
    assert!(names.len() <= chat_shared::mention::MAX_MENTION_CANDIDATES);
    let mut keys: Vec<String> = names.iter().map(|name| username_key(name)).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), names.len());
    for name in &names {
        assert_eq!(normalize_username(name).as_ref(), Ok(name));
        assert!(chat_shared::mention::mentions(text, name));
    }
}

fn check_username(raw: &str) {
    if let Ok(name) = normalize_username(raw) {
        assert!(!name.is_empty());
        assert!(name.chars().count() <= MAX_USERNAME_CHARS);
        // The browser re-validates the name the server returns: it must
        // pass unchanged.
        assert_eq!(normalize_username(&name).as_ref(), Ok(&name));
        assert!(!username_key(&name).is_empty());
    }
}

fn check_message(raw: &str) {
    if let Ok(text) = normalize_message(raw) {
        assert!(!text.is_empty());
        assert_eq!(text, text.trim());
        assert!(message_length(text) <= MAX_MESSAGE_CHARS);
        assert_eq!(normalize_message(text), Ok(text));
    }
}

fn check_room(raw: &str) {
    if let Ok(room) = normalize_room(raw) {
        assert!(!room.is_empty());
        assert!(room.chars().count() <= MAX_ROOM_CHARS);
        // A room name the server stored joins the same room again.
        assert_eq!(normalize_room(&room).as_ref(), Ok(&room));
    }
}

/// An accepted topic is within its limit, one line, and stable.
fn check_topic(raw: &str) {
    if let Ok(topic) = normalize_topic(raw) {
        assert!(topic.chars().count() <= MAX_TOPIC_CHARS);
        assert!(!topic.chars().any(char::is_control));
        assert_eq!(normalize_topic(&topic), Ok(topic.clone()));
    }
}

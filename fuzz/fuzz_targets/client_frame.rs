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
                ClientFrame::Join { username, room, .. } => {
                    check_username(username);
                    if let Some(room) = room {
                        check_room(room);
                    }
                }
                ClientFrame::Message { text, .. } | ClientFrame::Edit { text, .. } => {
                    check_message(text)
                }
                ClientFrame::React { emoji, .. } => {
                    // Whatever came in, what is stored is one of the eight.
                    if let Some(stored) = chat_shared::normalize_emoji(emoji) {
                        assert!(chat_shared::REACTION_EMOJI.contains(&stored));
                    }
                }
                ClientFrame::SetTopic { topic } => check_topic(topic),
                ClientFrame::Ban { username, .. } => check_username(username),
                ClientFrame::Typing { .. }
                | ClientFrame::History { .. }
                | ClientFrame::ListRooms
                | ClientFrame::BecomeModerator { .. }
                | ClientFrame::Delete { .. }
                | ClientFrame::LockRoom { .. }
                | ClientFrame::Audit { .. }
                | ClientFrame::Users { .. }
                | ClientFrame::Ping => {}
            }
        }
        // The client is told what was wrong.
        Err(detail) => assert!(!detail.is_empty()),
    }
    check_username(text);
    check_message(text);
    check_room(text);
    check_topic(text);
});

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

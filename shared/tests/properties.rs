//! Properties of decoding and validation over generated input: nothing
//! panics, every refusal has a reason, and what is accepted is stable.

use chat_shared::{
    message_length, normalize_message, normalize_room, normalize_username, ClientFrame,
    MAX_MESSAGE_CHARS, MAX_ROOM_CHARS, MAX_USERNAME_CHARS,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_decodes_or_says_why(text in any::<String>()) {
        match ClientFrame::decode(&text) {
            Ok(frame) => prop_assert_eq!(ClientFrame::decode(&frame.encode()), Ok(frame)),
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
    }

    #[test]
    fn frames_of_the_right_shape_decode_whatever_their_content(
        username in any::<String>(),
        text in any::<String>(),
        room in proptest::option::of(any::<String>()),
        since in proptest::option::of(any::<u64>()),
        client_id in proptest::option::of(any::<String>()),
        is_typing in any::<bool>(),
        before in any::<u64>(),
    ) {
        for frame in [
            ClientFrame::Join { username: username.clone(), room: room.clone(), since, resume: client_id.clone(), join_code: room.clone(), author_key: client_id.clone(), link_code: None, device: None },
            ClientFrame::Message { text: text.clone(), client_id: client_id.clone(), reply_to: since, attachments: Vec::new() },
            ClientFrame::Typing { is_typing },
            ClientFrame::History { before: Some(before), limit: None, around: since },
            ClientFrame::ListRooms,
        ] {
            prop_assert_eq!(ClientFrame::decode(&frame.encode()), Ok(frame));
        }
    }

    #[test]
    fn accepted_rooms_are_within_the_rules_and_stable(raw in any::<String>()) {
        if let Ok(room) = normalize_room(&raw) {
            prop_assert!(!room.is_empty());
            prop_assert!(room.chars().count() <= MAX_ROOM_CHARS);
            prop_assert_eq!(normalize_room(&room), Ok(room.clone()));
        }
    }

    #[test]
    fn accepted_names_are_within_the_rules_and_stable(raw in any::<String>()) {
        if let Ok(name) = normalize_username(&raw) {
            prop_assert!(!name.is_empty());
            prop_assert!(name.chars().count() <= MAX_USERNAME_CHARS);
            // The client re-checks the name the server hands back.
            prop_assert_eq!(normalize_username(&name), Ok(name.clone()));
        }
    }

    #[test]
    fn accepted_messages_are_within_the_rules_and_stable(
        raw in prop_oneof![any::<String>(), "\\PC{1990,2010}", "[ \n\t]{0,4}"],
    ) {
        match normalize_message(&raw) {
            Ok(text) => {
                prop_assert!(!text.is_empty());
                prop_assert!(message_length(text) <= MAX_MESSAGE_CHARS);
                prop_assert_eq!(normalize_message(text), Ok(text));
            }
            Err(_) => prop_assert!(raw.trim().is_empty() || message_length(&raw) > MAX_MESSAGE_CHARS),
        }
    }
}

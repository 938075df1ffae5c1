use super::*;

fn mine(name: &str, read: Option<u64>, unread: u32, mentions: u32) -> RoomInfo {
    RoomInfo {
        name: name.into(),
        mine: true,
        read,
        unread,
        mentions,
        ..RoomInfo::default()
    }
}

#[test]
fn the_rooms_list_brings_markers_counts_and_levels() {
    let mut state = UnreadState::default();
    state.entered("general");
    state.listed(&[
        mine("rust", Some(10), 4, 1),
        RoomInfo {
            level: Some(NotifyLevel::None),
            ..mine("dm-ab", None, 2, 0)
        },
        RoomInfo {
            unread: 9,
            ..RoomInfo::default()
        },
    ]);
    assert_eq!((state.unread("rust"), state.mentions("rust")), (4, 1));
    assert_eq!(state.marker("rust"), Some(10));
    assert_eq!(state.level("dm-ab"), NotifyLevel::None);
    assert_eq!(state.level("rust"), NotifyLevel::Mentions, "the default");
    assert_eq!(state.level("dm-x"), NotifyLevel::All, "a DM's default");
    assert_eq!(state.total(), 6, "rooms not mine are not counted");
}

#[test]
fn a_marker_of_mine_ahead_of_an_older_list_is_kept() {
    let mut state = UnreadState::default();
    state.entered("general");
    state.read("rust", 20);
    state.listed(&[mine("rust", Some(10), 4, 1)]);
    assert_eq!(state.marker("rust"), Some(20));
    assert_eq!(state.unread("rust"), 0);
}

#[test]
fn messages_after_the_marker_count_in_the_room_shown_but_not_mine() {
    let mut state = UnreadState::default();
    state.remembered("general", Some(5));
    state.entered("general");
    for id in 1..=5 {
        state.shown(id, false, false);
    }
    state.shown(6, false, true);
    state.shown(7, true, false);
    state.shown(8, false, false);
    assert_eq!(state.unread("general"), 2);
    assert_eq!(state.mentions("general"), 1);
    assert_eq!(state.divider(), Some(6));
    assert_eq!(state.total(), 2);
}

#[test]
fn the_marker_only_moves_forward_and_the_divider_stays() {
    let mut state = UnreadState::default();
    state.remembered("general", Some(5));
    state.entered("general");
    for id in 6..=9 {
        state.shown(id, false, false);
    }
    assert_eq!(state.advance_to(7), Some(7));
    state.read_here(7);
    assert_eq!(state.advance_to(6), None, "never backwards");
    assert_eq!(state.advance_to(7), None);
    assert_eq!(state.unread("general"), 2);
    assert_eq!(state.divider(), Some(6), "still above the first new one");
    assert_eq!(state.mark_all_read(Some(9)), Some(9));
    assert_eq!(state.divider(), None);
    assert_eq!(state.unread("general"), 0);
    assert_eq!(state.marker("general"), Some(9));
}

#[test]
fn no_marker_no_divider() {
    let mut state = UnreadState::default();
    state.entered("general");
    state.shown(1, false, false);
    assert_eq!(state.divider(), None);
    assert_eq!(state.unread("general"), 1);
}

#[test]
fn a_read_from_another_device_clears_the_count() {
    let mut state = UnreadState::default();
    state.entered("general");
    state.listed(&[mine("rust", Some(10), 3, 1)]);
    state.activity("rust", 14);
    assert_eq!(state.unread("rust"), 4);
    state.read("rust", 14);
    assert_eq!((state.unread("rust"), state.mentions("rust")), (0, 0));
    state.read("rust", 12);
    assert_eq!(
        state.marker("rust"),
        Some(14),
        "an older read does not go back"
    );
    // In the room shown, only what it covers is read.
    state.remembered("general", Some(1));
    state.entered("general");
    state.shown(2, false, false);
    state.shown(3, false, false);
    state.read("general", 2);
    assert_eq!(state.unread("general"), 1);
}

#[test]
fn activity_and_notify_count_each_message_once() {
    let mut state = UnreadState::default();
    state.entered("general");
    state.notify("rust", 5, true);
    state.activity("rust", 5);
    assert_eq!((state.unread("rust"), state.mentions("rust")), (1, 1));
    state.activity("rust", 8);
    state.notify("rust", 9, false);
    assert_eq!((state.unread("rust"), state.mentions("rust")), (3, 1));
    state.activity("general", 10);
    state.notify("general", 11, true);
    assert_eq!(
        state.unread("general"),
        0,
        "the room shown counts what it shows"
    );
    state.read("rust", 3);
    state.notify("rust", 2, true);
    assert_eq!(state.mentions("rust"), 1, "already read");
}

#[test]
fn leaving_a_room_keeps_what_it_showed_as_its_count() {
    let mut state = UnreadState::default();
    state.remembered("general", Some(1));
    state.entered("general");
    state.shown(2, false, true);
    state.entered("rust");
    assert_eq!((state.unread("general"), state.mentions("general")), (1, 1));
    assert_eq!(state.total(), 1);
    state.left("general");
    assert_eq!(state.total(), 0);
}

#[test]
fn counts_from_the_cap_show_with_a_plus() {
    assert_eq!(badge_text(7), "7");
    assert_eq!(badge_text(UNREAD_COUNT_CAP), "999+");
}

#[test]
fn levels_set_here_or_heard_show_at_once() {
    let mut state = UnreadState::default();
    state.set_level("rust", NotifyLevel::All);
    assert_eq!(state.level("rust"), NotifyLevel::All);
}

#[test]
fn a_mention_or_a_reply_to_mine_calls_me_but_not_my_own() {
    let message = |author: &str, text: &str| ChatMessage {
        id: 1,
        username: author.into(),
        text: text.into(),
        ..ChatMessage::default()
    };
    assert!(calls(&message("bob", "hi @Alice!"), "alice"));
    assert!(!calls(&message("bob", "alice@example.com"), "alice"));
    assert!(!calls(&message("alice", "@alice"), "alice"));
    let reply = ChatMessage {
        reply: Some(chat_shared::Quote {
            id: 0,
            username: "ALICE".into(),
            text: String::new(),
            deleted: false,
        }),
        ..message("bob", "sure")
    };
    assert!(calls(&reply, "alice"));
}

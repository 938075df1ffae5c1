//! What a client that means harm could try against any store: reusing a
//! `client_id` in another room to get that room's text echoed back (or
//! its own message dropped), and piling different emoji on one message.

use super::{changed, message, moderator_delete, post, react, refused, request};
use crate::history::changes::{ChangeRequest, Changed, Refusal, MAX_EMOJI_PER_MESSAGE};
use crate::history::store::{Appended, Store};
use chat_shared::{Change, ChatMessage};

/// Appends one message and returns what the store made of it.
fn append_one(store: &mut dyn Store, room: &str, text: &str, client_id: &str) -> Appended {
    let appended = store
        .append(&[message(room, "alice", text, Some(client_id))])
        .expect("append");
    appended.into_iter().next().expect("one result")
}

fn new_message(appended: Appended) -> ChatMessage {
    match appended {
        Appended::New { message, .. } => message,
        other => panic!("expected a new message, got {other:?}"),
    }
}

pub(super) fn a_client_id_names_one_message_per_room(store: &mut dyn Store) {
    let general = new_message(append_one(store, "general", "for general", "c1"));
    let rust = new_message(append_one(store, "rust", "for rust", "c1"));
    assert_eq!(rust.text, "for rust", "stored, not another room's echoed");
    assert_ne!(rust.id, general.id);
    // A resend answers with the message of the room it was sent to.
    for (room, original) in [("general", &general), ("rust", &rust)] {
        assert_eq!(
            append_one(store, room, "resent", "c1"),
            Appended::Duplicate(original.clone()),
            "{room}"
        );
    }
    // In one batch, as the journal sends them: each room its own.
    let appended = store
        .append(&[
            message("lobby", "alice", "for lobby", Some("c2")),
            message("general", "alice", "for general again", Some("c2")),
            message("lobby", "alice", "lobby resent", Some("c2")),
        ])
        .expect("append");
    let [Appended::New { message: lobby, .. }, Appended::New { message: again, .. }, resent] =
        appended.as_slice()
    else {
        panic!("expected two new messages and a resend, got {appended:?}");
    };
    assert_eq!(
        (lobby.text.as_str(), again.text.as_str()),
        ("for lobby", "for general again")
    );
    assert_eq!(resent, &Appended::Duplicate(lobby.clone()));
}

pub(super) fn a_change_client_id_names_one_change_per_room(store: &mut dyn Store) {
    // The moderator deletes in each room with the same client_id.
    let delete_in = |room: &str, target, client_id: &str| ChangeRequest {
        room: room.into(),
        client_id: Some(client_id.into()),
        ..moderator_delete(target, None)
    };
    let in_general = delete_in("general", post(store, "general", "doomed"), "x1");
    let deletion = changed(store, &in_general);
    let in_help = delete_in("help", post(store, "help", "doomed too"), "x1");
    let other = changed(store, &in_help);
    assert!(
        matches!(&other, Change::MessageDeleted(gone) if gone.target == in_help.target),
        "help's own deletion, not general's echoed: {other:?}"
    );
    assert_eq!(store.change(&in_general), Ok(Changed::Duplicate(deletion)));
    assert_eq!(store.change(&in_help), Ok(Changed::Duplicate(other)));
    // Nor does it name anything in a room where it was never used.
    let appended = store
        .append(&[message("rust", "mod", "x1 in rust", Some("x1"))])
        .expect("append");
    assert!(
        matches!(appended.as_slice(), [Appended::New { message, .. }] if message.text == "x1 in rust"),
        "{appended:?}"
    );
    let rust_target = post(store, "rust", "kept");
    assert_eq!(
        refused(store, &delete_in("rust", rust_target, "x1")),
        Refusal::ClientIdTaken,
        "in rust, x1 names the message now"
    );
    let reaction_in_lobby = ChangeRequest {
        room: "lobby".into(),
        client_id: Some("x1".into()),
        ..request("mod", post(store, "lobby", "react here"), react("👍", true))
    };
    changed(store, &reaction_in_lobby);
}

pub(super) fn a_message_carries_a_bounded_number_of_different_emoji(store: &mut dyn Store) {
    let id = post(store, "general", "react to me");
    let limit = usize::try_from(MAX_EMOJI_PER_MESSAGE).expect("a small limit");
    // The store takes any emoji it is given; the allowed list is the
    // connection's rule. Each from its own user, as a crowd would.
    let emoji = |n: usize| format!("e{n}");
    for n in 0..limit {
        changed(
            store,
            &request(&format!("user{n}"), id, react(&emoji(n), true)),
        );
    }
    let one_more = request("late", id, react(&emoji(limit), true));
    assert_eq!(refused(store, &one_more), Refusal::TooManyEmoji);
    // An emoji the message has is still welcome, and taking one off
    // makes room.
    changed(store, &request("late", id, react(&emoji(0), true)));
    let page = store.page_before("general", u64::MAX, 10).expect("page");
    assert_eq!(page[0].reactions.len(), limit);
    assert_eq!(page[0].reactions[0].users, ["user0", "late"]);
    changed(store, &request("user1", id, react(&emoji(1), false)));
    changed(store, &one_more);
    let page = store.page_before("general", u64::MAX, 10).expect("page");
    assert_eq!(page[0].reactions.len(), limit);
    assert_eq!(page[0].reactions[limit - 1].emoji, emoji(limit));
}

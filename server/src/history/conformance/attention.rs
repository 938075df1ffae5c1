//! The attention half of every store: read markers, levels, unread and
//! mention counts, and whom a message may call.

use super::people::hold;
use super::{message, moderator_delete, post, post_message, react, request};
use crate::history::attention::{Called, RoomAttention};
use crate::history::store::{Appended, NewMessage, Store};
use chat_shared::{AuditAction, NotifyLevel, UNREAD_COUNT_CAP};

/// alice's one room's attention.
fn general(store: &mut dyn Store, person: u64) -> RoomAttention {
    let rooms = ["general".to_owned()];
    let found = store.attention(person, "alice", &rooms).expect("attention");
    assert_eq!(found.len(), 1);
    found.into_iter().next().expect("one")
}

pub(super) fn a_read_marker_only_moves_forward_and_no_further_than_the_room(store: &mut dyn Store) {
    let alice = hold(store, "alice", "alice-secret-author-key", 1000);
    let first = post(store, "general", "one");
    let second = post(store, "general", "two");
    assert_eq!(general(store, alice.id).read, 0);
    assert_eq!(
        store.mark_read(alice.id, "general", second).expect("mark"),
        second
    );
    assert_eq!(
        store.mark_read(alice.id, "general", first).expect("back"),
        second
    );
    // Past the newest event: the newest event.
    let newest = store.last_event("general").expect("last");
    assert_eq!(
        store.mark_read(alice.id, "general", u64::MAX).expect("far"),
        newest
    );
    // A level and a marker are kept apart.
    store
        .set_level(alice.id, "general", NotifyLevel::None)
        .expect("level");
    let found = general(store, alice.id);
    assert_eq!((found.read, found.level), (newest, Some(NotifyLevel::None)));
    store
        .set_level(alice.id, "general", NotifyLevel::All)
        .expect("level");
    assert_eq!(general(store, alice.id).read, newest);
    // Another room, another person: their own markers.
    let bob = hold(store, "bob", "bob-key", 1000);
    assert_eq!(general(store, bob.id).read, 0);
    assert_eq!(store.mark_read(alice.id, "rust", 5).expect("empty room"), 0);
}

pub(super) fn unread_leaves_out_own_and_deleted_messages_and_counts_mentions(
    store: &mut dyn Store,
) {
    let alice = hold(store, "alice", "alice-secret-author-key", 1000);
    let hi = post(store, "general", "hi");
    let called = post(store, "general", "@alice look");
    post(store, "general", "@\u{430}lice a look-alike is not me");
    post(store, "general", "mail alice@example.com");
    let mine = post_message(store, message("general", "alice", "mine", None)).id;
    let reply = NewMessage {
        reply_to: Some(mine),
        ..message("general", "bob", "an answer", None)
    };
    post_message(store, reply);
    let gone = post(store, "general", "@alice soon gone");
    super::changed(store, &moderator_delete(gone, None));
    super::changed(store, &request("bob", hi, super::edit("hi there @alice")));
    super::changed(store, &request("bob", hi, react("👍", true)));
    let found = general(store, alice.id);
    // hi, @alice, the look-alike, the e-mail and the reply; not mine, not
    // the deleted one, and neither the edit nor the reaction.
    assert_eq!((found.unread, found.mentions), (5, 2));
    store.mark_read(alice.id, "general", called).expect("mark");
    let found = general(store, alice.id);
    assert_eq!((found.unread, found.mentions), (3, 1));
    // Counting stops at the cap.
    let cap = usize::try_from(UNREAD_COUNT_CAP).expect("cap");
    let many: Vec<NewMessage> = (0..=cap)
        .map(|n| message("busy", "bob", &format!("@alice {n}"), None))
        .collect();
    assert!(store
        .append(&many)
        .expect("append")
        .iter()
        .all(|appended| matches!(appended, Appended::New { .. })));
    let rooms = ["busy".to_owned()];
    let busy = store.attention(alice.id, "alice", &rooms).expect("busy");
    assert_eq!(
        (busy[0].unread, busy[0].mentions),
        (UNREAD_COUNT_CAP, UNREAD_COUNT_CAP)
    );
}

pub(super) fn a_message_calls_the_mentioned_the_replied_to_and_who_chose_all(
    store: &mut dyn Store,
) {
    let alice = hold(store, "alice", "alice-secret-author-key", 1000);
    let carol = hold(store, "carol", "carol-key", 1000);
    let dave = hold(store, "dave", "dave-key", 1000);
    let eve = hold(store, "eve", "eve-key", 1000);
    for person in [alice.id, carol.id, dave.id] {
        store.add_my_room(person, "general").expect("room");
    }
    let called = |store: &mut dyn Store, mentioned: &[&str], reply_to| {
        let keys: Vec<String> = mentioned.iter().map(|key| (*key).to_owned()).collect();
        store.called("general", &keys, reply_to).expect("called")
    };
    let mention = |person, level| Called {
        person,
        level,
        mention: true,
    };
    // Nobody chose `all`: a plain message calls nobody.
    assert!(called(store, &[], None).is_empty());
    // eve is mentioned but not in the room.
    assert_eq!(
        called(store, &["alice", "eve", "nobody"], None),
        [mention(alice.id, None)]
    );
    store
        .set_level(carol.id, "general", NotifyLevel::All)
        .expect("all");
    store
        .set_level(dave.id, "general", NotifyLevel::None)
        .expect("none");
    let mine = post_message(store, message("general", "alice", "mine", None)).id;
    let everyone = called(store, &["dave"], Some(mine));
    assert_eq!(
        everyone,
        [
            mention(alice.id, None),
            Called {
                person: carol.id,
                level: Some(NotifyLevel::All),
                mention: false,
            },
            mention(dave.id, Some(NotifyLevel::None)),
        ]
    );
    // A DM's members, whatever they chose; a released person is gone.
    let members = [(alice.id, "alice".to_owned()), (eve.id, "eve".to_owned())];
    store.open_dm("dm-1", &members).expect("dm");
    let dm = store.called("dm-1", &[], None).expect("dm");
    assert_eq!(dm.len(), 2);
    assert!(store
        .release(carol.id, "carol", AuditAction::Release)
        .expect("release"));
    assert!(called(store, &[], None).is_empty());
}

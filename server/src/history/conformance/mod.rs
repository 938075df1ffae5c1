//! One set of behaviour tests for every store: each function takes a fresh
//! `&mut dyn Store` and says what any database behind the seam must do.
//! The `sqlite` and `postgres` modules at the end run all of them against
//! SQLite in memory and against a fresh PostgreSQL database, so the two
//! cannot drift apart. Database-specific tests (files, migrations,
//! several nodes at once) live beside each store.

use crate::config::Database;
use crate::history::changes::{owner_hash, Action, ChangeRequest, Changed, Refusal};
use crate::history::moderation::{hash_admin_token, RoomSettings, StoredBan};
use crate::history::store::{self, Appended, NewMessage, Store};
use chat_shared::{quote_excerpt, AuditAction, Change, ChatMessage, HistoryItem, Quote, Reactions};

mod abuse;
use abuse::{
    a_change_client_id_names_one_change_per_room, a_client_id_names_one_message_per_room,
    a_message_carries_a_bounded_number_of_different_emoji,
};

/// The author key `author` joins with in these tests.
fn author_key(author: &str) -> String {
    format!("{}-secret-author-key", author.to_lowercase())
}

pub(crate) fn message(room: &str, author: &str, text: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        room: room.into(),
        username: author.into(),
        author_key: author.to_lowercase(),
        text: text.into(),
        client_id: client_id.map(Into::into),
        owner: Some(owner_hash(&author_key(author))),
        reply_to: None,
    }
}

/// Stores one message and returns it as stored.
fn post_message(store: &mut dyn Store, message: NewMessage) -> ChatMessage {
    let appended = store.append(&[message]).expect("append");
    match appended.into_iter().next() {
        Some(Appended::New { message, .. }) => message,
        other => panic!("expected a new message, got {other:?}"),
    }
}

/// Stores one message by bob and returns its id.
fn post(store: &mut dyn Store, room: &str, text: &str) -> u64 {
    post_message(store, message(room, "bob", text, None)).id
}

/// `by`, with their own author key and no `client_id`, asks for `action`
/// on `target` in general.
fn request(by: &str, target: u64, action: Action) -> ChangeRequest {
    ChangeRequest {
        room: "general".into(),
        target,
        username: by.into(),
        name_key: by.to_lowercase(),
        client_id: None,
        owner: Some(owner_hash(&author_key(by))),
        moderator: false,
        action,
    }
}

/// An edit inside any window.
fn edit(text: &str) -> Action {
    Action::Edit {
        text: Some(text.into()),
        window_start: "2000-01-01T00:00:00.000Z".into(),
    }
}

fn react(emoji: &str, on: bool) -> Action {
    Action::React {
        emoji: Some(emoji.into()),
        on,
    }
}

/// A moderator's deletion of `target` in general.
fn moderator_delete(target: u64, client_id: Option<&str>) -> ChangeRequest {
    ChangeRequest {
        client_id: client_id.map(Into::into),
        moderator: true,
        ..request("mod", target, Action::Delete)
    }
}

/// Makes a change that must be new, and returns its event.
fn changed(store: &mut dyn Store, request: &ChangeRequest) -> Change {
    match store.change(request).expect("change") {
        Changed::New { change, .. } => change,
        other => panic!("expected a new change, got {other:?}"),
    }
}

fn refused(store: &mut dyn Store, request: &ChangeRequest) -> Refusal {
    match store.change(request).expect("change") {
        Changed::Refused(refusal) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Posts a message with `text`, a reply quoting it, and an edit of it
/// to `text` twice, then deletes it: for the stores' own checks that the
/// text is gone from where they keep it.
pub(crate) fn post_and_delete(store: &mut dyn Store, text: &str) {
    let id = post(store, "general", "first");
    changed(store, &request("bob", id, edit(text)));
    changed(store, &request("bob", id, edit(&format!("{text} {text}"))));
    let reply = NewMessage {
        reply_to: Some(id),
        ..message("general", "alice", "answer", None)
    };
    post_message(store, reply);
    changed(store, &moderator_delete(id, None));
}

/// For the stores' migration checks: after alice's "from before" was
/// stored in general with `client_id` c1 under the old per-author index,
/// the same id is a new message in another room and a resend in general.
pub(crate) fn assert_client_ids_are_apart_per_room(store: &mut dyn Store) {
    let appended = store
        .append(&[
            message("rust", "alice", "same id, other room", Some("c1")),
            message("general", "alice", "resent", Some("c1")),
        ])
        .expect("append");
    assert!(
        matches!(&appended[0], Appended::New { message, .. } if message.text == "same id, other room"),
        "{appended:?}"
    );
    assert!(
        matches!(&appended[1], Appended::Duplicate(original) if original.text == "from before"),
        "{appended:?}"
    );
}

/// For the stores' migration checks: a message stored before replies
/// existed can be answered.
pub(crate) fn assert_an_old_message_takes_a_reply(store: &mut dyn Store, old: u64) {
    let reply = NewMessage {
        reply_to: Some(old),
        ..message("general", "alice", "answer", None)
    };
    assert!(matches!(
        store.append(&[reply]).expect("reply").as_slice(),
        [Appended::New { .. }]
    ));
}

/// The texts of the room's newest messages, oldest first.
pub(crate) fn latest_texts(store: &mut dyn Store, room: &str) -> Vec<String> {
    store
        .page_before(room, u64::MAX, 100)
        .expect("latest")
        .into_iter()
        .map(|m| m.text)
        .collect()
}

/// The room's messages in their current state, tombstones too.
fn current(store: &mut dyn Store) -> Vec<ChatMessage> {
    store.page_before("general", u64::MAX, 100).expect("page")
}

fn ids(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.id).collect()
}

fn item_ids(items: &[HistoryItem]) -> Vec<u64> {
    items.iter().map(HistoryItem::id).collect()
}

fn a_repeated_client_id_returns_the_original(store: &mut dyn Store) {
    let first = store
        .append(&[message("general", "alice", "hello", Some("c1"))])
        .expect("append");
    let Appended::New {
        message: original, ..
    } = &first[0]
    else {
        panic!("expected a new message");
    };
    let again = store
        .append(&[
            message("general", "alice", "hello", Some("c1")),
            message("general", "bob", "same id, other author", Some("c1")),
            message("general", "bob", "and again in the same batch", Some("c1")),
        ])
        .expect("append");
    assert_eq!(again[0], Appended::Duplicate(original.clone()));
    let Appended::New { message: bobs, .. } = &again[1] else {
        panic!("expected a new message, got {:?}", again[1]);
    };
    assert_eq!(again[2], Appended::Duplicate(bobs.clone()));
    assert_eq!(current(store).len(), 2);
}

fn a_client_id_that_named_a_deletion_is_taken(store: &mut dyn Store) {
    let target = post(store, "general", "doomed");
    changed(store, &moderator_delete(target, Some("x1")));
    let appended = store
        .append(&[message("general", "mod", "reusing x1", Some("x1"))])
        .expect("append");
    assert_eq!(appended, [Appended::ClientIdTaken]);
    assert_eq!(ids(&current(store)), [target], "only the tombstone");
    // Another kind of change with the same id is refused too.
    let other = post(store, "general", "kept");
    let reaction = ChangeRequest {
        client_id: Some("x1".into()),
        ..request("mod", other, react("👍", true))
    };
    assert_eq!(refused(store, &reaction), Refusal::ClientIdTaken);
}

fn a_deletion_named_by_a_message_client_id_is_refused(store: &mut dyn Store) {
    let target = post(store, "general", "doomed");
    store
        .append(&[message("general", "mod", "mine", Some("m1"))])
        .expect("append");
    assert_eq!(
        refused(store, &moderator_delete(target, Some("m1"))),
        Refusal::ClientIdTaken
    );
    assert_eq!(latest_texts(store, "general"), ["doomed", "mine"]);
}

fn paging_is_per_room_and_ordered(store: &mut dyn Store) {
    let batch: Vec<NewMessage> = (0..10)
        .map(|n| {
            message(
                if n % 2 == 0 { "even" } else { "odd" },
                "a",
                &n.to_string(),
                None,
            )
        })
        .collect();
    store.append(&batch).expect("append");
    let even = store.page_before("even", u64::MAX, 3).expect("latest");
    assert_eq!(ids(&even), [5, 7, 9]);
    assert_eq!(
        even.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["4", "6", "8"]
    );
    assert_eq!(
        ids(&store.page_before("even", 5, 10).expect("page")),
        [1, 3]
    );
    assert_eq!(
        item_ids(&store.after("odd", 4, u64::MAX, 10).expect("after")),
        [6, 8, 10]
    );
    assert_eq!(
        store.page_before("nowhere", u64::MAX, 10).expect("empty"),
        []
    );
}

fn after_stops_at_through_and_limit(store: &mut dyn Store) {
    let posted: Vec<u64> = (0..6)
        .map(|n| post(store, "general", &n.to_string()))
        .collect();
    assert_eq!(
        item_ids(
            &store
                .after("general", posted[0], posted[3], 10)
                .expect("after")
        ),
        posted[1..=3]
    );
    assert_eq!(
        item_ids(
            &store
                .after("general", posted[0], u64::MAX, 2)
                .expect("after")
        ),
        posted[1..=2]
    );
    assert_eq!(
        store
            .after("general", posted[5], u64::MAX, 10)
            .expect("after"),
        []
    );
}

fn prev_and_last_event_follow_each_room(store: &mut dyn Store) {
    assert_eq!(store.last_event("general").expect("last"), 0);
    let appended = store
        .append(&[
            message("general", "a", "1", None),
            message("rust", "a", "2", None),
            message("general", "a", "3", None),
        ])
        .expect("append");
    let news: Vec<(u64, u64)> = appended
        .iter()
        .map(|appended| match appended {
            Appended::New { message, prev } => (message.id, *prev),
            other => panic!("expected a new message, got {other:?}"),
        })
        .collect();
    assert_eq!(news[0].1, 0, "the first in general follows nothing");
    assert_eq!(news[1].1, 0, "the first in rust follows nothing");
    assert_eq!(
        news[2].1, news[0].0,
        "the second in general follows the first"
    );
    assert_eq!(store.last_event("general").expect("last"), news[2].0);
    assert_eq!(store.last_event("rust").expect("last"), news[1].0);
    // A deletion is the room's next event.
    let Changed::New {
        change: event,
        prev,
    } = store
        .change(&moderator_delete(news[0].0, None))
        .expect("delete")
    else {
        panic!("expected a new deletion");
    };
    assert_eq!(prev, news[2].0);
    assert_eq!(store.last_event("general").expect("last"), event.id());
    let appended = store
        .append(&[message("general", "a", "4", None)])
        .expect("append");
    let [Appended::New { prev, .. }] = appended.as_slice() else {
        panic!("expected one new message");
    };
    assert_eq!(*prev, event.id());
    // A duplicate is no event: the room's newest stays where it was.
    let last = store.last_event("rust").expect("last");
    store
        .append(&[message("rust", "a", "5", Some("k"))])
        .expect("append");
    let newest = store.last_event("rust").expect("last");
    assert!(newest > last);
    store
        .append(&[message("rust", "a", "5", Some("k"))])
        .expect("append");
    assert_eq!(store.last_event("rust").expect("last"), newest);
}

fn a_deletion_is_an_event_that_leaves_a_tombstone(store: &mut dyn Store) {
    let kept = post(store, "general", "kept");
    let gone = post(store, "general", "gone");
    let deletion = ChangeRequest {
        client_id: Some("d1".into()),
        ..request("bob", gone, Action::Delete)
    };
    let event = changed(store, &deletion);
    let Change::MessageDeleted(deleted) = &event else {
        panic!("expected a deletion, got {event:?}");
    };
    assert!(deleted.id > gone);
    assert_eq!(deleted.target, gone);
    assert_eq!(deleted.username, "bob");
    assert_eq!(deleted.client_id.as_deref(), Some("d1"));
    let page = current(store);
    assert_eq!(ids(&page), [kept, gone]);
    assert_eq!(page[0].text, "kept");
    assert!(page[1].deleted && page[1].text.is_empty());
    assert_eq!(page[1].username, "bob");
    assert_eq!(store.page_after("general", 0, 10).expect("page"), page);
    assert_eq!(
        store.after("general", kept, u64::MAX, 10).expect("after"),
        [HistoryItem::Change(event.clone())],
        "the deleted message is left out, its deletion is not"
    );
    assert_eq!(
        store
            .after("general", kept, event.id() - 1, 10)
            .expect("after"),
        [],
        "through bounds the changes too"
    );
    // A resend gets the original; another request finds nothing to delete.
    assert_eq!(store.change(&deletion), Ok(Changed::Duplicate(event)));
    for (room, target) in [("general", gone), ("other", kept), ("general", 9_999)] {
        let again = ChangeRequest {
            room: room.into(),
            ..request("bob", target, Action::Delete)
        };
        assert_eq!(refused(store, &again), Refusal::NotFound);
    }
    assert_eq!(
        store.audit(10).expect("audit"),
        [],
        "an author's own is not logged"
    );
}

fn only_the_owner_edits_and_a_moderator_deletion_is_logged(store: &mut dyn Store) {
    let id = post(store, "general", "hello");
    let strangers = [
        request("alice", id, edit("hijacked")),
        ChangeRequest {
            owner: None,
            ..request("bob", id, edit("no key"))
        },
        ChangeRequest {
            owner: Some(owner_hash("another key")),
            ..request("bob", id, edit("wrong key"))
        },
        ChangeRequest {
            moderator: true,
            ..request("mod", id, edit("moderators do not edit"))
        },
        request("alice", id, Action::Delete),
    ];
    for stranger in &strangers {
        assert_eq!(refused(store, stranger), Refusal::Forbidden, "{stranger:?}");
    }
    let Change::MessageEdited(edited) = changed(store, &request("bob", id, edit("hello there")))
    else {
        panic!("expected an edit");
    };
    assert_eq!(
        (
            edited.target,
            edited.text.as_deref(),
            edited.username.as_str()
        ),
        (id, Some("hello there"), "bob")
    );
    let page = current(store);
    assert_eq!(page[0].text, "hello there");
    assert_eq!(
        page[0].edited_at.as_deref(),
        Some(edited.edited_at.as_str())
    );
    changed(store, &moderator_delete(id, None));
    let own = post(store, "general", "mine");
    changed(store, &request("bob", own, Action::Delete));
    let audit = store.audit(10).expect("audit");
    assert_eq!(audit.len(), 1, "only the moderator's deletion: {audit:?}");
    assert_eq!(audit[0].action, AuditAction::Delete);
    assert_eq!(audit[0].moderator, "mod");
    assert_eq!(audit[0].target, id.to_string());
    assert_eq!(audit[0].detail.as_deref(), Some("by bob in #general"));
}

fn the_rules_are_checked_in_order(store: &mut dyn Store) {
    let gone = post(store, "general", "gone");
    let deletion = ChangeRequest {
        client_id: Some("d1".into()),
        ..request("bob", gone, Action::Delete)
    };
    let event = changed(store, &deletion);
    assert_eq!(
        store.change(&deletion),
        Ok(Changed::Duplicate(event)),
        "client_id before the target"
    );
    let taken = ChangeRequest {
        client_id: Some("d1".into()),
        ..request("bob", 9_999, react("👍", true))
    };
    assert_eq!(refused(store, &taken), Refusal::ClientIdTaken);
    let bad_text = |by: &str, target, window_start: &str| {
        request(
            by,
            target,
            Action::Edit {
                text: None,
                window_start: window_start.into(),
            },
        )
    };
    let id = post(store, "general", "old");
    let future = "9999-01-01T00:00:00.000Z";
    let past = "2000-01-01T00:00:00.000Z";
    let expectations = [
        (bad_text("bob", 9_999, future), Refusal::NotFound),
        (bad_text("bob", gone, future), Refusal::NotFound),
        (bad_text("alice", id, future), Refusal::Forbidden),
        (bad_text("bob", id, future), Refusal::Expired),
        (bad_text("bob", id, past), Refusal::BadText),
        (
            request(
                "alice",
                id,
                Action::React {
                    emoji: None,
                    on: true,
                },
            ),
            Refusal::BadEmoji,
        ),
    ];
    for (asked, refusal) in &expectations {
        assert_eq!(refused(store, asked), *refusal, "{asked:?}");
    }
    // Deleting has no window.
    changed(store, &request("bob", id, Action::Delete));
}

fn an_edit_or_reaction_that_changes_nothing_returns_the_earlier_event(store: &mut dyn Store) {
    let id = post(store, "general", "same");
    let unchanged = |store: &mut dyn Store, asked: &ChangeRequest, earlier: Option<&Change>| {
        let last = store.last_event("general").expect("last");
        assert_eq!(
            store.change(asked),
            Ok(Changed::Unchanged(earlier.cloned())),
            "{asked:?}"
        );
        assert_eq!(store.last_event("general").expect("last"), last);
    };
    unchanged(store, &request("bob", id, edit("same")), None);
    let edited = changed(store, &request("bob", id, edit("new")));
    unchanged(store, &request("bob", id, edit("new")), Some(&edited));
    unchanged(store, &request("alice", id, react("👍", false)), None);
    let on = changed(store, &request("alice", id, react("👍", true)));
    unchanged(store, &request("alice", id, react("👍", true)), Some(&on));
    let off = changed(store, &request("alice", id, react("👍", false)));
    unchanged(store, &request("alice", id, react("👍", false)), Some(&off));
    // Bob's reaction is his own, not a repeat of Alice's.
    changed(store, &request("bob", id, react("👍", true)));
}

fn reactions_are_per_user_and_ordered_by_when_they_were_put_on(store: &mut dyn Store) {
    let id = post(store, "general", "react to me");
    let bare = post(store, "general", "nobody reacts");
    for (by, emoji, on) in [
        ("alice", "👍", true),
        ("bob", "❤️", true),
        ("carol", "👍", true),
        ("alice", "❤️", true),
        ("bob", "👍", true),
        ("alice", "👍", false),
        ("alice", "👍", true),
    ] {
        changed(store, &request(by, id, react(emoji, on)));
    }
    let group = |emoji: &str, users: &[&str]| Reactions {
        emoji: emoji.into(),
        users: users.iter().map(|user| (*user).into()).collect(),
    };
    let expected = [
        group("❤️", &["bob", "alice"]),
        group("👍", &["carol", "bob", "alice"]),
    ];
    let page = current(store);
    assert_eq!(ids(&page), [id, bare]);
    assert_eq!(page[0].reactions, expected);
    assert_eq!(page[1].reactions, []);
    let replayed = store.after("general", 0, u64::MAX, 100).expect("after");
    let Some(HistoryItem::Message(first)) = replayed.first() else {
        panic!("expected the message first, got {replayed:?}");
    };
    assert_eq!(first.reactions, expected);
    changed(store, &request("bob", id, Action::Delete));
    assert_eq!(current(store)[0].reactions, [], "a tombstone has none");
}

fn a_reply_quotes_an_excerpt_until_the_original_is_deleted(store: &mut dyn Store) {
    let long = "word ".repeat(40);
    let original = post(store, "general", &long);
    let elsewhere = post(store, "rust", "elsewhere");
    let reply_to = |to, client_id| NewMessage {
        reply_to: Some(to),
        ..message("general", "alice", "answer", client_id)
    };
    let reply = post_message(store, reply_to(original, Some("r1")));
    let quote = Quote {
        id: original,
        username: "bob".into(),
        text: quote_excerpt(&long),
        deleted: false,
    };
    assert_eq!(reply.reply_to, Some(original));
    assert_eq!(reply.reply, Some(quote.clone()));
    assert_eq!(
        store
            .append(&[reply_to(9_999, None), reply_to(elsewhere, None)])
            .expect("append"),
        [Appended::ReplyNotFound, Appended::ReplyNotFound]
    );
    assert_eq!(
        store
            .append(&[reply_to(9_999, Some("r1"))])
            .expect("resend"),
        [Appended::Duplicate(reply.clone())],
        "client_id before the original"
    );
    changed(store, &request("bob", original, edit("rewritten")));
    assert_eq!(current(store)[1].reply, Some(quote), "a snapshot");
    changed(store, &request("bob", original, Action::Delete));
    let page = current(store);
    assert_eq!(
        page[1].reply,
        Some(Quote {
            id: original,
            username: "bob".into(),
            text: String::new(),
            deleted: true,
        })
    );
    assert_eq!(
        store.append(&[reply_to(original, None)]).expect("append"),
        [Appended::ReplyNotFound]
    );
    changed(store, &request("alice", reply.id, Action::Delete));
    let tombstone = &current(store)[1];
    assert!(tombstone.deleted);
    assert_eq!(
        (tombstone.reply_to, &tombstone.reply),
        (Some(original), &None)
    );
}

fn changes_to_old_messages_are_replayed_once_in_id_order(store: &mut dyn Store) {
    let old = post(store, "general", "old");
    let doomed = post(store, "general", "doomed");
    let since = store.last_event("general").expect("last");
    let doomed_edit = ChangeRequest {
        client_id: Some("e2".into()),
        ..request("bob", doomed, edit("doomed, edited"))
    };
    let events = [
        changed(store, &request("bob", old, edit("old, edited"))).id(),
        post(store, "general", "new"),
        changed(store, &request("alice", old, react("🎉", true))).id(),
        changed(store, &doomed_edit).id(),
        changed(store, &request("bob", doomed, Action::Delete)).id(),
        post(store, "general", "newer"),
    ];
    let replayed = store.after("general", since, u64::MAX, 100).expect("after");
    assert_eq!(item_ids(&replayed), events);
    let HistoryItem::Change(Change::MessageEdited(edit)) = &replayed[3] else {
        panic!("expected the edit, got {:?}", replayed[3]);
    };
    assert_eq!(edit.text, None, "the message was deleted since");
    let Ok(Changed::Duplicate(Change::MessageEdited(resent))) = store.change(&doomed_edit) else {
        panic!("expected the edit back");
    };
    assert_eq!(&resent, edit);
    assert_eq!(
        item_ids(&store.after("general", since, u64::MAX, 3).expect("after")),
        events[..3]
    );
    let page = store.page_after("general", 0, 100).expect("page");
    assert_eq!(ids(&page), [old, doomed, events[1], events[5]]);
    assert_eq!(page[0].text, "old, edited");
    assert_eq!(page[0].reactions.len(), 1);
    assert!(page[1].deleted && page[1].text.is_empty() && page[1].edited_at.is_none());
    assert_eq!(
        ids(&store.page_after("general", doomed, 1).expect("page")),
        [events[1]]
    );
}

fn ended_bans_are_forgotten_and_settings_are_kept(store: &mut dyn Store) {
    let ban = |until_ms| StoredBan {
        name_key: "troll".into(),
        addresses: vec!["192.0.2.7".into(), "2001:db8::".into()],
        until_ms,
    };
    store.add_ban(&ban(1_000), "mod", "Troll", 1).expect("ban");
    store.add_ban(&ban(5_000), "mod", "Troll", 5).expect("ban");
    assert_eq!(store.active_bans(2_000).expect("bans"), [ban(5_000)]);
    assert_eq!(store.active_bans(5_000).expect("bans"), []);
    store.set_room_locked("general", true, "mod").expect("lock");
    store
        .set_room_topic("general", "Be kind", "mod")
        .expect("t");
    store.set_room_topic("rust", "", "mod").expect("clear");
    let mut rooms = store.room_settings().expect("rooms");
    rooms.sort_by(|a, b| a.room.cmp(&b.room));
    assert_eq!(
        rooms,
        [
            RoomSettings {
                room: "general".into(),
                locked: true,
                topic: Some("Be kind".into())
            },
            RoomSettings {
                room: "rust".into(),
                locked: false,
                topic: None
            }
        ]
    );
    store
        .set_room_locked("general", false, "mod")
        .expect("unlock");
    let audit = store.audit(10).expect("audit");
    let actions: Vec<AuditAction> = audit.iter().map(|entry| entry.action).collect();
    use AuditAction::*;
    assert_eq!(actions, [Unlock, Topic, Topic, Lock, Ban, Ban]);
    assert_eq!(audit[1].detail.as_deref(), Some(""));
    assert_eq!(audit[2].detail.as_deref(), Some("Be kind"));
    assert_eq!(audit[5].target, "Troll");
    assert_eq!(audit[5].detail.as_deref(), Some("1 s"));
    assert!(audit.windows(2).all(|pair| pair[0].id > pair[1].id));
    assert_eq!(store.audit(2).expect("audit").len(), 2);
}

fn only_the_token_hash_is_stored(store: &mut dyn Store) {
    assert_eq!(store.admin_token_hash().expect("read"), None);
    store
        .set_admin_token("a-token-of-twenty-chars")
        .expect("set");
    assert_eq!(
        store.admin_token_hash().expect("read"),
        Some(hash_admin_token("a-token-of-twenty-chars"))
    );
    store
        .set_admin_token("another-token-of-twenty")
        .expect("set");
    assert_eq!(
        store.admin_token_hash().expect("read"),
        Some(hash_admin_token("another-token-of-twenty"))
    );
}

fn the_join_code_in_force_is_the_last_one_set(store: &mut dyn Store) {
    assert!(store.join_code_admits(None).expect("read"));
    store.set_join_code(Some("first")).expect("set");
    assert!(!store.join_code_admits(None).expect("read"));
    assert!(!store.join_code_admits(Some("wrong")).expect("read"));
    assert!(store.join_code_admits(Some("first")).expect("read"));
    store.set_join_code(Some("second")).expect("set");
    assert!(!store.join_code_admits(Some("first")).expect("read"));
    assert!(store.join_code_admits(Some("second")).expect("read"));
    store.set_join_code(None).expect("clear");
    assert!(store.join_code_admits(None).expect("read"));
}

fn rooms_are_listed_once_in_order(store: &mut dyn Store) {
    assert_eq!(store.rooms().expect("rooms"), Vec::<String>::new());
    store.add_room("rust").expect("room");
    store.add_room("general").expect("room");
    store.add_room("rust").expect("again");
    assert_eq!(store.rooms().expect("rooms"), ["general", "rust"]);
    store.probe().expect("probe");
}

fn rooms_that_held_no_message_and_have_no_settings_are_forgotten(store: &mut dyn Store) {
    store.add_room("empty").expect("room");
    store.add_room("chatty").expect("room");
    post(store, "chatty", "hello");
    // A room used but never recorded, as an earlier version left some.
    post(store, "unrecorded", "hi");
    store.add_room("locked").expect("room");
    store.set_room_locked("locked", true, "mod").expect("lock");
    // Settings alone make a room, however it was created.
    store
        .set_room_topic("topical", "about things", "mod")
        .expect("topic");
    store.add_room("undone").expect("room");
    store.set_room_locked("undone", true, "mod").expect("lock");
    store
        .set_room_locked("undone", false, "mod")
        .expect("unlock");
    store.forget_unused_rooms().expect("forget");
    assert_eq!(
        store.rooms().expect("rooms"),
        ["chatty", "locked", "topical", "unrecorded"]
    );
    let mut settings: Vec<String> = store
        .room_settings()
        .expect("settings")
        .into_iter()
        .map(|settings| settings.room)
        .collect();
    settings.sort();
    assert_eq!(settings, ["locked", "topical"]);
    store.forget_unused_rooms().expect("again");
    assert_eq!(store.rooms().expect("rooms").len(), 4);
}

/// Writes, for each store, one `#[test]` per conformance function.
macro_rules! conformance_tests {
    ($open:expr) => {
        conformance_tests!(
            $open;
            a_repeated_client_id_returns_the_original,
            a_client_id_that_named_a_deletion_is_taken,
            a_deletion_named_by_a_message_client_id_is_refused,
            paging_is_per_room_and_ordered,
            after_stops_at_through_and_limit,
            prev_and_last_event_follow_each_room,
            a_deletion_is_an_event_that_leaves_a_tombstone,
            only_the_owner_edits_and_a_moderator_deletion_is_logged,
            the_rules_are_checked_in_order,
            an_edit_or_reaction_that_changes_nothing_returns_the_earlier_event,
            reactions_are_per_user_and_ordered_by_when_they_were_put_on,
            a_reply_quotes_an_excerpt_until_the_original_is_deleted,
            changes_to_old_messages_are_replayed_once_in_id_order,
            ended_bans_are_forgotten_and_settings_are_kept,
            only_the_token_hash_is_stored,
            the_join_code_in_force_is_the_last_one_set,
            rooms_are_listed_once_in_order,
            a_client_id_names_one_message_per_room,
            a_change_client_id_names_one_change_per_room,
            a_message_carries_a_bounded_number_of_different_emoji,
            rooms_that_held_no_message_and_have_no_settings_are_forgotten,
        );
    };
    ($open:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let mut store = $open;
                super::$name(store.as_mut());
            }
        )*
    };
}

/// A fresh store on a fresh database of the given kind.
pub(crate) fn open(database: Database) -> Box<dyn Store> {
    store::open(&database).expect("open the store")
}

/// A fresh PostgreSQL database on the test binary's shared server.
pub(crate) fn fresh_postgres() -> String {
    chat_engines::shared_postgres()
        .create_database()
        .expect("create a database")
}

mod sqlite {
    use super::{open, Database};

    conformance_tests!(open(Database::Sqlite(":memory:".into())));
}

mod postgres {
    use super::{fresh_postgres, open, Database};

    conformance_tests!(open(Database::Postgres(fresh_postgres())));
}

//! What any store must do with changes to messages: deletions that
//! leave tombstones, edits by the owner, the rules in their order,
//! changes that change nothing, reactions, reply quotes, and replays of
//! changes to old messages.

use super::{
    changed, current, edit, ids, item_ids, message, moderator_delete, post, post_message, react,
    refused, request,
};
use crate::history::changes::{owner_hash, Action, ChangeRequest, Changed, Refusal};
use crate::history::store::{Appended, NewMessage, Store};
use chat_shared::{quote_excerpt, AuditAction, Change, HistoryItem, Quote, Reactions};

pub(super) fn a_deletion_is_an_event_that_leaves_a_tombstone(store: &mut dyn Store) {
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

pub(super) fn only_the_owner_edits_and_a_moderator_deletion_is_logged(store: &mut dyn Store) {
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

pub(super) fn the_rules_are_checked_in_order(store: &mut dyn Store) {
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

pub(super) fn an_edit_or_reaction_that_changes_nothing_returns_the_earlier_event(
    store: &mut dyn Store,
) {
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

pub(super) fn reactions_are_per_user_and_ordered_by_when_they_were_put_on(store: &mut dyn Store) {
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

/// A page shows its own room's reactions only, though another room's
/// messages (with reactions of their own) lie between its ids.
pub(super) fn a_page_shows_only_its_own_rooms_reactions(store: &mut dyn Store) {
    let first = post(store, "general", "first");
    let between = post(store, "rust", "between");
    let last = post(store, "general", "last");
    changed(store, &request("alice", first, react("👍", true)));
    let elsewhere = ChangeRequest {
        room: "rust".into(),
        ..request("alice", between, react("❤️", true))
    };
    changed(store, &elsewhere);
    let page = current(store);
    assert_eq!(ids(&page), [first, last]);
    let emoji: Vec<Vec<&str>> = page
        .iter()
        .map(|message| {
            message
                .reactions
                .iter()
                .map(|group| group.emoji.as_str())
                .collect()
        })
        .collect();
    assert_eq!(emoji, [vec!["👍"], vec![]]);
    let other = store.page_before("rust", u64::MAX, 10).expect("page");
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].reactions.len(), 1);
    assert_eq!(other[0].reactions[0].emoji, "❤️");
}

pub(super) fn a_reply_quotes_an_excerpt_until_the_original_is_deleted(store: &mut dyn Store) {
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

pub(super) fn changes_to_old_messages_are_replayed_once_in_id_order(store: &mut dyn Store) {
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

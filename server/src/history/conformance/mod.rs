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
use chat_shared::{AuditAction, Change, ChatMessage, HistoryItem};

mod abuse;
mod attention;
mod changes;
pub(crate) mod files;
mod people;
mod push;
mod search;
use abuse::{
    a_change_client_id_names_one_change_per_room, a_client_id_names_one_message_per_room,
    a_message_carries_a_bounded_number_of_different_emoji,
};
use attention::{
    a_message_calls_the_mentioned_the_replied_to_and_who_chose_all,
    a_read_marker_only_moves_forward_and_no_further_than_the_room,
    unread_leaves_out_own_and_deleted_messages_and_counts_mentions,
};
use changes::{
    a_deletion_is_an_event_that_leaves_a_tombstone, a_page_shows_only_its_own_rooms_reactions,
    a_reply_quotes_an_excerpt_until_the_original_is_deleted,
    an_edit_or_reaction_that_changes_nothing_returns_the_earlier_event,
    changes_to_old_messages_are_replayed_once_in_id_order,
    only_the_owner_edits_and_a_moderator_deletion_is_logged,
    reactions_are_per_user_and_ordered_by_when_they_were_put_on, the_rules_are_checked_in_order,
};
use files::{
    a_content_is_kept_once_and_a_resent_upload_is_the_first,
    deleting_a_message_frees_the_files_nothing_else_refers_to,
    files_go_out_once_with_their_message_and_show_in_its_pages,
};
use people::{
    a_held_name_answers_to_its_devices_and_to_one_link_code,
    a_lapsed_or_released_name_is_a_new_persons,
    any_device_of_the_person_changes_what_another_posted, dms_rooms_and_reports_are_kept,
};
use push::{
    a_person_keeps_their_newest_subscriptions_only,
    revoking_a_device_or_forgetting_the_person_drops_pushes,
    subscriptions_belong_to_a_person_and_a_device, the_first_vapid_key_stored_stays,
};
use search::{
    a_deleted_message_is_found_no_more, a_dm_is_found_only_by_its_members,
    a_phrase_matches_its_words_in_a_row_only, an_edit_is_found_by_its_new_text_and_not_its_old,
    each_filter_narrows_the_hits, file_names_and_captions_are_found_not_links,
    highlights_are_offsets_into_the_text_not_markup, hits_come_newest_first_or_best_match_first,
    pages_follow_one_another_without_repeats, words_are_found_by_their_english_and_russian_stems,
};
pub(crate) use search::{assert_the_backlog_is_indexed_in_batches, messages_from_before_search};

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
        mentions: store::mention_keys(text),
        attachments: Vec::new(),
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
        person: None,
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

fn a_room_is_listed_from_its_first_message_on(store: &mut dyn Store) {
    post(store, "fresh", "first");
    post(store, "fresh", "second");
    assert_eq!(store.rooms().expect("rooms"), ["fresh"]);
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
            a_page_shows_only_its_own_rooms_reactions,
            a_reply_quotes_an_excerpt_until_the_original_is_deleted,
            changes_to_old_messages_are_replayed_once_in_id_order,
            ended_bans_are_forgotten_and_settings_are_kept,
            only_the_token_hash_is_stored,
            the_join_code_in_force_is_the_last_one_set,
            rooms_are_listed_once_in_order,
            a_client_id_names_one_message_per_room,
            a_change_client_id_names_one_change_per_room,
            a_message_carries_a_bounded_number_of_different_emoji,
            a_room_is_listed_from_its_first_message_on,
            rooms_that_held_no_message_and_have_no_settings_are_forgotten,
            a_held_name_answers_to_its_devices_and_to_one_link_code,
            a_lapsed_or_released_name_is_a_new_persons,
            dms_rooms_and_reports_are_kept,
            any_device_of_the_person_changes_what_another_posted,
            the_first_vapid_key_stored_stays,
            subscriptions_belong_to_a_person_and_a_device,
            a_person_keeps_their_newest_subscriptions_only,
            revoking_a_device_or_forgetting_the_person_drops_pushes,
            a_read_marker_only_moves_forward_and_no_further_than_the_room,
            unread_leaves_out_own_and_deleted_messages_and_counts_mentions,
            a_message_calls_the_mentioned_the_replied_to_and_who_chose_all,
            a_content_is_kept_once_and_a_resent_upload_is_the_first,
            files_go_out_once_with_their_message_and_show_in_its_pages,
            deleting_a_message_frees_the_files_nothing_else_refers_to,
            hits_come_newest_first_or_best_match_first,
            each_filter_narrows_the_hits,
            words_are_found_by_their_english_and_russian_stems,
            a_phrase_matches_its_words_in_a_row_only,
            an_edit_is_found_by_its_new_text_and_not_its_old,
            a_deleted_message_is_found_no_more,
            file_names_and_captions_are_found_not_links,
            a_dm_is_found_only_by_its_members,
            highlights_are_offsets_into_the_text_not_markup,
            pages_follow_one_another_without_repeats,
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

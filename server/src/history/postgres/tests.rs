//! What only PostgreSQL does: a database that outlives the store, several
//! stores (nodes) on one database at once, and a server that goes away and
//! comes back. What every store does is in [`crate::history::conformance`].

use super::Postgres;
use crate::history::changes::{Action, ChangeRequest, Changed, Changes};
use crate::history::conformance::{
    assert_an_old_message_takes_a_reply, assert_client_ids_are_apart_per_room, fresh_postgres,
    latest_texts, message, post_and_delete,
};
use crate::history::store::{Appended, Messages, NewMessage};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::thread;

fn schema_versions(store: &mut Postgres) -> i64 {
    store
        .run(|client| {
            Ok(client
                .query_one("SELECT count(*) FROM schema_version", &[])?
                .try_get(0)?)
        })
        .expect("count the schema versions")
}

#[test]
fn reopening_keeps_everything_and_migrating_again_changes_nothing() {
    let url = fresh_postgres();
    {
        let mut store = Postgres::open(&url).expect("open");
        store.add_room("general").expect("room");
        store
            .append(&[message("general", "alice", "one", Some("c1"))])
            .expect("append");
        store.set_join_code(Some("code")).expect("code");
    }
    let mut store = Postgres::open(&url).expect("reopen");
    drop(Postgres::open(&url).expect("and again"));
    assert_eq!(
        schema_versions(&mut store),
        i64::from(super::SCHEMA_VERSION)
    );
    assert_eq!(store.rooms().expect("rooms"), ["general"]);
    let texts = latest_texts(&mut store, "general");
    assert_eq!(texts, ["one"]);
    assert!(store.join_code_admits(Some("code")).expect("code"));
    assert!(matches!(
        store
            .append(&[message("general", "alice", "one", Some("c1"))])
            .expect("resend")
            .as_slice(),
        [Appended::Duplicate(_)]
    ));
}

#[test]
fn two_nodes_creating_the_schema_at_once_both_succeed() {
    let url = fresh_postgres();
    let start = Arc::new(Barrier::new(2));
    let nodes: Vec<_> = (0..2)
        .map(|_| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                Postgres::open(&url).map_err(|error| error.to_string())
            })
        })
        .collect();
    for node in nodes {
        let mut store = node.join().expect("no panic").expect("open");
        assert_eq!(
            schema_versions(&mut store),
            i64::from(super::SCHEMA_VERSION)
        );
        store.probe().expect("probe");
    }
}

/// Appends `count` messages from `node` in batches of 1 to 5, to the rooms
/// in turn, and returns (room, id, prev) of each.
fn append_many(url: &str, node: &str, rooms: &[&str], count: usize) -> Vec<(String, u64, u64)> {
    let mut store = Postgres::open(url).expect("open");
    let mut events = Vec::with_capacity(count);
    let mut sent = 0;
    while sent < count {
        let size = (sent % 5 + 1).min(count - sent);
        let batch: Vec<NewMessage> = (sent..sent + size)
            .map(|n| {
                let client_id = format!("{node}-{n}");
                message(rooms[n % rooms.len()], node, "hi", Some(&client_id))
            })
            .collect();
        for appended in store.append(&batch).expect("append") {
            match appended {
                Appended::New { message, prev } => {
                    let room = batch
                        .iter()
                        .find(|m| m.client_id == message.client_id)
                        .map(|m| m.room.clone())
                        .expect("the message's room");
                    events.push((room, message.id, prev));
                }
                other => panic!("expected a new message, got {other:?}"),
            }
        }
        sent += size;
    }
    events
}

/// Two nodes append to the same rooms at once: every id is handed out
/// once, and in each room every event's `prev` is the event before it.
fn concurrent_appends_keep_the_chain(rooms: &'static [&'static str]) {
    let url = fresh_postgres();
    drop(Postgres::open(&url).expect("create the schema"));
    let start = Arc::new(Barrier::new(2));
    let nodes: Vec<_> = ["node-a", "node-b"]
        .into_iter()
        .map(|node| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                append_many(&url, node, rooms, 200)
            })
        })
        .collect();
    let mut events: Vec<(String, u64, u64)> = nodes
        .into_iter()
        .flat_map(|node| node.join().expect("no panic"))
        .collect();
    assert_eq!(events.len(), 400);
    let unique: BTreeSet<u64> = events.iter().map(|(_, id, _)| *id).collect();
    assert_eq!(unique.len(), 400, "every id is handed out once");
    events.sort_by_key(|(_, id, _)| *id);
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for (room, id, prev) in &events {
        let before = last.insert(room, *id).unwrap_or_default();
        assert_eq!(*prev, before, "in {room}, {id} follows {before}");
    }
    let mut store = Postgres::open(&url).expect("open");
    for room in rooms {
        let stored = store.after(room, 0, u64::MAX, 1000).expect("after");
        let expected: Vec<u64> = events
            .iter()
            .filter(|(r, ..)| r == room)
            .map(|(_, id, _)| *id)
            .collect();
        assert_eq!(stored.iter().map(|m| m.id()).collect::<Vec<_>>(), expected);
        assert_eq!(
            store.last_event(room).expect("last"),
            last.get(room).copied().unwrap_or_default()
        );
    }
}

#[test]
fn two_nodes_appending_to_one_room_keep_its_chain_unbroken() {
    concurrent_appends_keep_the_chain(&["general"]);
}

#[test]
fn two_nodes_appending_to_two_rooms_keep_both_chains_unbroken() {
    concurrent_appends_keep_the_chain(&["general", "rust"]);
}

/// The same `client_id` from one author, sent through two nodes at once
/// to one room, is stored once; sent to two rooms, it is a message in
/// each (a `client_id` is per room), each answered with its own.
#[test]
fn one_client_id_sent_through_two_nodes_at_once_is_stored_once_per_room() {
    let url = fresh_postgres();
    drop(Postgres::open(&url).expect("create the schema"));
    let start = Arc::new(Barrier::new(2));
    let nodes: Vec<_> = ["general", "rust"]
        .into_iter()
        .map(|other_room| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            thread::spawn(move || {
                let mut store = Postgres::open(&url).expect("open");
                let mut results = Vec::new();
                for n in 0..40 {
                    let room = if n % 2 == 0 { "general" } else { other_room };
                    let client_id = format!("c{n}");
                    start.wait();
                    let appended = store
                        .append(&[message(room, "alice", "hello", Some(&client_id))])
                        .expect("append");
                    results.push(appended.into_iter().next().expect("one result"));
                }
                results
            })
        })
        .collect();
    let results: Vec<Vec<Appended>> = nodes
        .into_iter()
        .map(|node| node.join().expect("no panic"))
        .collect();
    for (n, (a, b)) in results[0].iter().zip(&results[1]).enumerate() {
        match (a, b) {
            (Appended::New { message, .. }, Appended::Duplicate(original))
            | (Appended::Duplicate(original), Appended::New { message, .. })
                if n % 2 == 0 =>
            {
                assert_eq!(message, original);
            }
            (Appended::New { message: a, .. }, Appended::New { message: b, .. }) if n % 2 == 1 => {
                assert_ne!(a.id, b.id);
            }
            other => panic!("round {n}: got {other:?}"),
        }
    }
}

fn moderator_delete(target: u64) -> ChangeRequest {
    ChangeRequest {
        room: "general".into(),
        target,
        username: "mod".into(),
        name_key: "mod".into(),
        client_id: None,
        owner: None,
        person: None,
        moderator: true,
        action: Action::Delete,
    }
}

#[test]
fn a_store_fails_while_postgres_is_down_and_works_again_after() {
    // A server of its own: the shared one must keep running for the rest.
    let mut server = chat_engines::Postgres::start().expect("start PostgreSQL");
    let url = server.create_database().expect("database");
    let mut store = Postgres::open(&url).expect("open");
    let first = store
        .append(&[message("general", "alice", "before", None)])
        .expect("append");
    store.probe().expect("probe while up");

    server.stop().expect("stop");
    for _ in 0..3 {
        assert!(store.probe().is_err(), "probe while down");
        assert!(store
            .append(&[message("general", "alice", "lost", None)])
            .is_err());
        assert!(store.last_event("general").is_err());
        assert!(store.change(&moderator_delete(1)).is_err());
    }

    server.restart().expect("restart");
    store.probe().expect("probe after the restart");
    let after = store
        .append(&[message("general", "alice", "after", None)])
        .expect("append after the restart");
    let (
        Appended::New {
            message: before, ..
        },
        Appended::New { prev, .. },
    ) = (&first[0], &after[0])
    else {
        panic!("expected new messages");
    };
    assert_eq!(*prev, before.id, "nothing was half-stored meanwhile");
    let texts = latest_texts(&mut store, "general");
    assert_eq!(texts, ["before", "after"]);
    assert!(matches!(
        store.change(&moderator_delete(before.id)),
        Ok(Changed::New { .. })
    ));
}

#[test]
fn a_deleted_text_is_gone_from_the_table_too() {
    let mut store = Postgres::open(&fresh_postgres()).expect("open");
    post_and_delete(&mut store, "gone");
    let wiped: i64 = store
        .run(|client| {
            Ok(client
                .query_one(
                    "SELECT count(*) FROM messages
                     WHERE text LIKE '%gone%' OR reply_text LIKE '%gone%'",
                    &[],
                )?
                .try_get(0)?)
        })
        .expect("count");
    assert_eq!(wiped, 0);
}

#[test]
fn a_version_1_database_gains_edits_replies_and_reactions() {
    let url = fresh_postgres();
    {
        let mut store = Postgres::open(&url).expect("create");
        store
            .append(&[message("general", "bob", "from before", None)])
            .expect("append");
        // Back to version 1: what a build before issue 11 left.
        store
            .run(|client| {
                Ok(client.batch_execute(
                    "DROP TABLE attention; DROP TABLE mentions; DROP INDEX messages_live;
                 DROP TABLE push_subscriptions; DROP TABLE files; DROP TABLE uploads; DROP TABLE freed_files;
                 DROP TABLE persons; DROP TABLE person_looks; DROP TABLE devices;
                     DROP TABLE link_codes; DROP TABLE memberships; DROP TABLE dm_members;
                     DROP TABLE reactions;
                     DROP INDEX messages_by_target;
                     DROP INDEX messages_by_reply;
                     ALTER TABLE messages DROP COLUMN owner, DROP COLUMN edited_at,
                         DROP COLUMN reply_to, DROP COLUMN reply_username,
                         DROP COLUMN reply_text, DROP COLUMN emoji, DROP COLUMN reaction_on;
                     DROP INDEX messages_once;
                     CREATE UNIQUE INDEX messages_once ON messages (author_key, client_id)
                         WHERE client_id IS NOT NULL;
                     DROP TABLE search_docs; DROP TABLE search_backlog;
                     DROP INDEX messages_by_author; DELETE FROM schema_version WHERE version >= 2;",
                )?)
            })
            .expect("a version 1 schema");
    }
    let mut store = Postgres::open(&url).expect("migrate");
    assert_eq!(
        schema_versions(&mut store),
        i64::from(super::SCHEMA_VERSION)
    );
    let old = store.page_before("general", u64::MAX, 10).expect("page");
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].text, "from before");
    let react = ChangeRequest {
        action: Action::React {
            emoji: Some("👍".into()),
            on: true,
        },
        moderator: false,
        ..moderator_delete(old[0].id)
    };
    assert!(matches!(store.change(&react), Ok(Changed::New { .. })));
    assert_an_old_message_takes_a_reply(&mut store, old[0].id);
    assert_eq!(
        store.page_before("general", u64::MAX, 10).expect("page")[0]
            .reactions
            .len(),
        1
    );
}

#[test]
fn a_version_2_database_keeps_client_ids_apart_per_room() {
    let url = fresh_postgres();
    {
        let mut store = Postgres::open(&url).expect("create");
        // Stored first: this build indexes it for search, which version 2
        // had no table for.
        store
            .append(&[message("general", "alice", "from before", Some("c1"))])
            .expect("append");
        // Back to version 2: a client_id was unique per author alone.
        store
            .run(|client| {
                Ok(client.batch_execute(
                    "DROP TABLE attention; DROP TABLE mentions; DROP INDEX messages_live;
                 DROP TABLE push_subscriptions; DROP TABLE files; DROP TABLE uploads; DROP TABLE freed_files;
                 DROP TABLE persons; DROP TABLE person_looks; DROP TABLE devices;
                     DROP TABLE link_codes; DROP TABLE memberships; DROP TABLE dm_members;
                     DROP INDEX messages_once;
                     CREATE UNIQUE INDEX messages_once ON messages (author_key, client_id)
                         WHERE client_id IS NOT NULL;
                     DROP TABLE search_docs; DROP TABLE search_backlog;
                     DROP INDEX messages_by_author; DELETE FROM schema_version WHERE version >= 3;",
                )?)
            })
            .expect("a version 2 schema");
    }
    let mut store = Postgres::open(&url).expect("migrate");
    assert_eq!(
        schema_versions(&mut store),
        i64::from(super::SCHEMA_VERSION)
    );
    assert_client_ids_are_apart_per_room(&mut store);
}

#[test]
fn a_deleted_text_is_gone_from_the_search_index_too() {
    let mut store = Postgres::open(&fresh_postgres()).expect("open");
    post_and_delete(&mut store, "gone");
    let left: i64 = store
        .run(|client| {
            Ok(client
                .query_one(
                    "SELECT count(*) FROM search_docs
                     WHERE terms LIKE '%gone%' OR vector @@ to_tsquery('simple', 'gone')",
                    &[],
                )?
                .try_get(0)?)
        })
        .expect("count");
    assert_eq!(left, 0);
}

/// A database from before search (version 8) gets the index on upgrade,
/// and its messages are indexed by the backlog, not by the upgrade.
#[test]
fn a_version_8_database_has_its_messages_indexed_in_the_background() {
    use crate::history::conformance::{
        assert_the_backlog_is_indexed_in_batches, messages_from_before_search,
    };
    let url = fresh_postgres();
    let (kept, edited) = {
        let mut store = Postgres::open(&url).expect("create");
        let before = messages_from_before_search(&mut store);
        store
            .run(|client| {
                Ok(client.batch_execute(
                    "DROP TABLE search_docs; DROP TABLE search_backlog;
                     DROP INDEX dm_members_by_person;
                     DROP INDEX messages_by_author; DELETE FROM schema_version WHERE version >= 9;",
                )?)
            })
            .expect("a version 8 schema");
        before
    };
    let mut store = Postgres::open(&url).expect("migrate");
    assert_eq!(
        schema_versions(&mut store),
        i64::from(super::SCHEMA_VERSION)
    );
    assert_the_backlog_is_indexed_in_batches(&mut store, &kept, edited);
}

/// A database indexed before pairs (version 9) is indexed again in the
/// background; its phrases are found all along, by their words until the
/// backlog is done, by their pairs after.
#[test]
fn a_version_9_database_is_indexed_again_with_pairs() {
    use crate::history::search::{Search, SearchQuery, Terms, MAX_SEARCH_PAGE};
    let url = fresh_postgres();
    let ids: Vec<u64> = {
        let mut store = Postgres::open(&url).expect("create");
        store.add_room("general").expect("room");
        let stored = store
            .append(&[
                message("general", "bob", "deploy the server tonight", None),
                message("general", "bob", "the server will deploy", None),
            ])
            .expect("append");
        store
            .run(|client| {
                Ok(client.batch_execute(
                    // What version 9 kept: the stems alone (these have no
                    // digits, so every term with one is a pair).
                    "UPDATE search_docs SET terms = regexp_replace(terms, ' \\S*0\\S*', '', 'g');
                     UPDATE search_backlog SET below = 0;
                     DROP INDEX messages_by_author; DELETE FROM schema_version WHERE version >= 10;",
                )?)
            })
            .expect("a version 9 database");
        stored
            .iter()
            .map(|appended| match appended {
                Appended::New { message, .. } => message.id,
                other => panic!("not stored: {other:?}"),
            })
            .collect()
    };
    let mut store = Postgres::open(&url).expect("migrate");
    assert_eq!(
        schema_versions(&mut store),
        i64::from(super::SCHEMA_VERSION)
    );
    let phrase = SearchQuery {
        terms: Terms::parse("\"deploy the server\""),
        limit: MAX_SEARCH_PAGE,
        ..SearchQuery::default()
    };
    let found = |store: &mut Postgres| -> Vec<u64> {
        let page = store.search(&phrase).expect("search");
        page.hits.iter().map(|hit| hit.id).collect()
    };
    assert_eq!(found(&mut store), [ids[0]], "by its words, before");
    let mut batches = 0;
    while store.index_backlog(1).expect("a batch").ids_left > 0 {
        batches += 1;
        assert!(batches < 10, "the backlog never ended");
    }
    assert_eq!(found(&mut store), [ids[0]], "by its pairs, after");
    let terms: String = store
        .run(|client| {
            Ok(client
                .query_one(
                    "SELECT terms FROM search_docs WHERE message_id = $1",
                    &[&i64::try_from(ids[0]).expect("an id")],
                )?
                .try_get(0)?)
        })
        .expect("its terms");
    assert_eq!(
        terms,
        "deploy the server tonight deploy0the the0server server0tonight"
    );
}

/// Two nodes indexing the backlog at once, while a third deletes some of
/// it: both finish, every kept message is found once, no deleted one is.
#[test]
fn two_nodes_indexing_the_backlog_at_once_while_a_third_deletes() {
    use crate::history::search::{Search, SearchQuery, Terms};
    let url = fresh_postgres();
    let mut store = Postgres::open(&url).expect("create");
    let rooms = ["general", "rust", "misc"];
    let batch: Vec<NewMessage> = (0..60)
        .map(|n| message(rooms[n % 3], "bob", &format!("backlog item {n}"), None))
        .collect();
    let ids: Vec<u64> = store
        .append(&batch)
        .expect("append")
        .into_iter()
        .map(|appended| match appended {
            Appended::New { message, .. } => message.id,
            other => panic!("expected a new message, got {other:?}"),
        })
        .collect();
    store
        .run(|client| {
            Ok(client.batch_execute(
                "DELETE FROM search_docs;
                 UPDATE search_backlog SET below = (SELECT max(id) + 1 FROM messages);",
            )?)
        })
        .expect("back to a backlog");
    let start = Arc::new(Barrier::new(3));
    let indexers: Vec<_> = (0..2)
        .map(|_| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            thread::spawn(move || {
                let mut node = Postgres::open(&url).expect("open");
                start.wait();
                for _ in 0..100 {
                    if node.index_backlog(3).expect("a batch").ids_left == 0 {
                        return;
                    }
                }
                panic!("the backlog never ended");
            })
        })
        .collect();
    // Every fifth message of general is deleted meanwhile.
    let doomed: Vec<u64> = ids.iter().step_by(15).copied().collect();
    let deleter = {
        let (url, start, doomed) = (url.clone(), Arc::clone(&start), doomed.clone());
        thread::spawn(move || {
            let mut node = Postgres::open(&url).expect("open");
            start.wait();
            for id in doomed {
                assert!(matches!(
                    node.change(&moderator_delete(id)),
                    Ok(Changed::New { .. })
                ));
            }
        })
    };
    for node in indexers {
        node.join().expect("no panic");
    }
    deleter.join().expect("no panic");
    let query = SearchQuery {
        terms: Terms::parse("backlog item"),
        limit: 50,
        ..SearchQuery::default()
    };
    let mut found = Vec::new();
    let mut next = Some(query.clone());
    while let Some(page_query) = next {
        let page = store.search(&page_query).expect("search");
        found.extend(page.hits.iter().map(|hit| hit.id));
        next = page.next.map(|cursor| SearchQuery {
            cursor: Some(cursor),
            ..query.clone()
        });
    }
    found.sort_unstable();
    let kept: Vec<u64> = ids.into_iter().filter(|id| !doomed.contains(id)).collect();
    assert_eq!(found, kept);
}

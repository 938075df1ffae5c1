//! What only SQLite does: files, WAL, its own migrations. What every
//! store does is in [`crate::history::conformance`].

use super::*;
use crate::history::changes::{owner_hash, Action, ChangeRequest, Changed, Changes, Refusal};
use crate::history::conformance::{
    assert_an_old_message_takes_a_reply, assert_client_ids_are_apart_per_room, latest_texts,
    message,
};
use crate::history::sql::read::PAGE_REACTIONS;
use crate::history::store::{Appended, Messages};
use rusqlite::params;
use std::path::Path;

fn temp_db(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("chat-store-{}-{name}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn messages_survive_reopening_the_file() {
    let path = temp_db("reopen");
    {
        let mut store = Sqlite::open(&path).expect("open");
        store
            .append(&[
                message("general", "alice", "one", None),
                message("general", "bob", "two", None),
            ])
            .expect("append");
        store.add_room("general").expect("room");
    }
    let mut store = Sqlite::open(&path).expect("reopen");
    let texts = latest_texts(&mut store, "general");
    assert_eq!(texts, ["one", "two"]);
    assert_eq!(store.rooms().expect("rooms"), ["general"]);
    let journal_mode: String = store
        .connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("pragma");
    assert_eq!(journal_mode, "wal");
    drop(store);
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_version_1_database_gains_the_settings_table() {
    let path = temp_db("v1");
    {
        let connection = Connection::open(&path).expect("open");
        connection
            .execute_batch(
                "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL,
                     username TEXT NOT NULL, author_key TEXT NOT NULL, text TEXT NOT NULL,
                     timestamp TEXT NOT NULL, client_id TEXT);
                 CREATE TABLE rooms (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
                 PRAGMA user_version = 1;",
            )
            .expect("a version 1 schema");
    }
    let mut store = Sqlite::open(&path).expect("migrate");
    store.set_join_code(Some("code")).expect("set");
    assert!(store.join_code_admits(Some("code")).expect("read"));
    drop(store);
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_version_3_database_gains_edits_replies_and_reactions() {
    let path = temp_db("v3");
    {
        let mut store = Sqlite::open(&path).expect("create");
        store
            .append(&[message("general", "bob", "from before", Some("c1"))])
            .expect("append");
        // Back to version 3: what a build before issue 11 left.
        store
            .connection
            .execute_batch(
                "DROP TABLE attention; DROP TABLE mentions; DROP INDEX messages_live;
                 DROP TABLE push_subscriptions; DROP TABLE files; DROP TABLE uploads; DROP TABLE freed_files;
                 DROP TABLE persons; DROP TABLE person_looks; DROP TABLE devices;
                 DROP TABLE link_codes; DROP TABLE memberships; DROP TABLE dm_members;
                 DROP TABLE reactions;
                 DROP INDEX messages_by_target;
                 DROP INDEX messages_by_reply;
                 ALTER TABLE messages DROP COLUMN owner;
                 ALTER TABLE messages DROP COLUMN edited_at;
                 ALTER TABLE messages DROP COLUMN reply_to;
                 ALTER TABLE messages DROP COLUMN reply_username;
                 ALTER TABLE messages DROP COLUMN reply_text;
                 ALTER TABLE messages DROP COLUMN emoji;
                 ALTER TABLE messages DROP COLUMN reaction_on;
                 DROP TABLE search_index; DROP TABLE search_docs; DROP TABLE search_backlog;
                 DROP INDEX messages_by_author; PRAGMA user_version = 3;",
            )
            .expect("a version 3 schema");
    }
    let mut store = Sqlite::open(&path).expect("migrate");
    let old = store.page_before("general", u64::MAX, 10).expect("page");
    assert_eq!(old.len(), 1);
    assert_eq!(
        (old[0].text.as_str(), old[0].edited_at.as_deref()),
        ("from before", None)
    );
    let request = |action| ChangeRequest {
        room: "general".into(),
        target: old[0].id,
        username: "bob".into(),
        name_key: "bob".into(),
        client_id: None,
        owner: Some(owner_hash("bob-secret-author-key")),
        person: None,
        moderator: false,
        action,
    };
    let edit = Action::Edit {
        text: Some("rewritten".into()),
        window_start: String::new(),
    };
    assert_eq!(
        store.change(&request(edit)),
        Ok(Changed::Refused(Refusal::Forbidden)),
        "a message from before has no owner"
    );
    let react = Action::React {
        emoji: Some("👍".into()),
        on: true,
    };
    assert!(matches!(
        store.change(&request(react)),
        Ok(Changed::New { .. })
    ));
    assert_an_old_message_takes_a_reply(&mut store, old[0].id);
    let version: i64 = store
        .connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    drop(store);
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_version_4_database_keeps_client_ids_apart_per_room() {
    let path = temp_db("v4");
    {
        let mut store = Sqlite::open(&path).expect("create");
        // Stored first: this build indexes it for search, which version 4
        // had no table for.
        store
            .append(&[message("general", "alice", "from before", Some("c1"))])
            .expect("append");
        // Back to version 4: a client_id was unique per author alone.
        store
            .connection
            .execute_batch(
                "DROP TABLE attention; DROP TABLE mentions; DROP INDEX messages_live;
                 DROP TABLE push_subscriptions; DROP TABLE files; DROP TABLE uploads; DROP TABLE freed_files;
                 DROP TABLE persons; DROP TABLE person_looks; DROP TABLE devices;
                 DROP TABLE link_codes; DROP TABLE memberships; DROP TABLE dm_members;
                 DROP INDEX messages_once;
                 CREATE UNIQUE INDEX messages_once ON messages (author_key, client_id)
                     WHERE client_id IS NOT NULL;
                 DROP TABLE search_index; DROP TABLE search_docs; DROP TABLE search_backlog;
                 DROP INDEX messages_by_author; PRAGMA user_version = 4;",
            )
            .expect("a version 4 schema");
    }
    let mut store = Sqlite::open(&path).expect("migrate");
    assert_client_ids_are_apart_per_room(&mut store);
    let version: i64 = store
        .connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    drop(store);
    std::fs::remove_file(&path).ok();
}

/// A page of a quiet room whose messages lie far apart reads its own
/// reactions, not those of a busy room's messages in between: the work
/// the reaction query does stays small however busy the other room is.
#[test]
fn a_page_reads_only_its_own_rooms_reactions() {
    let mut store = Sqlite::open(Path::new(":memory:")).expect("open");
    let first = post_one(&mut store, "quiet", "first");
    // A busy room in between: 300 messages with a reaction each, in one
    // transaction, as fast as possible.
    {
        let tx = store.connection.transaction().expect("tx");
        for n in 0..300 {
            tx.execute(
                "INSERT INTO messages (room, username, author_key, text, timestamp)
                 VALUES ('busy', 'bob', 'bob', 'hi', '2026-01-01T00:00:00.000Z')",
                [],
            )
            .expect("message");
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO reactions (message_id, emoji, name_key, username, event_id)
                 VALUES (?1, '👍', ?2, 'someone', ?1)",
                params![id, format!("user{n}")],
            )
            .expect("reaction");
        }
        tx.commit().expect("commit");
    }
    let last = post_one(&mut store, "quiet", "last");
    for target in [first, last] {
        let react = ChangeRequest {
            room: "quiet".into(),
            target,
            username: "alice".into(),
            name_key: "alice".into(),
            client_id: None,
            owner: None,
            person: None,
            moderator: false,
            action: Action::React {
                emoji: Some("🎉".into()),
                on: true,
            },
        };
        assert!(matches!(store.change(&react), Ok(Changed::New { .. })));
    }
    let page = store.page_before("quiet", u64::MAX, 10).expect("page");
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|message| message.reactions.len() == 1));
    // What the reaction query of that page did: a handful of steps per
    // row of the quiet room, not a pass over the busy room's 300.
    let query = store
        .connection
        .prepare_cached(PAGE_REACTIONS)
        .expect("the cached query");
    let steps = query.get_status(rusqlite::StatementStatus::VmStep);
    assert!(steps < 200, "{steps} steps for two messages' reactions");
}

/// Stores one message without a client_id and returns its id.
fn post_one(store: &mut Sqlite, room: &str, text: &str) -> u64 {
    match store
        .append(&[message(room, "alice", text, None)])
        .expect("append")
        .as_slice()
    {
        [Appended::New { message, .. }] => message.id,
        other => panic!("expected a new message, got {other:?}"),
    }
}

/// What only SQLite shows of a deletion: the row itself.
#[test]
fn a_deleted_text_is_gone_from_the_file_too() {
    let mut store = Sqlite::open(Path::new(":memory:")).expect("open");
    crate::history::conformance::post_and_delete(&mut store, "gone");
    let left: i64 = store
        .connection
        .query_row(
            "SELECT count(*) FROM messages
             WHERE text LIKE '%gone%' OR reply_text LIKE '%gone%'",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(left, 0, "not in the message, its edits or the quotes of it");
}

/// A database from before the sweep had its own list (version 9) may hold
/// contents a deletion left: the upgrade puts every content on the list,
/// so the first sweep looks at each once and frees those.
#[test]
fn a_version_9_database_has_what_its_deletions_left_swept() {
    use crate::history::files::FilesStore;
    let path = temp_db("v9");
    {
        let store = Sqlite::open(&path).expect("create");
        store
            .connection
            .execute_batch(&format!(
                "DROP TABLE freed_files; DROP INDEX uploads_unsent;
                 INSERT INTO files (sha256, size, content_type, thumbs)
                     VALUES ('{left}', 10, 'text/plain', ''), ('{kept}', 20, 'text/plain', '');
                 INSERT INTO uploads (id, sha256, room, name, uploader, upload_key, created_ms)
                     VALUES ('u1', '{kept}', 'general', 'kept.txt', 'bob', 'k1', 5);
                 DROP TABLE search_index; DROP TABLE search_docs; DROP TABLE search_backlog;
                 DROP INDEX dm_members_by_person;
                 DROP INDEX messages_by_author; PRAGMA user_version = 9;",
                left = "a".repeat(64),
                kept = "b".repeat(64),
            ))
            .expect("a version 9 schema");
    }
    let mut store = Sqlite::open(&path).expect("migrate");
    let freed: Vec<String> = store
        .take_unreferenced(0)
        .expect("sweep")
        .into_iter()
        .map(|file| file.sha256)
        .collect();
    assert_eq!(freed, ["a".repeat(64)]);
    assert_eq!(store.stored_bytes().expect("left"), 20);
    assert_eq!(store.take_unreferenced(0).expect("again"), []);
    drop(store);
    std::fs::remove_file(&path).ok();
}

/// What a deletion leaves of a text in the search index: nothing, in the
/// FTS5 table's own pages too (`secure-delete`), not just a mark that
/// hides it.
#[test]
fn a_deleted_text_is_gone_from_the_search_index_too() {
    let mut store = Sqlite::open(Path::new(":memory:")).expect("open");
    crate::history::conformance::post_and_delete(&mut store, "gone");
    let left: i64 = store
        .connection
        .query_row(
            "SELECT count(*) FROM search_index_data WHERE instr(block, CAST('gone' AS BLOB)) > 0",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(left, 0, "no page of the index holds the deleted word");
}

/// A database from before search (version 10) gets the index on
/// upgrade, and its messages are indexed by the backlog, not by the
/// upgrade itself.
#[test]
fn a_version_10_database_has_its_messages_indexed_in_the_background() {
    use crate::history::conformance::{
        assert_the_backlog_is_indexed_in_batches, messages_from_before_search,
    };
    let path = temp_db("v10");
    let (kept, edited) = {
        let mut store = Sqlite::open(&path).expect("create");
        let before = messages_from_before_search(&mut store);
        store
            .connection
            .execute_batch(
                "DROP TABLE search_docs; DROP TABLE search_index; DROP TABLE search_backlog;
                 DROP INDEX dm_members_by_person; DROP INDEX messages_by_author; PRAGMA user_version = 10;",
            )
            .expect("a version 10 schema");
        before
    };
    let mut store = Sqlite::open(&path).expect("migrate");
    assert_the_backlog_is_indexed_in_batches(&mut store, &kept, edited);
    drop(store);
    std::fs::remove_file(&path).ok();
}

/// Date filters start from an id bound a day wider than their dates
/// (`sql::search::first_id_at`): a message whose time is out of order
/// with its id, as after a clock set back, is still found exactly by
/// its own time, and one far outside the dates is not.
#[test]
fn date_filters_find_messages_whose_clock_went_back() {
    use crate::history::search::{Search, SearchQuery, Terms};
    let mut store = Sqlite::open(Path::new(":memory:")).expect("open");
    let days = [
        "2026-03-01",
        "2026-03-03",
        "2026-03-02",
        "2026-03-04",
        "2026-06-01",
    ];
    let ids: Vec<u64> = days
        .iter()
        .map(|day| post_one(&mut store, "general", &format!("release on {day}")))
        .collect();
    for (id, day) in ids.iter().zip(days) {
        store
            .connection
            .execute(
                "UPDATE messages SET timestamp = ?1 WHERE id = ?2",
                params![format!("{day}T12:00:00.000Z"), id],
            )
            .expect("a time");
    }
    let march_3 = 1_772_496_000_000; // 2026-03-03T00:00:00Z
    let found = |store: &mut Sqlite, after_ms, before_ms| -> Vec<u64> {
        let query = SearchQuery {
            terms: Terms::parse("release"),
            after_ms,
            before_ms,
            limit: 50,
            ..SearchQuery::default()
        };
        let page = store.search(&query).expect("search");
        page.hits.iter().map(|hit| hit.id).collect()
    };
    assert_eq!(found(&mut store, None, Some(march_3)), [ids[2], ids[0]]);
    assert_eq!(
        found(&mut store, Some(march_3), None),
        [ids[4], ids[3], ids[1]]
    );
    let april = march_3 + 29 * 86_400_000;
    assert_eq!(
        found(&mut store, Some(march_3), Some(april)),
        [ids[3], ids[1]]
    );
    assert_eq!(found(&mut store, Some(april), None), [ids[4]]);
}

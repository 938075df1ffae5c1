//! Backups, exports and imports, on real SQLite files.

use super::{escape, import, read_export, render, rotate_join_code, sqlite_file, ExportFormat};
use crate::config::Database;
use crate::history::changes::{owner_hash, Action, ChangeRequest, Changed, Changes};
use crate::history::conformance::{fresh_postgres, message};
use crate::history::search::{Search, SearchQuery, Terms};
use crate::history::sqlite::Sqlite;
use crate::history::store::{self, Appended, Messages, NewMessage};

fn temp_db(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("chat-archive-{}-{name}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A change by `by` (with the author key the conformance messages use).
fn change(store: &mut Sqlite, by: &str, target: u64, action: Action) {
    let request = ChangeRequest {
        room: "general".into(),
        target,
        username: by.into(),
        name_key: by.to_lowercase(),
        client_id: None,
        owner: Some(owner_hash(&format!(
            "{}-secret-author-key",
            by.to_lowercase()
        ))),
        person: None,
        moderator: false,
        action,
    };
    assert!(matches!(store.change(&request), Ok(Changed::New { .. })));
}

#[test]
fn an_export_carries_edits_replies_and_reactions_into_an_import() {
    let (from, to) = (temp_db("from"), temp_db("to"));
    let before = {
        let mut store = Sqlite::open(&from).expect("open");
        store.add_room("general").expect("room");
        let appended = store
            .append(&[message("general", "bob", "original", None)])
            .expect("append");
        let Some(Appended::New {
            message: original, ..
        }) = appended.into_iter().next()
        else {
            panic!("expected a new message");
        };
        let reply = NewMessage {
            reply_to: Some(original.id),
            ..message("general", "alice", "answer", None)
        };
        store.append(&[reply]).expect("reply");
        let edit = Action::Edit {
            text: Some("edited".into()),
            window_start: String::new(),
        };
        change(&mut store, "bob", original.id, edit);
        for by in ["carol", "alice"] {
            let react = Action::React {
                emoji: Some("👍".into()),
                on: true,
            };
            change(&mut store, by, original.id, react);
        }
        store.page_before("general", u64::MAX, 10).expect("page")
    };
    let export = read_export(&from, None, false).expect("export");
    assert_eq!(export.version, 3);
    let text = render(&export, ExportFormat::Json).expect("json");
    assert_eq!(import(&to, &text), Ok(2));
    let mut store = Sqlite::open(&to).expect("open the copy");
    assert_eq!(
        store.page_before("general", u64::MAX, 10).expect("page"),
        before
    );
    let appended = store
        .append(&[message("general", "bob", "next", None)])
        .expect("append");
    let [Appended::New { message: next, .. }] = appended.as_slice() else {
        panic!("expected a new message");
    };
    let newest_reaction = export.rooms[0].messages[0].reactions[1].event_id;
    assert!(next.id > u64::try_from(newest_reaction).expect("an id"));
    // What was imported is the search index's backlog.
    let edited = SearchQuery {
        terms: Terms::parse("edited"),
        limit: 10,
        ..SearchQuery::default()
    };
    assert!(store.search(&edited).expect("search").hits.is_empty());
    let step = store.index_backlog(10).expect("backlog");
    assert_eq!((step.indexed, step.ids_left), (2, 0));
    let hits = store.search(&edited).expect("search").hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].text.text, "edited");
    let page = render(&export, ExportFormat::Html).expect("html");
    assert!(page.contains("(edited)") && page.contains("<blockquote>bob: original"));
    drop(store);
    std::fs::remove_file(&from).ok();
    std::fs::remove_file(&to).ok();
}

/// A message's files go into the export and come back with `import`:
/// the copy's pages carry the same attachments, under the same download
/// ids, and a content two messages share is one file.
#[test]
fn an_export_carries_files_into_an_import() {
    use crate::history::conformance::files::{content, upload};
    use crate::history::files::FilesStore;
    let (from, to) = (temp_db("files-from"), temp_db("files-to"));
    let before = {
        let mut store = Sqlite::open(&from).expect("open");
        store.add_room("general").expect("room");
        let shared = content("a", 10);
        let one = store
            .add_upload(&shared, &upload("1", "one", 1))
            .expect("add");
        let two = store
            .add_upload(&content("b", 20), &upload("2", "two", 1))
            .expect("add");
        let three = store
            .add_upload(&shared, &upload("3", "three", 1))
            .expect("add");
        for (text, files) in [("both", vec![two, one]), ("again", vec![three])] {
            let mut with = message("general", "bob", text, None);
            with.attachments = files;
            store.append(&[with]).expect("append");
        }
        store.page_before("general", u64::MAX, 10).expect("page")
    };
    assert_eq!(before[0].attachments.len(), 2);
    let export = read_export(&from, None, false).expect("export");
    let text = render(&export, ExportFormat::Json).expect("json");
    assert!(
        text.contains(&"b".repeat(64)),
        "the content's name is in the export"
    );
    assert_eq!(import(&to, &text), Ok(2));
    let mut store = Sqlite::open(&to).expect("open the copy");
    assert_eq!(
        store.page_before("general", u64::MAX, 10).expect("page"),
        before
    );
    assert_eq!(store.stored_bytes().expect("bytes"), 30);
    let download = store
        .download(&before[1].attachments[0].id)
        .expect("read")
        .expect("the upload is there");
    assert_eq!(download.file.sha256, "a".repeat(64));
    drop(store);
    std::fs::remove_file(&from).ok();
    std::fs::remove_file(&to).ok();
}

#[test]
fn a_version_1_export_still_imports() {
    let to = temp_db("v1");
    let text = r#"{"format": "websocket-chat-export", "version": 1, "rooms": [
        {"name": "general", "created_at": "2026-01-01T00:00:00.000Z", "messages": [
            {"id": 7, "username": "bob", "author_key": "bob", "text": "old",
             "timestamp": "2026-01-01T00:00:01.000Z", "client_id": "c1"}]}]}"#;
    assert_eq!(import(&to, text), Ok(1));
    let mut store = Sqlite::open(&to).expect("open");
    let page = store.page_before("general", u64::MAX, 10).expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!((page[0].id, page[0].text.as_str()), (7, "old"));
    assert_eq!(
        (page[0].edited_at.as_ref(), page[0].reply.as_ref()),
        (None, None)
    );
    assert!(import(
        &temp_db("v3"),
        &text.replace("\"version\": 1", "\"version\": 4")
    )
    .is_err());
    drop(store);
    std::fs::remove_file(&to).ok();
}

#[test]
fn copies_of_a_postgres_history_are_left_to_pg_dump() {
    let database = Database::Postgres("postgres://chat:secret@localhost/chat".into());
    let refused = sqlite_file(&database, "backup").expect_err("not a file");
    assert!(refused.contains("pg_dump"), "{refused}");
    assert!(!refused.contains("secret"), "{refused}");
    let file = Database::Sqlite("chat.db".into());
    assert_eq!(
        sqlite_file(&file, "backup"),
        Ok(std::path::Path::new("chat.db"))
    );
}

#[test]
fn the_join_code_rotates_in_a_postgres_database() {
    let database = Database::Postgres(fresh_postgres());
    let code = rotate_join_code(&database, false)
        .expect("rotate")
        .expect("a code");
    let mut store = store::open(&database).expect("open");
    assert!(store.join_code_admits(Some(&code)).expect("read"));
    assert!(!store.join_code_admits(None).expect("read"));
    assert_eq!(rotate_join_code(&database, true), Ok(None));
    assert!(store.join_code_admits(None).expect("read"));
}

#[test]
fn markup_is_shown_not_run() {
    assert_eq!(
        escape("<script>alert('x & \"y\"')</script>"),
        "&lt;script&gt;alert(&#39;x &amp; &quot;y&quot;&#39;)&lt;/script&gt;"
    );
}

//! `chat-server backup`, `export` and `import`, run as the real binary on
//! the database of a real server: a backup taken while a client keeps
//! posting is whole and holds everything confirmed before it began; an
//! export restores into a new database exactly; the HTML export shows
//! markup instead of running it.

mod common;

use chat_server::Config;
use chat_shared::{ClientFrame, ServerFrame};
use common::{temp_db, TestServer};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Runs `chat-server ARGS` on the database `db`.
async fn cli(db: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(args)
        .env("CHAT_DB", db)
        .env("CHAT_LOG", "warn")
        .output()
        .await
        .expect("run chat-server")
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn failed(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_backup_under_write_load_is_whole_and_holds_every_confirmed_message() {
    let db = temp_db("live.db");
    let copy = temp_db("copy.db");
    let server = TestServer::start_with(Config {
        db: db.clone(),
        ..common::unthrottled()
    })
    .await;
    let mut writer = server.connect().await;
    writer.join("writer").await;

    // Confirmed: (id, text) of every message the server echoed back.
    let confirmed = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (progress, mut progressed) = tokio::sync::watch::channel(0usize);
    let posting = tokio::spawn({
        let confirmed = confirmed.clone();
        let stop = stop.clone();
        async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let text = format!("message number {n}");
                writer.say_with_id(&text, &format!("c-{n}")).await;
                let echo = writer.recv_message().await;
                assert_eq!(echo.text, text);
                let count = {
                    let mut confirmed = confirmed.lock().expect("lock");
                    confirmed.push((echo.id, echo.text));
                    confirmed.len()
                };
                let _ = progress.send(count);
                n += 1;
            }
            writer
        }
    });
    progressed
        .wait_for(|count| *count >= 50)
        .await
        .expect("the writer is posting");

    let before: Vec<(u64, String)> = confirmed.lock().expect("lock").clone();
    let output = cli(&db, &["backup", copy.to_str().expect("path")]).await;
    succeeded(&output);
    // The writer never paused: it confirmed more after the backup began.
    let at_end = *progressed.borrow();
    progressed
        .wait_for(|count| *count > at_end)
        .await
        .expect("still posting");
    stop.store(true, Ordering::Relaxed);
    let _writer = posting.await.expect("the writer");
    server.stop().await.expect("clean stop");

    let restored = rusqlite::Connection::open(&copy).expect("open the backup");
    let integrity: String = restored
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    let mut find = restored
        .prepare("SELECT text FROM messages WHERE id = ?1")
        .expect("query");
    for (id, text) in &before {
        let stored: String = find
            .query_row([i64::try_from(*id).expect("id")], |row| row.get(0))
            .unwrap_or_else(|error| panic!("message {id} missing from the backup: {error}"));
        assert_eq!(&stored, text);
    }
    // A second backup to the same file is refused, not overwritten.
    let again = cli(&db, &["backup", copy.to_str().expect("path")]).await;
    assert!(failed(&again).contains("already exists"));
}

/// A database with two rooms and messages that need escaping.
async fn chat_history(db: &Path) {
    let server = TestServer::start_with(Config {
        db: db.to_owned(),
        ..common::unthrottled()
    })
    .await;
    let mut alice = server.connect().await;
    alice.join("Alice").await;
    for (n, text) in [
        "hello",
        "<script>alert(1)</script>",
        "two\nlines & \"quotes\" 'too'",
        "ünïcødé ✓",
    ]
    .into_iter()
    .enumerate()
    {
        alice.say_with_id(text, &format!("id-{n}")).await;
        alice.recv_message().await;
    }
    let mut bob = server.connect().await;
    bob.join_with(ClientFrame::Join {
        username: "bob".into(),
        room: Some("random".into()),
        since: None,
        resume: None,
        join_code: None,
        author_key: None,
        link_code: None,
        device: None,
    })
    .await;
    bob.say("elsewhere").await;
    bob.recv_message().await;
    drop((alice, bob));
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn export_then_import_then_export_gives_the_same_json() {
    let db = temp_db("source.db");
    let restored = temp_db("restored.db");
    let file = temp_db("export.json");
    chat_history(&db).await;

    let exported = succeeded(&cli(&db, &["export"]).await);
    let parsed: serde_json::Value = serde_json::from_str(&exported).expect("JSON");
    let rooms: Vec<&str> = parsed["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|room| room["name"].as_str().expect("name"))
        .collect();
    assert_eq!(rooms, ["general", "random"]);
    assert_eq!(
        parsed["rooms"][0]["messages"].as_array().map(Vec::len),
        Some(4)
    );
    std::fs::write(&file, &exported).expect("write the export");

    let path = file.to_str().expect("path");
    succeeded(&cli(&restored, &["import", path]).await);
    assert_eq!(succeeded(&cli(&restored, &["export"]).await), exported);
    assert_eq!(
        succeeded(&cli(&restored, &["export", "--room", "random"]).await),
        succeeded(&cli(&db, &["export", "--room", "random"]).await)
    );

    // A restored database serves on: the next message continues the ids.
    let server = TestServer::start_with(Config {
        db: restored.clone(),
        ..Config::default()
    })
    .await;
    let mut carol = server.connect().await;
    let welcome = carol.join_with(ClientFrame::join("carol")).await;
    assert_eq!(welcome.history.len(), 4);
    let last = welcome.history.last().expect("history").id;
    carol.say("after the restore").await;
    assert!(carol.recv_message().await.id > last);
    drop(carol);
    server.stop().await.expect("clean stop");

    let refused = failed(&cli(&restored, &["import", path]).await);
    assert!(refused.contains("empty database"), "{refused}");
    let unknown = failed(&cli(&db, &["export", "--room", "nowhere"]).await);
    assert!(unknown.contains("no room named"), "{unknown}");
}

#[tokio::test]
async fn the_html_export_escapes_markup_and_needs_nothing_else() {
    let db = temp_db("html.db");
    chat_history(&db).await;
    let page = succeeded(&cli(&db, &["export", "--room", "general", "--format", "html"]).await);
    assert!(page.starts_with("<!doctype html>"));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("two\nlines &amp; &quot;quotes&quot; &#39;too&#39;"));
    assert!(page.contains("ünïcødé ✓"));
    assert!(!page.contains("elsewhere"), "only the room asked for");
    for external in ["src=", "href=", "http://", "https://", "@import"] {
        assert!(!page.contains(external), "{external} in {page}");
    }
}

#[tokio::test]
async fn a_dm_is_exported_only_when_asked_and_a_backup_keeps_it() {
    let db = temp_db("dm.db");
    let copy = temp_db("dm-backup.db");
    let server = TestServer::start_with(Config {
        db: db.to_owned(),
        ..Config::default()
    })
    .await;
    let held = |name: &str, room: Option<&str>| ClientFrame::Join {
        username: name.into(),
        room: room.map(Into::into),
        since: None,
        resume: None,
        join_code: None,
        author_key: Some(format!("{name}-key-0123456789abcdef")),
        link_code: None,
        device: None,
    };
    let mut bob = server.connect().await;
    bob.join_with(held("bob", None)).await;
    let mut alice = server.connect().await;
    alice.join_with(held("alice", None)).await;
    alice
        .send(ClientFrame::OpenDm {
            with: vec!["bob".into()],
        })
        .await;
    let room = loop {
        if let ServerFrame::Dm { room, .. } = alice.recv().await {
            break room;
        }
    };
    let mut in_dm = server.connect().await;
    in_dm.join_with(held("alice", Some(&room))).await;
    in_dm.say("just between us").await;
    in_dm.recv_message().await;
    drop((alice, bob, in_dm));
    server.stop().await.expect("clean stop");

    let rooms_of = |exported: &str| -> Vec<String> {
        let parsed: serde_json::Value = serde_json::from_str(exported).expect("JSON");
        parsed["rooms"]
            .as_array()
            .expect("rooms")
            .iter()
            .map(|room| room["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let plain = succeeded(&cli(&db, &["export"]).await);
    assert!(!plain.contains("just between us"));
    assert!(!rooms_of(&plain).contains(&room));
    let refused = failed(&cli(&db, &["export", "--room", &room]).await);
    assert!(refused.contains("--include-dms"), "{refused}");
    let all = succeeded(&cli(&db, &["export", "--include-dms"]).await);
    assert!(rooms_of(&all).contains(&room));
    assert!(all.contains("just between us"));
    succeeded(&cli(&db, &["backup", copy.to_str().expect("path")]).await);
    let backup = rusqlite::Connection::open(&copy).expect("open the backup");
    let (text, members): (String, i64) = backup
        .query_row(
            "SELECT (SELECT text FROM messages WHERE room = ?1),
                    (SELECT count(*) FROM dm_members WHERE room = ?1)",
            [&room],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the DM in the backup");
    assert_eq!((text.as_str(), members), ("just between us", 2));
}

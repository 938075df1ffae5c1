//! A database written by a newer build (a schema version this binary does
//! not know) is refused at start, and left exactly as it was.

mod common;

use chat_server::Config;
use common::TestServer;

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused_and_left_unchanged() {
    let dir = std::env::temp_dir().join(format!("chat-downgrade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let db = dir.join("chat.db");
    // Made by this build, with a message in it.
    let server = TestServer::start_with(Config {
        db: db.clone(),
        ..Config::default()
    })
    .await;
    let mut client = server.connect().await;
    client.join("alice").await;
    client.say("kept").await;
    client.recv_message().await;
    drop(client);
    server.stop().await.expect("clean stop");

    // What a newer build would leave behind.
    let known: i64 = {
        let connection = rusqlite::Connection::open(&db).expect("open");
        let known = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("version");
        connection
            .pragma_update(None, "user_version", known + 1)
            .expect("bump the version");
        known
    };
    let before = std::fs::read(&db).expect("read the database");

    let (started, said) =
        common::process::run_to_exit(common::process::command().arg("--db").arg(&db));
    assert!(!started, "{said}");
    assert!(
        said.contains(&format!("schema is version {}", known + 1))
            && said.contains(&format!("the version {known} this chat-server knows")),
        "{said}"
    );
    assert_eq!(std::fs::read(&db).expect("read again"), before, "unchanged");
    let _ = std::fs::remove_dir_all(&dir);
}

//! The server with its history in PostgreSQL, end to end: what one node
//! commits, another node on the same database serves as history.

mod common;

use chat_server::config::Database;
use chat_server::Config;
use chat_shared::ClientFrame;
use common::{unthrottled, TestServer};

/// A node keeping its history in the given PostgreSQL database.
async fn node(url: &str) -> TestServer {
    TestServer::start_with(Config {
        database: Some(Database::Postgres(url.to_owned())),
        ..unthrottled()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_through_one_node_is_history_on_another() {
    let url = chat_engines::shared_postgres()
        .create_database()
        .expect("a database");
    let first = node(&url).await;
    let mut alice = first.connect().await;
    alice.join("alice").await;
    alice.say_with_id("hello from node one", "c1").await;
    let sent = alice.recv_message().await;
    assert_eq!(sent.text, "hello from node one");

    let second = node(&url).await;
    let mut bob = second.connect().await;
    let welcome = bob.join_with(ClientFrame::join("bob")).await;
    assert_eq!(welcome.history, std::slice::from_ref(&sent));
    bob.say("and hello from node two").await;
    let reply = bob.recv_message().await;
    assert!(reply.id > sent.id);

    second.stop().await.expect("stop the second node");
    first.stop().await.expect("stop the first node");
}

//! A two-node cluster in real headless Chromium: Alice on one node, Bob on
//! the other, both nodes sharing one PostgreSQL and one Redis (throwaway,
//! from `chat-engines`). Each sees the other online, each sees the other
//! typing, and each sees the other's message: everything that crosses
//! between nodes through the bus and presence, as a person would see it.
//!
//! Runs alone ([`browser_test`]), with its own chromedriver and nodes.

use chat_e2e::{browser_test, Driver, Options, Page, TestServer};
use serde_json::json;

/// Waits until `page`'s online list names `name`, next to its own user.
async fn sees_online(page: &Page, what: &str, name: &str) {
    let script = format!(
        "const names = [...document.querySelectorAll('#users-panel .user-name')] \
             .map(e => e.textContent); \
         return names.length === 2 && names.some(n => n.includes({}));",
        json!(name)
    );
    page.wait_until(what, &script).await;
}

#[test]
fn people_on_different_nodes_see_each_others_presence_typing_and_messages() {
    browser_test(|| async {
        let database = chat_engines::shared_postgres()
            .create_database()
            .expect("a database");
        let redis = chat_engines::shared_redis().url();
        // The database's name is random: a prefix no other test uses.
        let prefix = format!("{}:", database.rsplit('/').next().unwrap_or("e2e"));
        let first = TestServer::start_cluster_node(&database, &redis, &prefix).await;
        let second = TestServer::start_cluster_node(&database, &redis, &prefix).await;

        let driver = Driver::start();
        let alice = driver.browser(Options::default()).await;
        let bob = driver.browser(Options::default()).await;
        alice.open(&first.url()).await;
        alice.join("Alice").await;
        bob.open(&second.url()).await;
        bob.join("Bob").await;
        sees_online(&alice, "Alice, on node one, sees Bob online", "Bob").await;
        sees_online(&bob, "Bob, on node two, sees Alice online", "Alice").await;

        alice.type_in_composer("Hello from").await;
        bob.sees_typing("Alice").await;
        bob.type_in_composer("And hello").await;
        alice.sees_typing("Bob").await;

        alice.send(" node one").await;
        bob.wait_for_message("Hello from node one").await;
        bob.send(" from node two").await;
        alice.wait_for_message("And hello from node two").await;

        alice.close().await;
        bob.close().await;
        second.stop().await;
        first.stop().await;
    });
}

//! Invite-only access in a real headless Chromium against a real server
//! with a join code: the invitation link lets a page in and the address
//! then shows the room; a reload goes straight back in; a page without the
//! code sees the invite-only message by the name field; and a new link
//! after a rotation replaces the old code the page kept.
//!
//! Each test starts its own chromedriver and server, and runs alone
//! ([`browser_test`]).

use chat_e2e::page::JOINED;
use chat_e2e::{browser_test, Driver, Options, Page, TestServer};
use serde_json::json;

const CODE: &str = "e2e-invitation-code-0123456789";

/// Waits until the name field explains that the chat is invite-only.
async fn sees_invite_only(page: &Page, what: &str) {
    page.wait_until(
        what,
        "const e = document.querySelector('#name-error'); \
         return e !== null && e.textContent.includes('invite-only');",
    )
    .await;
}

async fn invite_only_server(db: Option<&std::path::Path>) -> TestServer {
    let db = db.map(std::path::Path::to_path_buf);
    TestServer::start_tuned(move |config| {
        config.join_code = Some(CODE.into());
        if let Some(db) = db {
            config.db = db;
        }
    })
    .await
}

#[test]
fn the_invitation_link_lets_a_page_in_and_a_reload_keeps_it_in() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = invite_only_server(None).await;
        let alice = driver.browser(Options::default()).await;
        alice.open(&format!("{}#/join/{CODE}", server.url())).await;
        alice
            .wait_until(
                "the address shows the room instead of the code",
                "return location.hash === '#/r/general'",
            )
            .await;
        alice.join("Alice").await;
        alice.send("invited and in").await;

        alice.reload_and_rejoin("Alice after the reload").await;
        alice.wait_for_message("invited and in").await;
        assert_eq!(alice.js("return location.hash").await, json!("#/r/general"));
        alice.close().await;
        server.stop().await;
    });
}

#[test]
fn a_page_without_the_code_is_told_the_chat_is_invite_only() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = invite_only_server(None).await;
        let bob = driver.browser(Options::default()).await;
        bob.open(&server.url()).await;
        bob.submit_name("Bob").await;
        sees_invite_only(&bob, "Bob is told the chat is invite-only").await;
        // Opening the invitation link then lets him in.
        bob.open(&format!("{}#/join/{CODE}", server.url())).await;
        bob.join("Bob").await;
        bob.wait_until("Bob is in the chat", JOINED).await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn a_new_invitation_link_replaces_the_kept_code() {
    browser_test(|| async {
        let db = std::env::temp_dir().join(format!("chat-e2e-join-code-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let driver = Driver::start();
        let server = invite_only_server(Some(&db)).await;
        let carol = driver.browser(Options::default()).await;
        carol.open(&format!("{}#/join/{CODE}", server.url())).await;
        carol.join("Carol").await;
        carol.click("#leave").await;

        // The operator rotates the code: the kept one no longer works.
        let new_code = chat_server::archive::rotate_join_code(
            &chat_server::config::Database::Sqlite(db.clone()),
            false,
        )
        .expect("rotate")
        .expect("a new code");
        carol.submit_name("Carol").await;
        sees_invite_only(&carol, "the old code is refused").await;

        carol
            .open(&format!("{}#/join/{new_code}", server.url()))
            .await;
        carol.join("Carol").await;
        carol.close().await;
        server.stop().await;
        let _ = std::fs::remove_file(&db);
    });
}

//! Moderation in a real headless Chromium against a real server with a
//! moderator token: the switch takes the token (and keeps it through a
//! reload), a message the moderator deletes disappears from the other
//! page (and stays gone after its reload), a locked room stops the other
//! page from posting until it is unlocked, and the topic shows in the
//! room's header, also for someone who joins later. The moderator's view
//! passes the axe audit.
//!
//! Each test starts its own chromedriver and server, and runs alone
//! ([`browser_test`]).

use chat_e2e::{alice_and_bob, browser_test, Driver, Options, Page, TestServer};
use serde_json::json;

const TOKEN: &str = "e2e-moderator-token-0123456789";

async fn moderated_server() -> TestServer {
    TestServer::start_tuned(|config| config.admin_token = Some(TOKEN.into())).await
}

/// Waits until the header's switch says this page moderates.
async fn moderating(page: &Page, what: &str) {
    page.wait_until(
        what,
        "const b = document.querySelector('#moderator-toggle'); \
         return b !== null && b.getAttribute('aria-pressed') === 'true';",
    )
    .await;
}

/// Opens the switch, types the token and submits it.
async fn become_moderator(page: &Page) {
    page.click("#moderator-toggle").await;
    page.fill("#moderator-token", TOKEN).await;
    page.click("#moderator-submit").await;
    moderating(page, "the server accepted the token").await;
}

/// Whether a confirmed message with exactly `text` is on screen.
fn shows(text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#timeline .msg .text')].some(e => e.textContent === {})",
        json!(text)
    )
}

#[test]
fn a_wrong_token_is_refused_and_the_right_one_is_kept_through_a_reload() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = moderated_server().await;
        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;
        alice.click("#moderator-toggle").await;
        alice.fill("#moderator-token", "not-the-token-at-all").await;
        alice.click("#moderator-submit").await;
        alice
            .wait_until(
                "the form says the token is wrong",
                "const e = document.querySelector('#moderator-error'); \
                 return e !== null && e.textContent.includes('not the moderator token');",
            )
            .await;
        alice.fill("#moderator-token", TOKEN).await;
        alice.click("#moderator-submit").await;
        moderating(&alice, "the right token is accepted").await;
        alice
            .wait_until(
                "the moderation log shows",
                "return document.querySelector('#audit-list') !== null",
            )
            .await;
        alice.audit_accessibility("the moderator's view").await;

        alice.client().refresh().await.expect("reload");
        moderating(&alice, "the reloaded page moderates again by itself").await;
        alice.close().await;
        server.stop().await;
    });
}

#[test]
fn a_deleted_message_disappears_from_the_other_page_and_stays_gone() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = moderated_server().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        bob.send("something awful").await;
        bob.send("something fine").await;
        alice.wait_for_message("something fine").await;
        become_moderator(&alice).await;
        // Two clicks: the first asks to confirm.
        let delete = format!(
            "const li = [...document.querySelectorAll('#timeline .msg')]
                 .find(li => li.querySelector('.text').textContent === {});
             const button = li && li.querySelector('.delete-message');
             if (!button) return false;
             button.click();
             return true;",
            json!("something awful")
        );
        for _ in 0..2 {
            assert_eq!(alice.js(&delete).await, json!(true), "a delete button");
        }
        let gone = format!("return !({})", shows("something awful"));
        bob.wait_until("Bob no longer sees the deleted message", &gone)
            .await;
        alice
            .wait_until("Alice no longer sees it either", &gone)
            .await;
        assert!(bob.texts().await.contains(&"something fine".to_owned()));
        alice
            .wait_until(
                "the log shows the deletion",
                "return document.querySelector('#audit-list [data-action=delete]') !== null",
            )
            .await;

        bob.client().refresh().await.expect("reload");
        bob.wait_for_message("something fine").await;
        assert_eq!(bob.js(&gone).await, json!(true), "gone after a reload");
        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn a_locked_room_stops_the_other_page_and_the_topic_shows_in_the_header() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = moderated_server().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        become_moderator(&alice).await;

        alice.click("#lock-room").await;
        bob.wait_until(
            "Bob's composer is closed and says why",
            "const c = document.querySelector('#composer-input'); \
             const s = document.querySelector('#composer-status'); \
             const badge = document.querySelector('#room-locked'); \
             return c.disabled && s.textContent.includes('read-only') && !badge.hidden;",
        )
        .await;
        // The moderator may still speak.
        alice.send("announcement").await;
        bob.wait_for_message("announcement").await;

        alice.click("#edit-topic").await;
        alice.fill("#topic-input", "Be kind; Rust 2027").await;
        alice.click("#topic-save").await;
        let topic_shown = "const t = document.querySelector('#room-topic'); \
                           return t !== null && !t.hidden && t.textContent === 'Be kind; Rust 2027';";
        bob.wait_until("Bob's header shows the topic", topic_shown)
            .await;
        let carol = driver.browser(Options::default()).await;
        carol.open(&server.url()).await;
        carol.join("Carol").await;
        carol
            .wait_until("Carol, joining later, sees the topic", topic_shown)
            .await;

        alice.click("#lock-room").await;
        bob.wait_until(
            "Bob's composer is open again",
            "return !document.querySelector('#composer-input').disabled",
        )
        .await;
        bob.send("free again").await;
        alice.wait_for_message("free again").await;
        for page in [alice, bob, carol] {
            page.close().await;
        }
        server.stop().await;
    });
}

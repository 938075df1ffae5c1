//! Where the keyboard is: in the name field whenever the name form shows
//! (first load, after Leave, after a refused name), and in the message
//! field once in the chat and after each change of room, never lost to
//! the page body.

use chat_e2e::{browser_test, Driver, Options, Page, TestServer};
use serde_json::json;

/// Waits until the element with `id` has the keyboard focus.
async fn wait_for_focus(page: &Page, id: &str, when: &str) {
    let script = format!(
        "return document.activeElement !== null && document.activeElement.id === {};",
        json!(id)
    );
    page.wait_until(&format!("#{id} has the focus {when}"), &script)
        .await;
}

#[test]
fn the_keyboard_goes_where_the_user_types_next() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        wait_for_focus(&alice, "name-input", "on first load").await;

        alice.join("Alice").await;
        wait_for_focus(&alice, "composer-input", "after joining").await;

        // A room opened from the form: the button clicked had the focus.
        alice.fill("#new-room-name", "rust").await;
        alice.click("#new-room-create").await;
        alice
            .wait_until(
                "Alice is in rust",
                "return document.querySelector('#room-name').textContent === 'rust' \
                 && !document.querySelector('#composer-status').classList.contains('offline');",
            )
            .await;
        wait_for_focus(&alice, "composer-input", "after opening a room").await;

        alice.click("#leave").await;
        wait_for_focus(&alice, "name-input", "after leaving").await;

        alice.join("Alice").await;
        wait_for_focus(&alice, "composer-input", "after joining again").await;
        // The address changing, as a room link or Back changes it.
        alice.js("location.hash = '#/r/general'; return true").await;
        alice
            .wait_until(
                "Alice is back in general",
                "return document.querySelector('#room-name').textContent === 'general';",
            )
            .await;
        wait_for_focus(&alice, "composer-input", "after following a room link").await;

        // A name the server refuses brings the keyboard back to the name
        // field, even when the join button was clicked.
        let bob = driver.browser(Options::default()).await;
        bob.open(&server.url()).await;
        bob.fill("#name-input", "alice").await;
        bob.click("#join-button").await;
        bob.wait_until(
            "Bob is told the name is taken",
            "return document.querySelector('#name-error').textContent !== '';",
        )
        .await;
        wait_for_focus(&bob, "name-input", "after a refused name").await;

        bob.close().await;
        alice.close().await;
        server.stop().await;
    });
}

//! Accessibility audits of the chat with axe-core in a real headless
//! Chromium: the join form, the conversation between two people, the room
//! list and the phone layout, each in the light and the dark theme. Any
//! serious or critical violation fails the test with its rule, impact,
//! help and the elements' selectors ([`Page::audit_accessibility`]).
//!
//! Each test starts its own chromedriver and server, and runs alone
//! ([`browser_test`]).

use std::time::Duration;

use chat_e2e::axe::assert_accessible;
use chat_e2e::{
    alice_and_bob, browser_test, ChatClient, Device, Driver, Options, Page, TestServer,
};

/// Audits `page` as it is now in the light theme and then in the dark one,
/// naming `what` in the output, and adds what fails to `failures`: each
/// test audits every view before it fails, so one run lists everything.
async fn audit_both_themes(failures: &mut Vec<String>, page: &Page, what: &str) {
    for dark in [false, true] {
        page.set_dark_mode(dark).await;
        let theme = if dark { "dark" } else { "light" };
        let found = page
            .accessibility_failures(&format!("{what}, {theme}"))
            .await;
        failures.extend(found);
    }
    page.set_dark_mode(false).await;
}

#[test]
fn the_join_form_has_no_serious_accessibility_violations() {
    browser_test(|| async {
        let mut failures = Vec::new();
        let driver = Driver::start();
        let server = TestServer::start().await;
        let page = driver.browser(Options::default()).await;
        page.open(&server.url()).await;
        page.wait_until(
            "the join form is there",
            "return document.querySelector('#name-input') !== null",
        )
        .await;
        audit_both_themes(&mut failures, &page, "the join form").await;

        // The form with its error showing: a taken name.
        let other = driver.browser(Options::default()).await;
        other.open(&server.url()).await;
        other.join("Alice").await;
        page.submit_name("Alice").await;
        page.wait_until(
            "the error shows by the field",
            "const e = document.querySelector('#name-error'); \
             return e !== null && e.textContent.trim() !== '';",
        )
        .await;
        audit_both_themes(&mut failures, &page, "the join form with an error").await;

        page.close().await;
        other.close().await;
        server.stop().await;
        assert_accessible(&failures);
    });
}

#[test]
fn the_conversation_and_the_room_list_have_no_serious_accessibility_violations() {
    browser_test(|| async {
        let mut failures = Vec::new();
        let driver = Driver::start();
        let server = TestServer::start().await;
        let robin = ChatClient::join(&server, "Robin", Some("rust")).await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("Hi Bob, see https://example.org/docs").await;
        bob.send("Hello Alice!\nA second line").await;
        alice.wait_for_message("Hello Alice!\nA second line").await;
        // Bob types, so the indicator is part of the audit.
        bob.type_in_composer("Let me").await;
        alice.sees_typing("Bob").await;
        // The side panel lists both rooms (its list refreshes every 10 s).
        alice
            .wait_until_for(
                "the room list shows general and rust",
                "return [...document.querySelectorAll('#room-list li.room')] \
                 .map(li => li.dataset.room).sort().join() === 'general,rust'",
                Duration::from_secs(15),
            )
            .await;
        audit_both_themes(
            &mut failures,
            &alice,
            "the conversation with the room list, desktop",
        )
        .await;

        // A reader scrolled up gets the new-messages pill.
        for n in 1..=25 {
            bob.send(&format!("filler {n}")).await;
        }
        alice.wait_for_message("filler 25").await;
        // The view follows each new line a frame after it shows; scrolling
        // up before the last follow would be undone by it.
        alice
            .wait_until(
                "Alice's view followed the fillers",
                "const m = document.querySelector('.messages'); \
                 return m.scrollHeight - m.scrollTop - m.clientHeight < 48;",
            )
            .await;
        alice
            .js("return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            .await;
        alice
            .js("document.querySelector('.messages').scrollTo({ top: 0, behavior: 'instant' });")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        bob.send("one more").await;
        alice
            .wait_until(
                "the new-messages pill shows",
                "return document.querySelector('#new-messages') !== null",
            )
            .await;
        audit_both_themes(
            &mut failures,
            &alice,
            "the conversation scrolled up, with the pill",
        )
        .await;

        // Offline: the connection status and the composer say so.
        alice.js("window.__cutSockets(true)").await;
        alice
            .wait_until(
                "Alice's page knows it is offline",
                "const s = document.querySelector('#composer-status'); \
                 return s !== null && s.classList.contains('offline');",
            )
            .await;
        audit_both_themes(&mut failures, &alice, "the conversation, offline").await;

        drop(robin);
        alice.close().await;
        bob.close().await;
        server.stop().await;
        assert_accessible(&failures);
    });
}

#[test]
fn the_phone_layout_and_its_panel_have_no_serious_accessibility_violations() {
    browser_test(|| async {
        let mut failures = Vec::new();
        let driver = Driver::start();
        let server = TestServer::start().await;
        let robin = ChatClient::join(&server, "Robin", Some("rust")).await;
        let desktop = driver.browser(Options::default()).await;
        desktop.open(&server.url()).await;
        desktop.join("Dana").await;
        let phone = driver
            .browser(Options {
                device: Device::Phone,
                ..Options::default()
            })
            .await;
        phone.open(&server.url()).await;
        audit_both_themes(&mut failures, &phone, "the join form, phone").await;

        phone.join("Pat").await;
        desktop.send("Hello from the desk").await;
        phone.send("Привет из телефона!").await;
        phone.wait_for_message("Hello from the desk").await;
        audit_both_themes(&mut failures, &phone, "the conversation, phone").await;

        // The panel with who is online and the rooms, opened from the room
        // bar.
        phone
            .wait_until_for(
                "the room list has general and rust",
                "return [...document.querySelectorAll('#room-list li.room')] \
                 .map(li => li.dataset.room).sort().join() === 'general,rust'",
                Duration::from_secs(15),
            )
            .await;
        phone.click("#rooms-toggle").await;
        phone
            .wait_until(
                "the panel with the room list is open",
                "const r = document.querySelector('#room-list').getBoundingClientRect(); \
                 return r.width > 0 && r.right <= window.innerWidth;",
            )
            .await;
        audit_both_themes(&mut failures, &phone, "the panel with the room list, phone").await;

        drop(robin);
        phone.close().await;
        desktop.close().await;
        server.stop().await;
        assert_accessible(&failures);
    });
}

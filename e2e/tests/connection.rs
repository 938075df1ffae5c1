//! An honest connection status in a real headless Chromium (issue 22, item
//! 6): a lost network shows as "Reconnecting…" within seconds, not after
//! the heartbeats' minute; what is sent meanwhile says "Waiting for the
//! connection…"; the online list keeps the last known people, dimmed,
//! instead of "0 online"; and all of it recovers when the network is back.
//!
//! The network is lost two ways: silently (the [`Proxy`] between the page
//! and the server is cut: no close, no error, and new connections get
//! nowhere either), which only the app's own `ping` can notice, and the
//! way a laptop's Wi-Fi drops (CDP's network emulation going offline),
//! which the browser's `offline` event tells at once.
//!
//! Runs alone ([`browser_test`]), with its own chromedriver and server.

use std::time::{Duration, Instant};

use chat_e2e::{browser_test, Driver, Options, Page, Proxy, TestServer};
use serde_json::json;

/// True once the chat view is up and the composer can send.
const JOINED: &str = chat_e2e::page::JOINED;

/// True while the status says the page is reconnecting (with or without
/// the countdown).
const RECONNECTING: &str = "const s = document.querySelector('#connection-status'); \
     return s !== null && s.textContent.startsWith('Reconnecting');";

/// The names in the online list, in order, and whether the list is shown
/// dimmed: its avatars faded (computed opacity, not a class).
const LIST: &str = "const names = [...document.querySelectorAll('#user-list .user-name')] \
         .map(e => e.textContent); \
     const avatar = document.querySelector('#user-list .avatar'); \
     const opacity = avatar ? Number(getComputedStyle(avatar).opacity) : 1; \
     return [names, opacity < 0.6, document.querySelector('#online-count').textContent];";

/// The delivery note of my pending message reading `text`, if shown.
fn delivery_of(text: &str) -> String {
    format!(
        "const li = [...document.querySelectorAll('#pending li.outgoing')] \
           .find(li => li.querySelector('.text') && li.querySelector('.text').textContent === {}); \
         const d = li && li.querySelector('.delivery'); \
         return d ? d.textContent : null;",
        json!(text)
    )
}

/// Asserts what shows while the connection is down (`how`): the status,
/// the wording of a message sent now, and the last known list, dimmed.
async fn assert_shown_while_down(alice: &Page, how: &str, text: &str) {
    alice.send_without_waiting(text).await;
    alice
        .wait_until(
            &format!("{how}: a message sent now is pending"),
            &format!("return (() => {{ {} }})() !== null", delivery_of(text)),
        )
        .await;
    assert_eq!(
        alice.js(&delivery_of(text)).await,
        json!("Waiting for the connection…"),
        "{how}: a message sent while down says it waits, not that it is sending"
    );
    assert_eq!(
        alice.js(LIST).await,
        json!([["Alice", "Bob"], true, "2 online"]),
        "{how}: the online list keeps the last known people, me included, dimmed"
    );
    assert_eq!(
        alice.js(RECONNECTING).await,
        json!(true),
        "{how}: the status still says Reconnecting"
    );
}

/// Waits until the page is joined again and online, the list is live (not
/// dimmed) with both, and `text`, sent while down, reached Bob.
async fn assert_recovered(alice: &Page, bob: &Page, how: &str, text: &str, within: Duration) {
    alice
        .wait_until_for(
            &format!("{how}: Alice is joined again"),
            &format!(
                "return (() => {{ {JOINED} }})() \
                     && document.querySelector('#connection-status').textContent === 'Online';"
            ),
            within,
        )
        .await;
    bob.wait_for_message(text).await;
    alice
        .wait_until(
            &format!("{how}: the list is live again"),
            &format!(
                "return JSON.stringify((() => {{ {LIST} }})()) === {};",
                json!(json!([["Alice", "Bob"], false, "2 online"]).to_string())
            ),
        )
        .await;
}

#[test]
fn a_lost_connection_shows_within_seconds_keeps_the_list_and_recovers() {
    browser_test(|| async {
        let driver = Driver::start();
        // The default heartbeats: every 20 s, three of them missed before
        // they count. Without pings a silent network shows after a minute.
        let server = TestServer::start().await;
        let proxy = Proxy::start(server.addr()).await;
        let bob = driver.browser(Options::default()).await;
        bob.open(&server.url()).await;
        bob.join("Bob").await;
        let alice = driver.browser(Options::default()).await;
        alice.open(&proxy.url()).await;
        alice.join("Alice").await;
        alice
            .wait_until(
                "Alice sees both online",
                "return document.querySelectorAll('#user-list .user').length === 2",
            )
            .await;

        // A quiet but healthy connection is kept: the pings (after 4 s of
        // silence) are answered, so nothing is replaced.
        let before = alice.socket_stats().await;
        tokio::time::sleep(Duration::from_secs(9)).await;
        let quiet = alice.socket_stats().await;
        assert_eq!(
            quiet.created, before.created,
            "a healthy quiet connection was replaced: {quiet:?}"
        );
        assert_eq!(alice.js(JOINED).await, json!(true));

        // 1. The network goes silent, and stays lost.
        proxy.cut();
        let cut_at = Instant::now();
        alice
            .wait_until_for(
                "a silent network: the status says Reconnecting within seconds",
                RECONNECTING,
                Duration::from_secs(10),
            )
            .await;
        eprintln!("the silent network showed after {:?}", cut_at.elapsed());
        // The new view: the status and the dimmed list (before anything
        // is pending, whose faded bubble is not what this checks).
        alice
            .audit_accessibility("the conversation with a lost connection and a dimmed list")
            .await;
        assert_shown_while_down(&alice, "a silent network", "sent into the silence").await;
        // Still so after a failed attempt or two: never "0 online".
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            alice.js(LIST).await,
            json!([["Alice", "Bob"], true, "2 online"]),
            "the last known list stays while the network is lost"
        );
        assert_eq!(alice.js(RECONNECTING).await, json!(true));

        proxy.restore();
        assert_recovered(
            &alice,
            &bob,
            "after the silent network",
            "sent into the silence",
            Duration::from_secs(30),
        )
        .await;

        // 2. The browser goes offline, as when the Wi-Fi drops.
        alice.set_network_offline(true).await;
        alice
            .wait_until_for(
                "offline: the status says Reconnecting at once",
                RECONNECTING,
                Duration::from_secs(3),
            )
            .await;
        assert_shown_while_down(&alice, "offline", "sent while offline").await;

        alice.set_network_offline(false).await;
        // The `online` event retries at once.
        assert_recovered(
            &alice,
            &bob,
            "back online",
            "sent while offline",
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(
            alice.texts().await,
            ["sent into the silence", "sent while offline"],
            "each message went once"
        );

        alice.close().await;
        bob.close().await;
        drop(proxy);
        server.stop().await;
    });
}

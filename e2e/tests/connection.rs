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
//! And the header that shows it (item 11): on a desktop one status in one
//! place (the panel, always shown, counts who is online), on a phone a
//! header and room bar that leave the conversation the room, with 44 px
//! targets and the status line back whenever the connection is not online.
//! And a name in the online list, clicked, mentions them in the composer
//! (item 12).
//!
//! Each test runs alone ([`browser_test`]), with its own chromedriver and
//! server.

use std::time::{Duration, Instant};

use chat_e2e::{browser_test, ChatClient, Device, Driver, Options, Page, Proxy, TestServer};
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
    // And its confirmation came back to Alice.
    alice.wait_for_message(text).await;
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

/// The texts of the header's visible elements that speak of being online,
/// each its own leaf: what a sighted user reads as a status there.
const HEADER_STATUSES: &str = "return [...document.querySelectorAll('.topbar *')] \
     .filter(e => e.children.length === 0 && /online/i.test(e.textContent)) \
     .filter(e => { const r = e.getBoundingClientRect(); return r.width > 1 && r.height > 1; }) \
     .map(e => e.textContent);";

#[test]
fn the_header_is_one_status_on_a_desktop_small_on_a_phone_and_names_mention() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let _robin = ChatClient::join(&server, "Robin", None).await;

        // A desktop: the panel is always there and counts who is online;
        // the header says "Online" once, the connection's state.
        let desktop = driver.browser(Options::default()).await;
        desktop.open(&server.url()).await;
        desktop.join("Dana").await;
        desktop
            .wait_until(
                "the panel lists both",
                "return document.querySelectorAll('#user-list .user').length === 2",
            )
            .await;
        assert_eq!(
            desktop.js(HEADER_STATUSES).await,
            json!(["Online"]),
            "one status in one place on a desktop"
        );
        assert_eq!(
            desktop
                .js("const c = document.querySelector('#users-panel .count'); \
                     return c.getBoundingClientRect().width > 0 ? c.textContent : null;")
                .await,
            json!("2"),
            "the panel, always shown, counts who is online"
        );

        // Robin's name in the list mentions him after what is typed, and
        // the keyboard is back in the composer, at the end.
        desktop.type_in_composer("thanks").await;
        desktop.click("#user-list .user-mention").await;
        desktop
            .wait_until(
                "a click on Robin's name mentions him in the composer",
                &composer_is("thanks @Robin "),
            )
            .await;
        desktop
            .audit_accessibility("the online list with names that mention")
            .await;
        desktop.close().await;

        // A phone: one row of header, then the room bar, in about 100 px
        // of 844, every control still 44 px and on the screen.
        let phone = driver
            .browser(Options {
                device: Device::Phone,
                ..Options::default()
            })
            .await;
        phone.open(&server.url()).await;
        phone.join("Pat").await;
        let (bottom, bad) = phone_bars(&phone).await;
        assert!(
            bottom <= 100,
            "the header and room bar take {bottom} px of 844"
        );
        assert_eq!(
            bad,
            json!([]),
            "phone bar controls under 44 px or off-screen"
        );
        // In Russian too, whose words are longer.
        phone.click("#lang-ru").await;
        phone
            .wait_until(
                "the page is in Russian",
                "return document.querySelector('#online-count').textContent === '2 в сети'",
            )
            .await;
        let (bottom, bad) = phone_bars(&phone).await;
        assert!(bottom <= 100, "in Russian: {bottom} px");
        assert_eq!(
            bad,
            json!([]),
            "in Russian: controls under 44 px or off-screen"
        );
        phone.click("#lang-en").await;

        // Not online: the status line is back, in words, on the screen.
        phone.set_network_offline(true).await;
        phone
            .wait_until_for(
                "the phone shows it is reconnecting",
                "const s = document.querySelector('#connection-status'); \
                 const r = s.getBoundingClientRect(); \
                 return s.textContent.startsWith('Reconnecting') \
                     && r.width > 40 && r.left >= 0 && r.right <= innerWidth;",
                Duration::from_secs(3),
            )
            .await;
        phone
            .audit_accessibility("the phone header while reconnecting")
            .await;
        phone.set_network_offline(false).await;
        phone.wait_until("the phone is back", JOINED).await;
        let (bottom, _) = phone_bars(&phone).await;
        assert!(bottom <= 100, "back online: {bottom} px");
        phone.audit_accessibility("the phone header online").await;

        // On the phone the name, a full tap target, closes the panel too.
        phone.click("#users-toggle").await;
        // Waited for: the panel slides in.
        phone
            .wait_until(
                "the panel is open, each name a full tap target on the screen",
                "const r = document.querySelector('#user-list .user-mention').getBoundingClientRect(); \
                 return getComputedStyle(document.querySelector('#users-panel')).visibility === 'visible' \
                     && r.height >= 44 && r.width >= 44 && r.left >= 0 && r.right <= innerWidth;",
            )
            .await;
        phone.click("#user-list .user-mention").await;
        phone
            .wait_until(
                "a tap on Robin's name closes the panel and mentions him",
                &format!(
                    "return getComputedStyle(document.querySelector('#users-panel')).visibility === 'hidden' \
                         && (() => {{ {} }})();",
                    composer_is("@Robin ")
                ),
            )
            .await;

        phone.close().await;
        server.stop().await;
    });
}

/// The bottom of the room bar on `page` (where the conversation starts),
/// and every shown control of the header and the room bar that is under
/// 44 px or not wholly on the screen ([`Page::small_tap_targets`]).
async fn phone_bars(page: &Page) -> (u64, serde_json::Value) {
    let bottom = page
        .js("return Math.round(document.querySelector('.room-bar').getBoundingClientRect().bottom)")
        .await;
    let bottom = bottom
        .as_u64()
        .unwrap_or_else(|| panic!("no room bar: {bottom}"));
    let bad = page
        .small_tap_targets(".topbar button, .room-bar button")
        .await;
    (bottom, bad)
}

/// True once the composer holds `text` and has the keyboard, with the
/// caret at the end.
fn composer_is(text: &str) -> String {
    format!(
        "const c = document.querySelector('#composer-input'); \
         return c.value === {} && document.activeElement === c \
             && c.selectionStart === c.value.length;",
        json!(text)
    )
}

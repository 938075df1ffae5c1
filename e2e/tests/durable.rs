//! Durable chat in a real headless Chromium: the outbox and the
//! conversation survive a reload, a user with two tabs is one presence,
//! rooms keep their own history, older history loads on scrolling up, and a
//! connection that goes silent is replaced by the page's heartbeat watchdog.
//!
//! Each test starts its own chromedriver and server, and runs alone
//! ([`browser_test`]).

use std::time::Duration;

use chat_e2e::page::JOINED;
use chat_e2e::{alice_and_bob, browser_test, ChatClient, Driver, Options, Page, Proxy, TestServer};
use chat_shared::ClientFrame;
use serde_json::json;

/// True while the page knows it cannot reach the server.
const OFFLINE: &str = "const s = document.querySelector('#composer-status'); \
     return s !== null && s.classList.contains('offline');";

/// The names in the page's users list, in order.
const USER_NAMES: &str = "return [...document.querySelectorAll('#users-panel .user-name')] \
     .map(e => e.textContent)";

/// The rooms in the page's room list as [name, current, link, online],
/// sorted by name; online is the number on the room's badge, null for a
/// room with nobody (it shows none).
const ROOMS: &str = "return [...document.querySelectorAll('#room-list li.room')].map(li => [ \
       li.dataset.room, \
       li.classList.contains('current'), \
       li.querySelector('a.room-link') ? li.querySelector('a.room-link').getAttribute('href') : null, \
       li.querySelector('.room-online-count') ? li.querySelector('.room-online-count').textContent : null, \
     ]).sort((a, b) => a[0] < b[0] ? -1 : 1)";

/// The whole text of the page's timeline (messages and notices).
async fn timeline(page: &Page) -> String {
    page.js("return document.querySelector('#timeline').innerText")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until the confirmed messages on `page` are exactly `expected`.
async fn wait_for_texts(page: &Page, what: &str, expected: &[&str]) {
    let script = format!(
        "return JSON.stringify([...document.querySelectorAll('#timeline .msg .text')] \
             .map(e => e.textContent)) === {};",
        json!(json!(expected).to_string())
    );
    page.wait_until(what, &script).await;
}

/// Waits until `page` shows `room` as the current room: in the URL, in the
/// header, and joined there.
async fn wait_for_room(page: &Page, room: &str) {
    let script = format!(
        "const name = document.querySelector('#room-name'); \
         const s = document.querySelector('#composer-status'); \
         return location.hash === {hash} && name !== null && name.textContent === {room} \
             && s !== null && !s.classList.contains('offline');",
        hash = json!(format!("#/r/{room}")),
        room = json!(room),
    );
    page.wait_until(&format!("the page is in the room {room:?}"), &script)
        .await;
}

/// Waits until the room list is exactly `expected` (see [`ROOMS`]); the
/// list refreshes every 10 s, so this allows 15.
async fn wait_for_rooms(page: &Page, what: &str, expected: serde_json::Value) {
    let script = format!(
        "return JSON.stringify((() => {{ {ROOMS} }})()) === {};",
        json!(expected.to_string())
    );
    page.wait_until_for(what, &script, Duration::from_secs(15))
        .await;
}

#[test]
fn a_reload_keeps_the_conversation_and_the_unsent_outbox() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("Hi Bob").await;
        bob.wait_for_message("Hi Bob").await;
        bob.send("Hi Alice, what's new?").await;
        alice.wait_for_message("Hi Alice, what's new?").await;

        // Alice loses her network and writes anyway: the message waits in
        // the outbox.
        alice.js("window.__cutSockets(true)").await;
        alice
            .wait_until("Alice's page knows it is offline", OFFLINE)
            .await;
        alice.send_without_waiting("written offline").await;
        alice
            .wait_until(
                "the message waits in the outbox as queued",
                "return [...document.querySelectorAll('#pending li.outgoing')] \
                 .some(li => li.dataset.state === 'queued' && li.textContent.includes('written offline'));",
            )
            .await;
        assert_eq!(
            alice
                .js("return document.querySelectorAll('#pending li').length")
                .await,
            json!(1),
            "one message is waiting"
        );
        assert!(
            !alice.texts().await.iter().any(|t| t == "written offline"),
            "an unsent message shows as confirmed"
        );

        // She reloads the page (the probe's cut goes with the old document).
        alice.reload_and_rejoin("Alice after the reload").await;

        // The outbox went out by itself, exactly once.
        bob.wait_for_message("written offline").await;
        alice.wait_for_message("written offline").await;
        alice
            .wait_until(
                "Alice's outbox is empty",
                "return document.querySelectorAll('#pending li').length === 0",
            )
            .await;
        // Time for a second copy to arrive, if one were coming.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let all = ["Hi Bob", "Hi Alice, what's new?", "written offline"];
        assert_eq!(alice.texts().await, all, "Alice's conversation");
        assert_eq!(bob.texts().await, all, "Bob's conversation");
        assert_eq!(
            alice.messages().await.last(),
            Some(&("Alice".into(), "written offline".into(), true)),
            "the message is Alice's own"
        );
        assert_eq!(
            bob.messages().await.last(),
            Some(&("Alice".into(), "written offline".into(), false))
        );
        assert_eq!(bob.js(USER_NAMES).await, json!(["Alice", "Bob"]));

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn a_long_outbox_goes_out_once_in_order_under_the_default_rate_limit() {
    browser_test(|| async {
        let driver = Driver::start();
        // The limits a real server has: bursts of 10, then 5 per second.
        let server = TestServer::start_tuned(|config| {
            config.limits = chat_server::limits::Limits::default();
        })
        .await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;

        alice.js("window.__cutSockets(true)").await;
        alice
            .wait_until("Alice's page knows it is offline", OFFLINE)
            .await;
        let written: Vec<String> = (1..=14).map(|n| format!("queued {n:02}")).collect();
        for text in &written {
            alice.send_without_waiting(text).await;
        }
        alice
            .wait_until(
                "all fourteen wait in the outbox",
                "return document.querySelectorAll('#pending li[data-state=\"queued\"]').length === 14",
            )
            .await;

        alice
            .js("window.__cutSockets(false); window.dispatchEvent(new Event('online'))")
            .await;
        bob.wait_for_message("queued 14").await;
        alice
            .wait_until(
                "Alice's outbox is empty",
                "return document.querySelectorAll('#pending li').length === 0",
            )
            .await;
        // Time for a late duplicate to arrive, if one were coming.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(bob.texts().await, written, "Bob gets each once, in order");
        assert_eq!(alice.texts().await, written, "Alice's own view");
        // Pacing and retrying are the page's business: no error for Alice.
        assert_eq!(
            alice
                .js("return document.querySelector('.notice-bar') === null")
                .await,
            json!(true),
            "Alice was shown an error"
        );

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn two_tabs_of_one_user_show_one_presence_entry() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;

        // A second tab of Alice's browser: same localStorage, same user. It
        // joins by itself, or she gives her name and the shared resume
        // token lets her have it.
        let first_tab = alice.open_in_new_tab(&server.url()).await;
        alice
            .wait_until(
                "the second tab offers the chat or the name form",
                "const s = document.querySelector('#composer-status'); \
                 return document.querySelector('#name-input') !== null \
                     || (s !== null && !s.classList.contains('offline'));",
            )
            .await;
        if alice
            .js("return document.querySelector('#name-input') !== null")
            .await
            == json!(true)
        {
            alice.join("Alice").await;
        }
        alice.wait_until("the second tab is joined", JOINED).await;
        alice.send("from the second tab").await;
        bob.wait_for_message("from the second tab").await;
        assert_eq!(
            bob.messages().await.last(),
            Some(&("Alice".into(), "from the second tab".into(), false)),
            "the second tab is Alice"
        );

        // Bob sees one Alice, and no one joining again.
        bob.wait_until(
            "Bob sees two people online",
            "return document.querySelector('#online-count').textContent === '2 online'",
        )
        .await;
        assert_eq!(bob.js(USER_NAMES).await, json!(["Alice", "Bob"]));
        let seen = timeline(&bob).await;
        assert!(
            !seen.contains("Alice joined"),
            "Bob saw Alice join again: {seen}"
        );

        // Closing one tab keeps her there, well past the resume grace (5 s).
        alice.close_tab(first_tab).await;
        alice
            .wait_until("the first tab is still joined", JOINED)
            .await;
        alice.wait_for_message("from the second tab").await;
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert_eq!(bob.js(USER_NAMES).await, json!(["Alice", "Bob"]));
        assert_eq!(bob.text("#online-count").await, "2 online");
        let seen = timeline(&bob).await;
        assert!(
            !seen.contains("Alice left"),
            "one closed tab made Alice leave: {seen}"
        );
        alice.send("still here").await;
        bob.wait_for_message("still here").await;

        // Closing the last one makes her leave, once the grace has passed.
        alice.close().await;
        bob.wait_until_for(
            "Bob sees Alice leave",
            "return document.querySelector('#timeline').innerText.includes('Alice left') \
                 && document.querySelector('#online-count').textContent === '1 online'",
            Duration::from_secs(15),
        )
        .await;
        assert_eq!(bob.js(USER_NAMES).await, json!(["Bob"]));
        let seen = timeline(&bob).await;
        assert_eq!(
            seen.matches("Alice left").count(),
            1,
            "Alice left more than once: {seen}"
        );

        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn switching_rooms_shows_each_rooms_own_history() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;
        wait_for_room(&alice, "general").await;
        alice.send("hello general").await;
        alice.wait_for_message("hello general").await;

        // A name the shared rules refuse shows an error and goes nowhere.
        alice.fill("#new-room-name", "no spaces here").await;
        alice.click("#new-room-create").await;
        alice
            .wait_until(
                "the room name is refused",
                "const e = document.querySelector('#new-room-error'); \
                 return e !== null && e.textContent.trim() !== '';",
            )
            .await;
        assert_eq!(alice.js("return location.hash").await, json!("#/r/general"));
        assert_eq!(alice.text("#room-name").await, "general");

        // A new room, named as a person would type it, is canonical in the URL.
        alice.fill("#new-room-name", "Rust").await;
        alice.click("#new-room-create").await;
        wait_for_room(&alice, "rust").await;
        wait_for_texts(&alice, "the new room starts empty", &[]).await;
        alice.send("hello rust").await;
        alice.wait_for_message("hello rust").await;
        assert_eq!(alice.texts().await, ["hello rust"]);
        wait_for_rooms(
            &alice,
            "the room list shows both rooms, Alice in rust",
            json!([
                ["general", false, "#/r/general", null],
                ["rust", true, "#/r/rust", "1"]
            ]),
        )
        .await;

        // Clicking a room in the list goes back to its own history.
        alice
            .click("#room-list li.room[data-room='general'] a.room-link")
            .await;
        wait_for_room(&alice, "general").await;
        wait_for_texts(&alice, "general shows only its history", &["hello general"]).await;

        // A link straight to a room joins that room.
        let bob = driver.browser(Options::default()).await;
        bob.open(&format!("{}#/r/rust", server.url())).await;
        bob.join("Bob").await;
        wait_for_room(&bob, "rust").await;
        wait_for_texts(&bob, "Bob sees rust's history", &["hello rust"]).await;

        // Changing the hash switches rooms too; the counts follow.
        alice.js("location.hash = '#/r/rust'").await;
        wait_for_room(&alice, "rust").await;
        wait_for_texts(&alice, "Alice sees rust's history once", &["hello rust"]).await;
        wait_for_rooms(
            &bob,
            "Bob's room list counts two in rust and none in general",
            json!([
                ["general", false, "#/r/general", null],
                ["rust", true, "#/r/rust", "2"]
            ]),
        )
        .await;
        bob.wait_until(
            "Bob's header counts two",
            "return document.querySelector('#online-count').textContent === '2 online'",
        )
        .await;
        assert_eq!(bob.js(USER_NAMES).await, json!(["Alice", "Bob"]));

        // Messages stay in their room.
        bob.send("rust from Bob").await;
        alice.wait_for_message("rust from Bob").await;
        assert_eq!(alice.texts().await, ["hello rust", "rust from Bob"]);
        assert_eq!(bob.texts().await, ["hello rust", "rust from Bob"]);

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

/// Fills the room `general` with messages "old message 001", "002", ...
/// from a plain WebSocket client, each confirmed by the server, and leaves.
/// Returns the texts, oldest first.
async fn fill_history(server: &TestServer, count: usize) -> Vec<String> {
    let mut archivist = ChatClient::join(server, "Archivist", None).await;
    let texts: Vec<String> = (1..=count).map(|n| format!("old message {n:03}")).collect();
    for (n, text) in texts.iter().enumerate() {
        archivist
            .send(&ClientFrame::Message {
                text: text.clone(),
                client_id: Some(format!("fill-{n}")),
                reply_to: None,
                attachments: Vec::new(),
            })
            .await;
        // Below the e2e servers' 100 messages a second.
        tokio::time::sleep(Duration::from_millis(12)).await;
    }
    let mut confirmed = Vec::new();
    while confirmed.len() < count {
        confirmed.push(archivist.next_message().await.text);
    }
    assert_eq!(confirmed, texts, "the server stored the history in order");
    archivist.leave().await;
    texts
}

#[test]
fn scrolling_up_loads_older_messages_once_each() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let all = fill_history(&server, 180).await;

        let page = driver.browser(Options::default()).await;
        page.open(&server.url()).await;
        page.join("Reader").await;
        // Count every history request the page sends from here on.
        page.js("window.__sent = []; \
                 const send = WebSocket.prototype.send; \
                 WebSocket.prototype.send = function (data) { \
                   window.__sent.push(String(data)); return send.call(this, data); };")
            .await;
        page.wait_for_message("old message 180").await;
        assert_eq!(
            page.texts().await,
            all[80..],
            "a fresh join shows the latest 100"
        );

        let mut loads = 0;
        while page
            .js("return document.querySelector('#history-start') === null")
            .await
            == json!(true)
        {
            assert!(loads < 5, "still not at the start after {loads} loads");
            let before = page.texts().await.len();
            // Scroll to the very top and remember where the first message is.
            let anchor = page
                .js("const m = document.querySelector('.messages'); \
                     m.scrollTo({ top: 0, behavior: 'instant' }); \
                     const first = document.querySelector('#timeline .msg'); \
                     return [first.querySelector('.text').textContent, \
                             first.getBoundingClientRect().top - m.getBoundingClientRect().top];")
                .await;
            let (Some(anchor_text), Some(anchor_top)) = (anchor[0].as_str(), anchor[1].as_f64())
            else {
                panic!("no first message: {anchor}");
            };
            page.wait_until(
                "older messages load, or the start of the room shows",
                &format!(
                    "return (document.querySelectorAll('#timeline .msg').length > {before} \
                         && document.querySelector('#history-loading') === null) \
                        || document.querySelector('#history-start') !== null;"
                ),
            )
            .await;
            if page.texts().await.len() > before {
                loads += 1;
                // What the reader was looking at did not move away.
                page.wait_until_for(
                    &format!("{anchor_text:?} stays where it was on screen"),
                    &format!(
                        "const m = document.querySelector('.messages'); \
                         const e = [...document.querySelectorAll('#timeline .msg')] \
                           .find(li => li.querySelector('.text').textContent === {}); \
                         const top = e.getBoundingClientRect().top - m.getBoundingClientRect().top; \
                         return Math.abs(top - {anchor_top}) < 40 && top >= 0 && top < m.clientHeight;",
                        json!(anchor_text)
                    ),
                    Duration::from_secs(2),
                )
                .await;
            }
        }
        assert_eq!(page.texts().await, all, "every message once, in order");

        // The start is marked at the top, and scrolling there again asks
        // for nothing more.
        page.js("document.querySelector('.messages').scrollTo({ top: 0, behavior: 'instant' });")
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let start_on_top = page
            .js(
                "const m = document.querySelector('.messages').getBoundingClientRect(); \
                 const s = document.querySelector('#history-start').getBoundingClientRect(); \
                 const first = document.querySelector('#timeline .msg').getBoundingClientRect(); \
                 return s.height > 0 && s.top >= m.top - 1 && s.bottom <= first.top + 1;",
            )
            .await;
        assert_eq!(
            start_on_top,
            json!(true),
            "#history-start is not shown at the top"
        );
        let requests = page
            .js("return window.__sent.map(s => JSON.parse(s)).filter(f => f.type === 'history')")
            .await;
        let befores: Vec<u64> = requests
            .as_array()
            .map(|r| r.iter().filter_map(|f| f["before"].as_u64()).collect())
            .unwrap_or_default();
        assert_eq!(
            befores.len(),
            2,
            "80 older messages take two requests of 50: {requests}"
        );
        assert_ne!(befores[0], befores[1], "the same page was asked for twice");
        assert_eq!(page.texts().await, all, "nothing changed after the start");

        page.close().await;
        server.stop().await;
    });
}

#[test]
fn a_silent_connection_is_abandoned_and_replaced() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start_with_heartbeat(Duration::from_secs(1)).await;
        let proxy = Proxy::start(server.addr()).await;
        let bob = driver.browser(Options::default()).await;
        bob.open(&server.url()).await;
        bob.join("Bob").await;
        let alice = driver.browser(Options::default()).await;
        alice.open(&proxy.url()).await;
        alice.join("Alice").await;
        bob.wait_until(
            "Bob sees Alice online",
            "return document.querySelector('#online-count').textContent === '2 online'",
        )
        .await;

        // A quiet but healthy connection is kept: the heartbeats (every
        // second) are enough, nothing else needs to be said.
        let before = alice.socket_stats().await;
        tokio::time::sleep(Duration::from_secs(6)).await;
        let quiet = alice.socket_stats().await;
        assert_eq!(
            quiet.created, before.created,
            "a healthy quiet connection was replaced: {quiet:?}"
        );
        assert_eq!(alice.js(JOINED).await, json!(true));

        // The network goes silent: no close, no error, nothing at all.
        proxy.freeze();
        alice
            .wait_until_for(
                "Alice's page gives up on the silent socket and joins on a new one",
                &format!(
                    "const s = document.querySelector('#composer-status'); \
                     return window.__socketStats.created > {} \
                         && s !== null && !s.classList.contains('offline');",
                    before.created
                ),
                Duration::from_secs(20),
            )
            .await;

        bob.send("are you back?").await;
        alice.wait_for_message("are you back?").await;
        alice.send("back from the tunnel").await;
        bob.wait_for_message("back from the tunnel").await;
        alice.wait_for_message("back from the tunnel").await;
        assert_eq!(
            alice.texts().await,
            ["are you back?", "back from the tunnel"]
        );
        let seen = timeline(&bob).await;
        // Bob saw her join when she first came, and nothing since.
        assert!(
            !seen.contains("Alice left") && seen.matches("Alice joined").count() == 1,
            "Bob saw Alice leave or come back: {seen}"
        );
        assert_eq!(bob.js(USER_NAMES).await, json!(["Alice", "Bob"]));

        alice.close().await;
        bob.close().await;
        drop(proxy);
        server.stop().await;
    });
}

//! The chat in a real headless Chromium, against the real server serving
//! the real release build in `dist/`.
//!
//! Each test starts its own chromedriver and server, and runs alone
//! ([`browser_test`]): browsers are heavy on a two-core machine.

use std::time::Duration;

use chat_e2e::{
    alice_and_bob, browser_test, screenshot_dir, Device, Driver, Options, Page, TestServer,
};
use fantoccini::actions::{InputSource, PointerAction, TouchActions, MOUSE_BUTTON_LEFT};
use serde_json::json;

fn desktop() -> Options {
    Options::default()
}

fn phone() -> Options {
    Options {
        device: Device::Phone,
        ..Options::default()
    }
}

#[test]
fn two_users_exchange_messages_both_ways() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;

        alice.send("Hi Bob, it's Alice").await;
        bob.wait_for_message("Hi Bob, it's Alice").await;
        bob.send("Hello Alice!\nSecond line").await;
        alice.wait_for_message("Hello Alice!\nSecond line").await;
        alice.wait_for_message("Hi Bob, it's Alice").await;
        bob.wait_for_message("Hello Alice!\nSecond line").await;

        // Each sees both messages, in order, with the right authors, and its
        // own marked as its own.
        assert_eq!(
            alice.messages().await,
            vec![
                ("Alice".into(), "Hi Bob, it's Alice".into(), true),
                ("Bob".into(), "Hello Alice!\nSecond line".into(), false),
            ]
        );
        assert_eq!(
            bob.messages().await,
            vec![
                ("Alice".into(), "Hi Bob, it's Alice".into(), false),
                ("Bob".into(), "Hello Alice!\nSecond line".into(), true),
            ]
        );
        // Line breaks are kept on screen, not collapsed.
        let height = alice
        .js("const t = [...document.querySelectorAll('#timeline .msg .text')][1]; \
             return t.getClientRects().length > 0 && t.offsetHeight > 1.8 * parseFloat(getComputedStyle(t).lineHeight);")
        .await;
        assert_eq!(
            height,
            json!(true),
            "the two-line message renders on two lines"
        );
        // Nothing is left pending: both messages were confirmed by the server.
        assert_eq!(
            alice
                .js("return document.querySelectorAll('#pending li').length")
                .await,
            json!(0)
        );
        // The header counts both.
        assert_eq!(alice.text("#online-count").await, "2 online");
        // Bob joined after Alice: she got a notice.
        assert!(alice.text("#timeline").await.contains("Bob joined"));

        // Text and names keep their own direction (issue 20): a message
        // with a right-to-left override is isolated (dir=auto), and names
        // sit in <bdi>, so the override cannot reorder what is around it.
        alice.send("flip \u{202E}this").await;
        bob.wait_for_message("flip \u{202E}this").await;
        let isolation = bob
            .js(
                "const t = [...document.querySelectorAll('#timeline .msg .text')] \
                   .find(e => e.textContent.includes('\\u202E')); \
                 const name = document.querySelector('#timeline .msg .author bdi'); \
                 return [t.getAttribute('dir'), getComputedStyle(t).unicodeBidi, \
                   name && name.textContent, name && getComputedStyle(name).unicodeBidi];",
            )
            .await;
        assert_eq!(isolation, json!(["auto", "isolate", "Alice", "isolate"]));
        let notice = alice
            .js(
                "const b = document.querySelector('#timeline .notice.joined bdi'); \
                 return b && b.textContent;",
            )
            .await;
        assert_eq!(notice, json!("Bob"), "the name in a notice is isolated");

        alice.close().await;
        bob.wait_until(
            "Bob sees Alice leave",
            "return document.querySelector('#timeline').textContent.includes('Alice left')",
        )
        .await;
        assert_eq!(bob.text("#online-count").await, "1 online");
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn a_reader_scrolled_up_gets_a_new_messages_pill_instead_of_a_jump() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        for n in 1..=30 {
            alice.send(&format!("message number {n}")).await;
        }
        bob.wait_for_message("message number 30").await;
        let at_bottom = "const m = document.querySelector('.messages'); \
                         return m.scrollHeight - m.scrollTop - m.clientHeight < 48;";
        // Bob was at the bottom, so his view followed along.
        bob.wait_until("Bob's view followed the new messages", at_bottom)
            .await;
        assert_eq!(
            bob.js("return document.querySelector('#new-messages')")
                .await,
            json!(null)
        );
        bob.js("document.querySelector('.messages').scrollTo({ top: 0, behavior: 'instant' });")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        alice.send("one more while Bob reads").await;
        bob.wait_for_message("one more while Bob reads").await;
        bob.wait_until(
            "the pill says there is one new message",
            "const p = document.querySelector('#new-messages'); \
             return p !== null && p.textContent.includes('1 new message');",
        )
        .await;
        assert_eq!(
            bob.js("return document.querySelector('.messages').scrollTop")
                .await,
            json!(0),
            "the reader was moved away from what he was reading"
        );
        alice.send("and another").await;
        bob.wait_until(
            "the pill counts two",
            "const p = document.querySelector('#new-messages'); \
             return p !== null && p.textContent.includes('2 new messages');",
        )
        .await;

        bob.click("#new-messages").await;
        bob.wait_until(
            "the pill brings Bob to the newest message and goes away",
            "const m = document.querySelector('.messages'); \
             return m.scrollHeight - m.scrollTop - m.clientHeight < 48 \
                 && document.querySelector('#new-messages') === null;",
        )
        .await;

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn typing_indicator_shows_while_typing_and_goes_away_after() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;

        let composer = alice
            .client()
            .find(fantoccini::Locator::Css("#composer-input"))
            .await
            .expect("the composer");
        composer.send_keys("I am writ").await.expect("typing works");
        bob.wait_until(
        "Bob sees that Alice is typing",
        "return document.querySelector('#typing-indicator').textContent.includes('Alice is typing')",
    )
    .await;
        // Alice never sees herself typing.
        assert_eq!(alice.text("#typing-indicator .typing-text").await, "");

        // She stops: 2 s later `false` goes out and the indicator clears (well
        // before the 6 s expiry would).
        bob.wait_until_for(
            "the indicator goes away after Alice stops",
            "return document.querySelector('#typing-indicator .typing-text').textContent === ''",
            Duration::from_secs(5),
        )
        .await;

        // Sending clears it at once too.
        composer.send_keys("ing again").await.expect("typing works");
        bob.wait_until(
        "Bob sees Alice typing again",
        "return document.querySelector('#typing-indicator').textContent.includes('Alice is typing')",
    )
    .await;
        composer
            .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
            .await
            .expect("Enter sends");
        bob.wait_for_message("I am writing again").await;
        bob.wait_until_for(
            "the indicator is gone once the message arrives",
            "return document.querySelector('#typing-indicator .typing-text').textContent === ''",
            Duration::from_millis(1500),
        )
        .await;

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn markup_in_messages_is_shown_as_text_and_never_runs() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;

        let image = "<img src=x onerror=alert(1)>";
        let script = "<script>window.__xss = 'script ran'</script>";
        let sneaky =
            "<img src=x onerror=\"window.__xss='onerror ran'\"> and https://example.org/a?b=<c>";
        for text in [image, script, sneaky] {
            alice.send(text).await;
        }
        for page in [&alice, &bob] {
            page.wait_for_message(sneaky).await;
            let shown: Vec<String> = page.messages().await.into_iter().map(|m| m.1).collect();
            assert_eq!(
                shown,
                vec![image.to_owned(), script.to_owned(), sneaky.to_owned()]
            );
            // No element was made from the text, nothing ran, no dialog opened.
            let injected = page
                .js("return document.querySelectorAll('#timeline img, #timeline script').length")
                .await;
            assert_eq!(injected, json!(0));
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(
                page.js("return window.__xss === undefined").await,
                json!(true)
            );
            assert!(
                page.client().get_alert_text().await.is_err(),
                "an alert is open: a message ran as code"
            );
            // The URL became a safe link that opens in a new tab; nothing else did.
            let links = page
            .js("return [...document.querySelectorAll('#timeline a')].map(a => [a.getAttribute('href'), a.target, a.rel])")
            .await;
            assert_eq!(
                links,
                json!([["https://example.org/a?b=", "_blank", "noopener noreferrer"]])
            );
        }

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn a_taken_name_shows_the_error_by_the_field_and_another_name_works() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let alice = driver.browser(desktop()).await;
        let second = driver.browser(desktop()).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;

        second.open(&server.url()).await;
        // Names collide without regard to case: the server says so. The
        // app joins with its author key, so Alice's name is held by her
        // browser (issue 23): another browser is told it belongs to someone.
        second.submit_name("aLiCe").await;
        second
        .wait_until(
            "the server's refusal shows by the name field",
            "return document.querySelector('#name-error').textContent.includes('belongs to someone')",
        )
        .await;
        assert_eq!(
            second
                .js("return document.querySelector('#name-input').getAttribute('aria-invalid')")
                .await,
            json!("true")
        );
        assert_eq!(
            second
                .js("return document.querySelector('#name-input').getAttribute('aria-describedby')")
                .await,
            json!("name-error")
        );
        // The client's own check: nothing but spaces is refused before sending.
        second.submit_name("   ").await;
        second
        .wait_until(
            "the shared name rule shows by the field",
            "return document.querySelector('#name-error').textContent.includes('at least one visible character')",
        )
        .await;

        second.join("Bob").await;
        assert_eq!(second.text("#online-count").await, "2 online");
        alice.close().await;
        second.close().await;
        server.stop().await;
    });
}

#[test]
fn after_a_server_restart_pages_reconnect_rejoin_and_deliver_with_one_socket_each() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let addr = server.addr();
        let url = server.url();
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("before the restart").await;
        bob.wait_for_message("before the restart").await;

        server.stop().await;
        for page in [&alice, &bob] {
            page.wait_until(
            "the page says it is reconnecting",
            "return document.querySelector('#connection-status').textContent.startsWith('Reconnecting')",
        )
        .await;
            // It does not pretend it could send.
            page.wait_until(
                "the composer says it cannot send",
                "return document.querySelector('#composer-status').classList.contains('offline') \
                 && document.querySelector('#send-button').disabled",
            )
            .await;
            let state = page
                .js("return document.querySelector('.status').dataset.state")
                .await;
            assert!(
                state == json!("waiting") || state == json!("retrying"),
                "unexpected connection state {state}"
            );
        }
        // Let a few reconnect attempts fail against the closed port.
        tokio::time::sleep(Duration::from_secs(2)).await;

        let server = TestServer::start_on(addr).await;
        assert_eq!(server.url(), url, "the server is back on the same port");
        for page in [&alice, &bob] {
            page.wait_until_for(
                "the page is back online and joined by itself",
                chat_e2e::page::JOINED,
                Duration::from_secs(40),
            )
            .await;
            assert_eq!(page.text("#connection-status").await, "Online");
        }
        alice
            .wait_until(
                "Alice sees Bob online again",
                "return document.querySelector('#online-count').textContent === '2 online'",
            )
            .await;

        alice.send("after the restart").await;
        bob.wait_for_message("after the restart").await;
        let bob_view = bob.messages().await;
        assert_eq!(
            bob_view.last(),
            Some(&("Alice".into(), "after the restart".into(), false))
        );

        for (who, page) in [("Alice", &alice), ("Bob", &bob)] {
            let stats = page.socket_stats().await;
            assert!(
                stats.created >= 2,
                "{who} never opened a second socket: {stats:?}"
            );
            assert_eq!(
                stats.max_live, 1,
                "{who} had two sockets open at once: {stats:?}"
            );
            assert_eq!(
                stats.live, 1,
                "{who} should have exactly one socket now: {stats:?}"
            );
        }

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

/// Waits, with the server down, until the page's next attempt is more than
/// 3 s away (the countdown rounds up, so it shows 4 s or more).
async fn wait_for_a_long_backoff(page: &Page) {
    page.wait_until_for(
        "the backoff grows to a wait of more than 3 s",
        "const m = document.querySelector('#connection-status').textContent \
             .match(/^Reconnecting in (\\d+) s$/); \
         return m !== null && Number(m[1]) >= 4;",
        Duration::from_secs(60),
    )
    .await;
}

#[test]
fn retry_now_and_the_browser_coming_online_skip_the_backoff() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let addr = server.addr();
        let page = driver.browser(desktop()).await;
        page.open(&server.url()).await;
        page.join("Alice").await;

        // "Retry now": the next attempt is more than 3 s away when it is
        // clicked, so being online within 2 s can only be the button's doing.
        server.stop().await;
        wait_for_a_long_backoff(&page).await;
        let server = TestServer::start_on(addr).await;
        page.click("#retry-now").await;
        page.wait_until_for(
            "Retry now reconnects at once",
            chat_e2e::page::JOINED,
            Duration::from_secs(2),
        )
        .await;

        // The same for the browser's `online` event (the network is back).
        server.stop().await;
        wait_for_a_long_backoff(&page).await;
        let server = TestServer::start_on(addr).await;
        page.js("window.dispatchEvent(new Event('online'));").await;
        page.wait_until_for(
            "the online event reconnects at once",
            chat_e2e::page::JOINED,
            Duration::from_secs(2),
        )
        .await;
        // While connected, the same nudges must not open a second socket.
        let before = page.socket_stats().await;
        page.js("window.dispatchEvent(new Event('online'));
             document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));")
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = page.socket_stats().await;
        assert_eq!(
            after.created, before.created,
            "a nudge opened another socket"
        );
        assert_eq!(after.max_live, 1, "two sockets at once: {after:?}");

        page.close().await;
        server.stop().await;
    });
}

#[test]
fn on_a_phone_nothing_scrolls_sideways_the_composer_shows_and_the_users_panel_toggles() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let page = driver.browser(phone()).await;
        let other = driver.browser(desktop()).await;
        other.open(&server.url()).await;
        other.join("Desktop Dana").await;
        page.open(&server.url()).await;

        let layout = page
        .js("return [innerWidth, innerHeight, navigator.maxTouchPoints > 0, matchMedia('(pointer: coarse)').matches]")
        .await;
        assert_eq!(
            layout,
            json!([390, 844, true, true]),
            "the phone is emulated"
        );
        page.join("Phone Pat").await;

        // Long words and links must wrap, not widen the page.
        other.send(&"w".repeat(300)).await;
        other
            .send(
                "https://example.org/a/very/long/path/that/keeps/going/and/going/without/any/break",
            )
            .await;
        page.send("Hello from a small screen").await;
        page.wait_for_message(&"w".repeat(300)).await;

        let no_sideways = "return document.documentElement.scrollWidth <= innerWidth \
                       && document.body.scrollWidth <= innerWidth";
        assert_eq!(
            page.js(no_sideways).await,
            json!(true),
            "the page scrolls sideways"
        );

        // The composer is on screen and nothing covers it.
        let composer_visible =
            "const r = document.querySelector('#composer-input').getBoundingClientRect(); \
             const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); \
             return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth \
                 && hit === document.querySelector('#composer-input');";
        assert_eq!(
            page.js(composer_visible).await,
            json!(true),
            "the composer is hidden or covered"
        );

        // A long press on a message shows its full date (there is no hover).
        let time = "return document.querySelector('#timeline .msg.mine time').textContent";
        assert_eq!(
            page.js(time).await.as_str().map(str::len),
            Some(5),
            "hh:mm first"
        );
        let bubble = page
            .client()
            .find(fantoccini::Locator::Css("#timeline .msg.mine .bubble"))
            .await
            .expect("my message");
        let long_press = TouchActions::new("finger".into())
            .then(PointerAction::MoveToElement {
                element: bubble,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .pause(Duration::from_millis(800))
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        page.client()
            .perform_actions(long_press)
            .await
            .expect("a long press");
        let full_date = page.js(time).await;
        assert!(
            full_date
                .as_str()
                .is_some_and(|t| t.contains("2") && t.len() > 12),
            "a long press did not show the full date: {full_date}"
        );

        // Every control is at least 44 px in both directions.
        let small = page
        .js("return [...document.querySelectorAll('button, input, textarea')] \
               .filter(e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden') \
               .map(e => [e.id || e.className, Math.round(e.getBoundingClientRect().width), Math.round(e.getBoundingClientRect().height)]) \
               .filter(([, w, h]) => w < 44 || h < 44)")
        .await;
        assert_eq!(small, json!([]), "tap targets smaller than 44 px");

        // The users panel starts closed, opens from the header, and closes.
        let panel_shown = "const p = document.querySelector('#users-panel'); \
                       const r = p.getBoundingClientRect(); \
                       return getComputedStyle(p).visibility === 'visible' && r.right <= innerWidth + 1 && r.left >= 0;";
        assert_eq!(
            page.js(panel_shown).await,
            json!(false),
            "the panel is open from the start"
        );
        page.click("#users-toggle").await;
        page.wait_until("the users panel opens", panel_shown).await;
        let names = page
        .js("return [...document.querySelectorAll('#users-panel .user-name')].map(e => e.textContent)")
        .await;
        assert_eq!(names, json!(["Desktop Dana", "Phone Pat"]));
        assert_eq!(
            page.js("return document.querySelector('#users-toggle').getAttribute('aria-expanded')")
                .await,
            json!("true")
        );
        page.click("#users-close").await;
        page.wait_until(
        "the users panel closes",
        "return getComputedStyle(document.querySelector('#users-panel')).visibility === 'hidden'",
    )
    .await;
        assert_eq!(
            page.js(no_sideways).await,
            json!(true),
            "the closed panel widens the page"
        );

        // The narrowest phones still fit.
        page.emulate_screen(320, 568, true).await;
        page.wait_until("the page fits 320 px", "return innerWidth === 320")
            .await;
        assert_eq!(
            page.js(no_sideways).await,
            json!(true),
            "320 px scrolls sideways"
        );
        // The app sizes itself from the visual viewport's resize event,
        // which may come a frame after the window reports 320 px.
        page.wait_until("the composer shows whole at 320 px", composer_visible)
            .await;
        page.screenshot(&screenshot_dir().join("phone-320.png"))
            .await;

        page.close().await;
        other.close().await;
        server.stop().await;
    });
}

#[test]
fn a_russian_browser_gets_russian_and_the_switch_changes_it_to_english() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let page = driver
            .browser(Options {
                language: "ru-RU",
                ..Options::default()
            })
            .await;
        page.open(&server.url()).await;
        assert_eq!(
            page.js("return navigator.languages[0]").await,
            json!("ru-RU"),
            "the browser's language is not Russian"
        );
        assert_eq!(
            page.js("return document.documentElement.lang").await,
            json!("ru")
        );
        assert_eq!(page.text("#join-button").await, "Войти");
        assert_eq!(page.text("label[for=name-input]").await, "Ваше имя");

        page.submit_name("   ").await;
        page.wait_until(
            "the name error is in Russian",
            "return document.querySelector('#name-error').textContent.startsWith('Введите имя')",
        )
        .await;
        page.join("Алиса").await;
        assert_eq!(page.text("#online-count").await, "1 в сети");
        assert_eq!(page.text("#connection-status").await, "В сети");

        page.click("#lang-en").await;
        page.wait_until(
            "the interface switches to English",
            "return document.querySelector('#online-count').textContent === '1 online'",
        )
        .await;
        assert_eq!(
            page.js("return document.documentElement.lang").await,
            json!("en")
        );
        assert_eq!(page.text("#connection-status").await, "Online");

        // The choice is remembered over the browser's language, and a
        // reload comes straight back into the chat.
        page.client().refresh().await.expect("reload");
        page.wait_until(
            "the reloaded page is back in the chat, in English",
            "return document.querySelector('#online-count') !== null \
             && document.querySelector('#online-count').textContent === '1 online'",
        )
        .await;
        // Leaving shows the name form, with the name remembered.
        page.click("#leave").await;
        page.wait_until(
            "the name form is back, in English",
            "return document.querySelector('#join-button') !== null \
             && document.querySelector('#join-button').textContent === 'Join'",
        )
        .await;
        assert_eq!(
            page.js("return document.querySelector('#name-input').value")
                .await,
            json!("Алиса")
        );

        page.close().await;
        server.stop().await;
    });
}

#[test]
fn a_hidden_tab_counts_unread_messages_in_the_title() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        assert_eq!(
            alice.client().title().await.expect("a title"),
            "WebSocket Chat"
        );
        // Record every title the chat tab shows while it is in the background.
        alice
            .js("window.__titles = [];
                 new MutationObserver(() => window.__titles.push(document.title))
                   .observe(document.querySelector('title'), { childList: true, characterData: true, subtree: true });")
            .await;

        let chat_tab = alice.client().window().await.expect("the chat tab");
        let other_tab = alice.client().new_window(true).await.expect("a second tab");
        alice
            .client()
            .switch_to_window(other_tab.handle)
            .await
            .expect("switch to the second tab");
        for text in ["one", "two", "three"] {
            bob.send(text).await;
        }
        bob.wait_for_message("three").await;
        tokio::time::sleep(Duration::from_millis(500)).await;

        alice
            .client()
            .close_window()
            .await
            .expect("close the second tab");
        alice
            .client()
            .switch_to_window(chat_tab)
            .await
            .expect("back to the chat");
        let titles = alice.js("return window.__titles").await;
        let titles: Vec<&str> = titles
            .as_array()
            .map(|t| t.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        assert!(
            titles.contains(&"(1) WebSocket Chat") && titles.contains(&"(3) WebSocket Chat"),
            "the hidden tab's title did not count unread messages: {titles:?}"
        );
        alice
            .wait_until(
                "the count clears when the tab is visible again",
                "return document.title === 'WebSocket Chat'",
            )
            .await;

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn screenshots_of_desktop_light_and_dark_and_of_a_phone() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        let carol = driver.browser(phone()).await;
        carol.open(&server.url()).await;
        carol
            .screenshot(&screenshot_dir().join("phone-join.png"))
            .await;
        carol.join("Carol").await;

        alice.send("Hi everyone! The new chat is live.").await;
        bob.send("Looks great. Docs are at https://example.org/docs")
            .await;
        bob.send("Dark mode works too.").await;
        carol.send("Привет из телефона!").await;
        alice.wait_for_message("Привет из телефона!").await;
        // Someone typing, so the indicator is in the picture.
        bob.type_in_composer("Let me").await;
        alice.sees_typing("Bob").await;
        carol.wait_for_message("Dark mode works too.").await;

        let folder = screenshot_dir();
        alice.set_dark_mode(false).await;
        alice.screenshot(&folder.join("desktop-light.png")).await;
        alice.set_dark_mode(true).await;
        // The theme really changed: the page background is dark.
        let dark = alice
        .js("const c = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number); \
             return c[0] + c[1] + c[2] < 150;")
        .await;
        assert_eq!(
            dark,
            json!(true),
            "prefers-color-scheme: dark did not darken the page"
        );
        alice.screenshot(&folder.join("desktop-dark.png")).await;
        carol.screenshot(&folder.join("phone.png")).await;
        // The phone's panel: who is online, then the rooms.
        carol.click("#rooms-toggle").await;
        carol
            .wait_until(
                "the panel with the room list is open",
                "const r = document.querySelector('#room-list').getBoundingClientRect(); \
                 return r.width > 0 && r.right <= window.innerWidth;",
            )
            .await;
        // Its slide-in animation ends before the picture is taken.
        tokio::time::sleep(Duration::from_millis(400)).await;
        carol.screenshot(&folder.join("phone-panel.png")).await;
        for name in [
            "desktop-light.png",
            "desktop-dark.png",
            "phone.png",
            "phone-panel.png",
        ] {
            let bytes = std::fs::read(folder.join(name)).expect("the screenshot exists");
            assert!(bytes.starts_with(b"\x89PNG"), "{name} is not a PNG");
        }

        alice.close().await;
        bob.close().await;
        carol.close().await;
        server.stop().await;
    });
}

#[test]
fn a_reload_and_a_server_restart_show_the_history_once_each() {
    browser_test(|| async {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let db = folder.path().join("chat.db");
        let driver = Driver::start();
        let server = TestServer::start_with_db(([127, 0, 0, 1], 0).into(), &db).await;
        let addr = server.addr();
        let url = server.url();
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("first from Alice").await;
        bob.wait_for_message("first from Alice").await;
        bob.send("reply from Bob").await;
        alice.wait_for_message("reply from Bob").await;
        let earlier = ["first from Alice", "reply from Bob"];

        // A reload: the old socket's name is kept for the grace period, and
        // only the remembered resume token gets it back at once.
        bob.open(&url).await;
        bob.wait_until("Bob is back in the chat by himself", chat_e2e::page::JOINED)
            .await;
        bob.wait_for_message("reply from Bob").await;
        assert_eq!(bob.texts().await, earlier, "Bob's history after a reload");
        let dividers = "return [...document.querySelectorAll('#timeline .notice.earlier')] \
             .map(e => e.textContent)";
        assert_eq!(bob.js(dividers).await, json!(["Earlier messages"]));

        server.stop().await;
        let server = TestServer::start_with_db(addr, &db).await;
        for page in [&alice, &bob] {
            page.wait_until_for(
                "the page is back online and joined by itself",
                chat_e2e::page::JOINED,
                Duration::from_secs(40),
            )
            .await;
        }
        alice.send("after the restart").await;
        bob.wait_for_message("after the restart").await;
        alice.wait_for_message("after the restart").await;
        let all = ["first from Alice", "reply from Bob", "after the restart"];
        for (who, page) in [("Alice", &alice), ("Bob", &bob)] {
            assert_eq!(page.texts().await, all, "{who}'s conversation");
        }

        // A page opened after the restart gets the history from the file.
        let carol = driver.browser(desktop()).await;
        carol.open(&url).await;
        carol.join("Carol").await;
        carol.wait_for_message("after the restart").await;
        assert_eq!(carol.texts().await, all, "Carol's history");
        assert_eq!(carol.js(dividers).await, json!(["Earlier messages"]));
        // The pages that were there saw no history twice, nor a second divider.
        assert_eq!(bob.js(dividers).await, json!(["Earlier messages"]));
        assert_eq!(alice.js(dividers).await, json!([]));

        alice.close().await;
        bob.close().await;
        carol.close().await;
        server.stop().await;
    });
}

#[test]
fn a_dropped_connection_keeps_its_name_and_gets_what_it_missed_once() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("before the drop").await;
        bob.wait_for_message("before the drop").await;

        bob.js("window.__cutSockets(true)").await;
        bob.wait_until(
            "Bob's page knows it is offline",
            "return document.querySelector('#composer-status').classList.contains('offline')",
        )
        .await;
        let missed = ["missed one", "missed two", "missed three"];
        for text in missed {
            alice.send(text).await;
            alice.wait_for_message(text).await;
        }
        // Bob is still listed: a dropped connection keeps its place.
        assert_eq!(alice.text("#online-count").await, "2 online");

        bob.js("window.__cutSockets(false); window.dispatchEvent(new Event('online'))")
            .await;
        bob.wait_until_for(
            "Bob is back, joined under his name",
            chat_e2e::page::JOINED,
            Duration::from_secs(40),
        )
        .await;
        bob.wait_for_message("missed three").await;
        alice.send("after the drop").await;
        bob.wait_for_message("after the drop").await;
        assert_eq!(
            bob.texts().await,
            [
                "before the drop",
                "missed one",
                "missed two",
                "missed three",
                "after the drop"
            ],
            "Bob sees what he missed once, in order"
        );
        assert_eq!(
            bob.js("return document.querySelector('#name-input') === null")
                .await,
            json!(true)
        );
        // Nobody saw Bob leave and come back.
        let alice_saw = alice
            .js("return document.querySelector('#timeline').innerText")
            .await;
        assert!(
            !alice_saw.as_str().unwrap_or_default().contains("Bob left"),
            "Alice saw Bob leave: {alice_saw}"
        );

        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

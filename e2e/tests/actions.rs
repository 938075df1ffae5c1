//! Acting on messages in a real headless Chromium, two people on two
//! pages: an edit with the Up arrow shows on the other page, a deletion
//! leaves a tombstone on both, a reply's quote jumps to an original the
//! page never loaded, reactions toggle and count on both, formatting
//! renders with HTML in a code block kept as text, an edit made offline is
//! applied exactly once after the reconnect, and a reload keeps the author
//! key, so the last message can still be edited.
//!
//! Each test starts its own chromedriver and server, and runs alone
//! ([`browser_test`]). The actions bar shows on hover; the tests click its
//! buttons through the DOM (as the keyboard would reach them), since a
//! headless pointer hover is not what is under test.

use std::time::Duration;

use chat_e2e::message_line as line;
use chat_e2e::{alice_and_bob, browser_test, screenshot_dir, ChatClient, Driver, Options, Page};
use chat_shared::{Change, ClientFrame, HistoryItem, ServerFrame};
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::{json, Value};

/// True while the page knows it cannot reach the server.
const OFFLINE: &str = "const s = document.querySelector('#composer-status'); \
     return s !== null && s.classList.contains('offline');";

/// The server id of the message reading `text` on `page`.
async fn id_of(page: &Page, text: &str) -> u64 {
    page.wait_for_message(text).await;
    let id = page
        .js(&format!("return Number({}.dataset.id)", line(text)))
        .await;
    id.as_u64()
        .unwrap_or_else(|| panic!("no id on {text:?}: {id}"))
}

/// Clicks the element `css` inside the line of message `text`, through
/// the DOM; fails the test if there is none.
async fn click_in(page: &Page, text: &str, css: &str) {
    let clicked = page
        .js(&format!(
            "const li = {}; const b = li && li.querySelector({}); \
             if (!b) return false; b.click(); return true;",
            line(text),
            json!(css)
        ))
        .await;
    assert_eq!(clicked, json!(true), "no {css} on the message {text:?}");
}

/// Presses `key` in the composer.
async fn press_in_composer(page: &Page, key: Key) {
    page.client()
        .find(Locator::Css("#composer-input"))
        .await
        .expect("the composer")
        .send_keys(&char::from(key).to_string())
        .await
        .expect("the key is pressed");
}

/// Empties the composer and types `text` (without sending).
async fn retype(page: &Page, text: &str) {
    page.fill("#composer-input", text).await;
}

/// The composer's text.
async fn composer_text(page: &Page) -> Value {
    page.js("return document.querySelector('#composer-input').value")
        .await
}

/// `[count, mine, title]` of the `emoji` chip on message `text`, or null.
fn chip(text: &str, emoji: &str) -> String {
    format!(
        "const li = {}; const c = li && li.querySelector('.reaction[data-emoji=\"{emoji}\"]'); \
         return c ? [Number(c.querySelector('.count').textContent), c.classList.contains('mine'), c.title] : null;",
        line(text)
    )
}

/// Waits until the `emoji` chip on message `text` counts `count` (and is
/// mine or not), or is gone for 0.
async fn wait_for_chip(page: &Page, what: &str, text: &str, emoji: &str, count: u64, mine: bool) {
    let expected = if count == 0 {
        "r === null".to_owned()
    } else {
        format!("r !== null && r[0] === {count} && r[1] === {mine}")
    };
    let script = format!(
        "const r = (() => {{ {} }})(); return {expected};",
        chip(text, emoji)
    );
    page.wait_until(what, &script).await;
}

#[test]
fn an_edit_with_the_up_arrow_shows_on_the_other_page() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = chat_e2e::TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("see you at 5").await;
        bob.wait_for_message("see you at 5").await;
        bob.send("ok").await;
        alice.wait_for_message("ok").await;

        // Up in the empty composer edits her last message, not Bob's.
        press_in_composer(&alice, Key::Up).await;
        alice
            .wait_until(
                "the composer edits Alice's message",
                "const m = document.querySelector('#composer-mode'); \
                 return m !== null && m.classList.contains('editing') \
                     && document.querySelector('#composer-input').value === 'see you at 5';",
            )
            .await;
        // Escape cancels: nothing changes, the composer is empty again.
        press_in_composer(&alice, Key::Escape).await;
        alice
            .wait_until(
                "Escape leaves editing",
                "return document.querySelector('#composer-mode') === null \
                     && document.querySelector('#composer-input').value === '';",
            )
            .await;

        press_in_composer(&alice, Key::Up).await;
        alice
            .wait_until(
                "editing again",
                "return document.querySelector('#composer-input').value === 'see you at 5';",
            )
            .await;
        retype(&alice, "see you at 6").await;
        press_in_composer(&alice, Key::Enter).await;

        for (page, who) in [(&bob, "Bob"), (&alice, "Alice")] {
            page.wait_for_message("see you at 6").await;
            page.wait_until(
                &format!("{who} sees it marked edited, with the time in its tooltip"),
                &format!(
                    "const li = {}; const e = li && li.querySelector('.edited'); \
                     return e !== null && e.title.length > 0;",
                    line("see you at 6")
                ),
            )
            .await;
        }
        assert_eq!(
            bob.texts().await,
            ["see you at 6", "ok"],
            "the edit replaced the text in place"
        );
        assert_eq!(composer_text(&alice).await, json!(""));
        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn a_deleted_message_is_a_tombstone_on_both_pages() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = chat_e2e::TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("wrong chat, sorry").await;
        let id = id_of(&bob, "wrong chat, sorry").await;
        // Bob may not delete it: no delete button on someone else's.
        assert_eq!(
            bob.js(&format!(
                "return {}.querySelector('.action-delete') === null",
                line("wrong chat, sorry")
            ))
            .await,
            json!(true)
        );

        // The first click asks, the second deletes.
        click_in(&alice, "wrong chat, sorry", ".action-delete").await;
        alice
            .wait_until(
                "the delete button asks to confirm",
                &format!(
                    "return {}.querySelector('.action-delete.confirming') !== null",
                    line("wrong chat, sorry")
                ),
            )
            .await;
        assert_eq!(bob.texts().await, ["wrong chat, sorry"], "not deleted yet");
        click_in(&alice, "wrong chat, sorry", ".action-delete").await;

        let tombstone = format!(
            "const li = document.querySelector('#timeline li.msg[data-id=\"{id}\"]'); \
             return li !== null && li.classList.contains('deleted') \
                 && li.querySelector('.tombstone').textContent === 'message deleted' \
                 && !li.textContent.includes('wrong chat');"
        );
        bob.wait_until("Bob sees the tombstone", &tombstone).await;
        alice
            .wait_until("Alice sees the tombstone", &tombstone)
            .await;
        // A fresh page shows it as a tombstone too.
        bob.reload_and_rejoin("Bob after a reload").await;
        bob.wait_until("the tombstone after a reload", &tombstone)
            .await;
        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn a_reply_jumps_to_an_original_the_page_never_loaded() {
    browser_test(|| async {
        let driver = Driver::start();
        // The crowd below says 120 things as fast as the server confirms
        // them: past the default burst of 100 on a fast machine.
        let server = chat_e2e::TestServer::start_tuned(|config| {
            config.limits.message_rate = 10_000.0;
            config.limits.message_burst = 10_000;
        })
        .await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("who brings the cake?").await;
        let original = id_of(&bob, "who brings the cake?").await;

        // Much is said after it: a fresh page's history will not reach it.
        let mut crowd = ChatClient::join(&server, "Crowd", None).await;
        for n in 0..120 {
            crowd
                .say(&format!("chatter {n:03}"), format!("crowd-{n}"))
                .await;
        }
        crowd.leave().await;
        bob.wait_for_message("chatter 119").await;

        // Bob answers it; the composer quotes it until sent.
        click_in(&bob, "who brings the cake?", ".action-reply").await;
        bob.wait_until(
            "the composer quotes the original",
            "const m = document.querySelector('#composer-mode.replying'); \
             return m !== null && m.textContent.includes('who brings the cake?');",
        )
        .await;
        bob.send("I do!").await;
        let quote = format!(
            "const li = {}; const q = li && li.querySelector('button.quote'); \
             return q !== null && q.dataset.target === '{original}' \
                 && q.textContent.includes('who brings the cake?');",
            line("I do!")
        );
        alice
            .wait_until("Alice sees the reply's quote", &quote)
            .await;
        bob.wait_until(
            "the composer no longer replies",
            "return document.querySelector('#composer-mode') === null",
        )
        .await;

        // Carol arrives later: her page starts with the newest messages only.
        let carol = driver.browser(Options::default()).await;
        carol.open(&server.url()).await;
        carol.join("Carol").await;
        carol.wait_until("Carol sees the reply", &quote).await;
        let loaded = format!(
            "return document.querySelector('#timeline li.msg[data-id=\"{original}\"]') !== null"
        );
        assert_eq!(
            carol.js(&loaded).await,
            json!(false),
            "the original is not on Carol's page"
        );

        click_in(&carol, "I do!", "button.quote").await;
        carol
            .wait_until(
                "the original is loaded, scrolled into view and highlighted",
                &format!(
                    "const li = document.querySelector('#timeline li.msg[data-id=\"{original}\"]'); \
                     if (li === null || !li.classList.contains('spotlight')) return false; \
                     const m = document.querySelector('.messages').getBoundingClientRect(); \
                     const r = li.getBoundingClientRect(); \
                     return r.bottom > m.top && r.top < m.bottom \
                         && li.querySelector('.text').textContent === 'who brings the cake?';"
                ),
            )
            .await;

        // On a page that has the original, the quote jumps without loading.
        click_in(&alice, "I do!", "button.quote").await;
        alice
            .wait_until(
                "Alice's original is highlighted",
                &format!(
                    "const li = document.querySelector('#timeline li.msg[data-id=\"{original}\"]'); \
                     return li !== null && li.classList.contains('spotlight');"
                ),
            )
            .await;
        carol.close().await;
        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn reactions_toggle_and_count_on_both_pages() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = chat_e2e::TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        bob.send("pizza tonight?").await;
        alice.wait_for_message("pizza tonight?").await;

        // Alice picks 👍 from the picker.
        click_in(&alice, "pizza tonight?", ".action-react").await;
        alice
            .wait_until(
                "the picker offers the eight reactions",
                &format!(
                    "return {}.querySelectorAll('.reaction-picker .pick').length === 8",
                    line("pizza tonight?")
                ),
            )
            .await;
        click_in(&alice, "pizza tonight?", ".pick[data-emoji=\"👍\"]").await;
        wait_for_chip(&alice, "Alice's 👍, hers", "pizza tonight?", "👍", 1, true).await;
        wait_for_chip(
            &bob,
            "Alice's 👍 on Bob's page",
            "pizza tonight?",
            "👍",
            1,
            false,
        )
        .await;

        // Bob adds his by clicking the chip.
        click_in(&bob, "pizza tonight?", ".reaction[data-emoji=\"👍\"]").await;
        wait_for_chip(&bob, "two 👍, one Bob's", "pizza tonight?", "👍", 2, true).await;
        wait_for_chip(
            &alice,
            "two 👍 on Alice's page",
            "pizza tonight?",
            "👍",
            2,
            true,
        )
        .await;
        let title = bob.js(&chip("pizza tonight?", "👍")).await;
        let who = title[2].as_str().unwrap_or_default();
        assert!(
            who.contains("Alice") && who.contains("Bob"),
            "the tooltip says who: {who}"
        );

        // Alice takes hers off.
        click_in(&alice, "pizza tonight?", ".reaction[data-emoji=\"👍\"]").await;
        wait_for_chip(
            &alice,
            "one 👍, not Alice's",
            "pizza tonight?",
            "👍",
            1,
            false,
        )
        .await;
        wait_for_chip(&bob, "one 👍, Bob's", "pizza tonight?", "👍", 1, true).await;
        // And Bob his: the chip goes.
        click_in(&bob, "pizza tonight?", ".reaction[data-emoji=\"👍\"]").await;
        wait_for_chip(&alice, "no 👍 left", "pizza tonight?", "👍", 0, false).await;
        wait_for_chip(
            &bob,
            "no 👍 left on Bob's page",
            "pizza tonight?",
            "👍",
            0,
            false,
        )
        .await;

        // For the README: a reply and reactions.
        click_in(&alice, "pizza tonight?", ".action-react").await;
        click_in(&alice, "pizza tonight?", ".pick[data-emoji=\"🎉\"]").await;
        click_in(&bob, "pizza tonight?", ".action-react").await;
        click_in(&bob, "pizza tonight?", ".pick[data-emoji=\"🎉\"]").await;
        click_in(&bob, "pizza tonight?", ".action-react").await;
        click_in(&bob, "pizza tonight?", ".pick[data-emoji=\"❤️\"]").await;
        wait_for_chip(&alice, "two 🎉", "pizza tonight?", "🎉", 2, true).await;
        click_in(&alice, "pizza tonight?", ".action-reply").await;
        alice.send("Yes! **Margherita** for me").await;
        bob.wait_for_message("Yes! Margherita for me").await;
        click_in(&bob, "Yes! Margherita for me", ".action-react").await;
        click_in(&bob, "Yes! Margherita for me", ".pick[data-emoji=\"😂\"]").await;
        wait_for_chip(&alice, "Bob's 😂", "Yes! Margherita for me", "😂", 1, false).await;
        bob.send("Then `order --size large` it is").await;
        alice
            .wait_for_message("Then order --size large it is")
            .await;
        // Let the new line's entrance animation finish.
        tokio::time::sleep(Duration::from_millis(400)).await;
        // Written on every run under target/; docs/screenshot-actions.png
        // is a copy of it.
        alice
            .screenshot(&screenshot_dir().join("actions.png"))
            .await;
        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn formatting_renders_and_html_in_a_code_block_stays_text() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = chat_e2e::TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice
            .send(
                "**bold** _it_ ~gone~ `x_y` snake_case_name https://example.org/a\n\
                 ```\n<script>window.__pwned = 1</script><b>not bold</b>\n    indented\n```",
            )
            .await;
        bob.wait_until(
            "the code block arrives",
            "return document.querySelector('#timeline .text pre.code-block') !== null",
        )
        .await;
        let shown = bob
            .js("const t = [...document.querySelectorAll('#timeline .msg .text')].pop(); \
                 const one = (css) => { const e = t.querySelector(css); return e ? e.textContent : null; }; \
                 return { bold: one('strong'), italic: one('em'), strike: one('s'), \
                          code: one(':scope > code'), link: t.querySelector('a') ? t.querySelector('a').href : null, \
                          block: one('pre.code-block'), elements: t.querySelectorAll('script, b').length, \
                          pwned: window.__pwned === undefined ? null : window.__pwned, \
                          snake: t.textContent.includes('snake_case_name'), \
                          wrap: getComputedStyle(t.querySelector('pre.code-block')).whiteSpace };")
            .await;
        assert_eq!(
            shown,
            json!({
                "bold": "bold",
                "italic": "it",
                "strike": "gone",
                "code": "x_y",
                "link": "https://example.org/a",
                "block": "<script>window.__pwned = 1</script><b>not bold</b>\n    indented",
                "elements": 0,
                "pwned": null,
                "snake": true,
                "wrap": "pre",
            }),
            "the formatting as Bob's page renders it"
        );
        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn an_edit_made_offline_is_applied_once_after_the_reconnect() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = chat_e2e::TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("meet at the station").await;
        let id = id_of(&bob, "meet at the station").await;

        alice.js("window.__cutSockets(true)").await;
        alice
            .wait_until("Alice's page knows it is offline", OFFLINE)
            .await;
        press_in_composer(&alice, Key::Up).await;
        alice
            .wait_until(
                "editing offline",
                "return document.querySelector('#composer-input').value === 'meet at the station';",
            )
            .await;
        retype(&alice, "meet at the bridge").await;
        press_in_composer(&alice, Key::Enter).await;
        // Nothing went out: Bob still reads the old text.
        assert_eq!(bob.texts().await, ["meet at the station"]);

        // The network is back: the queued edit goes out by itself.
        alice.js("window.__cutSockets(false)").await;
        bob.wait_for_message("meet at the bridge").await;
        alice.wait_for_message("meet at the bridge").await;

        // Once: the room's record after the message holds one edit of it.
        let join = ClientFrame::Join {
            username: "Auditor".into(),
            room: None,
            since: Some(id),
            resume: None,
            join_code: None,
            author_key: None,
            link_code: None,
            device: None,
        };
        let (auditor, welcome) = ChatClient::join_with(&server, &join).await;
        let ServerFrame::Welcome(chat_shared::Welcome { history, .. }) = welcome else {
            panic!("not a welcome: {welcome:?}");
        };
        let edits: Vec<_> = history
            .iter()
            .filter_map(|item| match item {
                HistoryItem::Change(Change::MessageEdited(edit)) if edit.target == id => {
                    Some(edit.text.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(edits, [Some("meet at the bridge".to_owned())]);
        auditor.leave().await;
        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

#[test]
fn a_reload_keeps_the_author_key_so_the_last_message_can_still_be_edited() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = chat_e2e::TestServer::start().await;
        let (alice, bob) = alice_and_bob(&driver, &server).await;
        alice.send("typed in a hurry").await;
        bob.wait_for_message("typed in a hurry").await;
        let key = alice
            .js("return localStorage.getItem('chat.author_key')")
            .await;
        assert!(
            key.as_str().is_some_and(chat_shared::is_valid_author_key),
            "a valid author key is kept: {key}"
        );

        alice.reload_and_rejoin("Alice after the reload").await;
        alice.wait_for_message("typed in a hurry").await;
        assert_eq!(
            alice
                .js("return localStorage.getItem('chat.author_key')")
                .await,
            key,
            "the same key after the reload"
        );
        alice
            .wait_until(
                "her message still offers edit and delete",
                &format!(
                    "const li = {}; return li.querySelector('.action-edit') !== null \
                         && li.querySelector('.action-delete') !== null;",
                    line("typed in a hurry")
                ),
            )
            .await;
        press_in_composer(&alice, Key::Up).await;
        alice
            .wait_until(
                "Up edits it",
                "return document.querySelector('#composer-input').value === 'typed in a hurry';",
            )
            .await;
        retype(&alice, "typed with care").await;
        press_in_composer(&alice, Key::Enter).await;
        bob.wait_for_message("typed with care").await;
        alice.close().await;
        bob.close().await;
        server.stop().await;
    });
}

//! Reading the conversation in a real headless Chromium (issue 22, items
//! 7, 8, 9, 11 and 12): a reader at the bottom stays there when the last
//! message grows (an edit, a reaction, a narrower window) and a reader
//! scrolled up is not moved; a reply's quote shows text without markup and
//! a code block leaves no blank line under it; emoji are drawn in colour;
//! the room list shows its online counts as people, none at zero, and a
//! room someone else made as soon as the list is opened; the Russian room
//! name placeholder fits its field; the Enter hint shows only where there
//! is a keyboard.
//!
//! The other person is a plain [`ChatClient`] (with an author key, so it
//! can edit), so each test starts one browser per layout it checks.

use chat_e2e::{browser_test, ChatClient, Device, Driver, Options, Page, TestServer};
use chat_shared::{ChatMessage, ClientFrame};
use serde_json::{json, Value};
use std::time::Duration;

/// A script expression: how far the message list is from its bottom, in
/// CSS pixels (0 at the bottom).
const GAP_TO_BOTTOM: &str = "(() => { const m = document.querySelector('.messages'); \
     return m.scrollHeight - m.scrollTop - m.clientHeight; })()";

/// A script expression: the confirmed message line whose text is `text`.
fn line(text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#timeline li.msg')] \
           .find(li => li.querySelector('.text') && li.querySelector('.text').textContent === {})",
        json!(text)
    )
}

/// Joins `name` to `server`'s default room with an author key, so its
/// messages can be edited.
async fn author(server: &TestServer, name: &str) -> ChatClient {
    let join = ClientFrame::Join {
        username: name.into(),
        room: None,
        since: None,
        resume: None,
        join_code: None,
        author_key: Some(format!("{}-reading-test-author-key", name.to_lowercase())),
    };
    ChatClient::join_with(server, &join).await.0
}

/// Sends `text` as `client` and returns the message the server stored.
async fn post(client: &mut ChatClient, text: &str, client_id: &str) -> ChatMessage {
    client
        .send(&ClientFrame::Message {
            text: text.to_owned(),
            client_id: Some(client_id.to_owned()),
            reply_to: None,
        })
        .await;
    loop {
        let message = client.next_message().await;
        if message.client_id.as_deref() == Some(client_id) {
            return message;
        }
    }
}

/// Waits until `page`'s message list is at its very bottom (within a
/// pixel or two of rounding).
async fn wait_at_bottom(page: &Page, what: &str) {
    page.wait_until_for(
        what,
        &format!("return {GAP_TO_BOTTOM} <= 2"),
        Duration::from_secs(5),
    )
    .await;
}

/// How far the list is from its bottom now.
async fn gap_to_bottom(page: &Page) -> f64 {
    let gap = page.js(&format!("return {GAP_TO_BOTTOM}")).await;
    gap.as_f64().unwrap_or_else(|| panic!("no gap: {gap}"))
}

/// Lets the page lay out and paint twice, so whatever it does after a
/// change (observers, animation frames) has happened.
async fn settle(page: &Page) {
    page.js("return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))")
        .await;
}

#[test]
fn a_reader_at_the_bottom_stays_there_as_the_last_message_grows() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let mut bob = author(&server, "Bob").await;
        // Enough history that the list scrolls.
        for n in 0..30 {
            post(
                &mut bob,
                &format!("earlier line {n:02}"),
                &format!("early-{n}"),
            )
            .await;
        }
        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;
        alice.wait_for_message("earlier line 29").await;
        let last = post(&mut bob, "ok", "last").await;
        alice.wait_for_message("ok").await;
        wait_at_bottom(&alice, "the list follows the new message").await;

        // Item 7: an edit makes the last (short) message long.
        let long = format!(
            "A longer answer after all:{}.",
            " the reader at the bottom should see every word of it".repeat(10)
        );
        bob.send(&ClientFrame::Edit {
            id: last.id,
            text: long.clone(),
            client_id: Some("edit-1".into()),
        })
        .await;
        alice.wait_for_message(&long).await;
        wait_at_bottom(
            &alice,
            "item 7: still at the bottom after the last message grew by an edit",
        )
        .await;

        // Item 7: a reaction chip appears under the last message.
        bob.send(&ClientFrame::React {
            id: last.id,
            emoji: "👍".into(),
            on: true,
            client_id: Some("react-1".into()),
        })
        .await;
        alice
            .wait_until(
                "the reaction chip shows",
                &format!("return {}.querySelector('.reaction') !== null", line(&long)),
            )
            .await;
        wait_at_bottom(
            &alice,
            "item 7: still at the bottom after a reaction chip appeared",
        )
        .await;

        // Item 7: the window narrows, so every message wraps anew.
        alice.emulate_screen(900, 700, false).await;
        wait_at_bottom(
            &alice,
            "item 7: still at the bottom after the layout changed",
        )
        .await;

        // A reader scrolled up to read is not moved by the same growth.
        alice
            .js("const m = document.querySelector('.messages'); \
                 m.style.scrollBehavior = 'auto'; \
                 m.scrollTop = m.scrollHeight - m.clientHeight - 400; return true;")
            .await;
        settle(&alice).await;
        let before = alice
            .js("return document.querySelector('.messages').scrollTop")
            .await;
        let longer = long.clone() + " And one more sentence that wraps onto another line or two.";
        bob.send(&ClientFrame::Edit {
            id: last.id,
            text: longer.clone(),
            client_id: Some("edit-2".into()),
        })
        .await;
        alice.wait_for_message(&longer).await;
        settle(&alice).await;
        let after = alice
            .js("return document.querySelector('.messages').scrollTop")
            .await;
        let moved = (after.as_f64().unwrap_or(-1.0) - before.as_f64().unwrap_or(-1.0)).abs();
        assert!(
            moved <= 2.0,
            "item 7: a reader scrolled up was moved from {before} to {after}"
        );
        assert!(
            gap_to_bottom(&alice).await > 300.0,
            "item 7: a reader scrolled up stays scrolled up"
        );

        alice.close().await;
        bob.leave().await;
        server.stop().await;
    });
}

/// How many pixels of `css`'s screenshot are strongly coloured (the
/// largest and smallest of red, green and blue more than 80 apart): a
/// colour emoji has many, a black outline glyph on a white chip none.
async fn coloured_pixels(page: &Page, css: &str) -> u64 {
    let element = page
        .client()
        .find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css}: {error}"));
    let png = element.screenshot().await.expect("a screenshot");
    let count = page
        .js_with(
            "const bytes = new Uint8Array(arguments[0]);
             return createImageBitmap(new Blob([bytes], { type: 'image/png' })).then(image => {
               const canvas = document.createElement('canvas');
               canvas.width = image.width;
               canvas.height = image.height;
               const context = canvas.getContext('2d');
               context.drawImage(image, 0, 0);
               const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
               let coloured = 0;
               for (let i = 0; i < data.length; i += 4) {
                 const high = Math.max(data[i], data[i + 1], data[i + 2]);
                 const low = Math.min(data[i], data[i + 1], data[i + 2]);
                 if (high - low > 80) coloured += 1;
               }
               return coloured;
             });",
            vec![json!(png)],
        )
        .await;
    count
        .as_u64()
        .unwrap_or_else(|| panic!("no pixel count: {count}"))
}

#[test]
fn quotes_show_plain_text_code_blocks_end_cleanly_and_emoji_are_in_colour() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;
        let mut bob = author(&server, "Bob").await;
        let code = "Look:\n```\nfn main() {}\n```\nthen **bold** and `inline code` after";
        let formatted = post(&mut bob, code, "code").await;
        alice
            .wait_until(
                "the formatted message shows",
                &format!(
                    "return document.querySelector('#timeline li.msg[data-id=\"{}\"] pre') !== null",
                    formatted.id
                ),
            )
            .await;

        // Item 9: no blank line under a code block (nor above it).
        let gaps = alice
            .js(&format!(
                "const text = document.querySelector('#timeline li.msg[data-id=\"{}\"] .text'); \
                 const block = text.querySelector('pre').getBoundingClientRect(); \
                 const before = document.createRange(); \
                 before.selectNodeContents(text.firstChild); \
                 const after = text.querySelector('strong').getBoundingClientRect(); \
                 const line = parseFloat(getComputedStyle(text).lineHeight); \
                 return [block.top - before.getClientRects()[0].bottom, after.top - block.bottom, line];",
                formatted.id
            ))
            .await;
        // Above, below, and the line height.
        let gap = |i: usize| gaps[i].as_f64().unwrap_or(f64::MAX);
        assert!(
            gap(1) < gap(2) / 2.0,
            "item 9: a blank line under the code block: {gaps}"
        );
        assert!(
            gap(0) < gap(2) / 2.0,
            "item 9: a blank line above the code block: {gaps}"
        );

        // Item 9: the reply's quote, in the composer and in the
        // conversation, shows the text without its markup.
        let clicked = alice
            .js(&format!(
                "const b = document.querySelector('#timeline li.msg[data-id=\"{}\"] .action-reply'); \
                 if (!b) return false; b.click(); return true;",
                formatted.id
            ))
            .await;
        assert_eq!(clicked, json!(true), "the reply button");
        alice
            .wait_until(
                "the composer quotes the message",
                "return document.querySelector('#composer-mode.replying .quote-text') !== null",
            )
            .await;
        let markup = ["```", "**", "`"];
        let composing = alice.text("#composer-mode.replying .quote-text").await;
        for mark in markup {
            assert!(
                !composing.contains(mark),
                "item 9: the composer's quote shows {mark:?}: {composing:?}"
            );
        }
        alice.send("nice").await;
        alice
            .wait_until(
                "the reply's quote shows",
                &format!(
                    "return {}.querySelector('.quote-text') !== null",
                    line("nice")
                ),
            )
            .await;
        let quoted = alice
            .js(&format!(
                "return {}.querySelector('.quote-text').innerText",
                line("nice")
            ))
            .await;
        let quoted = quoted.as_str().unwrap_or_default();
        for mark in markup {
            assert!(
                !quoted.contains(mark),
                "item 9: the quote shows {mark:?}: {quoted:?}"
            );
        }
        assert!(
            quoted.contains("fn main() {}") && quoted.contains("bold and inline code"),
            "item 9: the quote keeps the words: {quoted:?}"
        );

        // Item 8: emoji drawn in colour, in a message and in a reaction.
        let laughing = post(&mut bob, "😂 😮 😢", "emoji").await;
        bob.send(&ClientFrame::React {
            id: laughing.id,
            emoji: "😂".into(),
            on: true,
            client_id: Some("laugh".into()),
        })
        .await;
        let message = format!("#timeline li.msg[data-id=\"{}\"]", laughing.id);
        let chip = format!("{message} .reaction[data-emoji=\"😂\"]");
        alice
            .wait_until(
                "the 😂 chip shows",
                &format!("return document.querySelector({}) !== null", json!(chip)),
            )
            .await;
        for (what, css) in [
            ("the message text", format!("{message} .text")),
            ("the reaction chip", chip),
        ] {
            let coloured = coloured_pixels(&alice, &css).await;
            assert!(
                coloured >= 20,
                "item 8: {what} draws 😂 without colour ({coloured} coloured pixels)"
            );
        }

        alice.close().await;
        bob.leave().await;
        server.stop().await;
    });
}

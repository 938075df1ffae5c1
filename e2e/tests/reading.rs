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

use chat_e2e::message_line as line;
use chat_e2e::{
    browser_test, screenshot_dir, ChatClient, Device, Driver, Options, Page, TestServer,
};
use chat_shared::{ChatMessage, ClientFrame};
use serde_json::json;
use std::time::Duration;

/// A script expression: how far the message list is from its bottom, in
/// CSS pixels (0 at the bottom).
const GAP_TO_BOTTOM: &str = "(() => { const m = document.querySelector('.messages'); \
     return m.scrollHeight - m.scrollTop - m.clientHeight; })()";

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
        link_code: None,
        device: None,
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
            attachments: Vec::new(),
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
                &format!("return {}?.querySelector('.reaction') != null", line(&long)),
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
                    "return {}?.querySelector('.quote-text') != null",
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
        alice
            .screenshot(&screenshot_dir().join("quote-code-emoji.png"))
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

/// True when the Enter hint under the composer can be seen: its text
/// takes room on the page and is not hidden.
const HINT_SHOWN: &str = "const s = document.querySelector('#composer-status'); \
     const text = document.createRange(); \
     text.selectNodeContents(s); \
     const r = text.getBoundingClientRect(); \
     return s.textContent.trim() !== '' && r.width > 0 && r.height > 0 \
         && getComputedStyle(s).visibility !== 'hidden';";

/// `[needed, room]`: the width the room name placeholder needs in its
/// field's font, and the room the field has for text (inside its padding).
const PLACEHOLDER_FIT: &str = "const input = document.querySelector('#new-room-name'); \
     const style = getComputedStyle(input); \
     const context = document.createElement('canvas').getContext('2d'); \
     context.font = style.font; \
     const needed = context.measureText(input.placeholder).width; \
     const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight); \
     return [needed, room];";

/// Asserts the room name placeholder fits its field on `page`.
async fn placeholder_fits(page: &Page, layout: &str) {
    let fit = page.js(PLACEHOLDER_FIT).await;
    let (needed, room) = (
        fit[0].as_f64().unwrap_or(f64::MAX),
        fit[1].as_f64().unwrap_or(0.0),
    );
    assert!(
        needed <= room,
        "item 12: the Russian room name placeholder is cut on the {layout}: \
         it needs {needed} px and has {room} px"
    );
}

/// A script: `[shown, seen, read]` of the online badge of room `room` in
/// the list: whether it takes room on the page with a drawn icon, the
/// text seen in it, and what the room's link reads as (sighted or not);
/// null when the room is not listed.
fn badge(room: &str) -> String {
    format!(
        "const li = document.querySelector('#room-list li.room[data-room={room}]'); \
         if (!li) return null; \
         const b = li.querySelector('.room-online'); \
         if (!b) return [false, '', '']; \
         const r = b.getBoundingClientRect(); \
         const icon = b.querySelector('svg'); \
         const drawn = icon !== null && icon.getBoundingClientRect().width > 0; \
         const seen = [...b.children].filter(e => e.getBoundingClientRect().width > 1) \
             .map(e => e.textContent).join('').trim(); \
         return [r.width > 0 && drawn, seen, li.querySelector('a').innerText];",
        room = json!(room)
    )
}

#[test]
fn the_room_list_counts_people_and_shows_new_rooms_and_the_small_things_fit() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let phone = driver
            .browser(Options {
                device: Device::Phone,
                language: "ru-RU",
            })
            .await;
        phone.open(&server.url()).await;
        phone.join("Alice").await;

        // Item 12: the Enter hint does not apply to a touch screen.
        assert_eq!(
            phone.js(HINT_SHOWN).await,
            json!(false),
            "item 12: the phone shows the Enter hint"
        );

        // Someone else makes a room while the list is closed, and another
        // room empties.
        let mut carol = ChatClient::join(&server, "Carol", Some("attic")).await;
        post(&mut carol, "anyone up here?", "attic-1").await;
        carol.leave().await;
        let bob = ChatClient::join(&server, "Bob", Some("garden")).await;

        // Item 11: opening the list shows the new room at once (the
        // regular refresh comes every ten seconds).
        phone.click("#rooms-toggle").await;
        phone
            .wait_until_for(
                "item 11: the room someone else made shows once the list is opened",
                &format!(
                    "return ({})() !== null",
                    "() => {".to_owned() + &badge("garden") + "}"
                ),
                Duration::from_secs(3),
            )
            .await;

        // Item 11: the badge is a count of people: an icon with the number,
        // read as "1 в сети"; none for a room with nobody in it.
        let garden = phone.js(&badge("garden")).await;
        assert_eq!(
            garden[0],
            json!(true),
            "item 11: the online badge has a person icon: {garden}"
        );
        assert_eq!(
            garden[1],
            json!("1"),
            "item 11: the badge counts one: {garden}"
        );
        assert!(
            garden[2].as_str().unwrap_or_default().contains("1 в сети"),
            "item 11: the badge reads as people online: {garden}"
        );
        phone
            .wait_until(
                "the emptied room is listed",
                &format!(
                    "return ({})() !== null",
                    "() => {".to_owned() + &badge("attic") + "}"
                ),
            )
            .await;
        let attic = phone.js(&badge("attic")).await;
        assert!(
            attic[0] == json!(false) && attic[1] == json!(""),
            "item 11: a room with nobody shows no badge: {attic}"
        );
        placeholder_fits(&phone, "phone").await;
        phone
            .screenshot(&screenshot_dir().join("room-list-phone-ru.png"))
            .await;
        phone
            .audit_accessibility("the room list with online badges, phone")
            .await;

        // Item 12, on a desktop: the placeholder fits the side panel, and
        // the Enter hint shows.
        let desktop = driver
            .browser(Options {
                device: Device::Desktop,
                language: "ru-RU",
            })
            .await;
        desktop.open(&server.url()).await;
        desktop.join("Dora").await;
        assert_eq!(
            desktop.js(HINT_SHOWN).await,
            json!(true),
            "item 12: the desktop shows the Enter hint"
        );
        placeholder_fits(&desktop, "desktop").await;
        desktop
            .screenshot(&screenshot_dir().join("room-list-desktop-ru.png"))
            .await;

        phone.close().await;
        desktop.close().await;
        bob.leave().await;
        server.stop().await;
    });
}

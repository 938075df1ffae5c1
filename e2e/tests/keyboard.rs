//! The conversation with the keyboard alone, in a real headless Chromium:
//! a room of some thirty messages is one Tab stop between the top of the
//! page and the message box, a "Skip to message box" link gets there in
//! two keys, the arrow keys move between messages, Enter opens a message's
//! actions and Escape closes the reaction picker and gives the focus back;
//! on my own message the reactions come before Edit and Delete. And the
//! delete of my own message: its "are you sure" disarms by itself, and
//! fits one line on a phone.
//!
//! Keys go to whatever has the focus (WebDriver actions), as a person's
//! keyboard does.

use std::time::Duration;

use chat_e2e::message_line as line;
use chat_e2e::{
    browser_test, screenshot_dir, ChatClient, Device, Driver, Options, Page, TestServer,
};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{json, Value};

/// How many messages someone else said before Alice came in.
const FILLERS: usize = 30;
/// The most Tabs from the top of the page to the message box: the skip
/// link, the header's and the room bar's few controls (with the room's
/// notification level since issue 24, the search button since issue 26),
/// the conversation.
const MAX_TABS_TO_COMPOSER: usize = 10;

/// Presses `key` (with `modifier` held, if any) wherever the focus is.
async fn press_with(page: &Page, modifier: Option<Key>, key: Key) {
    let mut actions = KeyActions::new("keyboard".into());
    if let Some(modifier) = modifier {
        actions = actions.then(KeyAction::Down {
            value: char::from(modifier),
        });
    }
    actions = actions
        .then(KeyAction::Down {
            value: char::from(key),
        })
        .then(KeyAction::Up {
            value: char::from(key),
        });
    if let Some(modifier) = modifier {
        actions = actions.then(KeyAction::Up {
            value: char::from(modifier),
        });
    }
    page.client()
        .perform_actions(actions)
        .await
        .expect("the key is pressed");
}

/// Presses `key` wherever the focus is.
async fn press(page: &Page, key: Key) {
    press_with(page, None, key).await;
}

/// Puts the keyboard at the very top of the page, before everything, as
/// a freshly loaded page has it.
async fn focus_top_of_page(page: &Page) {
    page.js("document.body.tabIndex = -1; document.body.focus(); \
         return document.activeElement === document.body;")
        .await;
}

/// What has the focus, in words a failure can show: the element's tag,
/// id, classes and text.
async fn focused(page: &Page) -> String {
    page.js(
        "const e = document.activeElement; \
         if (!e) return 'nothing'; \
         return [e.tagName.toLowerCase(), e.id ? '#' + e.id : '', \
                 e.className ? '.' + String(e.className).split(' ').join('.') : '', \
                 ' ' + (e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 30)].join('');",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Whether the focus is on the message line itself (not on a button in
/// it) whose text is `text`.
async fn focus_is_on_line(page: &Page, text: &str) -> bool {
    page.js(&format!(
        "return document.activeElement === {};",
        line(text)
    ))
    .await
        == json!(true)
}

/// Whether the focus is on the element `css` inside the line of `text`,
/// within a second: the app moves some focus a frame later (the first
/// emoji of a picker once it renders).
async fn focus_is_in_line(page: &Page, text: &str, css: &str) -> bool {
    let script = format!(
        "const li = {}; return li !== undefined && document.activeElement === li.querySelector({});",
        line(text),
        json!(css)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if page.js(&script).await == json!(true) {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Clicks the element `css` inside the line of message `text`, through
/// the DOM (the actions bar is hidden until hovered or pressed).
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

/// Whether the delete button on the message `text` is asking to confirm.
async fn delete_is_armed(page: &Page, text: &str) -> Value {
    page.js(&format!(
        "return {}.querySelector('.action-delete.confirming') !== null;",
        line(text)
    ))
    .await
}

#[test]
fn the_keyboard_reaches_the_composer_and_walks_the_messages() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let mut bob = ChatClient::join(&server, "Bob", None).await;
        for n in 1..=FILLERS {
            bob.say(&format!("filler {n}"), format!("filler-{n}")).await;
        }
        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;
        alice.wait_for_message(&format!("filler {FILLERS}")).await;
        alice.send("my own note").await;
        alice.wait_for_message("my own note").await;

        // Item 5: from the top of the page to the message box in a few
        // Tabs, however many messages there are.
        focus_top_of_page(&alice).await;
        let mut path = Vec::new();
        let mut reached = false;
        for _ in 0..(FILLERS * 3) {
            press(&alice, Key::Tab).await;
            path.push(focused(&alice).await);
            if alice
                .js("return document.activeElement.id === 'composer-input'")
                .await
                == json!(true)
            {
                reached = true;
                break;
            }
        }
        eprintln!("Tabs to the message box: {}", path.join(" | "));
        assert!(
            reached && path.len() <= MAX_TABS_TO_COMPOSER,
            "item 5: {} Tabs from the top of the page to the message box \
             (at most {MAX_TABS_TO_COMPOSER}); the focus went:\n{}",
            path.len(),
            path.join("\n")
        );
        let conversation_stops = path.iter().filter(|p| p.starts_with("li.")).count();
        assert_eq!(
            conversation_stops,
            1,
            "item 5: the conversation is one Tab stop; the focus went:\n{}",
            path.join("\n")
        );

        // The skip link: the first Tab shows it, Enter goes to the box.
        focus_top_of_page(&alice).await;
        press(&alice, Key::Tab).await;
        let skip = alice
            .js(
                "const e = document.activeElement; const r = e.getBoundingClientRect(); \
                 return [e.classList.contains('skip-link'), e.textContent, \
                         r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 \
                         && r.bottom <= innerHeight && r.right <= innerWidth];",
            )
            .await;
        assert_eq!(
            skip,
            json!([true, "Skip to message box", true]),
            "item 5: the first Tab shows the skip link on screen"
        );
        alice.audit_accessibility("the skip link showing").await;
        press(&alice, Key::Enter).await;
        assert_eq!(
            alice
                .js("return document.activeElement.id === 'composer-input'")
                .await,
            json!(true),
            "item 5: the skip link reaches the message box in two keys; the focus is on {}",
            focused(&alice).await
        );

        // Shift+Tab from the box lands on the conversation's one stop:
        // the newest message, mine.
        press_with(&alice, Some(Key::Shift), Key::Tab).await;
        assert!(
            focus_is_on_line(&alice, "my own note").await,
            "item 5: Shift+Tab from the box focuses the newest message, not {}",
            focused(&alice).await
        );
        alice.audit_accessibility("a message focused").await;

        // The arrows move between messages.
        press(&alice, Key::Up).await;
        assert!(
            focus_is_on_line(&alice, &format!("filler {FILLERS}")).await,
            "item 5: ArrowUp moves to the message above, not {}",
            focused(&alice).await
        );
        press(&alice, Key::Up).await;
        assert!(
            focus_is_on_line(&alice, &format!("filler {}", FILLERS - 1)).await,
            "item 5: ArrowUp again moves up again, not {}",
            focused(&alice).await
        );
        press(&alice, Key::Down).await;
        assert!(
            focus_is_on_line(&alice, &format!("filler {FILLERS}")).await,
            "item 5: ArrowDown moves back down, not {}",
            focused(&alice).await
        );
        press(&alice, Key::Home).await;
        assert!(
            focus_is_on_line(&alice, "filler 1").await,
            "item 5: Home moves to the first message, not {}",
            focused(&alice).await
        );
        // Whichever message has the stop, Tab leaves the conversation
        // from there: only that message's buttons are on the way.
        let tabbable_inside = alice
            .js(
                "return [...document.querySelectorAll('#timeline a, #timeline button, #timeline [tabindex]')] \
                   .filter(e => e.tabIndex >= 0 && !e.closest('[hidden]')) \
                   .map(e => e.closest('li.msg')) \
                   .filter((li, i, all) => all.indexOf(li) === i).length;",
            )
            .await;
        assert_eq!(
            tabbable_inside,
            json!(1),
            "item 5: only one message's controls are in the Tab order"
        );
        press(&alice, Key::End).await;
        assert!(
            focus_is_on_line(&alice, "my own note").await,
            "item 5: End moves to the newest message, not {}",
            focused(&alice).await
        );

        // Enter opens the message's actions; on mine the reactions come
        // before Edit and Delete.
        press(&alice, Key::Enter).await;
        assert!(
            focus_is_in_line(&alice, "my own note", ".action-reply").await,
            "item 5: Enter on a message goes to its first action, not {}",
            focused(&alice).await
        );
        alice
            .wait_until(
                "item 5: the opened actions show",
                &format!(
                    "const bar = {}.querySelector('.msg-actions'); \
                     return bar.getBoundingClientRect().width > 0 \
                         && getComputedStyle(bar).opacity === '1';",
                    line("my own note")
                ),
            )
            .await;
        // A toolbar: the arrows go along it, and Tab goes on in order.
        press(&alice, Key::Right).await;
        assert!(
            focus_is_in_line(&alice, "my own note", ".action-react").await,
            "item 5: ArrowRight goes from Reply to React, not {}",
            focused(&alice).await
        );
        press(&alice, Key::Left).await;
        assert!(
            focus_is_in_line(&alice, "my own note", ".action-reply").await,
            "item 5: ArrowLeft goes back to Reply, not {}",
            focused(&alice).await
        );
        press(&alice, Key::Tab).await;
        assert!(
            focus_is_in_line(&alice, "my own note", ".action-react").await,
            "item 5: Tab goes from Reply to React, not {}",
            focused(&alice).await
        );
        press(&alice, Key::Enter).await;
        assert!(
            focus_is_in_line(&alice, "my own note", ".reaction-picker .pick").await,
            "item 5: opening the picker puts the focus on its first emoji, not {}",
            focused(&alice).await
        );
        let order = alice
            .js(&format!(
                "const li = {}; const edit = li.querySelector('.action-edit'); \
                 const del = li.querySelector('.action-delete'); \
                 const before = (a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0; \
                 const picks = [...li.querySelectorAll('.reaction-picker .pick')]; \
                 return [before(li.querySelector('.action-react'), edit), picks.length, \
                         picks.every(p => before(p, edit) && before(p, del))];",
                line("my own note")
            ))
            .await;
        assert_eq!(
            order,
            json!([true, 8, true]),
            "item 5: on my message React and its emoji come before Edit and Delete"
        );
        alice.audit_accessibility("the reaction picker open").await;
        alice
            .screenshot(&screenshot_dir().join("keyboard-picker-open.png"))
            .await;
        press(&alice, Key::Escape).await;
        alice
            .wait_until(
                "item 5: Escape closes the picker",
                &format!(
                    "return {}.querySelector('.reaction-picker .pick') === null",
                    line("my own note")
                ),
            )
            .await;
        assert!(
            focus_is_in_line(&alice, "my own note", ".action-react").await,
            "item 5: Escape gives the focus back to React, not {}",
            focused(&alice).await
        );
        press(&alice, Key::Escape).await;
        assert!(
            focus_is_on_line(&alice, "my own note").await,
            "item 5: Escape in the actions gives the focus back to the message, not {}",
            focused(&alice).await
        );

        // Item 3: an armed delete disarms by itself; a click after that
        // arms it again instead of deleting.
        click_in(&alice, "my own note", ".action-delete").await;
        assert_eq!(
            delete_is_armed(&alice, "my own note").await,
            json!(true),
            "item 3: the first click arms the delete"
        );
        alice
            .audit_accessibility("a delete waiting for its confirmation")
            .await;
        alice
            .wait_until_for(
                "item 3: the armed delete disarms by itself",
                &format!(
                    "return {}.querySelector('.action-delete.confirming') === null",
                    line("my own note")
                ),
                Duration::from_secs(8),
            )
            .await;
        click_in(&alice, "my own note", ".action-delete").await;
        assert_eq!(
            delete_is_armed(&alice, "my own note").await,
            json!(true),
            "item 3: a click after the delete disarmed arms it again"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            alice
                .js(&format!(
                    "return {}.querySelector('.tombstone') === null",
                    line("my own note")
                ))
                .await,
            json!(true),
            "item 3: the message is not deleted by a click after the disarm"
        );

        // Item 3 on a phone: the question fits one line and says nothing
        // about clicking.
        let pat = driver
            .browser(Options {
                device: Device::Phone,
                ..Options::default()
            })
            .await;
        pat.open(&server.url()).await;
        pat.join("Pat").await;
        pat.send("ok").await;
        pat.wait_for_message("ok").await;
        click_in(&pat, "ok", ".action-delete").await;
        let armed = pat
            .js(&format!(
                "const b = {}.querySelector('.action-delete'); \
                 const range = document.createRange(); range.selectNodeContents(b); \
                 const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top))); \
                 const r = b.getBoundingClientRect(); \
                 return [b.classList.contains('confirming'), tops.size, b.textContent, \
                         r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight];",
                line("ok")
            ))
            .await;
        assert_eq!(armed[0], json!(true), "item 3: the phone's delete arms");
        assert_eq!(
            armed[1],
            json!(1),
            "item 3: the armed delete {} fits one line on a phone",
            armed[2]
        );
        pat.screenshot(&screenshot_dir().join("keyboard-delete-armed-phone.png"))
            .await;
        assert_eq!(
            armed[3],
            json!(true),
            "item 3: the armed delete {} is on the phone's screen",
            armed[2]
        );
        let text = armed[2].as_str().unwrap_or_default().to_lowercase();
        assert!(
            !text.contains("click"),
            "item 3: the armed delete says {text:?} on a phone"
        );

        pat.close().await;
        alice.close().await;
        drop(bob);
        server.stop().await;
    });
}

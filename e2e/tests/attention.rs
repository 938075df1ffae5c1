//! Issue 24 in a real browser, the app's half: a name (held by the
//! browser's key) whose read marker reaches the server and her other
//! device as she reads, and who comes back to a room with 80 new messages finds the "New messages" divider,
//! the view opened at it (not at the bottom), the "Jump to first unread"
//! pill once scrolled away, and "Mark as read" putting it all away; the
//! tab title counts what is unread; a message that mentions me is
//! highlighted; the composer's `@` autocomplete picks a name by keyboard
//! and by touch, inserting the shared mention token. The page is audited
//! with the divider showing and with the autocomplete open.
//!
//! One walk: Alice in a browser and, with the same key, on a socket (her
//! other device, reading her marker with `list_rooms`); Bob and Boris as
//! plain socket clients (the room's people, and the 80 messages' author).
//!
//! Then, away in another room with the tab hidden: counts live in the
//! side panel, a notification for the mention (permission granted through
//! CDP `Browser.grantPermissions`), and reading on her other device
//! clearing the count.

use chat_e2e::{
    browser_test, message_line, screenshot_dir, ChatClient, Driver, Options, TestServer,
};
use chat_shared::{ClientFrame, ServerFrame};
use serde_json::json;

/// How many messages Bob writes while Alice is away.
const AWAY: usize = 80;

/// A join of Alice with her browser's `key`: her other device.
fn as_alice(key: &str) -> ClientFrame {
    ClientFrame::Join {
        username: "Alice".into(),
        room: Some("general".into()),
        since: None,
        resume: None,
        join_code: None,
        author_key: Some(key.into()),
        link_code: None,
        device: None,
    }
}

/// The id of the message line showing `text`.
async fn line_id(page: &chat_e2e::Page, text: &str) -> u64 {
    let id = page
        .js(&format!(
            "return {}.getAttribute('data-id');",
            message_line(text)
        ))
        .await;
    id.as_str()
        .and_then(|id| id.parse().ok())
        .expect("a message line has its id")
}

/// Waits until Alice's marker in #general, as `phone` reads it with
/// `list_rooms`, is at least `id`.
async fn until_marker(phone: &mut ChatClient, id: u64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        phone.send(&ClientFrame::ListRooms).await;
        let read = loop {
            if let ServerFrame::Rooms { rooms } = phone.next_frame().await {
                break rooms
                    .into_iter()
                    .find(|room| room.name == "general")
                    .and_then(|room| room.read);
            }
        };
        if read >= Some(id) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Alice's marker stayed at {read:?}, not {id}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Makes the tab look hidden to the app (`document.hidden`, and the
/// event) and records each notification it constructs in
/// `window.__shown`, still showing it.
const HIDE_AND_PROBE: &str = "Object.defineProperty(document, 'hidden', { get: () => true }); \
     Object.defineProperty(document, 'visibilityState', { get: () => 'hidden' }); \
     document.dispatchEvent(new Event('visibilitychange')); \
     window.__shown = []; const Real = window.Notification; \
     window.Notification = class extends Real { constructor(title, options) { \
       super(title, options); window.__shown.push({ title, body: options.body, tag: options.tag }); } }; \
     return true;";

/// Whether the divider's top is inside the message list's visible area.
const DIVIDER_IN_VIEW: &str = "const d = document.querySelector('#unread-divider'); \
     const l = document.querySelector('.messages'); if (!d || !l) return false; \
     const r = d.getBoundingClientRect(), v = l.getBoundingClientRect(); \
     return r.top >= v.top - 1 && r.top < v.bottom;";

/// The composer's text.
const DRAFT: &str = "return document.querySelector('#composer-input').value";

/// The names the open autocomplete offers, in order.
const OPTIONS: &str = "return [...document.querySelectorAll('#mention-list [role=option]')] \
     .map(o => o.textContent);";

#[test]
fn a_return_to_eighty_new_messages_and_mentions_by_keyboard_and_touch() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let mut bob = ChatClient::join(&server, "Bob", None).await;
        let boris = ChatClient::join(&server, "Boris", None).await;
        bob.say("before you left", "b-0".into()).await;

        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;
        alice.wait_for_message("before you left").await;
        // Seen in view on a visible tab: the marker reaches the server, and
        // her other device reads it there.
        let key = alice
            .js("return localStorage.getItem('chat.author_key')")
            .await;
        let key = key.as_str().expect("the app made Alice a key").to_owned();
        let (mut phone, _) = ChatClient::join_with(&server, &as_alice(&key)).await;
        let first = line_id(&alice, "before you left").await;
        until_marker(&mut phone, first).await;

        // Away in another room while Bob writes 80 messages, one calling her.
        alice.js("location.hash = '#/r/elsewhere'").await;
        alice
            .wait_until(
                "Alice is in #elsewhere",
                "return document.querySelector('#room-name').textContent === 'elsewhere' \
                 && document.querySelector('#composer-input') !== null",
            )
            .await;
        for n in 1..=AWAY {
            let text = if n == 3 {
                "news 3, @Alice look".to_owned()
            } else {
                format!("news {n}")
            };
            bob.say(&text, format!("b-{n}")).await;
        }

        alice.js("location.hash = '#/r/general'").await;
        alice.wait_for_message(&format!("news {AWAY}")).await;
        alice
            .wait_until(
                "the divider sits right above the first new message",
                "const d = document.querySelector('#unread-divider'); \
                 const next = d && d.nextElementSibling; \
                 return !!next && next.querySelector('.text').textContent === 'news 1';",
            )
            .await;
        alice
            .wait_until(
                "the view opens at the divider, not at the bottom",
                DIVIDER_IN_VIEW,
            )
            .await;
        let at_bottom = alice
            .js("const l = document.querySelector('.messages'); \
                 return l.scrollHeight - l.scrollTop - l.clientHeight < 48;")
            .await;
        assert_eq!(at_bottom, json!(false), "80 new messages do not fit");
        alice
            .wait_until(
                "the title counts the unread messages",
                "return /^\\(\\d+\\) WebSocket Chat$/.test(document.title)",
            )
            .await;
        // The mention is highlighted.
        alice
            .wait_until(
                "the message mentioning Alice is highlighted",
                &format!(
                    "const li = {}; return !!li && li.classList.contains('calls-me');",
                    message_line("news 3, @Alice look")
                ),
            )
            .await;
        let others = alice
            .js("return document.querySelectorAll('#timeline li.msg.calls-me').length")
            .await;
        assert_eq!(others, json!(1), "only the message that mentions her");
        // The README's picture: the divider and the highlighted mention
        // (scrolled so both show).
        alice
            .js(&format!(
                "{}.scrollIntoView({{block: 'center', behavior: 'instant'}}); \
                 return new Promise(done => setTimeout(() => done(true), 400));",
                message_line("news 3, @Alice look")
            ))
            .await;
        alice
            .screenshot(&screenshot_dir().join("attention.png"))
            .await;
        alice
            .audit_accessibility("the unread divider and its bar")
            .await;

        // Scrolled to the bottom, the pill leads back to the divider.
        alice
            .js("const l = document.querySelector('.messages'); l.scrollTop = l.scrollHeight;")
            .await;
        alice
            .wait_until(
                "the jump pill shows",
                "return document.querySelector('#jump-to-unread') !== null",
            )
            .await;
        alice.click("#jump-to-unread").await;
        alice
            .wait_until("the jump brings the divider into view", DIVIDER_IN_VIEW)
            .await;
        alice.click("#mark-as-read").await;
        alice
            .wait_until(
                "Mark as read puts the divider and the count away",
                "return document.querySelector('#unread-divider') === null \
                 && document.querySelector('#mark-as-read') === null \
                 && document.title === 'WebSocket Chat'",
            )
            .await;
        let newest = line_id(&alice, &format!("news {AWAY}")).await;
        until_marker(&mut phone, newest).await;

        // `@` by keyboard: both B-names offered, the second picked.
        alice.type_in_composer("hi @bo").await;
        alice
            .wait_until(
                "the autocomplete offers Bob and Boris",
                "const o = [...document.querySelectorAll('#mention-list [role=option]')] \
                   .map(o => o.textContent).sort(); \
                 return o.length === 2 && o[0] === 'Bob' && o[1] === 'Boris';",
            )
            .await;
        let offered = alice.js(OPTIONS).await;
        let second = offered[1].as_str().unwrap_or_default().to_owned();
        let active = alice
            .js("return document.querySelector('#composer-input').getAttribute('aria-activedescendant')")
            .await;
        assert_eq!(active, json!("mention-option-0"));
        alice.audit_accessibility("the @ autocomplete open").await;
        alice.type_in_composer("\u{E015}").await; // ArrowDown
        alice.type_in_composer("\u{E007}").await; // Enter picks, does not send
        assert_eq!(alice.js(DRAFT).await, json!(format!("hi @{second} ")));
        assert_eq!(
            alice
                .js("return document.querySelector('#mention-list') === null")
                .await,
            json!(true)
        );

        // `@` by touch: filtered to one, tapped.
        alice.fill("#composer-input", "@bor").await;
        alice
            .wait_until(
                "the autocomplete narrows to Boris",
                "const o = [...document.querySelectorAll('#mention-list [role=option]')]; \
                 return o.length === 1 && o[0].textContent === 'Boris';",
            )
            .await;
        let spot = alice
            .js(
                "const r = document.querySelector('#mention-option-0').getBoundingClientRect(); \
                 return [r.left + r.width / 2, r.top + r.height / 2];",
            )
            .await;
        let (x, y) = (
            spot[0].as_f64().unwrap_or(0.0),
            spot[1].as_f64().unwrap_or(0.0),
        );
        alice
            .cdp(
                "Emulation.setTouchEmulationEnabled",
                json!({"enabled": true, "maxTouchPoints": 1}),
            )
            .await;
        alice
            .cdp(
                "Input.dispatchTouchEvent",
                json!({"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}),
            )
            .await;
        alice
            .cdp(
                "Input.dispatchTouchEvent",
                json!({"type": "touchEnd", "touchPoints": []}),
            )
            .await;
        alice
            .wait_until(
                "the tap inserted Boris's token",
                "return document.querySelector('#composer-input').value === '@Boris '",
            )
            .await;
        // A name with a space gets the bracketed token.
        assert_eq!(
            chat_shared::mention::mention_token("Anna Maria"),
            "@[Anna Maria]"
        );

        // Away again, in #elsewhere with the tab hidden: news in #general
        // counts live in the side panel, the mention apart, and the
        // mention shows a notification (permission granted through CDP,
        // the page's Notification wrapped by a probe that records it).
        alice
            .cdp(
                "Browser.grantPermissions",
                json!({ "permissions": ["notifications"], "origin": server.url().trim_end_matches('/') }),
            )
            .await;
        alice.js("location.hash = '#/r/elsewhere'").await;
        alice
            .wait_until(
                "Alice is in #elsewhere again",
                "return document.querySelector('#room-name').textContent === 'elsewhere' \
                 && document.querySelector('#composer-input') !== null",
            )
            .await;
        alice.js(HIDE_AND_PROBE).await;
        bob.say("later news", "b-later".into()).await;
        bob.say("@Alice one more thing", "b-call".into()).await;
        alice
            .wait_until(
                "#general counts what is unread, the mention apart",
                "const li = document.querySelector('li.room[data-room=\"general\"]'); \
                 const u = li && li.querySelector('.room-unread [aria-hidden]'); \
                 const m = li && li.querySelector('.room-mentions [aria-hidden]'); \
                 return !!u && !!m && Number(u.textContent) >= 1 && m.textContent === '@1';",
            )
            .await;
        alice
            .wait_until(
                "the mention showed a notification on the hidden tab",
                "return window.__shown.length === 1 \
                 && window.__shown[0].body === '@Alice one more thing' \
                 && window.__shown[0].tag === 'general';",
            )
            .await;
        // Read on her other device: the count here goes away.
        let newest = loop {
            if let ServerFrame::Message(message) = phone.next_frame().await {
                if message.text == "@Alice one more thing" {
                    break message.id;
                }
            }
        };
        phone
            .send(&ClientFrame::MarkRead {
                room: "general".into(),
                id: newest,
            })
            .await;
        alice
            .wait_until(
                "reading on the other device clears #general's count",
                "const li = document.querySelector('li.room[data-room=\"general\"]'); \
                 return !!li && li.querySelector('.room-unread') === null;",
            )
            .await;

        phone.leave().await;
        boris.leave().await;
        bob.leave().await;
        alice.close().await;
        server.stop().await;
    });
}

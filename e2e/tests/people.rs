//! Issue 23 in real browsers: a held name linked to a second browser
//! profile (a phone) through the profile menu's link, a direct message
//! that appears live in the recipient's side panel while they are in
//! another room and that a third person cannot find, leaving a room,
//! reporting a message, and a device revoked from another.
//!
//! One walk through the whole flow, with four browser profiles (each its
//! own chromedriver session, so its own localStorage and author key).

use std::time::Duration;

use chat_e2e::page::JOINED;
use chat_e2e::{
    browser_test, message_line, screenshot_dir, Device, Driver, Options, Page, TestServer,
};
use serde_json::json;

/// The link shown in the open link-a-device dialog ("" while none).
const LINK: &str = "const f = document.querySelector('#device-link-url'); return f ? f.value : '';";

/// The devices in the open profile menu as [label, this device].
const DEVICES: &str = "return [...document.querySelectorAll('#device-list li.device')] \
     .map(li => [li.querySelector('.device-label').textContent, li.querySelector('.this-device') !== null]);";

/// The names of the DMs in the side panel, in order.
const DMS: &str = "return [...document.querySelectorAll('#dm-list li.dm .room-title')] \
     .map(e => e.textContent);";

/// Opens the profile menu (if closed) and waits until it lists `count`
/// devices.
async fn devices_listed(page: &Page, what: &str, count: usize) {
    let open = page
        .js("return document.querySelector('#profile-toggle').getAttribute('aria-expanded') === 'true'")
        .await;
    if open != json!(true) {
        page.click("#profile-toggle").await;
    }
    page.wait_until(
        what,
        &format!("return document.querySelectorAll('#device-list li.device').length === {count}"),
    )
    .await;
}

/// Clicks a message's action with a script: the actions show on hover,
/// which WebDriver's click does not give (as in the other action tests).
async fn click_action(page: &Page, text: &str, action: &str) {
    let done = page
        .js(&format!(
            "const li = {}; const b = li && li.querySelector('{action}'); \
             if (!b) return false; b.click(); return true;",
            message_line(text)
        ))
        .await;
    assert_eq!(done, json!(true), "{action} on {text:?}");
}

/// Types `text` into the browser's prompt once it shows, and accepts it.
/// Only the alert commands are sent meanwhile: any other would dismiss it.
async fn answer_prompt(page: &Page, text: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while page.client().get_alert_text().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "no prompt within 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    page.client()
        .send_alert_text(text)
        .await
        .expect("typing into the prompt");
    page.client()
        .accept_alert()
        .await
        .expect("the prompt is accepted");
}

#[test]
fn a_name_is_linked_to_a_second_browser_messaged_privately_and_revoked() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;

        // 1. Alice joins: her name is held by this browser's key, and the
        //    profile menu (her name in the header) offers the link.
        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        alice.join("alice").await;
        assert_eq!(alice.text("#profile-toggle .profile-name").await, "alice");
        alice.click("#profile-toggle").await;
        alice
            .wait_until(
                "the profile menu opens on a held name, the keyboard on its first button",
                "const m = document.querySelector('#profile-menu'); \
                 return !m.hidden && document.activeElement.id === 'link-device-button' \
                     && document.querySelector('#name-not-held') === null;",
            )
            .await;
        alice.click("#link-device-button").await;
        alice
            .wait_until(
                "a link with a 32-digit code and alice's name shows",
                "const f = document.querySelector('#device-link-url'); \
                 return !!f && /\\/#\\/link\\/[0-9a-f]{32}\\?name=alice$/.test(f.value);",
            )
            .await;
        let link = alice.js(LINK).await.as_str().unwrap_or_default().to_owned();
        assert!(
            link.starts_with(&server.url().trim_end_matches('/').to_owned()),
            "the link is on this server: {link}"
        );
        // The QR code is a real drawing, whole on the screen, and the
        // countdown runs from ten minutes.
        let qr = alice
            .js("const s = document.querySelector('#device-link-qr svg'); \
                 if (!s) return null; const r = s.getBoundingClientRect(); \
                 return [Math.round(r.width), Math.round(r.height), r.left >= 0 && r.top >= 0 \
                     && r.right <= innerWidth && r.bottom <= innerHeight, \
                     s.querySelectorAll('path, rect').length > 0];")
            .await;
        assert!(
            qr[0].as_u64().unwrap_or(0) >= 150 && qr[2] == json!(true) && qr[3] == json!(true),
            "the QR code is drawn, at least 150 px, inside the viewport: {qr}"
        );
        alice
            .wait_until(
                "the countdown shows about ten minutes left",
                "return /^Expires in (10:00|9:[0-5]\\d)$/.test(document.querySelector('#device-link-expiry').textContent)",
            )
            .await;
        devices_listed(&alice, "alice's menu lists her one device", 1).await;
        assert_eq!(
            alice.js(DEVICES).await[0][1],
            json!(true),
            "the one device is this one"
        );
        alice
            .audit_accessibility("the open profile menu with a device link")
            .await;
        // Escape closes the menu and the keyboard is back on its button.
        alice
            .client()
            .active_element()
            .await
            .expect("a focused element")
            .send_keys("\u{e00c}")
            .await
            .expect("Escape");
        alice
            .wait_until(
                "Escape closes the menu, focus back on the button",
                "return document.querySelector('#profile-menu').hidden \
                     && document.activeElement.id === 'profile-toggle'",
            )
            .await;

        // 2. A second browser profile, a phone, opens the link: it is
        //    alice too, and the address no longer shows the code.
        let alice2 = driver
            .browser(Options {
                device: Device::Phone,
                ..Options::default()
            })
            .await;
        alice2.open(&link).await;
        alice2
            .wait_until("the linked browser joins by itself", JOINED)
            .await;
        assert_eq!(
            alice2.text("#profile-toggle .profile-name").await,
            "alice",
            "the second browser is alice"
        );
        // On the phone the menu fits the screen, and lists this device
        // after the first.
        devices_listed(&alice2, "the phone's menu lists both devices", 2).await;
        assert_eq!(
            alice2.js(DEVICES).await[1][1],
            json!(true),
            "on the phone, the second device is this one"
        );
        let fits = alice2
            .js(
                "const r = document.querySelector('#profile-menu').getBoundingClientRect(); \
                 const t = document.querySelector('#profile-toggle').getBoundingClientRect(); \
                 return r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.width > 300 \
                     && t.width >= 44 && t.height >= 44;",
            )
            .await;
        assert_eq!(
            fits,
            json!(true),
            "the phone's menu is inside the screen, its button a full tap target"
        );
        alice2
            .audit_accessibility("the profile menu on a phone")
            .await;
        alice2.click("#profile-toggle").await;
        assert_eq!(
            alice2.js("return location.hash").await,
            json!("#/r/general"),
            "the link's code is gone from the address"
        );
        devices_listed(&alice, "alice's first browser lists two devices", 2).await;
        let devices = alice.js(DEVICES).await;
        assert_eq!(
            (devices[0][1].clone(), devices[1][1].clone()),
            (json!(true), json!(false)),
            "the first is this one, the second the linked one: {devices}"
        );
        assert!(
            devices[1][0]
                .as_str()
                .is_some_and(|l| l.contains("Chrom") && l.contains(" on ")),
            "the device is labelled by its browser: {devices}"
        );
        alice.click("#profile-toggle").await;

        // 3. Bob says hello in #general, then goes to another room; alice
        //    messages him from his message's actions and lands in the DM.
        let bob = driver.browser(Options::default()).await;
        bob.open(&server.url()).await;
        bob.join("bob").await;
        bob.send("hello from bob").await;
        alice.wait_for_message("hello from bob").await;
        bob.open(&format!("{}#/r/elsewhere", server.url())).await;
        bob.wait_until("bob is in #elsewhere", JOINED).await;
        bob.wait_until(
            "bob is in #elsewhere",
            "return document.querySelector('#room-list li.room.current').dataset.room === 'elsewhere'",
        )
        .await;
        click_action(&alice, "hello from bob", ".action-dm").await;
        alice
            .wait_until(
                "alice is in the DM with bob, listed under Direct messages",
                "return location.hash.startsWith('#/r/dm-') \
                     && document.querySelector('#dm-list li.dm.current .room-title')?.textContent === 'bob'",
            )
            .await;
        let dm_room = alice
            .js("return decodeURIComponent(location.hash.slice('#/r/'.length))")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned();
        alice.wait_until("alice is joined in the DM", JOINED).await;
        alice.send("psst, bob").await;
        assert_eq!(
            alice.text("#room-name").await,
            "bob",
            "the DM is headed by the other's name, not its room name"
        );

        // The DM appears in bob's side panel, live, with a dot that says
        // there is something new; opening it shows the message and clears it.
        bob.wait_until_for(
            "the DM with alice appears in bob's side panel with a news dot",
            "const li = [...document.querySelectorAll('#dm-list li.dm')] \
                 .find(li => li.querySelector('.room-title').textContent === 'alice'); \
             return !!li && li.querySelector('.room-news') !== null \
                 && li.querySelector('.room-news').textContent.includes('new messages') \
                 && document.querySelector('#dms-heading').textContent === 'Direct messages';",
            Duration::from_secs(10),
        )
        .await;
        bob.audit_accessibility("the side panel with a DM and its news dot")
            .await;
        bob.click("#dm-list li.dm .room-link").await;
        bob.wait_for_message("psst, bob").await;
        bob.wait_until(
            "the dot is gone once bob is in the DM",
            "return document.querySelector('#dm-list li.dm.current .room-news') === null",
        )
        .await;
        bob.send("hi alice, got it").await;
        alice.wait_for_message("hi alice, got it").await;
        // Bob's rooms come first in his list, and he can leave one of them.
        let leave = "#room-list li.room[data-room='elsewhere'] .leave-room";
        bob.wait_until(
            "#elsewhere is one of bob's rooms, with a way to leave it",
            &format!("return document.querySelector(\"{leave}\") !== null"),
        )
        .await;
        bob.click(leave).await;
        bob.wait_until(
            "#elsewhere is no longer one of bob's rooms",
            &format!("return document.querySelector(\"{leave}\") === null"),
        )
        .await;

        // 4. Carol cannot find it: not in her panel, and neither the
        //    address nor the room box takes her in.
        let carol = driver.browser(Options::default()).await;
        carol.open(&server.url()).await;
        carol.join("carol").await;
        carol.send("carol is here").await;
        assert_eq!(carol.js(DMS).await, json!([]), "carol lists no DM");
        let not_hers =
            "return document.body.innerText.includes('That conversation is not open to you.') \
             && location.hash === '#/r/general'";
        carol.js(&format!("location.hash = '#/r/{dm_room}'")).await;
        carol
            .wait_until(
                "the DM's address is refused as not hers, and she is back in #general",
                not_hers,
            )
            .await;
        carol.wait_until("carol is back in #general", JOINED).await;
        assert!(
            !carol.texts().await.contains(&"psst, bob".to_owned()),
            "carol never sees the DM's message"
        );
        // Carol reports bob's message in #general, with a reason.
        carol.wait_for_message("hello from bob").await;
        carol
            .js(&format!(
                "const b = {}.querySelector('.action-report'); setTimeout(() => b.click(), 0); return true;",
                message_line("hello from bob")
            ))
            .await;
        answer_prompt(&carol, "spam").await;
        carol
            .wait_until(
                "the report is confirmed",
                "return document.querySelector('.notice-bar')?.textContent.includes('the moderators will see this message')",
            )
            .await;
        carol.click(".notice-bar button").await;
        carol.fill("#new-room-name", &dm_room).await;
        carol.click("#new-room-create").await;
        carol
            .wait_until("the room box is refused the same way", not_hers)
            .await;
        assert_eq!(carol.js(DMS).await, json!([]), "carol still lists no DM");
        // Her own DM with alice (whose phone is in #general) opens from
        // "Message" beside alice in the online list; it is the only one
        // carol lists.
        carol.wait_until("carol is back in #general", JOINED).await;
        carol
            .wait_until(
                "alice is in carol's online list, with Message",
                "return [...document.querySelectorAll('#user-list li.user')] \
                     .some(li => li.querySelector('.user-name').textContent === 'alice' \
                         && li.querySelector('.user-dm') !== null)",
            )
            .await;
        carol
            .js("[...document.querySelectorAll('#user-list li.user')] \
                 .find(li => li.querySelector('.user-name').textContent === 'alice') \
                 .querySelector('.user-dm').click()")
            .await;
        carol
            .wait_until(
                "carol is in her DM with alice, the only one she lists",
                &format!(
                    "return document.querySelector('#room-name').textContent === 'alice' \
                         && location.hash !== '#/r/{dm_room}' \
                         && JSON.stringify([...document.querySelectorAll('#dm-list .room-title')] \
                             .map(e => e.textContent)) === '[\"alice\"]'"
                ),
            )
            .await;

        // 5. Alice removes her second browser from the first: it shows the
        //    join form saying so, and does not come back.
        devices_listed(&alice, "alice's menu lists two devices again", 2).await;
        let revoke = "[...document.querySelectorAll('#device-list li.device')] \
             .find(li => li.querySelector('.this-device') === null).querySelector('.revoke-device')";
        alice.js(&format!("{revoke}.click()")).await;
        alice
            .wait_until(
                "Remove asks to be pressed again",
                &format!("return {revoke}.textContent === 'Really remove?'"),
            )
            .await;
        alice.js(&format!("{revoke}.click()")).await;
        alice2
            .wait_until(
                "the removed browser shows the join form with the notice",
                "return document.querySelector('#name-input') !== null \
                     && document.querySelector('#name-error').textContent === 'This device was removed from alice.'",
            )
            .await;
        devices_listed(&alice, "alice is down to one device", 1).await;
        let before = alice2.socket_stats().await;
        assert_eq!(before.live, 0, "the removed browser holds no socket");
        // Long enough for several reconnect attempts, had there been any.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            alice2.socket_stats().await.created,
            before.created,
            "the removed browser does not reconnect"
        );
        assert_eq!(
            alice2
                .js("return document.querySelector('#name-input') !== null")
                .await,
            json!(true),
            "still on the join form"
        );

        // For the README: the DM list and the link-a-device dialog.
        alice.click("#link-device-button").await;
        alice
            .wait_until(
                "a new link shows",
                "return document.querySelector('#device-link-qr svg') !== null",
            )
            .await;
        // Written on every run under target/; docs/screenshot-people.png
        // is a copy of it.
        alice.screenshot(&screenshot_dir().join("people.png")).await;

        for page in [alice, alice2, bob, carol] {
            page.close().await;
        }
        server.stop().await;
    });
}

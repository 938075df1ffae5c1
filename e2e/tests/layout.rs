//! Where the message actions and the composer's bars sit, measured in a
//! real headless Chromium (issue 22, items 1, 2, 3, 4 and 10): on a phone
//! (390 x 844, touch) the reply and edit bars fit the screen with their
//! Cancel tappable and the edited message in sight, the reaction picker
//! shows all its emoji on the last message, and the actions of a long
//! press cover no text and go away after a reply, a reaction or a scroll;
//! on a desktop the hover toolbar leaves the author line readable, and a
//! message on its way sits exactly where it will sit once confirmed.
//!
//! Every check is geometry: bounding boxes against the viewport and the
//! message list, and what `elementFromPoint` finds (what a finger would
//! hit). A failed check is recorded with the item it proves and the flow
//! goes on, so one run against a broken app lists every defect.
//!
//! The test also writes the phone screenshots the README shows (light and
//! dark, a reply with the reaction picker open, an edit in progress) to
//! [`screenshot_dir`].

use std::time::{Duration, Instant};

use chat_e2e::{browser_test, screenshot_dir, Device, Driver, Options, Page, TestServer};
use fantoccini::actions::{InputSource, PointerAction, TouchActions, MOUSE_BUTTON_LEFT};
use serde_json::{json, Value};

/// The phone's 390 x 844 screen at 1x instead of 3x, as the desktop
/// screenshots are: the same layout in CSS pixels, a ninth of the pixels.
async fn phone_at_1x(page: &Page) {
    let params = json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true });
    page.cdp("Emulation.setDeviceMetricsOverride", params).await;
}

/// Functions the scripts below share: boxes, overlap, and whether a
/// finger on an element's centre would reach it.
const GEOMETRY: &str = "
  const box = (e) => e.getBoundingClientRect();
  const line = (text) => [...document.querySelectorAll('#timeline li.msg')]
    .find(li => { const t = li.querySelector('.text'); return t && t.textContent === text; });
  const inside = (r, o) => r.width > 0 && r.height > 0 && r.left >= o.left - 0.5
    && r.right <= o.right + 0.5 && r.top >= o.top - 0.5 && r.bottom <= o.bottom + 0.5;
  const overlap = (a, b) => a.width > 0 && a.height > 0 && b.width > 0 && b.height > 0
    && a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const screen = () => ({ left: 0, top: 0, right: innerWidth, bottom: innerHeight });
  const list = () => box(document.querySelector('.messages'));
  const reachable = (e) => {
    if (!e) return false;
    const r = box(e);
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (!inside(r, screen())) return false;
    const hit = document.elementFromPoint(x, y);
    return hit !== null && e.contains(hit) && Number(getComputedStyle(e).opacity) > 0.5;
  };
  const toolbar = (text) => { const li = line(text); return li && li.querySelector('.msg-actions'); };
  const textBox = (e) => { const r = document.createRange(); r.selectNodeContents(e); return r.getBoundingClientRect(); };
";

/// Runs `body` after [`GEOMETRY`] on `page`.
async fn measure(page: &Page, body: &str) -> Value {
    page.js(&format!("{GEOMETRY}\n{body}")).await
}

/// What failed, each naming the issue item it proves.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    /// Waits up to a few seconds until `body` (after [`GEOMETRY`]) returns
    /// true; records `claim` as failed otherwise, with what `shown`
    /// returned, and goes on.
    async fn expect(&mut self, page: &Page, claim: &str, body: &str, shown: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(4);
        loop {
            if measure(page, body).await == Value::Bool(true) {
                return true;
            }
            if Instant::now() > deadline {
                let seen = measure(page, shown).await;
                self.0.push(format!("{claim}: {seen}"));
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails the test listing every failed claim.
    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} layout claim(s) failed:\n  - {}",
            self.0.len(),
            self.0.join("\n  - ")
        );
    }
}

/// The centre of the element `script` (after [`GEOMETRY`]) returns, in
/// viewport pixels.
async fn centre(page: &Page, script: &str) -> (f64, f64) {
    let at = measure(
        page,
        &format!(
            "const e = (() => {{ {script} }})(); if (!e) return null; \
             const r = box(e); return [r.left + r.width / 2, r.top + r.height / 2];"
        ),
    )
    .await;
    match (at[0].as_f64(), at[1].as_f64()) {
        (Some(x), Some(y)) => (x, y),
        _ => panic!("nothing to touch: {script}"),
    }
}

/// A finger on `(x, y)` for `hold`, then lifted.
async fn touch(page: &Page, (x, y): (f64, f64), hold: Duration) {
    let finger = TouchActions::new("finger".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: x.round(),
            y: y.round(),
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .pause(hold)
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    page.client()
        .perform_actions(finger)
        .await
        .expect("the touch is performed");
}

/// A tap on the element `script` returns. One off the screen (a defect a
/// check has already recorded) is clicked through the DOM instead, so the
/// flow goes on to the next check.
async fn tap(page: &Page, script: &str) {
    let (x, y) = centre(page, script).await;
    let on_screen = measure(
        page,
        &format!("return {x} >= 0 && {y} >= 0 && {x} < innerWidth && {y} < innerHeight"),
    )
    .await;
    if on_screen == Value::Bool(true) {
        touch(page, (x, y), Duration::from_millis(60)).await;
    } else {
        measure(page, &format!("(() => {{ {script} }})().click()")).await;
    }
}

/// A long press on the bubble of message `text`.
async fn long_press(page: &Page, text: &str) {
    let at = centre(
        page,
        &format!("return line({}).querySelector('.text')", json!(text)),
    )
    .await;
    touch(page, at, Duration::from_millis(800)).await;
}

/// A finger dragged over the message list from `from_y` to `to_y`, as a
/// person scrolls.
async fn drag_list(page: &Page, x: f64, from_y: f64, to_y: f64) {
    let finger = TouchActions::new("finger".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: x.round(),
            y: from_y.round(),
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(300)),
            x: x.round(),
            y: to_y.round(),
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    page.client()
        .perform_actions(finger)
        .await
        .expect("the drag is performed");
}

/// Scrolls the message list to its end at once (not gliding), where a
/// person reading the newest messages is.
async fn to_the_bottom(page: &Page) {
    page.js("const m = document.querySelector('.messages'); \
         m.scrollTo({ top: m.scrollHeight, behavior: 'instant' });")
        .await;
}

/// Waits until the message list has stopped moving (a fling goes on after
/// the finger lifts).
async fn settle(page: &Page) {
    page.wait_until(
        "the list stops scrolling",
        "const top = document.querySelector('.messages').scrollTop; \
         const still = window.__layoutTop === top; window.__layoutTop = top; return still;",
    )
    .await;
}

/// A script body: true once the actions of message `text` are shown and
/// reachable.
fn actions_shown(text: &str) -> String {
    format!("return reachable(toolbar({}));", json!(text))
}

/// A script body: true once the actions of message `text` are gone.
fn actions_gone(text: &str) -> String {
    format!("return !reachable(toolbar({}));", json!(text))
}

/// A script body: the box of the actions of `text`, to print.
fn actions_box(text: &str) -> String {
    format!(
        "const t = toolbar({}); return t ? [JSON.stringify(box(t)), getComputedStyle(t).opacity] : null;",
        json!(text)
    )
}

/// A script body: true when the actions of `text` cover no message's
/// text, author line or time (their own message's included).
fn actions_cover_nothing(text: &str) -> String {
    format!(
        "const t = box(toolbar({}));
         return [...document.querySelectorAll('#timeline .msg .text, #timeline .msg .author bdi, \
             #timeline .msg .author .you, #timeline .msg time')]
           .every(e => !overlap(t, textBox(e)));",
        json!(text)
    )
}

/// A script body: what the actions of `text` cover, to print.
fn actions_covered(text: &str) -> String {
    format!(
        "const t = box(toolbar({0}));
         return [...document.querySelectorAll('#timeline .msg .text, #timeline .msg .author bdi, \
             #timeline .msg .author .you, #timeline .msg time')]
           .filter(e => overlap(t, textBox(e))).map(e => e.textContent.slice(0, 30));",
        json!(text)
    )
}

/// A script body: true when the bar above the composer fits the screen
/// and its Cancel can be tapped.
const BAR_FITS: &str = "const bar = document.querySelector('#composer-mode');
     return bar !== null && inside(box(bar), screen())
       && reachable(bar.querySelector('.cancel-mode'));";

/// A script body: the bar's and its Cancel's boxes, to print.
const BAR_BOXES: &str = "const bar = document.querySelector('#composer-mode');
     return bar && [JSON.stringify(box(bar)), JSON.stringify(box(bar.querySelector('.cancel-mode'))), innerWidth];";

/// A script body: true when all eight emoji of the open picker are inside
/// the screen and the message list's visible area, and nothing covers them.
const PICKER_FITS: &str =
    "const picks = [...document.querySelectorAll('.reaction-picker:not([hidden]) .pick')];
     return picks.length === 8 && picks.every(p => inside(box(p), list()) && reachable(p));";

/// A script body: the picker's emoji that do not fit, to print.
const PICKER_MISFITS: &str = "const picks = [...document.querySelectorAll('.reaction-picker:not([hidden]) .pick')];
     return [picks.length, JSON.stringify(list()), picks.filter(p => !(inside(box(p), list()) && reachable(p)))
       .map(p => p.textContent + ' ' + JSON.stringify(box(p)))];";

const PAT_HI: &str = "Hi!";
const MORNING: &str = "Morning! Who is around today?";
const PAT_FIRST: &str = "Here, reading on the phone";
const PAT_LAST: &str = "And a grouped one of mine";

/// Several lines of earlier talk, so the phone's list scrolls.
fn earlier(n: usize) -> String {
    (1..=6)
        .map(|i| format!("Earlier note {n}, line {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A message long enough to fill a phone's width many times over.
fn long_message() -> String {
    "This message is long on purpose, so that a quote of it would run off a narrow screen: "
        .repeat(4)
        .trim_end()
        .to_owned()
}

#[test]
fn message_actions_and_composer_bars_fit_the_phone_and_leave_text_readable() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let alice = driver.browser(Options::default()).await;
        let pat = driver
            .browser(Options {
                device: Device::Phone,
                ..Options::default()
            })
            .await;
        phone_at_1x(&pat).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;
        pat.open(&server.url()).await;
        pat.join("Pat").await;
        let long = long_message();
        for n in 1..=3 {
            alice.send(&earlier(n)).await;
        }
        alice.wait_for_message(&earlier(3)).await;
        pat.send(PAT_HI).await;
        alice.wait_for_message(PAT_HI).await;
        alice.send(MORNING).await;
        alice.send(&long).await;
        alice.wait_for_message(&long).await;
        pat.wait_for_message(&long).await;
        pat.send(PAT_FIRST).await;
        pat.wait_for_message(PAT_FIRST).await;
        pat.send(PAT_LAST).await;
        pat.wait_for_message(PAT_LAST).await;
        alice.wait_for_message(PAT_LAST).await;
        let mut failures = Failures::default();

        // Item 4: on a desktop the toolbar leaves the author line readable,
        // on my message ("Alice · you") and on another's short one.
        // Headless Chromium has no hovering mouse (`(hover: hover)` is
        // false), so keyboard focus shows the toolbar: at the same place.
        for text in [MORNING, PAT_HI] {
            alice
                .js(&format!(
                    "{GEOMETRY} line({}).querySelector('.action-reply').focus()",
                    json!(text)
                ))
                .await;
            alice
                .wait_until(
                    "the focused message shows its actions",
                    &format!("{GEOMETRY} {}", actions_shown(text)),
                )
                .await;
            let author_clear = format!(
                "const li = line({}); const t = box(li.querySelector('.msg-actions'));
                 return [...li.querySelectorAll('.author bdi, .author .you')]
                   .every(e => !overlap(t, textBox(e)));",
                json!(text)
            );
            failures
                .expect(
                    &alice,
                    &format!("item 4: the desktop toolbar of {text:?} covers its author line"),
                    &author_clear,
                    &actions_box(text),
                )
                .await;
        }

        // Item 2, desktop: the picker on the last message fits too.
        let react_on_last = format!(
            "{GEOMETRY} const b = line({}).querySelector('.action-react'); b.focus(); b.click();",
            json!(PAT_LAST)
        );
        alice.js(&react_on_last).await;
        failures
            .expect(
                &alice,
                "item 2: the desktop picker on the last message does not fit the list",
                PICKER_FITS,
                PICKER_MISFITS,
            )
            .await;
        alice.js(&react_on_last).await;
        alice.js("document.activeElement.blur()").await;

        // Item 3: a tap is not a hover; it shows no actions.
        tap(
            &pat,
            &format!("return line({}).querySelector('.text')", json!(MORNING)),
        )
        .await;
        failures
            .expect(
                &pat,
                "item 3: a tap on a phone shows the hover toolbar",
                &actions_gone(MORNING),
                &actions_box(MORNING),
            )
            .await;

        // Item 1: a long press, then Reply: the bar fits and its Cancel
        // can be tapped; item 3: the actions cover no text, and go.
        long_press(&pat, &long).await;
        pat.wait_until(
            "a long press shows the actions",
            &format!("{GEOMETRY} {}", actions_shown(&long)),
        )
        .await;
        failures
            .expect(
                &pat,
                "item 3: the actions of a long press cover text",
                &actions_cover_nothing(&long),
                &actions_covered(&long),
            )
            .await;
        tap(
            &pat,
            &format!(
                "return toolbar({}).querySelector('.action-reply')",
                json!(long)
            ),
        )
        .await;
        pat.wait_until(
            "the reply bar shows",
            "return document.querySelector('#composer-mode.replying') !== null",
        )
        .await;
        failures
            .expect(
                &pat,
                "item 1: the reply bar does not fit the phone, or its Cancel cannot be tapped",
                BAR_FITS,
                BAR_BOXES,
            )
            .await;
        failures
            .expect(
                &pat,
                "item 3: the actions stay after Reply",
                &actions_gone(&long),
                &actions_box(&long),
            )
            .await;

        // Item 2: the picker on the last message, a grouped one of mine,
        // fits the list; item 3: the actions do not hide its text.
        to_the_bottom(&pat).await;
        long_press(&pat, PAT_LAST).await;
        pat.wait_until(
            "a long press on the last message shows its actions",
            &format!("{GEOMETRY} {}", actions_shown(PAT_LAST)),
        )
        .await;
        failures
            .expect(
                &pat,
                "item 3: the actions of a grouped message of mine hide text",
                &actions_cover_nothing(PAT_LAST),
                &actions_covered(PAT_LAST),
            )
            .await;
        tap(
            &pat,
            &format!(
                "return toolbar({}).querySelector('.action-react')",
                json!(PAT_LAST)
            ),
        )
        .await;
        failures
            .expect(
                &pat,
                "item 2: the picker on the last message does not fit the phone's list",
                PICKER_FITS,
                PICKER_MISFITS,
            )
            .await;
        for dark in [false, true] {
            pat.set_dark_mode(dark).await;
            let theme = if dark { "dark" } else { "light" };
            pat.screenshot(&screenshot_dir().join(format!("phone-reply-picker-{theme}.png")))
                .await;
            failures.0.extend(
                pat.accessibility_failures(&format!("the phone's open picker, {theme}"))
                    .await,
            );
        }
        pat.set_dark_mode(false).await;
        tap(
            &pat,
            &format!(
                "return toolbar({}).querySelector('.pick[data-emoji=\"👍\"]')",
                json!(PAT_LAST)
            ),
        )
        .await;
        alice
            .wait_until(
                "Alice sees Pat's reaction",
                &format!(
                    "{GEOMETRY} return line({}).querySelector('.reaction') !== null",
                    json!(PAT_LAST)
                ),
            )
            .await;
        failures
            .expect(
                &pat,
                "item 3: the actions stay after a reaction",
                &actions_gone(PAT_LAST),
                &actions_box(PAT_LAST),
            )
            .await;
        tap(
            &pat,
            "return document.querySelector('#composer-mode .cancel-mode')",
        )
        .await;
        pat.wait_until(
            "Cancel ends the reply",
            "return document.querySelector('#composer-mode') === null",
        )
        .await;

        // Item 3: scrolling puts the actions away.
        long_press(&pat, &long).await;
        pat.wait_until(
            "a long press shows the actions again",
            &format!("{GEOMETRY} {}", actions_shown(&long)),
        )
        .await;
        let before = measure(&pat, "return document.querySelector('.messages').scrollTop").await;
        let (x, top, bottom) = {
            let r = measure(
                &pat,
                "const r = list(); return [r.left + 6, r.top, r.bottom];",
            )
            .await;
            (
                r[0].as_f64().unwrap_or_default(),
                r[1].as_f64().unwrap_or_default(),
                r[2].as_f64().unwrap_or_default(),
            )
        };
        drag_list(&pat, x, top + 40.0, bottom - 40.0).await;
        pat.wait_until(
            "the drag scrolls the list",
            &format!("return document.querySelector('.messages').scrollTop < {before}"),
        )
        .await;
        failures
            .expect(
                &pat,
                "item 3: the actions stay after scrolling",
                &actions_gone(&long),
                &actions_box(&long),
            )
            .await;
        // A scroll that starts on the message itself puts them away too.
        settle(&pat).await;
        measure(
            &pat,
            &format!(
                "line({}).scrollIntoView({{ block: 'center', behavior: 'instant' }})",
                json!(long)
            ),
        )
        .await;
        long_press(&pat, &long).await;
        pat.wait_until(
            "a long press shows the actions once more",
            &format!("{GEOMETRY} {}", actions_shown(&long)),
        )
        .await;
        let (x, y) = centre(
            &pat,
            &format!("return line({}).querySelector('.text')", json!(long)),
        )
        .await;
        drag_list(&pat, x, y, y - 150.0).await;
        failures
            .expect(
                &pat,
                "item 3: the actions stay after a scroll started on their message",
                &actions_gone(&long),
                &actions_box(&long),
            )
            .await;

        // Item 1: editing the last message: the bar fits, and the message
        // stays in sight above it.
        to_the_bottom(&pat).await;
        long_press(&pat, PAT_LAST).await;
        pat.wait_until(
            "a long press shows the actions of the last message",
            &format!("{GEOMETRY} {}", actions_shown(PAT_LAST)),
        )
        .await;
        tap(
            &pat,
            &format!(
                "return toolbar({}).querySelector('.action-edit')",
                json!(PAT_LAST)
            ),
        )
        .await;
        pat.wait_until(
            "the edit bar shows",
            "return document.querySelector('#composer-mode.editing') !== null",
        )
        .await;
        failures
            .expect(
                &pat,
                "item 1: the edit bar does not fit the phone, or its Cancel cannot be tapped",
                BAR_FITS,
                BAR_BOXES,
            )
            .await;
        let edited_in_sight = format!(
            "const b = box(line({}).querySelector('.bubble'));
             return inside(b, list()) && !overlap(b, box(document.querySelector('#composer-mode')));",
            json!(PAT_LAST)
        );
        let edited_boxes = format!(
            "return [JSON.stringify(box(line({}).querySelector('.bubble'))), JSON.stringify(list())];",
            json!(PAT_LAST)
        );
        failures
            .expect(
                &pat,
                "item 1: the message being edited is out of sight",
                &edited_in_sight,
                &edited_boxes,
            )
            .await;
        for dark in [false, true] {
            pat.set_dark_mode(dark).await;
            let theme = if dark { "dark" } else { "light" };
            pat.screenshot(&screenshot_dir().join(format!("phone-edit-{theme}.png")))
                .await;
            failures.0.extend(
                pat.accessibility_failures(&format!("the phone's edit bar, {theme}"))
                    .await,
            );
        }
        pat.set_dark_mode(false).await;
        tap(
            &pat,
            "return document.querySelector('#composer-mode .cancel-mode')",
        )
        .await;
        pat.wait_until(
            "Cancel ends the edit",
            "return document.querySelector('#composer-mode') === null",
        )
        .await;

        // Item 10: a message on its way sits where it will once confirmed.
        alice.js("window.__cutSockets(true)").await;
        alice.send_without_waiting("On its way").await;
        alice
            .wait_until(
                "the message waits in the outbox",
                "return document.querySelector('#pending .msg .bubble') !== null",
            )
            .await;
        let waiting = alice
            .js("return document.querySelector('#pending .msg .bubble').getBoundingClientRect().right")
            .await;
        alice.js("window.__cutSockets(false)").await;
        alice.wait_for_message("On its way").await;
        alice
            .wait_until(
                "the outbox is empty",
                "return document.querySelector('#pending .msg') === null",
            )
            .await;
        let confirmed = measure(
            &alice,
            "return box(line('On its way').querySelector('.bubble')).right",
        )
        .await;
        let moved = waiting.as_f64().unwrap_or_default() - confirmed.as_f64().unwrap_or_default();
        if moved.abs() > 0.5 {
            failures.0.push(format!(
                "item 10: the bubble moves {moved} px sideways when confirmed"
            ));
        }

        failures.assert_none();
        alice.close().await;
        pat.close().await;
        server.stop().await;
    });
}

//! Issue 26 in a real browser, the app's half of search. Earlier, a few
//! people talked in #random, #ops and #rust (plain WebSocket clients):
//! Bob said something about tokio in #random with `<b>` in the text, and
//! Alice in #rust, with more said after it, so a fresh page of #rust does
//! not hold it. In #general Alice presses Ctrl+K: the search panel opens
//! with the focus in its box; she types "tokio" and sees both hits, the
//! newest (hers, in #rust) first, the word in a `<mark>`, Bob's `<b>`
//! shown as text; the count is in a live region. ArrowDown moves the
//! selection (the box names it with `aria-activedescendant`), round the
//! list and back; Enter lands in #rust with her message loaded around,
//! scrolled into view and highlighted. `/` opens the search again when
//! the focus is not in a field (in the message box it is a slash).
//! "deploy" finds its other forms in three rooms, each marked: the
//! README's screenshot. "roadmap" finds a file shared in #ops by its name
//! (marked there, not in the caption), and "passed" one page of the CI's
//! builds, then the rest after "More results", the newest first across
//! both. Escape closes the panel and gives the focus back.
//! The open panel passes the axe audit. Then on a phone (390 px wide):
//! the header keeps one row with the search button, the panel is the
//! whole screen, nothing is wider than it, its controls are 44 px tap
//! targets, and the scope switch narrows the search to the room shown.

use chat_e2e::{
    browser_test, screenshot_dir, ChatClient, Device, Driver, Options, Page, TestServer,
};
use chat_shared::search::MAX_SEARCH_HITS;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::json;

/// Alice's message in #rust, the hit she opens.
const IN_RUST: &str = "Let us move the server to tokio next week";
/// Bob's in #random: markup in a message is text, in a hit too.
const IN_RANDOM: &str = "the <b>tokio</b> upgrade broke my build";

/// The file Carol shares in #ops, found by its name.
const PLAN_FILE: &str = "q1-roadmap.md";
/// Its caption, which does not say "roadmap".
const PLAN_CAPTION: &str = "The plan for next quarter, comments welcome";
/// How many builds the CI reports in #ci, each saying "passed": more than
/// one page of results.
const BUILDS: usize = MAX_SEARCH_HITS + 5;

/// Presses `keys` one after the other with `modifier` held (if any),
/// wherever the focus is, as a person's keyboard does.
async fn press(page: &Page, modifier: Option<Key>, keys: &[char]) {
    let mut actions = KeyActions::new("keyboard".into());
    if let Some(modifier) = modifier {
        actions = actions.then(KeyAction::Down {
            value: char::from(modifier),
        });
    }
    for &key in keys {
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    if let Some(modifier) = modifier {
        actions = actions.then(KeyAction::Up {
            value: char::from(modifier),
        });
    }
    page.client()
        .perform_actions(actions)
        .await
        .expect("the keys are pressed");
}

/// Presses one key of the keyboard's specials (arrows, Enter, Escape).
async fn press_key(page: &Page, key: Key) {
    press(page, None, &[char::from(key)]).await;
}

/// Types `text` wherever the focus is.
async fn type_text(page: &Page, text: &str) {
    let chars: Vec<char> = text.chars().collect();
    press(page, None, &chars).await;
}

/// The panel is open, its box has the focus.
const PANEL_OPEN: &str =
    "const p = document.querySelector('#search-panel[role=dialog][aria-modal=true]'); \
     return p !== null && document.activeElement === document.querySelector('#search-input');";

/// The panel is closed.
const PANEL_CLOSED: &str = "return document.querySelector('#search-panel') === null";

/// The hits shown: room, text, the marked parts, whether selected.
const HITS: &str = "return [...document.querySelectorAll('#search-results [role=option]')].map(o => ({ \
       room: o.dataset.room, id: Number(o.dataset.id), \
       text: o.querySelector('.search-hit-text').textContent, \
       marks: [...o.querySelectorAll('.search-hit-text mark')].map(m => m.textContent.toLowerCase()), \
       elements: [...o.querySelectorAll('.search-hit-text *')].map(e => e.tagName.toLowerCase()), \
       selected: o.getAttribute('aria-selected') === 'true', \
       domId: o.id }))";

/// The option the search box names as the one the keyboard is on, if
/// that option is shown and selected.
const ACTIVE: &str = "const input = document.querySelector('#search-input'); \
     const id = input.getAttribute('aria-activedescendant'); \
     const option = id && document.getElementById(id); \
     return option && option.getAttribute('role') === 'option' \
         && option.getAttribute('aria-selected') === 'true' ? option.dataset.room : null;";

/// Waits until `page` shows `count` hits for its search.
async fn wait_for_hits(page: &Page, count: usize) {
    page.wait_until(
        &format!("{count} hits shown"),
        &format!(
            "return document.querySelectorAll('#search-results [role=option]').length === {count} \
               && !!document.querySelector('#search-status[aria-live]').textContent"
        ),
    )
    .await;
}

/// `lines` said in `room` in this order, each by its author (name,
/// text), every author joined first and gone after: what was said there
/// before the test's pages open.
async fn talk(server: &TestServer, room: &str, lines: &[(&str, &str)]) {
    let mut people: Vec<(&str, ChatClient)> = Vec::new();
    for &(name, _) in lines {
        if !people.iter().any(|(joined, _)| *joined == name) {
            people.push((name, ChatClient::join(server, name, Some(room)).await));
        }
    }
    for (at, &(name, text)) in lines.iter().enumerate() {
        let (_, person) = people
            .iter_mut()
            .find(|(joined, _)| *joined == name)
            .expect("the author joined");
        person.say(text, format!("{room}-{at}")).await;
    }
    for (_, person) in people {
        person.leave().await;
    }
}

#[test]
fn search_finds_a_message_in_another_room_jumps_there_and_works_on_a_phone() {
    browser_test(|| async {
        let driver = Driver::start();
        // A fresh page of a room holds its last few messages: the hit in
        // #rust is older, so opening it loads the page `around` it.
        let server = TestServer::start_tuned(|config| {
            config.history_on_join = 5;
            // The CI's builds come faster than a person types.
            config.limits.message_rate = 10_000.0;
            config.limits.message_burst = 10_000;
        })
        .await;
        // More builds than one page of results holds.
        let mut ci = ChatClient::join(&server, "CI", Some("ci")).await;
        for build in 0..BUILDS {
            ci.say(
                &format!("Build #{} passed on main in 4 min", 1200 + build),
                format!("ci-{build}"),
            )
            .await;
        }
        ci.leave().await;
        // Oldest first: Bob's tokio in #random is older than Alice's.
        talk(
            &server,
            "random",
            &[
                ("Bob", IN_RANDOM),
                ("Carol", "Rule one: never deploy on a Friday afternoon"),
                ("Bob", "Noted. Thursday it is"),
            ],
        )
        .await;
        talk(
            &server,
            "ops",
            &[
                (
                    "Carol",
                    "Deploying 2.4.1 to staging now, expect a short blip",
                ),
                ("Carol", "Staging is back, all checks green"),
                (
                    "Bob",
                    "Thanks! Is the production deployment still on Thursday?",
                ),
                (
                    "Carol",
                    "Thursday at 10:00, right after the database backup",
                ),
            ],
        )
        .await;
        // A file found by its name, not by its caption.
        let mut carol = ChatClient::join(&server, "Carol", Some("ops")).await;
        carol
            .share_file(
                &server,
                PLAN_FILE,
                b"# Next quarter\n\n- Postgres 17\n- Zero-downtime deploys\n",
                PLAN_CAPTION,
                "ops-plan".into(),
            )
            .await;
        carol.leave().await;
        // More said after Alice's, so a fresh page of #rust does not hold it.
        talk(
            &server,
            "rust",
            &[
                ("Alice", IN_RUST),
                (
                    "Dmitri",
                    "Sounds good. Do we keep a thread pool for the image resizing?",
                ),
                ("Alice", "Yes, spawn_blocking for that, the rest goes async"),
                ("Carol", "Can we deploy it behind a flag first?"),
                ("Alice", "Good idea: a flag per room, off by default"),
                ("Dmitri", "I will write up the migration plan tonight"),
                (
                    "Carol",
                    "And I can run the load test on staging on Wednesday",
                ),
                ("Alice", "Deal. Benchmarks before and after, please"),
            ],
        )
        .await;

        let alice = driver.browser(Options::default()).await;
        alice.open(&server.url()).await;
        alice.join("Alice").await;
        alice
            .wait_until(
                "Alice is in #general",
                "return document.querySelector('#room-name').textContent === 'general'",
            )
            .await;

        // Ctrl+K opens the search, the focus in its box.
        press(&alice, Some(Key::Control), &['k']).await;
        alice
            .wait_until("Ctrl+K opens the search", PANEL_OPEN)
            .await;
        type_text(&alice, "tokio").await;
        wait_for_hits(&alice, 2).await;
        let hits = alice.js(HITS).await;
        assert_eq!(hits[0]["room"], json!("rust"), "the newest first: {hits}");
        assert_eq!(hits[0]["text"], json!(IN_RUST), "{hits}");
        assert_eq!(
            hits[0]["marks"],
            json!(["tokio"]),
            "the word is marked: {hits}"
        );
        assert_eq!(hits[1]["room"], json!("random"), "{hits}");
        assert_eq!(hits[1]["text"], json!(IN_RANDOM), "markup is text: {hits}");
        assert_eq!(
            hits[1]["elements"],
            json!(["mark"]),
            "no element but the <mark> comes from a message: {hits}"
        );
        assert_eq!(hits[0]["selected"], json!(false), "nothing selected yet");
        let heads = alice
            .js(
                "return [...document.querySelectorAll('#search-results .search-hit-head')] \
                   .map(h => [h.querySelector('.search-hit-room').textContent, \
                              h.querySelector('.search-hit-author').textContent, \
                              !!h.querySelector('time[datetime]').textContent])",
            )
            .await;
        assert_eq!(
            heads,
            json!([["#rust", "Alice", true], ["#random", "Bob", true]]),
            "each hit shows its room, author and time"
        );
        assert_eq!(
            alice.text("#search-status").await,
            "2 results",
            "the live region counts the hits"
        );

        // The arrows move the selection; the box keeps the focus.
        press_key(&alice, Key::Down).await;
        assert_eq!(
            alice.js(ACTIVE).await,
            json!("rust"),
            "ArrowDown selects the first"
        );
        press_key(&alice, Key::Down).await;
        assert_eq!(alice.js(ACTIVE).await, json!("random"), "then the second");
        press_key(&alice, Key::Down).await;
        assert_eq!(
            alice.js(ACTIVE).await,
            json!("rust"),
            "then round to the first"
        );
        press_key(&alice, Key::Up).await;
        assert_eq!(
            alice.js(ACTIVE).await,
            json!("random"),
            "ArrowUp goes back round"
        );
        press_key(&alice, Key::Up).await;
        assert_eq!(alice.js(ACTIVE).await, json!("rust"));
        assert_eq!(
            alice.js("return document.activeElement.id").await,
            json!("search-input")
        );

        // Enter opens the hit: #rust, the message loaded around it (not on
        // a fresh page of #rust), in view and highlighted.
        let id = hits[0]["id"].as_u64().expect("the hit's id");
        press_key(&alice, Key::Enter).await;
        alice.wait_until("the panel closes", PANEL_CLOSED).await;
        alice
            .wait_until(
                "Alice lands in #rust at her message, highlighted",
                &format!(
                    "if (document.querySelector('#room-name').textContent !== 'rust') return false; \
                     const li = document.querySelector('#timeline li.msg[data-id=\"{id}\"]'); \
                     if (li === null || !li.classList.contains('spotlight')) return false; \
                     const m = document.querySelector('.messages').getBoundingClientRect(); \
                     const r = li.getBoundingClientRect(); \
                     return r.bottom > m.top && r.top < m.bottom \
                         && li.querySelector('.text').textContent === {};",
                    json!(IN_RUST)
                ),
            )
            .await;
        alice
            .screenshot(&screenshot_dir().join("search-opened-hit.png"))
            .await;

        // `/` in the message box is a slash; elsewhere it opens the search,
        // the last query still there.
        alice.click("#composer-input").await;
        press(&alice, None, &['/']).await;
        assert_eq!(
            alice
                .js("return document.querySelector('#composer-input').value")
                .await,
            json!("/"),
            "a slash typed in the message box stays a slash"
        );
        assert_eq!(alice.js(PANEL_CLOSED).await, json!(true));
        alice
            .js("document.querySelector('#composer-input').value = ''; \
                 document.querySelector('#composer-input').dispatchEvent(new Event('input', { bubbles: true })); \
                 document.activeElement.blur(); return true;")
            .await;
        press(&alice, None, &['/']).await;
        alice.wait_until("/ opens the search", PANEL_OPEN).await;
        assert_eq!(
            alice
                .js("return document.querySelector('#search-input').value")
                .await,
            json!("tokio"),
            "the search is kept"
        );
        wait_for_hits(&alice, 2).await;

        // "deploy" finds "Deploying", "deploy" and "deployment" in three
        // rooms, the newest first, each marked.
        press(&alice, Some(Key::Control), &['a']).await;
        type_text(&alice, "deploy").await;
        wait_for_hits(&alice, 4).await;
        let hits = alice.js(HITS).await;
        let found: Vec<(&str, &str)> = hits
            .as_array()
            .expect("the hits")
            .iter()
            .map(|h| {
                let marks = h["marks"].as_array().expect("the marks");
                assert_eq!(marks.len(), 1, "one word marked in each: {hits}");
                (
                    h["room"].as_str().expect("a room"),
                    marks[0].as_str().expect("a mark"),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("rust", "deploy"),
                ("ops", "deployment"),
                ("ops", "deploying"),
                ("random", "deploy"),
            ],
            "the forms of deploy, the newest first"
        );
        // Written on every run under target/; docs/screenshot-search.png
        // is a copy of it.
        alice
            .screenshot(&screenshot_dir().join("search-desktop.png"))
            .await;
        press_key(&alice, Key::Down).await;
        alice
            .audit_accessibility("the search panel with a hit selected")
            .await;

        // A file is found by its name: the name marked, not the caption.
        press(&alice, Some(Key::Control), &['a']).await;
        type_text(&alice, "roadmap").await;
        wait_for_hits(&alice, 1).await;
        assert_eq!(
            alice
                .js("const o = document.querySelector('#search-results [role=option]'); \
                     return [o.dataset.room, o.querySelector('.search-hit-text').textContent, \
                             o.querySelectorAll('.search-hit-text mark').length, \
                             [...o.querySelectorAll('.search-hit-file')].map(f => f.textContent), \
                             [...o.querySelectorAll('.search-hit-file mark')].map(m => m.textContent)]")
                .await,
            json!(["ops", PLAN_CAPTION, 0, [PLAN_FILE], ["roadmap"]]),
            "the hit shows the file's name with the match marked"
        );

        // One page holds MAX_SEARCH_HITS; "More results" adds the rest.
        press(&alice, Some(Key::Control), &['a']).await;
        type_text(&alice, "passed").await;
        wait_for_hits(&alice, MAX_SEARCH_HITS).await;
        assert_eq!(
            alice.text("#search-status").await,
            format!("{MAX_SEARCH_HITS} results, more to load")
        );
        let ids = |hits: serde_json::Value| -> Vec<u64> {
            hits.as_array()
                .expect("the hits")
                .iter()
                .map(|h| h["id"].as_u64().expect("an id"))
                .collect()
        };
        let first_page = ids(alice.js(HITS).await);
        alice.click("#search-more").await;
        wait_for_hits(&alice, BUILDS).await;
        assert_eq!(
            alice.text("#search-status").await,
            format!("{BUILDS} results")
        );
        let all = ids(alice.js(HITS).await);
        assert_eq!(
            all[..MAX_SEARCH_HITS],
            first_page[..],
            "the next page comes after the first"
        );
        assert!(
            all.windows(2).all(|pair| pair[0] > pair[1]),
            "the newest first across both pages, none twice: {all:?}"
        );
        assert_eq!(
            alice
                .js("return document.querySelector('#search-more') === null")
                .await,
            json!(true),
            "no more to load after the last page"
        );

        // The close button closes it; Escape too, and the focus goes back
        // to what opened it.
        alice.click("#search-close").await;
        alice
            .wait_until("the close button closes", PANEL_CLOSED)
            .await;
        alice.click("#search-toggle").await;
        alice.wait_until("the button opens", PANEL_OPEN).await;
        press_key(&alice, Key::Escape).await;
        alice.wait_until("Escape closes", PANEL_CLOSED).await;
        alice
            .wait_until(
                "the focus goes back to the button that opened it",
                "return document.activeElement === document.querySelector('#search-toggle')",
            )
            .await;
        alice.close().await;

        // A phone: the whole screen, nothing sideways, 44 px targets.
        let phone = driver
            .browser(Options {
                device: Device::Phone,
                ..Options::default()
            })
            .await;
        phone.open(&server.url()).await;
        phone.join("Pat").await;
        assert_eq!(
            phone
                .js(
                    "const tops = [...document.querySelector('.topbar').children] \
                       .filter(e => e.getBoundingClientRect().width > 1) \
                       .map(e => Math.round(e.getBoundingClientRect().top)); \
                     return new Set(tops).size"
                )
                .await,
            json!(1),
            "the phone's header stays one row with the search button"
        );
        phone.click("#search-toggle").await;
        phone
            .wait_until("the button opens the search", PANEL_OPEN)
            .await;
        type_text(&phone, "tokio").await;
        wait_for_hits(&phone, 2).await;
        let layout = phone
            .js("const r = document.querySelector('#search-panel').getBoundingClientRect(); \
                 const results = document.querySelector('#search-results'); \
                 return { left: Math.round(r.left), top: Math.round(r.top), \
                          right: Math.round(innerWidth - r.right), bottom: Math.round(innerHeight - r.bottom), \
                          width: innerWidth, \
                          sideways: document.documentElement.scrollWidth > innerWidth \
                            || results.scrollWidth > results.clientWidth };")
            .await;
        assert_eq!(
            layout,
            json!({ "left": 0, "top": 0, "right": 0, "bottom": 0, "width": 390, "sideways": false }),
            "the search is the whole phone screen, nothing wider"
        );
        let small = phone
            .small_tap_targets(
                "#search-panel button, #search-panel input, #search-panel [role=option]",
            )
            .await;
        assert_eq!(
            small,
            json!([]),
            "tap targets under 44 px or off the screen"
        );
        phone
            .audit_accessibility("the phone's full-screen search")
            .await;
        phone
            .screenshot(&screenshot_dir().join("search-phone.png"))
            .await;

        // "This room" narrows it to #general, where nobody said tokio.
        phone.click("#search-this-room").await;
        phone
            .wait_until(
                "nothing found in #general",
                "return document.querySelectorAll('#search-results [role=option]').length === 0 \
                   && document.querySelector('#search-status').textContent === 'Nothing found' \
                   && document.querySelector('#search-this-room').getAttribute('aria-pressed') === 'true'",
            )
            .await;
        phone.click("#search-everywhere").await;
        wait_for_hits(&phone, 2).await;
        phone.close().await;
        server.stop().await;
    });
}

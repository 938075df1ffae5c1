//! How fast the page renders the conversation, in a real headless Chromium
//! against the real server: the numbers to compare before and after a
//! change to how the message list is rendered (docs/benchmarks.md,
//! "Rendering the conversation (browser)").
//!
//! (a) A room holds 500 messages; from the click on Join until 500 message
//!     rows are in the DOM.
//! (b) With those 500 rows shown, another client sends one message; from
//!     just before it is sent (and, separately, from the moment its frame
//!     reaches the page's socket) until its row is in the DOM. Repeated
//!     [`APPENDS`] times.
//!
//! The test asserts what must hold (every row there, in order, the new one
//! last) and prints the timings; it never asserts on them: they depend on
//! the machine. The page is the release trunk build in `dist/`; the
//! server runs in the test's (debug) build, so the time from the click
//! includes a debug server reading and sending the history, and the time
//! from the welcome frame's arrival is the page's alone. Run it with:
//!
//! ```text
//! cargo test -p chat-e2e --test render_bench -- --nocapture
//! ```

use std::time::Duration;

use chat_e2e::{browser_test, ChatClient, Driver, Options, TestServer};
use serde_json::{json, Value};

/// Messages in the room before the page joins; the page keeps 500 entries.
const HISTORY: usize = 500;
/// How many single messages are timed at 500 rows.
const APPENDS: usize = 20;
/// The rows the tests count, as `Page::messages` reads them.
const ROW: &str = "#timeline .msg";

/// Installed just before the click on Join: notes when the welcome frame
/// reaches the page's socket (the socket is opened by the click, so the
/// page's `WebSocket` is wrapped once more), when [`HISTORY`] rows are in
/// the DOM, and when the first frame after that starts.
const TIME_THE_JOIN: &str = r##"
const rows = arguments[0], row = arguments[1];
const bench = { start: 0, welcome: null, rows: null, frame: null };
window.__bench = bench;
const Outer = window.WebSocket;
window.WebSocket = class TimedWebSocket extends Outer {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (e) => {
      if (bench.welcome === null && String(e.data).includes('"type":"welcome"')) {
        bench.welcome = performance.now();
      }
      const arrived = window.__arrived;
      if (arrived && arrived.at === null && String(e.data).includes(arrived.text)) {
        arrived.at = performance.now();
      }
    });
  }
};
const observer = new MutationObserver(() => {
  if (bench.rows === null && document.querySelectorAll(row).length >= rows) {
    bench.rows = performance.now();
    observer.disconnect();
    requestAnimationFrame(() => { bench.frame = performance.now(); });
  }
});
observer.observe(document.body, { childList: true, subtree: true });
bench.start = performance.now();
document.querySelector("#join-button").click();
"##;

/// Installed just before a message is sent to the page: notes when a row
/// with exactly `arguments[0]` is the last one in the DOM. The socket
/// wrapper of [`TIME_THE_JOIN`] notes when its frame arrives.
const TIME_THE_APPEND: &str = r##"
const text = arguments[0], row = arguments[1];
const timing = { start: 0, shown: null };
window.__append = timing;
window.__arrived = { text: JSON.stringify(text), at: null };
const timeline = document.querySelector("#timeline");
const observer = new MutationObserver(() => {
  const rows = timeline.querySelectorAll(row);
  const last = rows[rows.length - 1];
  const shown = last ? last.querySelector(".text") : null;
  if (shown !== null && shown.textContent === text) {
    timing.shown = performance.now();
    observer.disconnect();
  }
});
observer.observe(timeline, { childList: true, subtree: true, characterData: true });
timing.start = performance.now();
"##;

/// The median and the largest of `values` (not empty).
fn median_and_max(values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    };
    (median, sorted[sorted.len() - 1])
}

/// A number the page wrote, failing the test if it is not there.
fn ms(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("the page did not record {key}: {value}"))
}

#[test]
fn render_500_messages_and_append_one_at_500() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start_tuned(|config| {
            config.history_on_join = HISTORY;
            // The filler sends as fast as the server takes it.
            config.limits.message_rate = 10_000.0;
            config.limits.message_burst = 10_000;
        })
        .await;

        // The history, from a client that stays to send the timed messages
        // (already online when the page joins, so no join notice takes a
        // row).
        let mut sender = ChatClient::join(&server, "Sender", None).await;
        let history: Vec<String> = (1..=HISTORY)
            .map(|n| format!("history message {n:03}"))
            .collect();
        for (n, text) in history.iter().enumerate() {
            sender.say(text, format!("fill-{n}")).await;
        }

        // (a) From the click on Join to 500 rows.
        let page = driver.browser(Options::default()).await;
        page.open(&server.url()).await;
        page.wait_until(
            "the join form is there",
            "return document.querySelector('#name-input') !== null",
        )
        .await;
        page.fill("#name-input", "Reader").await;
        page.js_with(TIME_THE_JOIN, vec![json!(HISTORY), json!(ROW)])
            .await;
        page.wait_until_for(
            "500 rows are on the page",
            "return window.__bench.frame !== null",
            Duration::from_secs(60),
        )
        .await;
        let join = page.js("return window.__bench").await;
        let (start, welcome) = (ms(&join, "start"), ms(&join, "welcome"));
        let (rows_at, frame_at) = (ms(&join, "rows"), ms(&join, "frame"));
        assert_eq!(page.texts().await, history, "the 500 rows, in order");

        // (b) One more message at 500 rows, timed APPENDS times. The page
        // keeps 500 entries, so the oldest leaves as each arrives.
        let mut all = history.clone();
        let mut from_send = Vec::new();
        let mut from_arrival = Vec::new();
        for n in 1..=APPENDS {
            // Let the page settle (scrolling, the row that just left).
            tokio::time::sleep(Duration::from_millis(250)).await;
            let text = format!("appended message {n:02}");
            page.js_with(TIME_THE_APPEND, vec![json!(text), json!(ROW)])
                .await;
            sender.say(&text, format!("append-{n}")).await;
            page.wait_until(
                &format!("{text:?} is the last row"),
                "return window.__append.shown !== null && window.__arrived.at !== null",
            )
            .await;
            let timing = page
                .js(
                    "return { start: window.__append.start, shown: window.__append.shown, \
                              arrived: window.__arrived.at }",
                )
                .await;
            let shown = ms(&timing, "shown");
            from_send.push(shown - ms(&timing, "start"));
            from_arrival.push(shown - ms(&timing, "arrived"));
            all.push(text);
        }
        assert_eq!(
            page.texts().await,
            all[all.len() - HISTORY..],
            "the latest 500 rows, in order, the appended ones last"
        );

        let (send_median, send_max) = median_and_max(&from_send);
        let (arrival_median, arrival_max) = median_and_max(&from_arrival);
        println!(
            "render_bench: {HISTORY} rows in {:.1} ms after the click on Join \
             ({:.1} ms after the welcome frame arrived; next frame at {:.1} ms)",
            rows_at - start,
            rows_at - welcome,
            frame_at - start,
        );
        println!(
            "render_bench: append at {HISTORY}: median {send_median:.1} ms, max {send_max:.1} ms \
             from the send (n={APPENDS}); median {arrival_median:.1} ms, max {arrival_max:.1} ms \
             from the frame's arrival"
        );

        page.close().await;
        sender.leave().await;
        server.stop().await;
    });
}

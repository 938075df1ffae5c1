//! What a first visit costs, in a real headless Chromium with an empty
//! cache against the real server serving the release trunk build: the
//! bytes that cross the wire for the page, its script, its wasm and its
//! styles, and the time from navigation until the join form is painted
//! (docs/benchmarks.md, "Browser app: size and first load").
//!
//! The form is built with its handlers attached before the app mounts
//! it, so once it is painted a visitor can type a name. A probe that runs
//! before the page's scripts notes when the form enters the DOM and when
//! the next frame starts; the browser's first contentful paint is the
//! form's own paint (the page shows no text before the app mounts, which
//! the test checks: that paint does not come before the form).
//!
//! The test asserts what must hold (every part of the app loaded, the
//! wasm sent compressed, nothing painted before the form, the form
//! working) and prints the numbers; it never asserts on them, they depend
//! on the machine. The server is the test's (debug) build in its
//! `--static-dir` mode: it sends the `.br` files `cargo xtask` writes
//! beside trunk's output (after a plain `trunk build` there are none, and
//! it compresses on the fly, larger and slower). Run it:
//!
//! ```text
//! cargo test -p chat-e2e --test first_load -- --nocapture
//! ```

use chat_e2e::{browser_test, Driver, Options, TestServer};
use serde_json::Value;

/// Installed before the page's scripts: notes when the name field enters
/// the DOM and when the frame after that starts.
const WATCH_THE_FORM: &str = r##"
(() => {
  const observer = new MutationObserver(() => {
    if (document.querySelector("#name-input") === null) return;
    window.__formShown = performance.now();
    requestAnimationFrame(() => { window.__formFrame = performance.now(); });
    observer.disconnect();
  });
  observer.observe(document, { childList: true, subtree: true });
})();
"##;

/// What the browser recorded about the load: one entry per file with its
/// compressed and plain sizes and the encoding the server chose, and the
/// paint times (ms since navigation started). WebDriver waits for the
/// promise it returns.
const READ_THE_LOAD: &str = r#"
return (async () => {
const files = [performance.getEntriesByType("navigation")[0],
               ...performance.getEntriesByType("resource")];
const described = await Promise.all(files.map(async (entry) => {
  const reply = await fetch(entry.name, { cache: "no-store" });
  await reply.arrayBuffer();
  return {
    path: new URL(entry.name).pathname,
    transfer: entry.transferSize,
    encoded: entry.encodedBodySize,
    decoded: entry.decodedBodySize,
    encoding: reply.headers.get("content-encoding") || "identity",
    requested: entry.requestStart,
    received: entry.responseEnd,
  };
}));
const paint = performance.getEntriesByName("first-contentful-paint")[0];
const navigation = performance.getEntriesByType("navigation")[0];
return {
  files: described,
  form_shown: window.__formShown,
  form_frame: window.__formFrame,
  first_contentful_paint: paint ? paint.startTime : null,
  dom_content_loaded: navigation.domContentLoadedEventEnd,
  load_event: navigation.loadEventEnd,
};
})();
"#;

/// The number under `key`, failing the test if the page did not record it.
fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("the page did not record {key}: {value}"))
}

/// The one file whose path ends with `suffix`.
fn file<'a>(files: &'a [Value], suffix: &str) -> &'a Value {
    files
        .iter()
        .find(|file| file["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
        .unwrap_or_else(|| panic!("no {suffix} among the files loaded: {files:?}"))
}

#[test]
fn first_load_bytes_and_time_to_the_join_form() {
    browser_test(|| async {
        let driver = Driver::start();
        let server = TestServer::start().await;
        let page = driver.browser(Options::default()).await;
        page.run_before_each_load(WATCH_THE_FORM).await;
        page.open(&server.url()).await;
        page.wait_until(
            "the join form shows",
            "return document.querySelector('#name-input') !== null",
        )
        .await;
        // The browser files the paint entry a little after the frame it
        // measures, so reading at once can race it.
        page.wait_until(
            "the browser recorded the first contentful paint",
            "return performance.getEntriesByName('first-contentful-paint').length > 0",
        )
        .await;

        let load = page.js(READ_THE_LOAD).await;
        let files = load["files"]
            .as_array()
            .unwrap_or_else(|| panic!("no file list: {load}"));
        let wasm = file(files, ".wasm");
        let script = file(files, ".js");
        file(files, ".css");
        assert!(
            number(wasm, "encoded") < number(wasm, "decoded"),
            "the wasm must be sent compressed: {wasm}"
        );
        assert!(
            number(script, "decoded") > 0.0,
            "the script is empty: {script}"
        );
        let shown = number(&load, "form_shown");
        let painted = number(&load, "first_contentful_paint");
        assert!(
            painted >= shown,
            "something was painted before the join form was in the DOM: {load}"
        );

        println!("first load (cold cache, {}):", server.url());
        println!(
            "  {:<44} {:>9} {:>9} {:>9}  encoding  asked  received (ms)",
            "file", "on wire", "body", "plain"
        );
        let mut on_wire = 0.0;
        for file in files {
            on_wire += number(file, "transfer");
            println!(
                "  {:<44} {:>9} {:>9} {:>9}  {:<8}  {:>5.0}  {:>8.0}",
                file["path"].as_str().unwrap_or("?"),
                number(file, "transfer"),
                number(file, "encoded"),
                number(file, "decoded"),
                file["encoding"].as_str().unwrap_or("?"),
                number(file, "requested"),
                number(file, "received"),
            );
        }
        println!("  all files on the wire: {on_wire} bytes (headers included)");
        println!(
            "  ms after navigation: DOMContentLoaded {:.0}, load {:.0}, \
             join form in the DOM {shown:.0}, next frame {:.0}, painted {painted:.0}",
            number(&load, "dom_content_loaded"),
            number(&load, "load_event"),
            number(&load, "form_frame"),
        );
        // The form answers: the name typed in it gets into the chat.
        page.join("Alice").await;
        page.close().await;
        server.stop().await;
    });
}

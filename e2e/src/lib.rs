//! The harness for the browser tests in `tests/`: the real chat server
//! started in-process on loopback, serving the real trunk build in `dist/`,
//! and headless Chromium sessions driven over WebDriver (chromedriver).
//!
//! # Layout
//! - [`server`]: start, stop and restart the chat server on a port, alone
//!   or as one node of a cluster.
//! - [`client`]: a plain WebSocket client, for someone in a room who is
//!   not a browser (filling history, another room's member).
//! - [`driver`]: one chromedriver process per test, killed at the end, and
//!   browser sessions with a fresh profile each (desktop, phone, language).
//! - [`page`]: what a test does with a page: join, send, wait for a
//!   condition, open a second tab, take a screenshot.
//! - [`proxy`]: a loopback TCP proxy whose connections can be made to go
//!   silent, for the heartbeat watchdog.
//! - [`axe`]: an accessibility audit of a page with axe-core
//!   ([`Page::audit_accessibility`]).
//!
//! The tests share the machine's two cores, so [`browser_test`] runs them
//! one at a time.

pub mod axe;
pub mod client;
pub mod driver;
pub mod page;
pub mod proxy;
pub mod server;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;

pub use axe::Violation;
pub use client::ChatClient;
pub use driver::{Device, Driver, Options};
pub use page::Page;
pub use proxy::Proxy;
pub use server::TestServer;

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The release trunk build the tests serve. Fails the test, with the
/// command to run, when it is missing: a browser test against no app would
/// prove nothing, so it must not quietly skip.
pub fn dist_dir() -> PathBuf {
    let dist = std::env::var_os("CHAT_E2E_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("dist"));
    let has_index = dist.join("index.html").is_file();
    let has_wasm = std::fs::read_dir(&dist)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        })
        .unwrap_or(false);
    assert!(
        has_index && has_wasm,
        "no trunk build in {}: run `trunk build --release` at the repository root \
         (or `cargo xtask test`, which does it) before the browser tests",
        dist.display()
    );
    dist
}

/// Where screenshots go on every run.
pub fn screenshot_dir() -> PathBuf {
    repo_root().join("target").join("screenshots")
}

/// Two desktop browsers with Alice and Bob joined in `server`'s chat, once
/// each sees both online: the start of most conversations under test.
pub async fn alice_and_bob(driver: &Driver, server: &TestServer) -> (Page, Page) {
    let alice = driver.browser(Options::default()).await;
    let bob = driver.browser(Options::default()).await;
    alice.open(&server.url()).await;
    alice.join("Alice").await;
    bob.open(&server.url()).await;
    bob.join("Bob").await;
    alice
        .wait_until(
            "Alice sees two people online",
            "return document.querySelectorAll('#users-panel .user').length === 2",
        )
        .await;
    (alice, bob)
}

/// A script expression: the confirmed message line (`#timeline li.msg`)
/// whose text is `text` (undefined while there is none), for tests that
/// act on one message.
pub fn message_line(text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#timeline li.msg')] \
           .find(li => li.querySelector('.text') && li.querySelector('.text').textContent === {})",
        serde_json::json!(text)
    )
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs one browser test on its own runtime, never at the same time as
/// another: the test harness runs tests on parallel threads, and two
/// Chromiums at once on two cores make timing-sensitive steps flaky.
pub fn browser_test<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    // A test that panicked poisons the lock; the next one still runs.
    let _alone = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(test());
    }));
    // Dropping a runtime waits for its blocking tasks without end: a server
    // that never finishes stopping must fail its test, not hang the run.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

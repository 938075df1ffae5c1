//! The installable app (issue 24, item 7) in a real headless Chromium
//! against the real server: in one walk, the service worker takes the
//! page, Chromium finds nothing that keeps the app from being installed
//! (`Page.getInstallabilityErrors`), a new build is noticed and offered
//! ("A new version is available — Reload") and loaded by the button, and
//! with the server gone and the network cut the app still opens from the
//! cached shell.
//!
//! The server serves a copy of the trunk build, so the test can publish a
//! "new version" by changing its `index.html`.

use chat_e2e::{browser_test, dist_dir, Driver, Options, TestServer};
use serde_json::json;
use std::path::Path;

/// Copies the trunk build (with its subfolders: the icons) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder for the copy");
    for entry in std::fs::read_dir(from).expect("the trunk build") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("a copied file");
        }
    }
}

#[test]
fn the_app_installs_updates_and_opens_offline() {
    browser_test(|| async {
        let site = tempfile::tempdir().expect("a temporary folder");
        copy_dir(&dist_dir(), site.path());
        let static_dir = site.path().to_path_buf();
        let server = TestServer::start_tuned(|config| config.static_dir = static_dir).await;
        let driver = Driver::start();
        let page = driver.browser(Options::default()).await;
        page.open(&server.url()).await;
        page.wait_until(
            "the service worker controls the page",
            "return navigator.serviceWorker !== undefined \
             && navigator.serviceWorker.controller !== null",
        )
        .await;

        let installability = page.cdp("Page.getInstallabilityErrors", json!({})).await;
        assert_eq!(
            installability["installabilityErrors"],
            json!([]),
            "Chromium would not install the app: {installability}"
        );
        let manifest = page.cdp("Page.getAppManifest", json!({})).await;
        assert_eq!(manifest["errors"], json!([]), "manifest errors: {manifest}");

        page.join("ann").await;
        page.send("before the update").await;
        assert!(
            page.js("return document.querySelector('.install-bar.new-version') === null")
                .await
                .as_bool()
                .unwrap_or(false),
            "no new version is offered before there is one"
        );

        // A new build: a changed index.html. The reload is answered from the
        // cache at once; the worker fetches the page behind it, sees the
        // change, caches it and tells the tab.
        let index = site.path().join("index.html");
        let html = std::fs::read_to_string(&index).expect("index.html");
        std::fs::write(
            &index,
            html.replacen("<head>", r#"<head><meta name="build" content="2">"#, 1),
        )
        .expect("a new index.html");
        page.reload_and_rejoin("after the new build").await;
        page.wait_until(
            "the new version is offered",
            "return document.querySelector('.install-bar.new-version') !== null",
        )
        .await;
        assert!(
            page.text(".install-bar.new-version")
                .await
                .contains("new version"),
            "the bar says what it is"
        );
        page.click(".install-bar.new-version button").await;
        page.wait_until(
            "the reload runs the new version",
            "return document.querySelector('meta[name=build]') !== null \
             && document.querySelector('.app') !== null",
        )
        .await;

        // The server gone and the network cut: the installed app still
        // opens, from the shell the worker cached.
        server.stop().await;
        page.set_network_offline(true).await;
        page.client()
            .refresh()
            .await
            .expect("the reload is answered from the cache");
        page.wait_until(
            "the app opens offline",
            "return document.querySelector('.app') !== null \
             && document.querySelector('meta[name=build]') !== null",
        )
        .await;
        page.close().await;
    });
}

//! The installable app (issue 24, item 7) in a real headless Chromium
//! against the real server: in one walk, the service worker takes the
//! page, Chromium finds nothing that keeps the app from being installed
//! (`Page.getInstallabilityErrors`), a new build is noticed and offered
//! ("A new version is available — Reload") and loaded by the button, and
//! with the server gone and the network cut the app still opens from the
//! cached shell, showing the conversation it had (kept in localStorage,
//! marked as this device's copy); a message written then goes out once
//! the server and the network are back, and another name opened offline
//! in the same browser sees none of the first one's copy. On the way,
//! Web Push as the browser shows it: a push
//! delivered to the service worker (CDP `ServiceWorker.deliverPushMessage`)
//! shows a notification with the expected title, body and tag, a summary
//! push replaces it, the worker's "open this message" (what its
//! notification click posts) brings the tab to the room at the message,
//! and a page opened at a link to a message (what the click opens when no
//! tab is) lands there.
//!
//! Not covered here: the click on the notification itself (CDP cannot
//! click a notification; `sw.js`'s `notificationclick` posts the message
//! and opens the link tested here), and subscribing (`push_subscribe`),
//! which waits for the server to send `push_key` in `welcome`.
//!
//! The server serves a copy of the trunk build, so the test can publish a
//! "new version" by changing its `index.html`.

use chat_e2e::{browser_test, dist_dir, message_line, Driver, Options, Page, TestServer};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

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

/// How many confirmed message lines say `text`.
fn lines_saying(text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#timeline li.msg .text')] \
           .filter(t => t.textContent === {}).length",
        json!(text)
    )
}

/// With the server gone and the network cut, the reloaded app shows the
/// conversation it had, as this device's copy; a message written then is
/// sent once both are back (the server restarted by `restart`, on its
/// database); another name opened offline in this browser sees nothing
/// of the copy.
async fn opens_offline_with_the_conversation<F, S>(page: &Page, server: TestServer, restart: F)
where
    F: FnOnce(std::net::SocketAddr) -> S,
    S: std::future::Future<Output = TestServer>,
{
    page.send("seen before going offline").await;
    page.wait_until(
        "the conversation is kept on this device",
        "const kept = localStorage.getItem('chat.conversation.ann.general') || ''; \
         return kept.includes('before the update') \
           && kept.includes('seen before going offline');",
    )
    .await;

    // The server gone and the network cut: the installed app still
    // opens, from the shell the worker cached, with the conversation.
    let addr = server.addr();
    server.stop().await;
    page.set_network_offline(true).await;
    page.client()
        .refresh()
        .await
        .expect("the reload is answered from the cache");
    page.wait_until(
        "the app opens offline with the conversation it had, marked as kept",
        &format!(
            "return document.querySelector('.app') !== null \
             && document.querySelector('meta[name=build]') !== null \
             && {} === 1 && {} === 1 \
             && document.querySelector('#kept-conversation') !== null",
            lines_saying("before the update"),
            lines_saying("seen before going offline"),
        ),
    )
    .await;

    // Written offline: kept in the outbox, sent once the server and the
    // network are back; the server's conversation replaces the copy.
    page.send_without_waiting("written offline").await;
    let server = restart(addr).await;
    page.set_network_offline(false).await;
    page.wait_until(
        "the message written offline is sent, once, and the server's conversation shown",
        &format!(
            "const s = document.querySelector('#composer-status'); \
             return s !== null && !s.classList.contains('offline') \
             && {} === 1 && {} === 1 && {} === 1 \
             && document.querySelector('#kept-conversation') === null",
            lines_saying("written offline"),
            lines_saying("before the update"),
            lines_saying("seen before going offline"),
        ),
    )
    .await;
    page.wait_until(
        "the copy kept now has the message written offline",
        "return (localStorage.getItem('chat.conversation.ann.general') || '') \
           .includes('written offline');",
    )
    .await;

    // Another name in this browser (as if it had been in the chat here
    // too), opened offline: nothing of ann's copy shows.
    server.stop().await;
    page.set_network_offline(true).await;
    page.js("localStorage.setItem('chat.name', 'zed'); \
         localStorage.setItem('chat.resume.zed', 'an old token');")
        .await;
    page.client().refresh().await.expect("the reload");
    page.wait_until(
        "zed's page is up, offline",
        "return document.querySelector('#timeline') !== null",
    )
    .await;
    let seen = page
        .js(&format!(
            "return [{}, {}, document.querySelector('#kept-conversation') !== null, \
               localStorage.getItem('chat.conversation.ann.general') !== null];",
            lines_saying("before the update"),
            lines_saying("written offline"),
        ))
        .await;
    assert_eq!(
        seen,
        json!([0, 0, false, true]),
        "another name sees nothing of ann's copy, which stays hers"
    );
}

/// The notifications the service worker shows, as `[title, body, tag,
/// data]`.
const NOTIFICATIONS: &str = "return navigator.serviceWorker.ready \
     .then((r) => r.getNotifications()) \
     .then((ns) => ns.map((n) => [n.title, n.body, n.tag, n.data]));";

/// Records every message line that gets the spotlight (the highlight of
/// a message opened from a notification or link) in `__spotlit`.
const SPOTLIGHT_PROBE: &str = r#"
window.__spotlit = [];
new MutationObserver((changes) => changes.forEach((c) => {
  if (c.target.classList && c.target.classList.contains("spotlight")) {
    window.__spotlit.push(Number(c.target.dataset.id));
  }
})).observe(document, { subtree: true, attributes: true, attributeFilter: ["class"] });
"#;

/// Delivers `payload` to the page's service worker as a push, as the push
/// service would (the browser decrypts before the worker sees it), until
/// the worker shows exactly one notification, `expected`. A push that
/// comes just after the permission was granted may find it not in force
/// yet and show nothing; sent again, its notification replaces itself
/// (one tag per room), so a second delivery changes nothing else.
async fn push_shows(page: &Page, origin: &str, payload: Value, what: &str, expected: Value) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // The only registration of a fresh profile is Chromium's first: id 0.
        page.cdp(
            "ServiceWorker.deliverPushMessage",
            json!({ "origin": origin, "registrationId": "0", "data": payload.to_string() }),
        )
        .await;
        let again = Instant::now() + Duration::from_secs(2);
        let mut shown = Value::Null;
        while Instant::now() < again {
            shown = page.js(NOTIFICATIONS).await;
            if shown == json!([expected]) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the worker shows {shown}, not [{expected}]"
        );
    }
}

/// Web Push in the browser: a push becomes a notification, a summary
/// replaces it, and what a click does opens the room at the message.
async fn pushes_show_and_open_the_message(page: &Page, origin: &str) {
    page.cdp(
        "Browser.grantPermissions",
        json!({ "permissions": ["notifications"], "origin": origin }),
    )
    .await;
    page.cdp("ServiceWorker.enable", json!({})).await;
    let id = page
        .js(&format!(
            "const li = {}; return li ? Number(li.dataset.id) : null;",
            message_line("before the update")
        ))
        .await
        .as_u64()
        .expect("the message's id");

    push_shows(
        page,
        origin,
        json!({ "room": "general", "id": id, "author": "bob", "text": "hi @ann, lunch?" }),
        "a message's push",
        json!(["bob in #general", "hi @ann, lunch?", "general", { "room": "general", "id": id }]),
    )
    .await;
    // A summary of the same room takes its place: a flood stacks.
    push_shows(
        page,
        origin,
        json!({ "room": "general", "count": 12, "summary": true }),
        "a summary push",
        json!(["12 new messages in #general", "", "general", { "room": "general" }]),
    )
    .await;

    // The click, in an open tab: the worker posts "open" and the tab goes
    // to the room at the message.
    page.js("location.hash = '#/r/elsewhere'").await;
    page.wait_until(
        "the page is in #elsewhere",
        "return document.querySelector('#room-name').textContent === 'elsewhere' \
         && document.querySelector('#composer-status:not(.offline)') !== null",
    )
    .await;
    page.js(SPOTLIGHT_PROBE).await;
    page.js_with(
        "navigator.serviceWorker.dispatchEvent(new MessageEvent('message', \
           { data: { type: 'open', room: 'general', id: arguments[0] } }));",
        vec![json!(id)],
    )
    .await;
    page.wait_until(
        "the worker's open request shows the message in #general",
        &format!(
            "return document.querySelector('#room-name').textContent === 'general' \
             && window.__spotlit.includes({id})"
        ),
    )
    .await;

    // The click with no tab open: the app opened at a link to the message.
    page.run_before_each_load(SPOTLIGHT_PROBE).await;
    page.js_with(
        "history.replaceState(null, '', '#/r/general/' + arguments[0]);",
        vec![json!(id)],
    )
    .await;
    page.reload_and_rejoin("opened at a link to a message")
        .await;
    page.wait_until(
        "the link to a message shows it, and the address keeps the room alone",
        &format!("return window.__spotlit.includes({id}) && location.hash === '#/r/general'"),
    )
    .await;
}

#[test]
fn the_app_installs_updates_and_opens_offline() {
    browser_test(|| async {
        let site = tempfile::tempdir().expect("a temporary folder");
        copy_dir(&dist_dir(), site.path());
        let static_dir = site.path().to_path_buf();
        // On a database file, so a server started again has the history.
        let data = tempfile::tempdir().expect("a folder for the database");
        let db = data.path().join("chat.db");
        let tune = move |config: &mut chat_server::Config| {
            config.static_dir = static_dir.clone();
            config.db = db.clone();
        };
        let server = TestServer::start_tuned(tune.clone()).await;
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
        let origin = server.url().trim_end_matches('/').to_owned();
        pushes_show_and_open_the_message(&page, &origin).await;

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
        // A build writes its compressed copies anew (`cargo xtask`'s
        // brotli and gzip beside each file): the stale ones go.
        for stale in ["index.html.br", "index.html.gz"] {
            let _ = std::fs::remove_file(site.path().join(stale));
        }
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

        opens_offline_with_the_conversation(&page, server, |addr| {
            TestServer::start_tuned_on(addr, tune)
        })
        .await;
        page.close().await;
    });
}

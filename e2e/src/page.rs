//! One browser session showing the chat, and what tests do with it.

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::driver::{install_probes, Cdp, Device, Profile};

/// How long a test waits for something the app should do by itself.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// True once the chat view is up and the composer can send: joined on an
/// open socket.
pub const JOINED: &str = "const s = document.querySelector('#composer-status'); \
     return s !== null && !s.classList.contains('offline');";

/// A browser session. Call [`Page::close`] at the end; if a test panics
/// first, dropping the [`Driver`](crate::Driver) kills the browser anyway.
pub struct Page {
    client: Client,
    /// The fresh profile folder, deleted when the page goes.
    _profile: Profile,
}

/// What the page's socket counter saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketStats {
    /// Sockets the page opened in all.
    pub created: u64,
    /// Sockets not yet closed right now.
    pub live: u64,
    /// The most sockets that were ever open at the same time.
    pub max_live: u64,
}

impl Page {
    pub(crate) fn new(client: Client, profile: Profile) -> Self {
        Self {
            client,
            _profile: profile,
        }
    }

    /// The WebDriver client, for anything the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the browser session (and Chromium with it), failing the test
    /// if the page logged an error or threw: a panic in the wasm shows up
    /// only there.
    pub async fn close(self) {
        let problems = self
            .client
            .execute("return window.__pageProblems || []", Vec::new())
            .await;
        if let Ok(warnings) = self
            .client
            .execute("return window.__pageWarnings || []", Vec::new())
            .await
        {
            if warnings.as_array().is_some_and(|w| !w.is_empty()) {
                eprintln!("the page warned: {warnings:#}");
            }
        }
        let _ = self.client.close().await;
        let problems = problems.expect("the page answers");
        assert_eq!(problems, json!([]), "the page logged errors");
    }

    /// Sends a Chrome DevTools Protocol command to this tab, for what
    /// WebDriver cannot do (emulating a screen, the network, a colour
    /// scheme); fails the test if Chromium refuses it.
    pub async fn cdp(&self, command: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { command, params })
            .await
            .unwrap_or_else(|error| panic!("CDP {command} failed: {error}"))
    }

    /// Runs `script` in every document this tab loads from now on, before
    /// any of the page's own scripts: for probes that must see the load.
    pub async fn run_before_each_load(&self, script: &str) {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await;
    }

    /// Emulates a screen: viewport size, touch, mobile viewport rules.
    pub async fn emulate(&self, device: Device) {
        match device {
            Device::Desktop => self.emulate_screen(1280, 800, false).await,
            Device::Phone => self.emulate_screen(390, 844, true).await,
        }
    }

    /// Emulates a screen of `width` x `height` CSS pixels; a phone has
    /// touch, a 3x display and mobile viewport rules.
    pub async fn emulate_screen(&self, width: u32, height: u32, phone: bool) {
        let scale = if phone { 3 } else { 1 };
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": scale, "mobile": phone }),
        )
        .await;
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": phone, "maxTouchPoints": if phone { 5 } else { 1 } }),
        )
        .await;
    }

    /// Switches `prefers-color-scheme` between light and dark.
    pub async fn set_dark_mode(&self, dark: bool) {
        let scheme = if dark { "dark" } else { "light" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
    }

    /// Loads the app and waits until it has rendered.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
        self.wait_until(
            "the app renders",
            "return document.querySelector('.app') !== null",
        )
        .await;
    }

    /// Runs a script and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Runs a script with arguments and returns its value.
    pub async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Waits until `script` returns true, for up to [`PATIENCE`]; fails the
    /// test saying what it waited for and what the page showed.
    pub async fn wait_until(&self, what: &str, script: &str) {
        self.wait_until_for(what, script, PATIENCE).await;
    }

    /// [`Page::wait_until`] with a different limit.
    pub async fn wait_until_for(&self, what: &str, script: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if self.js(script).await == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let shown = self
                    .js("return document.body ? document.body.innerText : ''")
                    .await;
                panic!(
                    "timed out after {limit:?} waiting until {what}; the page shows:\n{}",
                    shown.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element matching `css`, or "" if none.
    pub async fn text(&self, css: &str) -> String {
        self.js_with(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The shown elements matching `css` that a finger cannot hit well:
    /// under 44 px either way, or not wholly on the screen across (or above
    /// its top), each as its id (else its class), width and height. A
    /// phone's controls must leave this empty.
    pub async fn small_tap_targets(&self, css: &str) -> Value {
        self.js_with(
            "return [...document.querySelectorAll(arguments[0])] \
               .filter(e => e.getClientRects().length > 0) \
               .map(e => [e.id || e.className, e.getBoundingClientRect()]) \
               .filter(([, r]) => r.width < 44 || r.height < 44 \
                   || r.left < 0 || r.right > innerWidth || r.top < 0) \
               .map(([name, r]) => [name, Math.round(r.width), Math.round(r.height)]);",
            vec![json!(css)],
        )
        .await
    }

    /// Types into the element matching `css` (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css}: {error}"));
        field.clear().await.expect("the field clears");
        field.send_keys(text).await.expect("typing works");
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css}: {error}"))
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
    }

    /// Types `name` into the join form, submits, and waits for the chat.
    pub async fn join(&self, name: &str) {
        self.submit_name(name).await;
        self.wait_until(&format!("{name} has joined"), JOINED).await;
    }

    /// Reloads the page and waits until it is joined again by itself,
    /// failing at once if it asks for a name: what the page kept (the name,
    /// the invitation code) must be used without the person doing anything.
    pub async fn reload_and_rejoin(&self, what: &str) {
        self.client.refresh().await.expect("reload");
        self.wait_until(
            "the reloaded app renders",
            "return document.querySelector('.app') !== null",
        )
        .await;
        self.rejoins_by_itself(what).await;
    }

    /// Waits until the page is joined again by itself (see
    /// [`Page::reload_and_rejoin`]).
    async fn rejoins_by_itself(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self
                .js(
                    "if (document.querySelector('#name-input') !== null) return 'asks for a name'; \
                     const s = document.querySelector('#composer-status'); \
                     return s !== null && !s.classList.contains('offline') ? 'joined' : 'waiting';",
                )
                .await;
            match state.as_str() {
                Some("joined") => return,
                Some("asks for a name") => panic!("{what}: the page shows the name form again"),
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not joined again within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the typing indicator names `who`.
    pub async fn sees_typing(&self, who: &str) {
        let script = format!(
            "return document.querySelector('#typing-indicator').textContent.includes({})",
            json!(format!("{who} is typing"))
        );
        self.wait_until(&format!("the page sees {who} typing"), &script)
            .await;
    }

    /// Types `text` into the composer without sending it (so the others
    /// see this page typing).
    pub async fn type_in_composer(&self, text: &str) {
        self.client
            .find(Locator::Css("#composer-input"))
            .await
            .expect("the composer")
            .send_keys(text)
            .await
            .expect("typing works");
    }

    /// Types `name` into the join form and presses Enter.
    pub async fn submit_name(&self, name: &str) {
        self.wait_until(
            "the name field is there",
            "return document.querySelector('#name-input') !== null",
        )
        .await;
        self.fill("#name-input", name).await;
        let field = self
            .client
            .find(Locator::Css("#name-input"))
            .await
            .expect("the name field");
        field
            .send_keys(&char::from(Key::Enter).to_string())
            .await
            .expect("Enter submits");
    }

    /// Types a message into the composer and presses Enter, once the page
    /// is joined and connected.
    pub async fn send(&self, text: &str) {
        self.wait_until("the composer can send", JOINED).await;
        self.send_without_waiting(text).await;
    }

    /// Types a message into the composer and presses Enter whether or not
    /// the page is connected: a message written offline goes to the outbox.
    pub async fn send_without_waiting(&self, text: &str) {
        let composer = self
            .client
            .find(Locator::Css("#composer-input"))
            .await
            .expect("the composer");
        // Shift+Enter adds a line, as a person would type it; a bare
        // Enter would send each line on its own.
        let new_line = format!(
            "{}{}{}",
            char::from(Key::Shift),
            char::from(Key::Enter),
            char::from(Key::Null)
        );
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                composer
                    .send_keys(&new_line)
                    .await
                    .expect("Shift+Enter works");
            }
            composer.send_keys(line).await.expect("typing works");
        }
        composer
            .send_keys(&char::from(Key::Enter).to_string())
            .await
            .expect("Enter sends");
    }

    /// The confirmed messages on screen as (author group, text, mine), in
    /// order; the author of a grouped message is the one above it.
    pub async fn messages(&self) -> Vec<(String, String, bool)> {
        let value = self
            .js(
                "let author = '';
                 return [...document.querySelectorAll('#timeline .msg')].map(li => {
                   const a = li.querySelector('.author');
                   if (a) author = a.firstChild ? a.firstChild.textContent : a.textContent;
                   return [author, li.querySelector('.text').textContent, li.classList.contains('mine')];
                 });",
            )
            .await;
        value
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        (
                            row[0].as_str().unwrap_or_default().to_owned(),
                            row[1].as_str().unwrap_or_default().to_owned(),
                            row[2].as_bool().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The texts of the confirmed messages on screen, in order.
    pub async fn texts(&self) -> Vec<String> {
        self.messages()
            .await
            .into_iter()
            .map(|(_, text, _)| text)
            .collect()
    }

    /// Waits until a confirmed message with exactly `text` is on screen.
    pub async fn wait_for_message(&self, text: &str) {
        let script = format!(
            "return [...document.querySelectorAll('#timeline .msg .text')]
                 .some(e => e.textContent === {});",
            json!(text)
        );
        self.wait_until(&format!("the message {text:?} shows"), &script)
            .await;
    }

    /// What the page's socket counter saw.
    pub async fn socket_stats(&self) -> SocketStats {
        let value = self.js("return window.__socketStats").await;
        let get = |key: &str| {
            value[key]
                .as_u64()
                .unwrap_or_else(|| panic!("no socket stats: {value}"))
        };
        SocketStats {
            created: get("created"),
            live: get("live"),
            max_live: get("maxLive"),
        }
    }

    /// Opens `url` in a new tab of this browser (same profile, so the same
    /// localStorage), with the page probes installed, and makes it the tab
    /// the other methods act on. Returns the tab that was current, for
    /// [`Page::close_tab`].
    pub async fn open_in_new_tab(&self, url: &str) -> WindowHandle {
        let previous = self.client.window().await.expect("the current tab");
        let tab = self.client.new_window(true).await.expect("a new tab");
        self.client
            .switch_to_window(tab.handle)
            .await
            .expect("switch to the new tab");
        install_probes(self).await;
        self.open(url).await;
        previous
    }

    /// Closes the current tab, failing the test if it logged an error or
    /// threw (as [`Page::close`] does), and goes back to `back_to`.
    pub async fn close_tab(&self, back_to: WindowHandle) {
        let problems = self.js("return window.__pageProblems || []").await;
        self.client.close_window().await.expect("the tab closes");
        self.client
            .switch_to_window(back_to)
            .await
            .expect("switch back to the other tab");
        assert_eq!(problems, json!([]), "the closed tab logged errors");
    }

    /// Saves a PNG screenshot of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("a screenshot");
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).expect("the screenshot folder");
        }
        std::fs::write(path, png).expect("the screenshot is written");
    }

    /// Takes the browser's network away (`offline: true`) or gives it back,
    /// through CDP's `Network.emulateNetworkConditions`: the page gets its
    /// `offline` / `online` events and `navigator.onLine` changes, as when
    /// a laptop's Wi-Fi drops.
    pub async fn set_network_offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": offline,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": -1,
            }),
        )
        .await;
    }
}

//! chromedriver and the browser sessions it starts.

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::ClientBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::page::Page;

/// The flags that work for Debian's Chromium on these machines (GUIDE.md).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// Watches the page from outside the app, installed before any page script
/// runs: wraps the browser's `WebSocket` so every socket the app opens is
/// counted (with the most that were open at once) and can be cut, and records console
/// errors and uncaught exceptions (and warnings, which are only shown).
const PAGE_PROBES: &str = r#"
(() => {
  const problems = [];
  Object.defineProperty(window, "__pageProblems", { value: problems });
  const error = console.error.bind(console);
  console.error = (...args) => { problems.push(args.map(String).join(" ")); error(...args); };
  const warnings = [];
  Object.defineProperty(window, "__pageWarnings", { value: warnings });
  const warn = console.warn.bind(console);
  console.warn = (...args) => { warnings.push(args.map(String).join(" ")); warn(...args); };
  window.addEventListener("error", (e) => problems.push("uncaught: " + e.message));
  window.addEventListener("unhandledrejection", (e) => problems.push("unhandled: " + e.reason));

  const Native = window.WebSocket;
  const stats = { created: 0, live: 0, maxLive: 0 };
  Object.defineProperty(window, "__socketStats", { value: stats });
  // `__cutSockets(true)` drops the page's connection the way a lost
  // network does (a close code that is not 1000) and fails every new socket
  // before it opens until `__cutSockets(false)`.
  const open = new Set();
  let cut = false;
  Object.defineProperty(window, "__cutSockets", { value: (on) => {
    cut = on;
    if (on) open.forEach((socket) => socket.close(4000, "cut by the test"));
  } });
  window.WebSocket = class CountedWebSocket extends Native {
    constructor(url, ...rest) {
      super(url, ...rest);
      if (cut) this.close();
      stats.created += 1;
      stats.live += 1;
      stats.maxLive = Math.max(stats.maxLive, stats.live);
      open.add(this);
      // Once per socket: a library may dispatch a close event of its own on
      // a socket it lets go of (gloo-net does, on drop), before the real one.
      this.addEventListener("close", () => { if (open.delete(this)) stats.live -= 1; });
    }
  };
})();
"#;

/// The screen a session emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// 1280 x 800, mouse.
    Desktop,
    /// 390 x 844 at 3x, touch, mobile viewport rules.
    Phone,
}

/// How to start a browser session.
#[derive(Clone, Debug)]
pub struct Options {
    pub device: Device,
    /// The browser's language (`navigator.languages`), e.g. "ru-RU".
    pub language: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            device: Device::Desktop,
            language: "en-US",
        }
    }
}

/// A chromedriver process for one test. Dropping it kills chromedriver and
/// every browser it started (they share its process group).
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts `chromedriver --port=<free port>` and waits until it listens.
    pub fn start() -> Self {
        let binary =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browsers it spawns can be
            // killed with it even if a test panics.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {binary}: {error}. Install Chromium and its driver \
                     (`apt-get install chromium chromium-driver`) or set CHROMEDRIVER"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(15);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr} within 15 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// Opens a new browser with a fresh profile, emulating `options`.
    pub async fn browser(&self, options: Options) -> Page {
        let profile = tempfile::tempdir().expect("a temporary profile folder");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--lang={}", options.language));
        args.push("--window-size=1280,800".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                "prefs": { "intl": { "accept_languages": options.language } },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("json! of an object literal is an object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("cannot start Chromium through chromedriver: {error}"));
        let page = Page::new(client, profile);
        install_probes(&page).await;
        page.emulate(options.device).await;
        page
    }
}

/// Installs [`PAGE_PROBES`] in the page's current tab, for every document
/// it loads from now on (a new tab needs its own).
pub(crate) async fn install_probes(page: &Page) {
    page.run_before_each_load(PAGE_PROBES).await;
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group (see `start`), so this
        // reaches the browsers it started and nothing else.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            if pid > 1 {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// A Chrome DevTools Protocol command sent through chromedriver's
/// `goog/cdp/execute` endpoint: WebDriver has no standard way to emulate a
/// phone's touch screen, a colour scheme, or to run a script before the
/// page's own.
#[derive(Debug)]
pub(crate) struct Cdp {
    pub command: &'static str,
    pub params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Where a profile lives; kept so the folder is deleted with the page.
pub(crate) type Profile = tempfile::TempDir;

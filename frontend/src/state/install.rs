//! The installable app: registers the service worker (`frontend/sw.js`,
//! which caches the app shell so the installed app opens at once and
//! offline), hears from it when a newer version was published, and tells
//! iPhone and iPad users how to install, which push needs there.

use crate::storage;
use js_sys::Reflect;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Where the dismissal of the iOS hint is remembered.
const IOS_HINT_KEY: &str = "chat.ios_install_hint_dismissed";
/// How often an open tab asks the service worker to look for a new
/// version, besides each time the tab comes back into view.
const CHECK_EVERY_MS: i32 = 60 * 60 * 1000;

/// What the install banners show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct InstallState {
    /// The service worker cached a newer version: "reload" gets it.
    pub(crate) new_version: bool,
    /// Safari on an iPhone or iPad, not installed, hint not dismissed.
    pub(crate) ios_hint: bool,
}

/// What a browser says of itself, for [`wants_ios_hint`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Browser {
    pub(crate) user_agent: String,
    pub(crate) platform: String,
    pub(crate) max_touch_points: i32,
    /// Opened as an installed app (`display-mode: standalone`, or iOS's
    /// `navigator.standalone`).
    pub(crate) standalone: bool,
}

/// Whether to explain Share → Add to Home Screen: only iOS installs that
/// way, and only an installed app gets push there. An iPad asking for the
/// desktop site says "MacIntel" but has a touch screen.
pub(crate) fn wants_ios_hint(browser: &Browser, dismissed: bool) -> bool {
    let ios = ["iPhone", "iPad", "iPod"]
        .iter()
        .any(|device| browser.user_agent.contains(device))
        || (browser.platform == "MacIntel" && browser.max_touch_points > 1);
    ios && !browser.standalone && !dismissed
}

/// The handle the banners use.
#[derive(Clone, Copy)]
pub(crate) struct Install {
    state: RwSignal<InstallState>,
}

impl Install {
    /// Registers the service worker (where the browser has them: a secure
    /// context, which loopback is too) and provides the handle.
    pub(crate) fn start() -> Self {
        let browser = this_browser();
        let install = Self {
            state: RwSignal::new(InstallState {
                new_version: false,
                ios_hint: wants_ios_hint(&browser, storage::get(IOS_HINT_KEY).is_some()),
            }),
        };
        install.register();
        provide_context(install);
        install
    }

    pub(crate) fn state(&self) -> InstallState {
        self.state.get()
    }

    /// The user dismissed the iOS hint: for good, on this browser.
    pub(crate) fn dismiss_ios_hint(&self) {
        storage::set(IOS_HINT_KEY, "1");
        self.state.update(|state| state.ios_hint = false);
    }

    /// Loads the new version the service worker has cached.
    pub(crate) fn reload(&self) {
        let _ = window().location().reload();
    }

    fn register(&self) {
        let navigator = window().navigator();
        // Absent outside secure contexts and in some private modes.
        if !Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
            return;
        }
        let workers = navigator.service_worker();
        let _ = workers.register("/sw.js");
        let state = self.state;
        let on_message =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let kind = Reflect::get(&event.data(), &"type".into()).ok();
                if kind.and_then(|kind| kind.as_string()).as_deref() == Some("new-version") {
                    state.update(|state| state.new_version = true);
                }
            });
        workers.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // For the life of the page.
        on_message.forget();
        let check = move || ask_for_a_check(&window().navigator().service_worker());
        let on_visible = Closure::<dyn Fn()>::new(move || {
            if !document().hidden() {
                check();
            }
        });
        let _ = document().add_event_listener_with_callback(
            "visibilitychange",
            on_visible.as_ref().unchecked_ref(),
        );
        on_visible.forget();
        let every_hour = Closure::<dyn Fn()>::new(check);
        let _ = window().set_interval_with_callback_and_timeout_and_arguments_0(
            every_hour.as_ref().unchecked_ref(),
            CHECK_EVERY_MS,
        );
        every_hour.forget();
    }
}

/// Asks the service worker that controls this page to fetch the page again
/// and say whether it changed.
fn ask_for_a_check(workers: &web_sys::ServiceWorkerContainer) {
    if let Some(worker) = workers.controller() {
        let message = js_sys::Object::new();
        let _ = Reflect::set(&message, &"type".into(), &"check".into());
        let _ = worker.post_message(&message);
    }
}

fn this_browser() -> Browser {
    let navigator = window().navigator();
    let standalone = Reflect::get(&navigator, &"standalone".into())
        .ok()
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
        || window()
            .match_media("(display-mode: standalone)")
            .ok()
            .flatten()
            .is_some_and(|query| query.matches());
    Browser {
        user_agent: navigator.user_agent().unwrap_or_default(),
        platform: navigator.platform().unwrap_or_default(),
        max_touch_points: Reflect::get(&navigator, &JsValue::from_str("maxTouchPoints"))
            .ok()
            .and_then(|value| value.as_f64())
            .map_or(0, |points| points as i32),
        standalone,
    }
}

/// The handle [`Install::start`] provided.
pub(crate) fn use_install() -> Install {
    expect_context::<Install>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn browser(user_agent: &str, platform: &str, touch: i32, standalone: bool) -> Browser {
        Browser {
            user_agent: user_agent.into(),
            platform: platform.into(),
            max_touch_points: touch,
            standalone,
        }
    }

    #[test]
    fn only_safari_on_ios_before_installing_gets_the_hint() {
        let iphone = browser(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
            "iPhone",
            5,
            false,
        );
        assert!(wants_ios_hint(&iphone, false));
        assert!(!wants_ios_hint(&iphone, true), "dismissed");
        let installed = Browser {
            standalone: true,
            ..iphone
        };
        assert!(!wants_ios_hint(&installed, false));
        // An iPad asking for the desktop site.
        let ipad = browser(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
            "MacIntel",
            5,
            false,
        );
        assert!(wants_ios_hint(&ipad, false));
        let mac = browser(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
            "MacIntel",
            0,
            false,
        );
        assert!(!wants_ios_hint(&mac, false));
        let android = browser(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8)",
            "Linux armv8l",
            5,
            false,
        );
        assert!(!wants_ios_hint(&android, false));
    }
}

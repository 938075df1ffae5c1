//! The browser's ways of calling me back (issue 24): the installed app's
//! icon badge (`navigator.setAppBadge`) and the Notification API. Each is
//! looked up on the page first (`js_sys::Reflect`), since many browsers
//! lack one or the other: where absent, nothing happens, and nothing
//! panics.

use js_sys::{Function, Object, Reflect};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// `target[name]` if it is a function.
fn method(target: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(target, &JsValue::from_str(name))
        .ok()?
        .dyn_into::<Function>()
        .ok()
}

/// The icon badge shows `total` (cleared at zero), where the browser has
/// one. Its promise is let go: a refusal only means no badge.
pub(crate) fn set_app_badge(total: u32) {
    let navigator: JsValue = window().navigator().into();
    if total == 0 {
        if let Some(clear) = method(&navigator, "clearAppBadge") {
            let _ = clear.call0(&navigator);
        }
    } else if let Some(set) = method(&navigator, "setAppBadge") {
        let _ = set.call1(&navigator, &JsValue::from(total));
    }
}

/// The page's `Notification` class, if the browser has one.
fn notification_class() -> Option<Function> {
    Reflect::get(&window(), &JsValue::from_str("Notification"))
        .ok()?
        .dyn_into::<Function>()
        .ok()
}

/// The permission to notify: `"granted"`, `"denied"`, `"default"` (not
/// asked yet), or none where there are no notifications.
pub(crate) fn permission() -> Option<String> {
    let class = notification_class()?;
    Reflect::get(&class, &JsValue::from_str("permission"))
        .ok()?
        .as_string()
}

/// Asks for the permission to notify: call only from a click (browsers
/// refuse, or remember a refusal, otherwise). `answered` hears the answer.
pub(crate) fn ask_permission(answered: impl FnOnce(String) + 'static) {
    let Some(class) = notification_class() else {
        return;
    };
    let Some(request) = method(&class, "requestPermission") else {
        return;
    };
    let Ok(promise) = request.call0(&class) else {
        return;
    };
    let Ok(promise) = promise.dyn_into::<js_sys::Promise>() else {
        return;
    };
    leptos::task::spawn_local(async move {
        let answer = wasm_bindgen_futures::JsFuture::from(promise).await;
        answered(answer.ok().and_then(|a| a.as_string()).unwrap_or_default());
    });
}

/// Shows a notification (`title`, `body`, one per `tag` so a burst of one
/// room replaces itself) if permitted; a click on it focuses this tab and
/// calls `clicked`.
pub(crate) fn show_notification(title: &str, body: &str, tag: &str, clicked: impl Fn() + 'static) {
    if permission().as_deref() != Some("granted") {
        return;
    }
    let Some(class) = notification_class() else {
        return;
    };
    let options = Object::new();
    let _ = Reflect::set(&options, &"body".into(), &body.into());
    let _ = Reflect::set(&options, &"tag".into(), &tag.into());
    let args = js_sys::Array::of2(&title.into(), &options);
    let Ok(shown) = Reflect::construct(&class, &args) else {
        return;
    };
    let on_click = Closure::<dyn Fn()>::new(move || {
        let _ = window().focus();
        clicked();
    });
    let _ = Reflect::set(&shown, &"onclick".into(), on_click.as_ref());
    // Lives as long as the notification may be clicked: the page's life.
    on_click.forget();
}

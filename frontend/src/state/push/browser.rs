//! The browser's side of Web Push: the service worker's registration
//! (registered by [`crate::state::install`]), its `pushManager`, and the
//! worker's messages asking an open tab to show a message after a click
//! on a push notification. Everything is looked up before use: a browser
//! without push (or a page outside a secure context) gets none of it,
//! and nothing panics.

use js_sys::{Promise, Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{PushSubscription, PushSubscriptionOptionsInit, ServiceWorkerRegistration};

use super::{key, BrowserSubscription};

/// The message type `sw.js` posts to a tab after a notification click.
const OPEN_MESSAGE: &str = "open";

/// Whether this browser can receive pushes here: a service worker
/// container and the Push API.
pub(crate) fn supported() -> bool {
    let navigator = window().navigator();
    Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false)
        && Reflect::has(&window(), &"PushManager".into()).unwrap_or(false)
}

async fn resolve(promise: Result<Promise, JsValue>) -> Option<JsValue> {
    JsFuture::from(promise.ok()?).await.ok()
}

/// The service worker's registration, once it is active.
pub(crate) async fn registration() -> Option<ServiceWorkerRegistration> {
    let ready = window().navigator().service_worker().ready();
    resolve(ready).await?.dyn_into().ok()
}

/// The browser's push subscription, if it has one: the handle, and what
/// it says of itself.
pub(crate) async fn subscription(
    registration: &ServiceWorkerRegistration,
) -> Option<(PushSubscription, BrowserSubscription)> {
    let manager = registration.push_manager().ok()?;
    let found = resolve(manager.get_subscription()).await?;
    let subscription: PushSubscription = found.dyn_into().ok()?;
    let described = describe(&subscription)?;
    Some((subscription, described))
}

/// `toJSON()`'s endpoint and keys, and the server key it was made with.
fn describe(subscription: &PushSubscription) -> Option<BrowserSubscription> {
    let json: String = js_sys::JSON::stringify(subscription).ok()?.into();
    let mut described: BrowserSubscription = serde_json::from_str(&json).ok()?;
    described.server_key = subscription
        .options()
        .application_server_key()
        .ok()
        .flatten()
        .map(|buffer| key::encode(&Uint8Array::new(&buffer).to_vec()));
    Some(described)
}

/// Subscribes the browser with the server's `key`: every push shows a
/// notification (`userVisibleOnly`, which browsers require).
pub(crate) async fn subscribe(
    registration: &ServiceWorkerRegistration,
    key: &[u8],
) -> Option<PushSubscription> {
    let manager = registration.push_manager().ok()?;
    let options = PushSubscriptionOptionsInit::new();
    options.set_user_visible_only(true);
    options.set_application_server_key_opt_u8_array(Some(&Uint8Array::from(key)));
    resolve(manager.subscribe_with_options(&options))
        .await?
        .dyn_into()
        .ok()
}

/// Drops the browser's subscription; whether it went.
pub(crate) async fn unsubscribe(subscription: &PushSubscription) -> bool {
    resolve(subscription.unsubscribe())
        .await
        .and_then(|done| done.as_bool())
        .unwrap_or(false)
}

/// Calls `open(room, id)` each time the service worker asks this tab to
/// show message `id` of `room`, or only the room for a summary (a push
/// notification was clicked), for the life of the page.
pub(crate) fn follow_open_requests(open: impl Fn(String, Option<u64>) + 'static) {
    let navigator = window().navigator();
    if !Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some((room, id)) = open_request(&event.data()) {
                open(room, id);
            }
        });
    let workers = navigator.service_worker();
    let _ =
        workers.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    on_message.forget();
}

/// `{type: "open", room, id}`, as `sw.js` posts it (`id` null for a
/// summary).
fn open_request(data: &JsValue) -> Option<(String, Option<u64>)> {
    let field = |name: &str| Reflect::get(data, &JsValue::from_str(name)).ok();
    if field("type")?.as_string().as_deref() != Some(OPEN_MESSAGE) {
        return None;
    }
    // In the shared canonical form, as any room this page goes to.
    let room = chat_shared::normalize_room(&field("room")?.as_string()?).ok()?;
    let id = field("id").and_then(|id| id.as_f64()).and_then(message_id);
    Some((room, id))
}

/// A message id sent as a JSON number: a whole number a double holds
/// exactly.
fn message_id(number: f64) -> Option<u64> {
    (number >= 0.0 && number.fract() == 0.0 && number < 9_007_199_254_740_992.0)
        .then_some(number as u64)
}

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn only_whole_non_negative_numbers_are_message_ids() {
        assert_eq!(message_id(42.0), Some(42));
        assert_eq!(message_id(0.0), Some(0));
        assert_eq!(message_id(-1.0), None);
        assert_eq!(message_id(1.5), None);
        assert_eq!(message_id(f64::NAN), None);
        assert_eq!(message_id(f64::INFINITY), None);
        assert_eq!(message_id(9_007_199_254_740_992.0), None);
    }
}

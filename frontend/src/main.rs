//! The WebSocket Chat browser client.
//!
//! # Layout
//! - [`socket`]: the one WebSocket, reconnecting with backoff and jitter.
//! - [`chat`]: the controller: server frames in, to the state that hears
//!   them; joining and re-joining.
//! - [`state`]: the page's state, one concept per module (session, rooms,
//!   conversation, outbox, presence, notices), each with its own context
//!   and the commands the user gives it (send, edit, react, jump).
//! - [`route`]: the room in the address bar, invitation and device links.
//! - [`attention`]: the app badge and notifications, where the browser
//!   has them.
//! - [`device`]: this device's label for the owner's device list.
//! - [`typing`]: the typing indicator's debounce and expiry.
//! - [`i18n`]: every user-visible string, one file per language.
//! - [`components`]: the view, one component per file.
//! - [`storage`], [`time`]: small browser helpers.

mod chat;
// Leptos' `#[component]` re-emits each component function as `pub`.
mod attention;
#[allow(unreachable_pub)]
mod components;
mod device;
mod i18n;
mod random;
mod route;
mod socket;
mod state;
mod storage;
mod time;
mod typing;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}

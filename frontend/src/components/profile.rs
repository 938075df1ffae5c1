//! The profile menu: a button in the header with my name (on a narrow
//! phone, only my initial's badge, in place of the logo) that opens a
//! small dialog. For a held name: "Link another device" (a link, its QR
//! code, Copy and a countdown), the devices with Remove, the Web Push
//! switch, and "Give up this name". For a name that is not held: that it is not kept, and why.
//! Escape closes it and the keyboard goes back to the button; a click
//! outside closes it too.

use chat_shared::DeviceInfo;
use leptos::html;
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};

use super::avatar::Avatar;
use super::push_setting::PushSetting;
use super::qr::qr_svg;
use crate::i18n::use_i18n;
use crate::route::link_url;
use crate::state::people::use_people;
use crate::state::push::use_push;
use crate::state::session::use_session;
use crate::time::{clock_and_full, now_ms};

/// How long a pressed Remove or Give up waits for its confirmation.
const ARMED: Duration = Duration::from_secs(4);

/// The header's button with my name, and the dialog it opens.
#[component]
pub(crate) fn ProfileMenu() -> impl IntoView {
    let session = use_session();
    let people = use_people();
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let toggle = NodeRef::<html::Button>::new();
    let wrapper = NodeRef::<html::Div>::new();
    let dialog = NodeRef::<html::Div>::new();
    let name = move || session.name().unwrap_or_default();

    let close = move |refocus: bool| {
        open.set(false);
        people.forget_link();
        if refocus {
            if let Some(toggle) = toggle.get_untracked() {
                let _ = toggle.focus();
            }
        }
    };
    // Opened: the devices are asked for afresh, and the keyboard goes to
    // the first control inside.
    Effect::new(move |_| {
        if !open.get() {
            return;
        }
        if people.held() {
            people.ask_devices();
        }
        request_animation_frame(move || {
            let first = dialog
                .get_untracked()
                .and_then(|d| d.query_selector("button").ok().flatten())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(first) = first {
                let _ = first.focus();
            }
        });
    });
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && open.get_untracked() {
            close(true);
        }
    });
    let outside = window_event_listener(leptos::ev::pointerdown, move |ev| {
        if !open.get_untracked() {
            return;
        }
        let inside = ev
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Node>().ok())
            .zip(wrapper.get_untracked())
            .is_some_and(|(target, wrapper)| wrapper.contains(Some(&target)));
        if !inside {
            close(false);
        }
    });
    on_cleanup(move || {
        escape.remove();
        outside.remove();
    });

    view! {
        <div class="profile" node_ref=wrapper>
            <button
                id="profile-toggle"
                type="button"
                class="link-button profile-toggle"
                node_ref=toggle
                aria-expanded=move || open.get().to_string()
                aria-controls="profile-menu"
                aria-haspopup="dialog"
                // Named by my name, as seen (the badge is hidden from
                // screen readers); the tooltip says what it opens.
                title=move || (i18n.t().profile_label)(&name())
                on:click=move |_| {
                    if open.get_untracked() { close(true) } else { open.set(true) }
                }
            >
                {move || view! { <Avatar name=name() /> }}
                <bdi class="profile-name">{name}</bdi>
            </button>
            <div
                id="profile-menu"
                class="profile-menu"
                role="dialog"
                aria-labelledby="profile-heading"
                node_ref=dialog
                hidden=move || !open.get()
            >
                <h2 id="profile-heading">
                    {move || i18n.t().profile_heading}": "<bdi>{name}</bdi>
                </h2>
                <Show when=move || people.held() fallback=NotHeld>
                    <LinkDevice />
                    <DeviceList />
                    <PushSetting />
                    <ReleaseName />
                </Show>
            </div>
        </div>
    }
}

/// What the menu says for a name that is not held.
#[component]
fn NotHeld() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p id="name-not-held" class="profile-note">{move || i18n.t().name_not_held}</p>
        <p class="profile-hint">{move || i18n.t().name_not_held_why}</p>
    }
}

/// "Link another device": asks for a code, then shows its link, a QR code
/// of it, Copy, and a live countdown; an expired code is replaced.
#[component]
fn LinkDevice() -> impl IntoView {
    let people = use_people();
    let i18n = use_i18n();
    view! {
        <section class="link-device" aria-labelledby="link-device-button">
            <button
                id="link-device-button"
                type="button"
                class="secondary"
                aria-expanded=move || people.link().is_some().to_string()
                aria-controls="device-link"
                on:click=move |_| people.ask_link()
            >
                {move || i18n.t().link_device}
            </button>
            <Show when=move || people.link().is_some()>
                <LinkPanel />
            </Show>
        </section>
    }
}

/// The link of the current code, its QR code, Copy and the countdown.
#[component]
fn LinkPanel() -> impl IntoView {
    let people = use_people();
    let session = use_session();
    let i18n = use_i18n();
    let now = RwSignal::new(now_ms());
    let copied = RwSignal::new(false);
    // Ticks each second while shown; asks for a new code once the shown
    // one expires (once per code).
    let renewed_for = StoredValue::new(String::new());
    let ticker = set_interval_with_handle(
        move || {
            now.set(now_ms());
            let code = people.link().map(|link| link.code).unwrap_or_default();
            if people.link_expired() && renewed_for.get_value() != code {
                renewed_for.set_value(code);
                people.ask_link();
            }
        },
        Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        if let Some(ticker) = ticker {
            ticker.clear();
        }
    });
    let url = Memo::new(move |_| {
        let origin = window().location().origin().unwrap_or_default();
        let name = session.name().unwrap_or_default();
        people
            .link()
            .map(|link| link_url(&origin, &link.code, &name))
            .unwrap_or_default()
    });
    let left = move || people.link().map_or(0, |link| link.seconds_left(now.get()));
    let copy = move |_| {
        copy_text(&url.get_untracked());
        copied.set(true);
        set_timeout(move || copied.set(false), Duration::from_secs(2));
    };
    view! {
        <div id="device-link" class="device-link">
            <p class="profile-hint">{move || i18n.t().link_device_hint}</p>
            <div
                id="device-link-qr"
                class="qr"
                role="img"
                aria-label=move || i18n.t().link_qr_label
                inner_html=move || qr_svg(&url.get()).unwrap_or_default()
            ></div>
            <label for="device-link-url">{move || i18n.t().link_field_label}</label>
            <div class="device-link-row">
                <input
                    id="device-link-url"
                    type="text"
                    readonly
                    spellcheck="false"
                    prop:value=move || url.get()
                    on:focus=move |ev| {
                        if let Some(input) = ev
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                        {
                            input.select();
                        }
                    }
                />
                <button id="device-link-copy" type="button" class="secondary" on:click=copy>
                    {move || if copied.get() { i18n.t().copied } else { i18n.t().copy }}
                </button>
            </div>
            <p id="device-link-expiry" class="profile-hint">
                {move || match left() {
                    0 => i18n.t().link_expired.to_owned(),
                    secs => (i18n.t().link_expires_in)(secs),
                }}
            </p>
        </div>
    }
}

/// Puts `text` on the clipboard, where the browser allows it (a secure
/// page); the field beside the button can be copied by hand anyway.
fn copy_text(text: &str) {
    let navigator = window().navigator();
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard")) else {
        return;
    };
    let write = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(write) = write {
        // A refusal (an insecure page) leaves a rejected promise: ignored.
        let _ = write.call1(&clipboard, &JsValue::from_str(text));
    }
}

/// The devices that hold my name, oldest first, each with Remove.
#[component]
fn DeviceList() -> impl IntoView {
    let people = use_people();
    let i18n = use_i18n();
    view! {
        <section class="devices" aria-labelledby="devices-heading">
            <h3 id="devices-heading">{move || i18n.t().devices_heading}</h3>
            <ul id="device-list" class="device-list">
                <For
                    each=move || people.devices()
                    key=|device| (device.id, device.label.clone(), device.last_seen.clone(), device.this)
                    children=move |device| view! { <DeviceRow device /> }
                />
            </ul>
        </section>
    }
}

/// One device: its label, when it was first and last seen, "this
/// device", and Remove (pressed twice).
#[component]
fn DeviceRow(device: DeviceInfo) -> impl IntoView {
    let people = use_people();
    let i18n = use_i18n();
    let confirming = armed_flag();
    let id = device.id;
    let label = StoredValue::new(device.label.clone());
    let shown_label = move || {
        label.with_value(|label| {
            if label.is_empty() {
                i18n.t().unknown_device.to_owned()
            } else {
                label.clone()
            }
        })
    };
    let lang = i18n.lang_untracked().code();
    let when = |ts: &str| clock_and_full(ts, lang).map_or_else(|| ts.to_owned(), |(_, full)| full);
    let (first, last) = (when(&device.first_seen), when(&device.last_seen));
    view! {
        <li class="device" class:this=device.this data-device-id=id>
            <div class="device-text">
                <span class="device-label">{shown_label}</span>
                {device.this.then(|| view! {
                    <span class="this-device">{move || i18n.t().this_device}</span>
                })}
                <span class="device-seen">{move || (i18n.t().device_seen)(&first, &last)}</span>
            </div>
            <button
                type="button"
                class="link-button danger revoke-device"
                aria-label=move || {
                    let t = i18n.t();
                    let what = (t.revoke_label)(&shown_label());
                    if confirming.get() { format!("{}: {what}", t.confirm_revoke) } else { what }
                }
                on:click=move |_| {
                    if confirming.get_untracked() {
                        confirming.set(false);
                        people.revoke(id);
                    } else {
                        arm(confirming);
                    }
                }
                on:blur=move |_| confirming.set(false)
            >
                {move || if confirming.get() { i18n.t().confirm_revoke } else { i18n.t().revoke }}
            </button>
        </li>
    }
}

/// "Give up this name", pressed twice.
#[component]
fn ReleaseName() -> impl IntoView {
    let people = use_people();
    let push = use_push();
    let i18n = use_i18n();
    let confirming = armed_flag();
    view! {
        <div class="release-name">
            <button
                id="release-name"
                type="button"
                class="link-button danger"
                aria-describedby="release-hint"
                on:click=move |_| {
                    if confirming.get_untracked() {
                        confirming.set(false);
                        push.before_release();
                        people.release();
                    } else {
                        arm(confirming);
                    }
                }
                on:blur=move |_| confirming.set(false)
            >
                {move || if confirming.get() { i18n.t().confirm_release } else { i18n.t().release_name }}
            </button>
            <p id="release-hint" class="profile-hint">{move || i18n.t().release_hint}</p>
        </div>
    }
}

/// A "press again to confirm" flag.
fn armed_flag() -> RwSignal<bool> {
    RwSignal::new(false)
}

/// Arms `flag`, which disarms by itself after [`ARMED`]: a confirmation
/// forgotten must not go off at the next press.
fn arm(flag: RwSignal<bool>) {
    flag.set(true);
    set_timeout(
        move || {
            let _ = flag.try_set(false);
        },
        ARMED,
    );
}

//! The profile menu's Web Push switch (issue 24): "Notify me on this
//! device when no tab of the chat is open". On by default, once
//! notifications are allowed; turned off, this browser's subscription is
//! dropped and the server told. Only for a held name on a server that
//! pushes, in a browser that can receive pushes.

use leptos::prelude::*;

use super::notify_settings::ask_if_never_asked;
use crate::attention::permission;
use crate::i18n::use_i18n;
use crate::state::push::use_push;

/// The switch, and why it cannot be on when the browser blocks
/// notifications for the site.
#[component]
pub(crate) fn PushSetting() -> impl IntoView {
    let push = use_push();
    let i18n = use_i18n();
    let blocked = move || permission().as_deref() == Some("denied");
    let toggle = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        push.set_enabled(on);
        if on {
            // From the click: the browser may show its prompt.
            ask_if_never_asked(push);
        }
    };
    view! {
        <Show when=move || push.offered()>
            <div class="push-setting">
                <label>
                    <input
                        id="push-toggle"
                        type="checkbox"
                        prop:checked=move || push.enabled() && !blocked()
                        prop:disabled=blocked
                        on:change=toggle
                    />
                    " "
                    {move || i18n.t().push_setting}
                </label>
                <Show when=blocked>
                    <p class="profile-hint">{move || i18n.t().push_blocked}</p>
                </Show>
            </div>
        </Show>
    }
}

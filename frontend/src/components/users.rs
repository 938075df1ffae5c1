use leptos::html;
use leptos::prelude::*;

use super::avatar::Avatar;
use super::bidi::isolate;
use super::moderation::{AuditLog, BanControl};
use super::rooms::RoomList;
use crate::i18n::use_i18n;
use crate::state::composing::use_composing;
use crate::state::people::use_people;
use crate::state::presence::use_presence;
use crate::state::session::use_session;

/// Who is online here, then the rooms: a sidebar on wide screens, a panel
/// that slides in on phones (opened from the header, closed by its button, the backdrop or
/// Escape). Someone else's name mentions them in the composer (and closes
/// the panel on a phone); with a held name, "Message" beside it opens our
/// direct messages.
#[component]
pub(crate) fn UsersPanel(open: RwSignal<bool>) -> impl IntoView {
    let presence = use_presence();
    let session = use_session();
    let composing = use_composing();
    let people = use_people();
    let i18n = use_i18n();
    let close_button = NodeRef::<html::Button>::new();

    // Move focus into the panel when it opens, so keyboard and screen
    // reader users land where the content is.
    Effect::new(move |_| {
        if open.get() {
            if let Some(button) = close_button.get_untracked() {
                let _ = button.focus();
            }
        }
    });
    let close = move || {
        open.set(false);
        if let Some(toggle) = document().get_element_by_id("users-toggle") {
            if let Ok(toggle) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(toggle) {
                let _ = toggle.focus();
            }
        }
    };
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && open.get_untracked() {
            close();
        }
    });
    on_cleanup(move || escape.remove());

    let on_pick = Callback::new(move |()| open.set(false));

    view! {
        <div class="backdrop" class:open=move || open.get() on:click=move |_| close()></div>
        <aside
            id="users-panel"
            class="users"
            class:open=move || open.get()
            aria-labelledby="users-heading"
        >
            <div class="users-head">
                <h2 id="users-heading">
                    {move || i18n.t().online_heading}
                    <span class="count">{move || presence.count()}</span>
                </h2>
                <button
                    id="users-close"
                    class="icon-button close"
                    type="button"
                    node_ref=close_button
                    aria-label=move || i18n.t().close
                    on:click=move |_| close()
                >
                    "×"
                </button>
            </div>
            // While the connection is down: the last known list, dimmed.
            <ul class="user-list" id="user-list" class:stale=move || presence.is_stale()>
                <For
                    each=move || presence.users()
                    key=|name| name.clone()
                    children=move |name| {
                        let mine = untrack(|| session.is_mine(&name));
                        if mine {
                            return view! {
                                <li class="user mine">
                                    <Avatar name=name.clone() />
                                    <bdi class="user-name">{name.clone()}</bdi>
                                    <span class="you">{move || i18n.t().you}</span>
                                </li>
                            }
                            .into_any();
                        }
                        // Someone else's name mentions them in the composer.
                        // The name stays the button's accessible name, as
                        // seen; what it does is its description.
                        let label = isolate(&name);
                        let dm_label = StoredValue::new(isolate(&name));
                        let mentioned = name.clone();
                        let messaged = StoredValue::new(name.clone());
                        view! {
                            <li class="user">
                                <button
                                    type="button"
                                    class="user-mention"
                                    title=move || (i18n.t().mention_label)(&label)
                                    on:click=move |_| {
                                        open.set(false);
                                        composing.mention(&mentioned);
                                    }
                                >
                                    <Avatar name=name.clone() />
                                    <bdi class="user-name">{name.clone()}</bdi>
                                </button>
                                <Show when=move || people.held()>
                                    <button
                                        type="button"
                                        class="link-button user-dm"
                                        aria-label=move || dm_label.with_value(|n| (i18n.t().message_person_label)(n))
                                        on:click=move |_| {
                                            open.set(false);
                                            messaged.with_value(|name| people.open_dm(name));
                                        }
                                    >
                                        {move || i18n.t().message_person}
                                    </button>
                                </Show>
                                <BanControl name=name.clone() />
                            </li>
                        }
                        .into_any()
                    }
                />
            </ul>
            <Show when=move || presence.unlisted() != 0>
                <button
                    id="users-more"
                    class="link-button more-users"
                    type="button"
                    on:click=move |_| presence.show_more()
                >
                    {move || (i18n.t().more_online)(presence.unlisted() as u64)}
                </button>
            </Show>
            <RoomList on_pick />
            <AuditLog />
        </aside>
    }
}

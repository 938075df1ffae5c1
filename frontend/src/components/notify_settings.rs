//! How much a room calls me (issue 24): the level menu in the room bar
//! (held names: the server keeps the level), and the one-time hint that
//! offers notifications once something has called me. Permission is only
//! ever asked from a click (or a choice in the menu).

use chat_shared::attention::NotifyLevel;
use leptos::prelude::*;

use crate::attention::{ask_permission, permission};
use crate::i18n::use_i18n;
use crate::state::push::{use_push, Push};
use crate::state::rooms::use_rooms;
use crate::state::unread::use_unread;
use crate::storage;

/// Remembers that the hint was answered or closed: it is one-time.
const HINT_DONE_KEY: &str = "chat.notify_hint_done";

/// Asks for the permission to notify if it was never asked: the browser
/// shows its prompt, since this runs from the user's click. Granted, push
/// may subscribe this browser.
pub(crate) fn ask_if_never_asked(push: Push) {
    if permission().as_deref() == Some("default") {
        ask_permission(move |answer| {
            if answer == "granted" {
                push.sync();
            }
        });
    }
}

/// The level of the current room, as a small select: All / Mentions and
/// replies / Nothing. Only for a held name, whose levels the server keeps.
#[component]
pub(crate) fn LevelMenu() -> impl IntoView {
    let unread = use_unread();
    let rooms = use_rooms();
    let push = use_push();
    let i18n = use_i18n();
    let level = move || unread.with(|u| u.level(&rooms.current()));
    let choose = move |ev: leptos::ev::Event| {
        let level = NotifyLevel::parse(&event_target_value(&ev));
        if level != NotifyLevel::Unknown {
            unread.choose_level(&rooms.current_untracked(), level);
            ask_if_never_asked(push);
        }
    };
    let option = move |value: NotifyLevel, text: fn(&crate::i18n::Strings) -> &'static str| {
        view! {
            <option value=value.as_str() selected=move || level() == value>
                {move || text(i18n.t())}
            </option>
        }
    };
    view! {
        <Show when=move || unread.held()>
            <label class="level-menu">
                <span class="sr-only">{move || (i18n.t().level_label)(&rooms.current())}</span>
                <select id="level-menu" on:change=choose prop:value=move || level().as_str()>
                    {option(NotifyLevel::All, |t| t.level_all)}
                    {option(NotifyLevel::Mentions, |t| t.level_mentions)}
                    {option(NotifyLevel::None, |t| t.level_none)}
                </select>
            </label>
        </Show>
    }
}

/// "Get a notification when someone calls you…": shown once something
/// has called me, while the browser can notify and was never asked;
/// answered or closed, never again.
#[component]
pub(crate) fn NotifyHint() -> impl IntoView {
    let unread = use_unread();
    let push = use_push();
    let i18n = use_i18n();
    let called = RwSignal::new(false);
    let done = RwSignal::new(storage::get(HINT_DONE_KEY).is_some());
    Effect::new(move |_| {
        if !called.get_untracked() && unread.with(|u| u.total_mentions()) > 0 {
            called.set(true);
        }
    });
    let finish = move || {
        storage::set(HINT_DONE_KEY, "1");
        done.set(true);
    };
    let shown = move || called.get() && !done.get() && permission().as_deref() == Some("default");
    view! {
        <Show when=shown>
            <div id="notify-hint" class="notify-hint" role="region" aria-label=move || i18n.t().notify_enable>
                <span>{move || i18n.t().notify_hint}</span>
                <button
                    id="notify-enable"
                    type="button"
                    class="secondary"
                    on:click=move |_| {
                        ask_if_never_asked(push);
                        finish();
                    }
                >
                    {move || i18n.t().notify_enable}
                </button>
                <button type="button" class="link-button" on:click=move |_| finish()>
                    {move || i18n.t().close}
                </button>
            </div>
        </Show>
    }
}

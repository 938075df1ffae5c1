use leptos::prelude::*;

use super::moderation::RoomModeration;
use super::notify_settings::{LevelMenu, NotifyHint};
use crate::chat::use_chat;
use crate::i18n::use_i18n;
use crate::state::rooms::use_rooms;
use crate::state::session::use_session;

/// The head of the conversation: which room this is, the way to the other
/// rooms on phones (where the panel listing them is hidden), the way out
/// of the chat, and the room's topic and moderation. A direct message is
/// named by its other members ("@bob"), not by its made-up room name.
#[component]
pub(crate) fn RoomBar(panel_open: RwSignal<bool>) -> impl IntoView {
    let chat = use_chat();
    let rooms = use_rooms();
    let session = use_session();
    let i18n = use_i18n();
    let dm = move || rooms.current_dm_names(&session.name().unwrap_or_default());
    let label = move || match dm() {
        Some(names) => (i18n.t().dm_label)(&names),
        None => (i18n.t().room_label)(&rooms.current()),
    };
    view! {
        <div class="room-bar">
            <h2 class="room-heading" aria-label=label>
                <span class="room-hash" aria-hidden="true">
                    {move || if dm().is_some() { "@" } else { "#" }}
                </span>
                <bdi id="room-name">{move || dm().unwrap_or_else(|| rooms.current())}</bdi>
            </h2>
            <button
                id="rooms-toggle"
                class="link-button rooms-toggle"
                type="button"
                aria-controls="users-panel"
                aria-expanded=move || panel_open.get().to_string()
                on:click=move |_| panel_open.set(true)
            >
                {move || i18n.t().rooms_heading}
            </button>
            <LevelMenu />
            <button id="leave" type="button" class="link-button" on:click=move |_| chat.leave()>
                {move || i18n.t().leave}
            </button>
            <RoomModeration />
        </div>
        <NotifyHint />
    }
}

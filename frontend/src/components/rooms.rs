use chat_shared::{normalize_room, MAX_ROOM_CHARS};
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::i18n::use_i18n;
use crate::route::room_href;
use crate::state::presence::use_presence;
use crate::state::rooms::use_rooms;

/// The rooms there are, with how many are online in each; a room is a
/// link (`#/r/name`), so switching is navigation and Back works.
/// `on_pick` runs when one is chosen (the phone panel closes).
#[component]
pub(crate) fn RoomList(on_pick: Callback<()>) -> impl IntoView {
    let rooms = use_rooms();
    let presence = use_presence();
    let i18n = use_i18n();
    let listed = move || rooms.listing(presence.count() as u32);
    view! {
        <nav class="rooms" aria-labelledby="rooms-heading">
            <h2 id="rooms-heading">{move || i18n.t().rooms_heading}</h2>
            <ul id="room-list" class="room-list">
                <For
                    each=listed
                    key=|room| room.clone()
                    children=move |(name, online)| {
                        let current = {
                            let name = name.clone();
                            Memo::new(move |_| rooms.is_current(&name))
                        };
                        view! {
                            <li class="room" class:current=move || current.get() data-room=name.clone()>
                                <a
                                    class="room-link"
                                    href=room_href(&name)
                                    aria-current=move || current.get().then_some("page")
                                    on:click=move |_| on_pick.run(())
                                >
                                    <span class="room-hash" aria-hidden="true">"#"</span>
                                    <span class="room-title">{name.clone()}</span>
                                    <span
                                        class="room-online"
                                        aria-label=move || (i18n.t().online_count)(u64::from(online))
                                    >
                                        {online}
                                    </span>
                                </a>
                            </li>
                        }
                    }
                />
            </ul>
            <NewRoomForm on_pick />
        </nav>
    }
}

/// Opens a room by name, creating it if it is new; the name is checked
/// with the shared rules first.
#[component]
fn NewRoomForm(on_pick: Callback<()>) -> impl IntoView {
    let chat = use_chat();
    let i18n = use_i18n();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match normalize_room(&name.get_untracked()) {
            Ok(room) => {
                error.set(None);
                name.set(String::new());
                on_pick.run(());
                chat.switch_room(room);
            }
            Err(problem) => error.set(Some(problem)),
        }
    };
    view! {
        <form id="new-room" class="new-room" on:submit=submit novalidate>
            <label for="new-room-name">{move || i18n.t().new_room_label}</label>
            <div class="new-room-row">
                <input
                    id="new-room-name"
                    type="text"
                    autocomplete="off"
                    spellcheck="false"
                    maxlength=MAX_ROOM_CHARS
                    placeholder=move || i18n.t().new_room_placeholder
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    aria-describedby="new-room-error"
                    prop:value=move || name.get()
                    on:input=move |ev| {
                        name.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <button id="new-room-create" type="submit" class="secondary">
                    {move || i18n.t().open_room}
                </button>
            </div>
            <p id="new-room-error" class="field-error" role="alert" hidden=move || error.with(Option::is_none)>
                {move || error.with(|e| e.as_ref().map(|e| (i18n.t().room_error)(e)))}
            </p>
        </form>
    }
}

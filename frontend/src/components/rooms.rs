use chat_shared::{normalize_room, MAX_ROOM_CHARS};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::unread::RoomCounts;
use crate::chat::use_chat;
use crate::i18n::use_i18n;
use crate::route::room_href;
use crate::state::presence::use_presence;
use crate::state::rooms::{use_rooms, DmRow, RoomRow, Rooms};
use crate::state::session::use_session;

/// The rooms there are, with how many are online in each, mine first; a
/// room is a link (`#/r/name`), so switching is navigation and Back
/// works. A room with news has a dot; one of mine can be left. Under them,
/// my direct messages, by the other members' names. `on_pick` runs when
/// one is chosen (the phone panel closes). The list is asked for afresh
/// each time it comes into view, so a room someone else made shows as
/// soon as the phone's panel opens.
#[component]
pub(crate) fn RoomList(on_pick: Callback<()>) -> impl IntoView {
    let rooms = use_rooms();
    let presence = use_presence();
    let i18n = use_i18n();
    let listed = move || rooms.listing(presence.count() as u32);
    let list = NodeRef::<html::Ul>::new();
    refresh_when_shown(list, rooms);
    view! {
        <nav class="rooms" aria-labelledby="rooms-heading">
            <h2 id="rooms-heading">{move || i18n.t().rooms_heading}</h2>
            <ul id="room-list" class="room-list" node_ref=list>
                <For
                    each=listed
                    key=|room| room.clone()
                    children=move |RoomRow { name, online, mine }| {
                        let current = {
                            let name = name.clone();
                            Memo::new(move |_| rooms.is_current(&name))
                        };
                        let leave = name.clone();
                        let leave_label = name.clone();
                        let leave_title = name.clone();
                        view! {
                            <li class="room" class:current=move || current.get() class:mine=mine data-room=name.clone()>
                                <a
                                    class="room-link"
                                    href=room_href(&name)
                                    aria-current=move || current.get().then_some("page")
                                    on:click=move |_| on_pick.run(())
                                >
                                    <span class="room-hash" aria-hidden="true">"#"</span>
                                    <span class="room-title">{name.clone()}</span>
                                    <NewsDot room=name.clone() />
                                    <RoomCounts room=name.clone() />
                                    {(online > 0).then(|| view! { <OnlineBadge online /> })}
                                </a>
                                {mine.then(|| view! {
                                    <button
                                        type="button"
                                        class="icon-button leave-room"
                                        aria-label=move || (i18n.t().leave_room_label)(&leave_label)
                                        title=move || (i18n.t().leave_room_label)(&leave_title)
                                        on:click=move |_| rooms.leave(&leave)
                                    >
                                        "×"
                                    </button>
                                })}
                            </li>
                        }
                    }
                />
            </ul>
            <NewRoomForm on_pick />
            <DmList on_pick />
        </nav>
    }
}

/// "Direct messages": my DMs by the other members' names, the one with
/// the latest news first; each a link to its room, with a dot for news.
/// Hidden while there are none.
#[component]
fn DmList(on_pick: Callback<()>) -> impl IntoView {
    let rooms = use_rooms();
    let session = use_session();
    let i18n = use_i18n();
    let me = move || session.name().unwrap_or_default();
    let dms = Memo::new(move |_| rooms.dms(&me()));
    view! {
        <Show when=move || dms.with(|dms| !dms.is_empty())>
            <h2 id="dms-heading">{move || i18n.t().dms_heading}</h2>
            <ul id="dm-list" class="room-list dm-list" aria-labelledby="dms-heading">
                <For
                    each=move || dms.get()
                    key=|dm| dm.clone()
                    children=move |DmRow { room, others }| {
                        let current = {
                            let room = room.clone();
                            Memo::new(move |_| rooms.is_current(&room))
                        };
                        let names = others.join(", ");
                        view! {
                            <li class="room dm" class:current=move || current.get() data-room=room.clone()>
                                <a
                                    class="room-link"
                                    href=room_href(&room)
                                    aria-current=move || current.get().then_some("page")
                                    on:click=move |_| on_pick.run(())
                                >
                                    <span class="room-hash" aria-hidden="true">"@"</span>
                                    <bdi class="room-title">{names}</bdi>
                                    <NewsDot room=room.clone() />
                                    <RoomCounts room=room.clone() />
                                </a>
                            </li>
                        }
                    }
                />
            </ul>
        </Show>
    }
}

/// A dot after a room's name while it has news I have not seen; a screen
/// reader hears "new messages" after the name.
#[component]
fn NewsDot(room: String) -> impl IntoView {
    let rooms = use_rooms();
    let i18n = use_i18n();
    let room = StoredValue::new(room);
    move || {
        room.with_value(|room| rooms.has_news(room)).then(|| {
            view! {
                <span class="room-news" title=move || i18n.t().news>
                    <span class="sr-only">{move || format!(", {}", i18n.t().news)}</span>
                </span>
            }
        })
    }
}

/// How many people are in a room: a person icon with the number, so it
/// does not read as a count of unread messages; a screen reader (and the
/// tooltip) says "2 online". A room with nobody shows none.
#[component]
fn OnlineBadge(online: u32) -> impl IntoView {
    let i18n = use_i18n();
    let label = move || (i18n.t().online_count)(u64::from(online));
    view! {
        <span class="room-online" title=label>
            <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">
                <circle cx="8" cy="4.5" r="3"></circle>
                <path d="M2 15c0-3.6 2.7-6 6-6s6 2.4 6 6z"></path>
            </svg>
            <span class="room-online-count" aria-hidden="true">{online}</span>
            <span class="sr-only">{move || format!(", {}", label())}</span>
        </span>
    }
}

/// Asks `rooms` for a fresh list each time `list` comes into view: the
/// phone's panel opening (it slides in from off-screen), or the page
/// showing it at the start on a desktop, where it is always there.
fn refresh_when_shown(list: NodeRef<html::Ul>, rooms: Rooms) {
    let on_change = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
        let shown = entries.iter().any(|entry| {
            entry
                .dyn_into::<web_sys::IntersectionObserverEntry>()
                .is_ok_and(|entry| entry.is_intersecting())
        });
        if shown {
            rooms.refresh();
        }
    });
    let Ok(observer) = web_sys::IntersectionObserver::new(on_change.as_ref().unchecked_ref())
    else {
        return;
    };
    // Kept until the list goes; the cleanup disconnects first, so the
    // callback is never called once dropped.
    let kept = StoredValue::new_local(Some((observer.clone(), on_change)));
    Effect::new(move |_| {
        if let Some(list) = list.get() {
            observer.observe(&list);
        }
    });
    on_cleanup(move || {
        kept.try_update_value(|kept| {
            if let Some((observer, _)) = kept.take() {
                observer.disconnect();
            }
        });
    });
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

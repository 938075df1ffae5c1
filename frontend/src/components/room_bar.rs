use leptos::prelude::*;

use crate::chat::use_chat;
use crate::i18n::use_i18n;

/// The head of the conversation: which room this is, and the way out of
/// the chat.
#[component]
pub fn RoomBar() -> impl IntoView {
    let chat = use_chat();
    let i18n = use_i18n();
    view! {
        <div class="room-bar">
            <h2 class="room-heading" aria-label=move || chat.room.with(|room| (i18n.t().room_label)(room))>
                <span class="room-hash" aria-hidden="true">"#"</span>
                <span id="room-name">{move || chat.room.get()}</span>
            </h2>
            <button id="leave" type="button" class="link-button" on:click=move |_| chat.leave()>
                {move || i18n.t().leave}
            </button>
        </div>
    }
}

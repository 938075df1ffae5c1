use leptos::prelude::*;
use std::time::Duration;

use crate::chat::use_chat;
use crate::i18n::use_i18n;
use crate::socket::Status;
use crate::state::conversation::use_conversation;
use crate::time::now_ms;

/// The connection state in words, with a countdown while waiting to
/// reconnect and a "Retry now" button whenever we are not online; while
/// the conversation shown is the copy this device kept (before the
/// server's `welcome`), it says so.
#[component]
pub(crate) fn ConnectionStatus() -> impl IntoView {
    let chat = use_chat();
    let i18n = use_i18n();
    let connection = chat.connection();
    let conversation = use_conversation();
    let kept = move || conversation.with(|c| c.is_kept());

    // Ticks the countdown; cheap enough to run for the life of the page.
    let now = RwSignal::new(now_ms());
    if let Ok(ticker) =
        set_interval_with_handle(move || now.set(now_ms()), Duration::from_millis(250))
    {
        on_cleanup(move || ticker.clear());
    }

    let label = move || {
        let t = i18n.t();
        match connection.status() {
            Status::Idle => String::new(),
            Status::Connecting => t.status_connecting.to_owned(),
            Status::Online => t.status_online.to_owned(),
            // Without a network there is nothing to count down to: the
            // `online` event retries at once.
            Status::Retrying | Status::Offline => t.status_retrying.to_owned(),
            Status::Waiting { retry_at } => {
                let seconds = ((retry_at - now.get()) / 1000.0).ceil().max(1.0);
                (t.status_reconnecting_in)(seconds as u64)
            }
        }
    };
    let spoken = move || {
        let t = i18n.t();
        match connection.status() {
            Status::Idle => "",
            Status::Connecting => t.status_connecting,
            Status::Online => t.status_online,
            Status::Retrying | Status::Waiting { .. } | Status::Offline => t.status_retrying,
        }
    };
    let can_retry = move || {
        matches!(
            connection.status(),
            Status::Waiting { .. } | Status::Offline
        )
    };

    view! {
        <div
            class="status"
            data-state=move || connection.status().name()
            hidden=move || connection.status() == Status::Idle
        >
            <span class="status-dot" aria-hidden="true"></span>
            // The countdown changes every second: screen readers get the
            // state without it, so they are not interrupted each tick.
            <span id="connection-status" aria-hidden="true">
                {label}
            </span>
            <Show when=kept>
                <span id="kept-conversation" class="status-kept">
                    {move || i18n.t().status_kept}
                </span>
            </Show>
            <span class="sr-only" role="status">
                {spoken}
                <Show when=kept>" " {move || i18n.t().status_kept}</Show>
            </span>
            <Show when=can_retry>
                <button
                    id="retry-now"
                    class="retry"
                    type="button"
                    on:click=move |_| connection.retry_now()
                >
                    {move || i18n.t().retry_now}
                </button>
            </Show>
        </div>
    }
}

use chat_shared::{message_length, MAX_MESSAGE_CHARS};
use leptos::html;
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::i18n::{use_i18n, Problem};

/// The counter appears once a message gets this close to the limit.
const COUNTER_FROM: usize = MAX_MESSAGE_CHARS - 200;

/// The message box: grows up to about six lines (the stylesheet caps it),
/// Enter sends, Shift+Enter adds a line. While disconnected it still takes
/// messages: they wait in the outbox and go out once the connection is back.
#[component]
pub fn Composer() -> impl IntoView {
    let chat = use_chat();
    let i18n = use_i18n();
    let draft = RwSignal::new(String::new());
    let textarea = NodeRef::<html::Textarea>::new();
    let length = move || draft.with(|d| message_length(d));
    let too_long = move || length() > MAX_MESSAGE_CHARS;
    let can_send = move || chat.entered.get() && !too_long() && length() > 0;

    let fit_height = move || {
        if let Some(el) = textarea.get_untracked() {
            let style = web_sys::HtmlElement::style(&el);
            let _ = style.set_property("height", "auto");
            let _ = style.set_property("height", &format!("{}px", el.scroll_height() + 2));
        }
    };
    let send = move || {
        let text = draft.get_untracked();
        match chat.send_message(&text) {
            Ok(()) => {
                draft.set(String::new());
                request_animation_frame(fit_height);
            }
            // Empty or too long is already visible (disabled button,
            // counter). Nothing is lost.
            Err(Problem::Message(_) | Problem::ConnectionLost) => {}
            Err(problem) => chat.notice.set(Some(problem)),
        }
    };

    view! {
        <form
            class="composer"
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                send();
            }
        >
            <label for="composer-input" class="sr-only">
                {move || i18n.t().composer_label}
            </label>
            <textarea
                id="composer-input"
                node_ref=textarea
                rows="1"
                enterkeyhint="send"
                placeholder=move || i18n.t().composer_placeholder
                aria-describedby="composer-status composer-counter"
                aria-invalid=move || too_long().to_string()
                prop:value=move || draft.get()
                on:input=move |ev| {
                    draft.set(event_target_value(&ev));
                    fit_height();
                    chat.typed();
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    // While an input method is composing (Chinese, Japanese),
                    // Enter confirms the composition, not the message.
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        send();
                    }
                }
                on:blur=move |_| chat.stop_typing()
            ></textarea>
            <span
                id="composer-counter"
                class="counter"
                class:over=too_long
                hidden=move || length() < COUNTER_FROM
                aria-live="polite"
            >
                <span aria-hidden="true">{move || format!("{} / {MAX_MESSAGE_CHARS}", length())}</span>
                <span class="sr-only">
                    {move || {
                        let t = i18n.t();
                        let length = length();
                        if length > MAX_MESSAGE_CHARS {
                            (t.chars_over)((length - MAX_MESSAGE_CHARS) as u64)
                        } else {
                            (t.chars_left)((MAX_MESSAGE_CHARS - length) as u64)
                        }
                    }}
                </span>
            </span>
            <button
                id="send-button"
                class="send"
                type="submit"
                disabled=move || !can_send()
                aria-label=move || i18n.t().send
                title=move || i18n.t().send
            >
                <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                    <path d="M3.4 20.4 21 12 3.4 3.6 3.4 10.2 15 12 3.4 13.8z"></path>
                </svg>
            </button>
        </form>
        <p id="composer-status" class="composer-status" class:offline=move || !chat.can_send()>
            {move || {
                let t = i18n.t();
                if chat.can_send() { t.composer_hint } else { t.composer_offline }
            }}
        </p>
        <Notice />
    }
}

/// A refusal from the server that concerns no message on screen (for
/// example being told to slow down), dismissible.
#[component]
fn Notice() -> impl IntoView {
    let chat = use_chat();
    let i18n = use_i18n();
    let text = move || {
        let t = i18n.t();
        chat.notice
            .with(|notice| notice.as_ref().map(|problem| problem.describe(t)))
    };
    view! {
        <Show when=move || chat.notice.with(Option::is_some)>
            <div class="notice-bar" role="alert">
                <span>{text}</span>
                <button
                    type="button"
                    class="link-button"
                    on:click=move |_| chat.notice.set(None)
                >
                    {move || i18n.t().close}
                </button>
            </div>
        </Show>
    }
}

use chat_shared::message_length;
use leptos::html;
use leptos::prelude::*;

use super::attach::{attach, files_of, AttachButtons, FileChips};
use super::composer_mode::ComposerMode;
use super::mention_picker::{follow_caret, on_picker_key, option_id, pick, MentionList, People};
use crate::chat::use_chat;
use crate::i18n::{use_i18n, Problem};
use crate::state::attachments::use_attachments;
use crate::state::authorship::use_authorship;
use crate::state::composing::{use_composing, with_mention, Mode};
use crate::state::conversation::use_conversation;
use crate::state::mention_picker::Picker;
use crate::state::moderation::use_moderation;
use crate::state::notices::use_notices;
use crate::state::outbox::use_outbox;
use crate::state::presence::use_presence;
use crate::state::rooms::use_rooms;
use crate::state::session::use_session;

/// The counter appears once a message gets this close to the limit.
const COUNTER_BEFORE_LIMIT: usize = 200;

/// The message box: grows up to about six lines (the stylesheet caps it),
/// Enter sends, Shift+Enter adds a line. While disconnected it still takes
/// messages: they wait in the outbox and go out once the connection is back.
/// Up in an empty box edits my last message; Escape stops a reply or edit.
#[component]
pub(crate) fn Composer() -> impl IntoView {
    let chat = use_chat();
    let session = use_session();
    let presence = use_presence();
    let notices = use_notices();
    let rooms = use_rooms();
    let i18n = use_i18n();
    let composing = use_composing();
    let outbox = use_outbox();
    let conversation = use_conversation();
    let authorship = use_authorship();
    let attachments = use_attachments();
    let draft = RwSignal::new(String::new());
    let textarea = NodeRef::<html::Textarea>::new();
    // The `@` autocomplete under the caret.
    let picker = RwSignal::new(Picker::default());
    let people = People::from_context();
    let choose = move |name: String| pick(picker, draft, textarea, &name);
    // The longest message the server takes, as it announced.
    let max = Memo::new(move |_| session.limits().max_message_chars as usize);
    let length = move || draft.with(|d| message_length(d));
    let too_long = move || length() > max.get();
    let moderation = use_moderation();
    // A locked room takes posts from moderators only.
    let read_only = move || moderation.locked() && !moderation.is_on();
    let editing = move || matches!(composing.mode(), Mode::Editing { .. });
    // Files chosen for the room shown: they can go without a caption.
    let has_files = move || !editing() && attachments.has_draft(&rooms.current());
    let can_send =
        move || session.entered() && !read_only() && !too_long() && (length() > 0 || has_files());
    let counter_from = move || max.get().saturating_sub(COUNTER_BEFORE_LIMIT);

    // The keyboard goes to the message field on joining and in each room
    // entered, not to the page body the form or room link left behind.
    Effect::new(move |_| {
        rooms.current();
        if let Some(el) = textarea.get() {
            let _ = el.focus();
        }
    });

    let fit_height = move || {
        if let Some(el) = textarea.get_untracked() {
            let style = web_sys::HtmlElement::style(&el);
            let _ = style.set_property("height", "auto");
            let _ = style.set_property("height", &format!("{}px", el.scroll_height() + 2));
        }
    };
    let send = move || {
        let text = draft.get_untracked();
        let sent = match untrack(has_files) {
            true => composing.submit_files(&text, session, presence, attachments),
            false => composing.submit(&text, session, presence, outbox),
        };
        match sent {
            Ok(()) => {
                draft.set(String::new());
                request_animation_frame(fit_height);
            }
            // Empty or too long is already visible (disabled button,
            // counter). Nothing is lost.
            Err(Problem::Message(_) | Problem::ConnectionLost) => {}
            Err(problem) => notices.show(problem),
        }
    };

    // A name picked in the online list: mentioned at the end of the
    // draft, with the caret after it and the keyboard here.
    Effect::new(move |_| {
        let Some(name) = composing.take_mention() else {
            return;
        };
        draft.update(|d| *d = with_mention(d, &name));
        if let Some(el) = textarea.get_untracked() {
            // The caret counts UTF-16 units.
            let end = draft.with_untracked(|d| d.encode_utf16().count());
            el.set_value(&draft.get_untracked());
            let _ = el.focus();
            let end = u32::try_from(end).unwrap_or(u32::MAX);
            let _ = el.set_selection_range(end, end);
        }
        request_animation_frame(fit_height);
    });

    // Editing puts the message's text in the box, and leaving an edit
    // takes it out again; starting a reply keeps what was typed.
    Effect::new(move |previous: Option<Mode>| {
        let mode = composing.mode();
        match &mode {
            Mode::Editing { text, .. } => draft.set(text.clone()),
            Mode::Writing if matches!(previous, Some(Mode::Editing { .. })) => {
                draft.set(String::new());
            }
            _ => {}
        }
        if previous.is_some() && mode != Mode::Writing {
            if let Some(el) = textarea.get_untracked() {
                let _ = el.focus();
            }
        }
        request_animation_frame(fit_height);
        // The bar above the composer takes room from the list: the
        // message answered or changed stays in sight above it.
        let about = match &mode {
            Mode::Replying(quote) => Some(quote.id),
            Mode::Editing { id, .. } => Some(*id),
            Mode::Writing => None,
        };
        if let Some(id) = about {
            request_animation_frame(move || keep_in_sight(id));
        }
        mode
    });
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        // While an input method is composing (Chinese, Japanese), its keys
        // are its own: Enter confirms the composition, not the message.
        if ev.is_composing() {
            return;
        }
        if on_picker_key(picker, &ev.key(), choose) {
            ev.prevent_default();
            return;
        }
        match ev.key().as_str() {
            "Enter" if !ev.shift_key() => {
                ev.prevent_default();
                send();
            }
            // Up in an empty box edits my last message (when there is one).
            "ArrowUp"
                if draft.with_untracked(String::is_empty)
                    && composing.edit_last(conversation, authorship) =>
            {
                ev.prevent_default();
            }
            "Escape" if composing.mode_untracked() != Mode::Writing => {
                ev.prevent_default();
                composing.reset();
            }
            _ => {}
        }
    };
    // Files (a screenshot, a copied file) pasted into the box are
    // attached; pasted text stays text.
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        let files = files_of(ev.clipboard_data().and_then(|data| data.files()));
        if !files.is_empty() && !editing() && !read_only() {
            ev.prevent_default();
            attach(attachments, notices, files);
        }
    };

    view! {
        <ComposerMode />
        <FileChips />
        <form
            class="composer"
            class:editing=editing
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
                disabled=read_only
                enterkeyhint="send"
                placeholder=move || i18n.t().composer_placeholder
                aria-describedby="composer-status composer-counter"
                aria-invalid=move || too_long().to_string()
                aria-autocomplete="list"
                aria-controls=move || picker.with(Picker::is_open).then_some("mention-list")
                aria-activedescendant=move || {
                    picker.with(|p| p.is_open().then(|| option_id(p.active)))
                }
                prop:value=move || draft.get()
                on:input=move |ev| {
                    draft.set(event_target_value(&ev));
                    fit_height();
                    presence.typed();
                    follow_caret(picker, textarea, people);
                }
                on:click=move |_| follow_caret(picker, textarea, people)
                on:keydown=on_keydown
                on:paste=on_paste
                on:blur=move |_| {
                    presence.stop_typing();
                    picker.update(Picker::close);
                }
            ></textarea>
            <MentionList picker on_pick=Callback::new(choose) />
            <span
                id="composer-counter"
                class="counter"
                class:over=too_long
                hidden=move || length() < counter_from()
                aria-live="polite"
            >
                <span aria-hidden="true">{move || format!("{} / {}", length(), max.get())}</span>
                <span class="sr-only">
                    {move || {
                        let t = i18n.t();
                        chars_left_text(t, length(), max.get())
                    }}
                </span>
            </span>
            // After the box, beside Send: the message box stays the first
            // stop the keyboard reaches in the composer.
            <AttachButtons disabled=Signal::derive(move || read_only() || editing()) />
            <button
                id="send-button"
                class="round-button send"
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
        <p
            id="composer-status"
            class="composer-status"
            class:offline=move || !chat.can_send()
            class:read-only=read_only
        >
            {move || {
                let t = i18n.t();
                match (read_only(), chat.can_send()) {
                    (true, _) => t.room_locked_notice,
                    (false, true) if editing() => t.composer_edit_hint,
                    (false, true) => t.composer_hint,
                    (false, false) => t.composer_offline,
                }
            }}
        </p>
        <Notice />
    }
}

/// Scrolls the message list just enough to show message `id` whole, if it
/// is on the page.
fn keep_in_sight(id: u64) {
    let selector = format!("#timeline li.msg[data-id=\"{id}\"] .bubble");
    if let Ok(Some(bubble)) = document().query_selector(&selector) {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Nearest);
        bubble.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

/// A refusal from the server that concerns no message on screen (for
/// example being told to slow down), dismissible.
#[component]
fn Notice() -> impl IntoView {
    let notices = use_notices();
    let i18n = use_i18n();
    let text = move || notices.notice().map(|problem| problem.describe(i18n.t()));
    view! {
        <Show when=move || notices.notice().is_some()>
            <div class="notice-bar" role="alert">
                <span>{text}</span>
                <button
                    type="button"
                    class="link-button"
                    on:click=move |_| notices.dismiss()
                >
                    {move || i18n.t().close}
                </button>
            </div>
        </Show>
    }
}

/// What the screen reader hears about the length: characters left, or
/// how many too many.
fn chars_left_text(t: &crate::i18n::Strings, length: usize, max: usize) -> String {
    if length > max {
        (t.chars_over)((length - max) as u64)
    } else {
        (t.chars_left)((max - length) as u64)
    }
}

//! Above the composer while it replies or edits: what it answers or
//! changes, and the way back to writing a new message.

use leptos::prelude::*;

use super::bidi::sentence_with_names;
use crate::i18n::use_i18n;
use crate::state::composing::{use_composing, Mode};

/// The quoted original of a reply, or a note that the composer edits one
/// of my messages, each with a cancel button; nothing while writing.
#[component]
pub(crate) fn ComposerMode() -> impl IntoView {
    let composing = use_composing();
    let i18n = use_i18n();
    move || match composing.mode() {
        Mode::Writing => ().into_any(),
        Mode::Replying(quote) => {
            let author = quote.username.clone();
            let deleted = quote.deleted;
            let excerpt = quote.text.clone();
            view! {
                <div id="composer-mode" class="composer-mode replying" role="status">
                    <span class="composer-mode-text">
                        <strong>
                            {move || {
                                sentence_with_names(std::slice::from_ref(&author), |n| {
                                    (i18n.t().replying_to)(&n[0])
                                })
                            }}
                        </strong>
                        <span class="quote-text" dir="auto">
                            {move || {
                                if deleted {
                                    i18n.t().message_deleted.to_owned()
                                } else {
                                    excerpt.clone()
                                }
                            }}
                        </span>
                    </span>
                    <button
                        type="button"
                        class="link-button cancel-mode"
                        aria-label=move || i18n.t().cancel_reply
                        on:click=move |_| composing.reset()
                    >
                        {move || i18n.t().cancel}
                    </button>
                </div>
            }
            .into_any()
        }
        Mode::Editing { text, .. } => view! {
            <div id="composer-mode" class="composer-mode editing" role="status">
                <span class="composer-mode-text">
                    <strong>{move || i18n.t().editing}</strong>
                    <span class="quote-text" dir="auto">{chat_shared::quote_excerpt(&text)}</span>
                </span>
                <button
                    type="button"
                    class="link-button cancel-mode"
                    aria-label=move || i18n.t().cancel_edit
                    on:click=move |_| composing.reset()
                >
                    {move || i18n.t().cancel}
                </button>
            </div>
        }
        .into_any(),
    }
}

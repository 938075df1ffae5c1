//! The quote a reply shows of its original, which takes the reader there.

use chat_shared::Quote;
use leptos::prelude::*;

use super::bidi::isolate;
use crate::i18n::use_i18n;
use crate::state::conversation::use_conversation;

/// A reply's quote of its original: clicking it scrolls to the original
/// and highlights it, loading it first if it is not on the page.
#[component]
pub(crate) fn ReplyQuote(quote: Quote) -> impl IntoView {
    let conversation = use_conversation();
    let i18n = use_i18n();
    // In the Tab order only on the message that is the conversation's
    // stop (see `feed_focus`).
    let tab_index = super::feed_focus::tab_index();
    let target = quote.id;
    let label_author = isolate(&quote.username);
    let deleted = quote.deleted;
    let excerpt = quote.text;
    view! {
        <button
            type="button"
            class="quote"
            tabindex=tab_index
            class:deleted=deleted
            data-target=target
            aria-label=move || (i18n.t().quote_label)(&label_author)
            on:click=move |_| conversation.jump_to(target)
        >
            <bdi class="quote-author">{quote.username}</bdi>
            <span class="quote-text" dir="auto">
                {move || if deleted { i18n.t().message_deleted.to_owned() } else { excerpt.clone() }}
            </span>
        </button>
    }
}

//! The reactions under a message, as chips that count and toggle.

use chat_shared::Reactions;
use leptos::prelude::*;

use super::bidi::isolate;
use crate::i18n::use_i18n;
use crate::state::outbox::use_outbox;
use crate::state::session::use_session;

/// One chip per emoji on message `id`: its count, mine highlighted, who
/// put it there in the tooltip and the accessible name; clicking puts mine on or takes it off.
#[component]
pub(crate) fn ReactionChips(id: u64, reactions: Vec<Reactions>) -> impl IntoView {
    let outbox = use_outbox();
    let session = use_session();
    let i18n = use_i18n();
    let tab_index = super::feed_focus::tab_index();
    let chips = reactions
        .into_iter()
        .map(|reaction| {
            let Reactions { emoji, users } = reaction;
            let count = users.len();
            let mine = Memo::new({
                let users = users.clone();
                move |_| users.iter().any(|user| session.is_mine(user))
            });
            // The name starts with what the chip shows (the count too), so
            // a person who says what they see ("1") reaches it by voice.
            let label = {
                let shown = format!("{emoji} {count}:");
                let names: Vec<String> = users.iter().map(|name| isolate(name)).collect();
                move || (i18n.t().reaction_label)(&shown, &names)
            };
            let chosen = emoji.clone();
            view! {
                <button
                    type="button"
                    class="reaction"
                    tabindex=tab_index
                    class:mine=move || mine.get()
                    aria-pressed=move || mine.get().to_string()
                    data-emoji=emoji.clone()
                    title=label.clone()
                    aria-label=label
                    on:click=move |_| outbox.react(id, &chosen, !mine.get_untracked())
                >
                    <span aria-hidden="true">{emoji.clone()}</span>
                    <span class="count">{count}</span>
                </button>
            }
        })
        .collect_view();
    view! { <div class="reactions">{chips}</div> }
}

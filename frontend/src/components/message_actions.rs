//! What can be done to a message, shown on hover, keyboard focus or a long
//! press: reply, react, and on my own, edit and delete.

use chat_shared::{ChatMessage, REACTION_EMOJI};
use leptos::prelude::*;

use crate::i18n::use_i18n;
use crate::state::authorship::use_authorship;
use crate::state::composing::use_composing;
use crate::state::outbox::use_outbox;
use crate::state::session::use_session;

/// The action bar of `message`, read as it is when an action is chosen.
/// Delete asks for a second click; the reaction picker offers the fixed
/// set of emoji.
#[component]
pub(crate) fn MessageActions(message: ReadSignal<ChatMessage>) -> impl IntoView {
    let session = use_session();
    let outbox = use_outbox();
    let composing = use_composing();
    let authorship = use_authorship();
    let i18n = use_i18n();
    let (id, author) = message.with_untracked(|m| (m.id, m.username.clone()));
    let picking = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let own = move || authorship.owns(id);
    let picker = move || {
        picking.get().then(|| {
            REACTION_EMOJI
                .iter()
                .map(|emoji| {
                    let mine_on = move || {
                        message.with_untracked(|m| {
                            m.reactions.iter().any(|r| {
                                r.emoji == *emoji
                                    && r.users
                                        .iter()
                                        .any(|u| session.with_untracked(|s| s.is_mine(u)))
                            })
                        })
                    };
                    view! {
                        <button
                            type="button"
                            class="pick"
                            data-emoji=*emoji
                            aria-label=*emoji
                            on:click=move |_| {
                                outbox.react(id, emoji, !mine_on());
                                picking.set(false);
                            }
                        >
                            {*emoji}
                        </button>
                    }
                })
                .collect_view()
        })
    };
    let own_actions = move || {
        own().then(|| {
            view! {
                <button
                    type="button"
                    class="action action-edit"
                    aria-label=move || i18n.t().edit_label
                    title=move || i18n.t().edit_label
                    on:click=move |_| composing.edit(&message.get_untracked())
                >
                    {move || i18n.t().edit}
                </button>
                <button
                    type="button"
                    class="action action-delete danger"
                    class:confirming=move || confirming.get()
                    aria-label=move || {
                        let t = i18n.t();
                        if confirming.get() { t.confirm_delete_mine } else { t.delete_mine_label }
                    }
                    on:click=move |_| {
                        if confirming.get_untracked() {
                            confirming.set(false);
                            outbox.delete(id);
                            composing.stop_editing(id);
                        } else {
                            confirming.set(true);
                        }
                    }
                    on:blur=move |_| confirming.set(false)
                >
                    {move || {
                        let t = i18n.t();
                        if confirming.get() { t.confirm_delete_mine } else { t.delete }
                    }}
                </button>
            }
        })
    };
    view! {
        <div class="msg-actions" role="toolbar" aria-label=move || i18n.t().message_actions>
            <button
                type="button"
                class="action action-reply"
                aria-label=move || (i18n.t().reply_label)(&super::bidi::isolate(&author))
                title=move || i18n.t().reply
                on:click=move |_| composing.reply(&message.get_untracked())
            >
                {move || i18n.t().reply}
            </button>
            <button
                type="button"
                class="action action-react"
                aria-expanded=move || picking.get().to_string()
                aria-label=move || i18n.t().react
                title=move || i18n.t().react
                on:click=move |_| picking.update(|p| *p = !*p)
            >
                <span aria-hidden="true">"☺"</span>
            </button>
            {own_actions}
            <div class="reaction-picker" hidden=move || !picking.get()>
                {picker}
            </div>
        </div>
    }
}

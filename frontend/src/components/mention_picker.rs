//! The composer's `@` autocomplete: a listbox of the room's people under
//! the caret's `@…` (the rules are [`crate::state::mention_picker`]'s).
//! The textarea keeps the focus and names the option the keyboard is on
//! (`aria-activedescendant`); a click or a tap picks one.

use leptos::html;
use leptos::prelude::*;

use crate::i18n::use_i18n;
use crate::state::conversation::{use_conversation, Conversation, EntryKind};
use crate::state::mention_picker::{insert, options, query_at, Picker};
use crate::state::presence::{use_presence, Presence};
use crate::state::session::{use_session, Session};

/// The id of option `index`, for `aria-activedescendant`.
pub(crate) fn option_id(index: usize) -> String {
    format!("mention-option-{index}")
}

/// The authors of the messages on the page, newest first, each once.
fn recent_authors(conversation: Conversation) -> Vec<String> {
    conversation.with_untracked(|c| {
        let mut names: Vec<String> = Vec::new();
        for entry in c.entries().iter().rev() {
            if let EntryKind::Message { message, .. } = &entry.kind {
                if !names.contains(&message.username) {
                    names.push(message.username.clone());
                }
            }
        }
        names
    })
}

/// Where the autocomplete finds people: who is online, the page's
/// authors, and my name (never offered).
#[derive(Clone, Copy)]
pub(crate) struct People {
    pub(crate) session: Session,
    pub(crate) presence: Presence,
    pub(crate) conversation: Conversation,
}

impl People {
    /// From context, while the composer is built.
    pub(crate) fn from_context() -> Self {
        Self {
            session: use_session(),
            presence: use_presence(),
            conversation: use_conversation(),
        }
    }
}

/// Follows the caret in `textarea`: opens, filters or closes `picker`.
pub(crate) fn follow_caret(
    picker: RwSignal<Picker>,
    textarea: NodeRef<html::Textarea>,
    people: People,
) {
    let Some(el) = textarea.get_untracked() else {
        return;
    };
    let caret = el.selection_start().ok().flatten().unwrap_or(0) as usize;
    let draft = el.value();
    let query = query_at(&draft, caret);
    let found = match &query {
        Some(query) => {
            let me = people
                .session
                .with_untracked(|s| s.me().map(str::to_owned))
                .unwrap_or_default();
            let online = untrack(|| people.presence.users());
            options(
                &online,
                &recent_authors(people.conversation),
                &me,
                &query.text,
            )
        }
        None => Vec::new(),
    };
    picker.update(|p| p.update(query, found));
}

/// Puts `name`'s mention token and a space where the query is, in `draft`
/// and the textarea, with the caret after them.
pub(crate) fn pick(
    picker: RwSignal<Picker>,
    draft: RwSignal<String>,
    textarea: NodeRef<html::Textarea>,
    name: &str,
) {
    let Some(query) = picker.with_untracked(|p| p.query.clone()) else {
        return;
    };
    let (text, caret) = insert(&draft.get_untracked(), &query, name);
    picker.update(Picker::close);
    draft.set(text.clone());
    if let Some(el) = textarea.get_untracked() {
        el.set_value(&text);
        let _ = el.focus();
        let caret = u32::try_from(caret).unwrap_or(u32::MAX);
        let _ = el.set_selection_range(caret, caret);
    }
}

/// What a key does while the list is open; `true` when it was the list's.
pub(crate) fn on_picker_key(
    picker: RwSignal<Picker>,
    key: &str,
    choose: impl FnOnce(String),
) -> bool {
    if !picker.with_untracked(Picker::is_open) {
        return false;
    }
    match key {
        "ArrowDown" => picker.update(Picker::next),
        "ArrowUp" => picker.update(Picker::previous),
        "Escape" => picker.update(Picker::close),
        "Enter" | "Tab" => match picker.with_untracked(|p| p.chosen().map(str::to_owned)) {
            Some(name) => choose(name),
            None => return false,
        },
        _ => return false,
    }
    true
}

/// The list itself, over the composer while open.
#[component]
pub(crate) fn MentionList(picker: RwSignal<Picker>, on_pick: Callback<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Show when=move || picker.with(Picker::is_open)>
            <ul id="mention-list" class="mention-picker" role="listbox" aria-label=move || i18n.t().mention_options>
                {move || {
                    let (names, active) = picker.with(|p| (p.options.clone(), p.active));
                    names
                        .into_iter()
                        .enumerate()
                        .map(|(index, name)| {
                            let picked = name.clone();
                            view! {
                                <li
                                    id=option_id(index)
                                    class="mention-option"
                                    role="option"
                                    aria-selected=(index == active).to_string()
                                    // The textarea keeps the focus (and the
                                    // phone its keyboard).
                                    on:pointerdown=|ev| ev.prevent_default()
                                    on:click=move |_| on_pick.run(picked.clone())
                                >
                                    <bdi>{name}</bdi>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </Show>
    }
}

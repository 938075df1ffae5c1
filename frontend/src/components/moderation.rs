//! The moderator's controls: the switch in the header that takes the
//! token, the delete and ban buttons on messages and users, the lock and
//! topic controls in the room's header, and the moderation log. Each shows
//! only once the server has accepted the token.

use leptos::html;
use leptos::prelude::*;

use super::bidi::{isolate, sentence_with_names};
use crate::i18n::use_i18n;
use crate::state::moderation::{use_moderation, TokenRefusal, BAN_LENGTHS};

/// The header's "Moderator" switch: off, it opens a small form for the
/// token; on, it stops moderating (and forgets the token).
#[component]
pub(crate) fn ModeratorSwitch() -> impl IntoView {
    let moderation = use_moderation();
    let i18n = use_i18n();
    let form_open = RwSignal::new(false);
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if form_open.get() {
            if let Some(input) = input.get() {
                let _ = input.focus();
            }
        }
    });
    // The form closes once the server accepts the token.
    Effect::new(move |_| {
        if moderation.is_on() {
            form_open.set(false);
        }
    });
    let toggle = move |_| {
        if moderation.is_on() {
            moderation.turn_off();
        } else {
            form_open.update(|open| *open = !*open);
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(input) = input.get_untracked() {
            moderation.turn_on(&input.value());
            input.set_value("");
        }
    };
    let refusal = move || {
        moderation.refusal().map(|refusal| {
            let t = i18n.t();
            let text = match refusal {
                TokenRefusal::Wrong => t.token_wrong,
                TokenRefusal::TooManyTries => t.token_slow,
            };
            view! { <p id="moderator-error" class="field-error" role="alert">{text}</p> }
        })
    };
    view! {
        <div class="moderator">
            <button
                id="moderator-toggle"
                type="button"
                class="link-button moderator-toggle"
                class:on=move || moderation.is_on()
                aria-pressed=move || moderation.is_on().to_string()
                aria-expanded=move || form_open.get().to_string()
                aria-controls="moderator-form"
                title=move || if moderation.is_on() { i18n.t().moderator_off } else { i18n.t().moderator }
                on:click=toggle
            >
                {move || if moderation.is_on() { i18n.t().moderator_on } else { i18n.t().moderator }}
            </button>
            <form
                id="moderator-form"
                class="moderator-form"
                hidden=move || !form_open.get()
                on:submit=submit
            >
                <label for="moderator-token">{move || i18n.t().moderator_token_label}</label>
                <input
                    id="moderator-token"
                    type="password"
                    autocomplete="off"
                    node_ref=input
                    aria-describedby=move || moderation.refusal().map(|_| "moderator-error")
                    aria-invalid=move || moderation.refusal().is_some().to_string()
                />
                <button id="moderator-submit" type="submit" disabled=move || moderation.is_asking()>
                    {move || i18n.t().moderator_unlock}
                </button>
                {refusal}
            </form>
        </div>
    }
}

/// Delete (with a second click to confirm) and ban, on a message of
/// `author`, for moderators.
#[component]
pub(crate) fn MessageModeration(id: u64, author: String) -> impl IntoView {
    let moderation = use_moderation();
    let i18n = use_i18n();
    let confirming = RwSignal::new(false);
    let label_author = isolate(&author);
    let tab_index = super::feed_focus::tab_index();
    move || {
        moderation.is_on().then(|| {
            let label_author = label_author.clone();
            let author = author.clone();
            view! {
                <span class="msg-moderation">
                    <button
                        type="button"
                        class="link-button danger delete-message"
                        tabindex=tab_index
                        aria-label=move || {
                            let t = i18n.t();
                            if confirming.get() {
                                format!("{}: {}", t.confirm_delete, (t.delete_label)(&label_author))
                            } else {
                                (t.delete_label)(&label_author)
                            }
                        }
                        on:click=move |_| {
                            if confirming.get_untracked() {
                                moderation.delete(id);
                            } else {
                                confirming.set(true);
                            }
                        }
                        on:blur=move |_| confirming.set(false)
                    >
                        {move || if confirming.get() { i18n.t().confirm_delete } else { i18n.t().delete }}
                    </button>
                    <BanControl name=author />
                </span>
            }
        })
    }
}

/// Ban `name` for one of the offered lengths, for moderators.
#[component]
pub(crate) fn BanControl(name: String) -> impl IntoView {
    let moderation = use_moderation();
    let i18n = use_i18n();
    let length = RwSignal::new(0usize);
    let select_label = isolate(&name);
    let button_label = isolate(&name);
    // On a message, in the Tab order only on the conversation's stop.
    let tab_index = super::feed_focus::tab_index();
    move || {
        let name = name.clone();
        let select_label = select_label.clone();
        let button_label = button_label.clone();
        moderation.is_on().then(|| {
            let options = (0..BAN_LENGTHS.len())
                .map(|index| {
                    view! {
                        <option value=index.to_string() selected=move || length.get() == index>
                            {move || i18n.t().ban_lengths[index]}
                        </option>
                    }
                })
                .collect_view();
            view! {
                <span class="ban-control">
                    <select
                        class="ban-length"
                        tabindex=tab_index
                        aria-label=move || (i18n.t().ban_length_label)(&select_label)
                        on:change=move |ev| {
                            let picked = event_target_value(&ev).parse().unwrap_or(0);
                            length.set(picked);
                        }
                    >
                        {options}
                    </select>
                    <button
                        type="button"
                        class="link-button danger ban-user"
                        tabindex=tab_index
                        aria-label=move || (i18n.t().ban_label)(&button_label)
                        on:click=move |_| {
                            let secs = BAN_LENGTHS.get(length.get_untracked()).copied();
                            if let Some(secs) = secs {
                                moderation.ban(name.clone(), secs);
                            }
                        }
                    >
                        {move || i18n.t().ban}
                    </button>
                </span>
            }
        })
    }
}

/// The room's topic for everyone, and for moderators the lock switch and
/// the topic editor.
#[component]
pub(crate) fn RoomModeration() -> impl IntoView {
    let moderation = use_moderation();
    let i18n = use_i18n();
    let editing = RwSignal::new(false);
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if editing.get() {
            if let Some(input) = input.get() {
                input.set_value(&moderation.topic().unwrap_or_default());
                let _ = input.focus();
            }
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(input) = input.get_untracked() {
            moderation.set_topic(input.value());
        }
        editing.set(false);
    };
    let controls = move || {
        moderation.is_on().then(|| {
            view! {
                <button
                    id="lock-room"
                    type="button"
                    class="link-button"
                    aria-pressed=move || moderation.locked().to_string()
                    on:click=move |_| moderation.lock(!moderation.locked())
                >
                    {move || if moderation.locked() { i18n.t().unlock_room } else { i18n.t().lock_room }}
                </button>
                <button
                    id="edit-topic"
                    type="button"
                    class="link-button"
                    aria-expanded=move || editing.get().to_string()
                    aria-controls="topic-form"
                    on:click=move |_| editing.update(|e| *e = !*e)
                >
                    {move || i18n.t().edit_topic}
                </button>
            }
        })
    };
    view! {
        <div class="room-moderation">
            <p
                id="room-topic"
                class="room-topic"
                dir="auto"
                hidden=move || moderation.topic().is_none()
            >
                {move || moderation.topic().unwrap_or_default()}
            </p>
            <span id="room-locked" class="badge" hidden=move || !moderation.locked()>
                {move || i18n.t().read_only}
            </span>
            {controls}
            <form
                id="topic-form"
                class="topic-form"
                hidden=move || !(editing.get() && moderation.is_on())
                on:submit=save
            >
                <label for="topic-input">{move || i18n.t().topic_label}</label>
                <input
                    id="topic-input"
                    type="text"
                    maxlength=chat_shared::MAX_TOPIC_CHARS.to_string()
                    node_ref=input
                />
                <button id="topic-save" type="submit">{move || i18n.t().save}</button>
                <button type="button" class="link-button" on:click=move |_| editing.set(false)>
                    {move || i18n.t().cancel}
                </button>
            </form>
        </div>
    }
}

/// The moderation log, newest first, for moderators.
#[component]
pub(crate) fn AuditLog() -> impl IntoView {
    let moderation = use_moderation();
    let i18n = use_i18n();
    move || {
        moderation.is_on().then(|| {
            let entries = move || {
                let entries = moderation.audit();
                if entries.is_empty() {
                    return view! { <li class="audit-empty">{move || i18n.t().audit_empty}</li> }
                        .into_any();
                }
                entries
                    .into_iter()
                    .map(|entry| {
                        // Names, and the topic or reason in `detail`,
                        // each keep their own direction (a <bdi> each).
                        let parts = vec![
                            entry.moderator.clone(),
                            entry.target.clone(),
                            entry.detail.clone().unwrap_or_default(),
                        ];
                        let has_detail = entry.detail.is_some();
                        let shape = entry.clone();
                        let line = move || {
                            sentence_with_names(&parts, |stand_ins| {
                                let stand_in = chat_shared::AuditEntry {
                                    moderator: stand_ins[0].clone(),
                                    target: stand_ins[1].clone(),
                                    detail: has_detail.then(|| stand_ins[2].clone()),
                                    ..shape.clone()
                                };
                                (i18n.t().audit_line)(&stand_in)
                            })
                        };
                        view! {
                            <li class="audit-entry" data-action=entry.action.as_str()>
                                <time datetime=entry.at.clone()>{entry.at.clone()}</time>
                                " "
                                {line}
                            </li>
                        }
                    })
                    .collect_view()
                    .into_any()
            };
            view! {
                <section class="audit" aria-labelledby="audit-heading">
                    <h2 id="audit-heading">{move || i18n.t().audit_heading}</h2>
                    <ol id="audit-list" class="audit-list">{entries}</ol>
                </section>
            }
        })
    }
}

use leptos::html;
use leptos::prelude::*;

use crate::chat::{use_chat, Chat};
use crate::i18n::use_i18n;

/// The name form. The name is checked with the shared rules before it is
/// sent; the server's refusal (a taken name) shows by the field too.
#[component]
pub fn JoinForm() -> impl IntoView {
    let chat = use_chat();
    let i18n = use_i18n();
    let name = RwSignal::new(
        chat.wanted_name
            .get_untracked()
            .or_else(Chat::remembered_name)
            .unwrap_or_default(),
    );
    let input_ref = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input_ref.get() {
            let _ = input.focus();
        }
    });

    let error_text = move || {
        let t = i18n.t();
        chat.join_error
            .with(|problem| problem.as_ref().map(|problem| problem.describe(t)))
    };
    let has_error = move || chat.join_error.with(Option::is_some);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        chat.join(&name.get_untracked());
        if chat.join_error.with_untracked(Option::is_some) {
            if let Some(input) = input_ref.get() {
                let _ = input.focus();
            }
        }
    };

    view! {
        <main class="join">
            <form class="join-card" on:submit=submit novalidate>
                <div class="join-art" aria-hidden="true"></div>
                <h2>{move || i18n.t().join_heading}</h2>
                <p class="tagline">{move || i18n.t().tagline}</p>
                <label for="name-input">{move || i18n.t().name_label}</label>
                <input
                    id="name-input"
                    node_ref=input_ref
                    type="text"
                    name="username"
                    autocomplete="nickname"
                    enterkeyhint="go"
                    spellcheck="false"
                    placeholder=move || i18n.t().name_placeholder
                    aria-invalid=move || has_error().to_string()
                    aria-describedby="name-error"
                    prop:value=move || name.get()
                    on:input=move |ev| {
                        name.set(event_target_value(&ev));
                        chat.join_error.set(None);
                        // Editing the name cancels a join still waiting for
                        // the connection.
                        if chat.is_joining() {
                            chat.wanted_name.set(None);
                        }
                    }
                />
                <p id="name-error" class="field-error" role="alert">
                    {error_text}
                </p>
                <button
                    id="join-button"
                    class="primary"
                    type="submit"
                    disabled=move || chat.is_joining()
                >
                    {move || {
                        let t = i18n.t();
                        if chat.is_joining() { t.joining } else { t.join_button }
                    }}
                </button>
            </form>
        </main>
    }
}

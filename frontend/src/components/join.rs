use leptos::html;
use leptos::prelude::*;

use crate::chat::use_chat;
use crate::i18n::use_i18n;
use crate::state::session::use_session;

/// The name form. The name is checked with the shared rules before it is
/// sent; the server's refusal (a taken name) shows by the field too.
#[component]
pub(crate) fn JoinForm() -> impl IntoView {
    let chat = use_chat();
    let session = use_session();
    let i18n = use_i18n();
    let name = RwSignal::new(session.name_for_form());
    let input_ref = NodeRef::<html::Input>::new();
    // The form is where the keyboard belongs whenever it shows (first
    // load, after Leave), and again when a join is refused.
    let refusal = Memo::new(move |_| session.join_error());
    Effect::new(move |_| {
        // Read, not only tracked: a memo nobody reads is never computed,
        // so it would never change.
        let _refused = refusal.get();
        if let Some(input) = input_ref.get() {
            let _ = input.focus();
        }
    });

    let error_text = move || {
        let t = i18n.t();
        session.join_error().map(|problem| problem.describe(t))
    };
    let has_error = move || session.join_error().is_some();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        chat.join(&name.get_untracked());
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
                        session.edit_name();
                    }
                />
                <p id="name-error" class="field-error" role="alert">
                    {error_text}
                </p>
                <button
                    id="join-button"
                    class="primary"
                    type="submit"
                    disabled=move || session.is_joining()
                >
                    {move || {
                        let t = i18n.t();
                        if session.is_joining() { t.joining } else { t.join_button }
                    }}
                </button>
            </form>
        </main>
    }
}

use leptos::prelude::*;

use super::language::LanguageSwitch;
use super::moderation::ModeratorSwitch;
use super::profile::ProfileMenu;
use super::search::SearchButton;
use super::status::ConnectionStatus;
use crate::chat::use_chat;
use crate::i18n::use_i18n;
use crate::state::presence::use_presence;
use crate::state::session::use_session;

/// The top bar: name of the app, my name (the profile menu), connection
/// state, the search button, who is online (a button that opens the users panel on phones,
/// hidden on wide screens where the panel is always there), the moderator
/// switch and the language switch.
/// On narrow phones the online button shows its count alone (the words
/// stay its name), so the row has room for the search button.
/// On phones the connection state shows as its own line only when it is
/// not online; while online the button's dot says so.
#[component]
pub(crate) fn Header(users_open: RwSignal<bool>) -> impl IntoView {
    let connection = use_chat().connection();
    let session = use_session();
    let presence = use_presence();
    let i18n = use_i18n();
    let count = move || presence.count() as u64;
    view! {
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true"></span>
                <h1>{move || i18n.t().app_title}</h1>
            </div>
            // My name first: its menu then opens left of the side panel,
            // whose rooms and direct messages stay in view.
            <Show when=move || session.entered()>
                <ProfileMenu />
            </Show>
            <ConnectionStatus />
            <Show when=move || session.entered()>
                <SearchButton />
                <button
                    id="users-toggle"
                    class="users-toggle"
                    type="button"
                    aria-controls="users-panel"
                    aria-expanded=move || users_open.get().to_string()
                    data-state=move || connection.status().name()
                    // Starts with the visible count (WCAG 2.5.3), then says
                    // what the button does.
                    aria-label=move || (i18n.t().show_online)(count())
                    on:click=move |_| users_open.update(|open| *open = !*open)
                >
                    <span class="dot" aria-hidden="true"></span>
                    <span id="online-count">
                        {move || number_first(&(i18n.t().online_count)(count())).0}
                        <span class="online-word">
                            {move || number_first(&(i18n.t().online_count)(count())).1}
                        </span>
                    </span>
                </button>
                <ModeratorSwitch />
            </Show>
            <LanguageSwitch />
        </header>
    }
}

/// "2 online" as "2" and " online": a count shown before its words can
/// lose them where room is short; a language that puts the words first
/// keeps them all in the first part.
fn number_first(text: &str) -> (String, String) {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, words) = text.split_at(digits);
    match number.is_empty() {
        true => (text.to_owned(), String::new()),
        false => (number.to_owned(), words.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::number_first;

    #[test]
    fn a_count_splits_from_its_words_only_when_it_comes_first() {
        assert_eq!(number_first("12 online"), ("12".into(), " online".into()));
        assert_eq!(number_first("1 в сети"), ("1".into(), " в сети".into()));
        assert_eq!(
            number_first("online: 3"),
            ("online: 3".into(), String::new())
        );
    }
}

use leptos::prelude::*;

use super::bidi::sentence_with_names;
use crate::i18n::{use_i18n, Strings};
use crate::state::presence::use_presence;

/// "Alice is typing…", "Alice and Bob are typing…", "Several people are
/// typing…", or nothing.
#[component]
pub(crate) fn TypingIndicator() -> impl IntoView {
    let presence = use_presence();
    let i18n = use_i18n();
    let typists = Memo::new(move |_| presence.typists());
    // Each name in its own <bdi> (see `super::bidi`).
    let text = move || sentence_with_names(&typists.get(), |names| typing_text(i18n.t(), names));
    view! {
        <div id="typing-indicator" class="typing" class:active=move || typists.with(|t| !t.is_empty())>
            <span class="typing-dots" aria-hidden="true">
                <i></i>
                <i></i>
                <i></i>
            </span>
            <span class="typing-text">{text}</span>
        </div>
    }
}

/// The sentence for who is typing.
pub(crate) fn typing_text(t: &Strings, names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => (t.typing_one)(one),
        [one, two] => (t.typing_two)(one, two),
        _ => t.typing_many.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn typing_sentences_for_one_two_and_many() {
        let en = Lang::En.strings();
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(typing_text(en, &[]), "");
        assert_eq!(typing_text(en, &names(&["Alice"])), "Alice is typing…");
        assert_eq!(
            typing_text(en, &names(&["Alice", "Bob"])),
            "Alice and Bob are typing…"
        );
        assert_eq!(
            typing_text(en, &names(&["A", "B", "C"])),
            "Several people are typing…"
        );
        let ru = Lang::Ru.strings();
        assert_eq!(
            typing_text(ru, &names(&["Алиса", "Боб"])),
            "Алиса и Боб печатают…"
        );
    }
}

//! The strings of search (issue 26), a part of [`super::Strings`] of
//! their own like [`super::FileStrings`]; each language fills them in its
//! own file.

use chat_shared::search::QueryError;

/// The text of the search button, the search panel and its results.
pub(crate) struct SearchStrings {
    /// The header's button, and the panel's name.
    pub(crate) open: &'static str,
    /// The button's tooltip, with its shortcuts.
    pub(crate) open_hint: &'static str,
    /// The search box's label.
    pub(crate) input_label: &'static str,
    /// The search box's placeholder: what it takes.
    pub(crate) placeholder: &'static str,
    /// The scope switch, as a group, and its two choices.
    pub(crate) scope_label: &'static str,
    pub(crate) everywhere: &'static str,
    pub(crate) this_room: &'static str,
    /// The order switch, as a group, and its two choices.
    pub(crate) order_label: &'static str,
    pub(crate) newest: &'static str,
    pub(crate) best: &'static str,
    /// The list of results.
    pub(crate) results_label: &'static str,
    /// The first page is on its way.
    pub(crate) searching: &'static str,
    /// "3 results"; with `true`, there are more to load.
    pub(crate) found: fn(u64, bool) -> String,
    pub(crate) nothing: &'static str,
    /// The button under the results that loads the next page.
    pub(crate) more: &'static str,
    /// A query that does not parse, why (never sent).
    pub(crate) query_error: fn(&QueryError) -> String,
    /// The server did not take the query: its English text, for the
    /// languages that show it.
    pub(crate) refused: fn(&str) -> String,
    /// Too many searches: wait this many seconds (when known).
    pub(crate) rate_limited: fn(Option<u64>) -> String,
    /// A hit in a DM I do not know the members of.
    pub(crate) direct_message: &'static str,
    /// The keys, under the results.
    pub(crate) keys_hint: &'static str,
}

#[cfg(test)]
mod tests {
    use super::super::Lang;
    use chat_shared::search::QueryError;

    #[test]
    fn counts_and_query_errors_read_right_in_both_languages() {
        let (en, ru) = (&Lang::En.strings().search, &Lang::Ru.strings().search);
        assert_eq!((en.found)(1, false), "1 result");
        assert_eq!((en.found)(50, true), "50 results, more to load");
        assert_eq!((ru.found)(1, false), "Найдено: 1 сообщение");
        assert_eq!((ru.found)(3, false), "Найдено: 3 сообщения");
        assert_eq!((ru.found)(50, true), "Найдено: 50 сообщений, есть ещё");
        let bad = QueryError::BadDate("2026-13-01".into());
        assert!((en.query_error)(&bad).contains("2026-13-01"));
        assert!((ru.query_error)(&bad).contains("«2026-13-01»"));
        assert_eq!(
            (en.rate_limited)(Some(2)),
            "Too many searches: try again in 2 s."
        );
    }
}

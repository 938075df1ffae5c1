//! The composer's `@` autocomplete as plain state (host-tested): which
//! `@…` the caret is in, the room's people it may mean (online first, then
//! recent authors), filtered as one types, and the option the keyboard is
//! on. The component (`components/mention_picker.rs`) only draws it.

use chat_shared::mention::mention_token;
use chat_shared::username_key;

/// At most this many names are offered: a list to pick from, not a
/// directory.
pub(crate) const MAX_OPTIONS: usize = 8;

/// The `@…` being typed: where its `@` is and what follows it up to the
/// caret, both in UTF-16 units as the textarea counts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MentionQuery {
    /// The `@`'s position (UTF-16 units).
    pub(crate) start: usize,
    /// The caret's position (UTF-16 units).
    pub(crate) end: usize,
    /// What was typed after the `@` (without a leading `[`).
    pub(crate) text: String,
}

/// The `@…` the caret (`caret`, in UTF-16 units) is at the end of, if
/// any: an `@` at the start or after whitespace or an opening bracket (not
/// an e-mail's), followed by a name without a space, or by `[` and any
/// name not closed yet.
pub(crate) fn query_at(draft: &str, caret: usize) -> Option<MentionQuery> {
    let units: Vec<u16> = draft.encode_utf16().collect();
    let before = String::from_utf16(units.get(..caret)?).ok()?;
    let at = before.rfind('@')?;
    let typed = &before[at + 1..];
    let bracketed = typed.strip_prefix('[');
    let text = match bracketed {
        Some(inside) if !inside.contains(']') => inside,
        Some(_) => return None,
        None if typed.contains(char::is_whitespace) => return None,
        None => typed,
    };
    let opens = before[..at]
        .chars()
        .next_back()
        .is_none_or(|c| c.is_whitespace() || "([{\"'«“".contains(c));
    if !opens {
        return None;
    }
    Some(MentionQuery {
        start: before[..at].encode_utf16().count(),
        end: caret,
        text: text.to_owned(),
    })
}

/// The names offered for `typed`: `online` first, then `recent` authors
/// (newest first), each once (by name key), never `me`; those whose name
/// starts with what was typed before those that only contain it, case
/// and composition aside, in any script.
pub(crate) fn options(online: &[String], recent: &[String], me: &str, typed: &str) -> Vec<String> {
    let me = username_key(me);
    let typed = username_key(typed);
    let mut seen: Vec<String> = Vec::new();
    let mut starts = Vec::new();
    let mut contains = Vec::new();
    for name in online.iter().chain(recent) {
        let key = username_key(name);
        if key == me || seen.contains(&key) {
            continue;
        }
        if key.starts_with(&typed) {
            starts.push(name.clone());
        } else if key.contains(&typed) {
            contains.push(name.clone());
        }
        seen.push(key);
    }
    starts.extend(contains);
    starts.truncate(MAX_OPTIONS);
    starts
}

/// The draft with the query replaced by `name`'s mention token and a
/// space, and the caret after them (UTF-16 units).
pub(crate) fn insert(draft: &str, query: &MentionQuery, name: &str) -> (String, usize) {
    let units: Vec<u16> = draft.encode_utf16().collect();
    let head = String::from_utf16_lossy(units.get(..query.start).unwrap_or(&units));
    let tail = String::from_utf16_lossy(units.get(query.end..).unwrap_or(&[]));
    let token = format!("{} ", mention_token(name));
    let caret = head.encode_utf16().count() + token.encode_utf16().count();
    (format!("{head}{token}{tail}"), caret)
}

/// The open autocomplete: the query, its options and the one the keyboard
/// is on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Picker {
    pub(crate) query: Option<MentionQuery>,
    pub(crate) options: Vec<String>,
    pub(crate) active: usize,
}

impl Picker {
    /// Opens (or follows) the query at the caret with its `options`; the
    /// keyboard starts on the first. No query or no option: closed.
    pub(crate) fn update(&mut self, query: Option<MentionQuery>, options: Vec<String>) {
        let same = self.query.as_ref().map(|q| q.start) == query.as_ref().map(|q| q.start)
            && self.options == options;
        if !same {
            self.active = 0;
        }
        if query.is_none() || options.is_empty() {
            *self = Self::default();
            return;
        }
        self.query = query;
        self.options = options;
    }

    /// Whether the list shows.
    pub(crate) fn is_open(&self) -> bool {
        self.query.is_some() && !self.options.is_empty()
    }

    /// Down: the next option, round to the first.
    pub(crate) fn next(&mut self) {
        if !self.options.is_empty() {
            self.active = (self.active + 1) % self.options.len();
        }
    }

    /// Up: the previous option, round to the last.
    pub(crate) fn previous(&mut self) {
        if !self.options.is_empty() {
            self.active = (self.active + self.options.len() - 1) % self.options.len();
        }
    }

    /// The option the keyboard is on.
    pub(crate) fn chosen(&self) -> Option<&str> {
        self.options.get(self.active).map(String::as_str)
    }

    /// Escape, or a pick: closed.
    pub(crate) fn close(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_query_is_the_at_before_the_caret() {
        let q = query_at("hi @al", 6).expect("a query");
        assert_eq!((q.start, q.end, q.text.as_str()), (3, 6, "al"));
        assert_eq!(query_at("@", 1).map(|q| q.text), Some(String::new()));
        assert_eq!(query_at("bob@ex", 6), None, "an e-mail");
        assert_eq!(query_at("@al ice", 7), None, "a space ends it");
        let q = query_at("@[Anna Ma", 9).expect("a bracketed name");
        assert_eq!(q.text, "Anna Ma");
        assert_eq!(query_at("@[Anna] x", 9), None, "closed");
        // UTF-16 units: "😀" is two.
        let q = query_at("😀 @Ал", 6).expect("after an emoji");
        assert_eq!((q.start, q.text.as_str()), (3, "Ал"));
    }

    #[test]
    fn online_people_come_first_then_recent_authors_each_once() {
        let online = names(&["zoe", "Alice"]);
        let recent = names(&["bob", "ALICE", "me"]);
        assert_eq!(options(&online, &recent, "Me", ""), ["zoe", "Alice", "bob"]);
    }

    #[test]
    fn typing_filters_case_insensitively_in_any_script_prefix_first() {
        let online = names(&["Алиса", "Malice", "alina", "bob"]);
        assert_eq!(options(&online, &[], "me", "AL"), ["alina", "Malice"]);
        assert_eq!(options(&online, &[], "me", "ал"), ["Алиса"]);
        assert!(options(&online, &[], "me", "xyz").is_empty());
    }

    #[test]
    fn a_pick_inserts_the_token_and_a_space() {
        let q = query_at("hi @an there", 6).expect("a query");
        let (draft, caret) = insert("hi @an there", &q, "Anna Maria");
        assert_eq!(draft, "hi @[Anna Maria]  there");
        assert_eq!(caret, 17);
        let q = query_at("@b", 2).expect("a query");
        assert_eq!(insert("@b", &q, "bob"), ("@bob ".to_owned(), 5));
    }

    #[test]
    fn the_keyboard_moves_round_the_options_and_escape_closes() {
        let mut picker = Picker::default();
        picker.update(query_at("@", 1), names(&["a", "b", "c"]));
        assert!(picker.is_open());
        picker.previous();
        assert_eq!(picker.chosen(), Some("c"));
        picker.next();
        picker.next();
        assert_eq!(picker.chosen(), Some("b"));
        picker.update(query_at("@", 1), names(&["a", "b", "c"]));
        assert_eq!(picker.chosen(), Some("b"), "the same list keeps its place");
        picker.update(query_at("@x", 2), Vec::new());
        assert!(!picker.is_open());
        picker.update(query_at("@", 1), names(&["a"]));
        picker.close();
        assert!(!picker.is_open());
    }
}

//! @mentions: which names a message calls, decided the same way by the
//! server (notifications, counts, push) and by every client (highlight).
//!
//! The syntax, for names in any script and with spaces:
//! - `@name` for a name without a space: the name runs to the next
//!   whitespace (or the full-width punctuation of scripts written without
//!   spaces, "@山田さん、こんにちは"). Punctuation after it ("@bob, look", "@алиса!", "(@bob)",
//!   "@山田。") and a possessive "'s" are not part of it.
//! - `@[any name]` for every name, spaces included: "@[Anna Maria]". The
//!   app's autocomplete writes this form when a name has a space.
//! - An `@` right after a letter, a digit or `.`, `%`, `+`, `-` is
//!   part of an e-mail address ("bob@example.com"), not a
//!   mention; so is one inside `code`, a code block or a link.
//!
//! A name is mentioned when one of the text's candidates has its
//! [`username_key`]: case and Unicode composition do not matter ("@ALICE",
//! a decomposed "é"). A look-alike spelling (a Cyrillic "а" in "@аlice")
//! is **not** a mention of "alice": the browser does not carry the
//! confusables table, and server and clients must agree on every message.
//! Nothing is lost by it: the server lets no one else hold a look-alike of
//! a held name, so such a spelling calls no one.
//!
//! Since the rule does not know which names exist, a mention like "@bob."
//! has two candidates, "bob." and "bob": [`mentioned`] lists both, and
//! whoever holds either is called.

use crate::format::{format, Span};
use crate::validate::{normalize_username, username_key};

/// The most candidate names one text yields; the rest are not looked at,
/// so a message of a thousand `@`s costs the server no more than this.
pub const MAX_MENTION_CANDIDATES: usize = 32;

/// Every name `text` may be calling, normalised and each once (by
/// [`username_key`]), in order of appearance; at most
/// [`MAX_MENTION_CANDIDATES`].
pub fn mentioned(text: &str) -> Vec<String> {
    let hidden = hidden_ranges(text);
    let mut keys: Vec<String> = Vec::new();
    let mut names = Vec::new();
    for (at, _) in text.match_indices('@') {
        if hidden.iter().any(|range| range.contains(&at)) || follows_word(&text[..at]) {
            continue;
        }
        for candidate in candidates(&text[at + 1..]) {
            let Ok(name) = normalize_username(candidate) else {
                continue;
            };
            let key = username_key(&name);
            if !keys.contains(&key) {
                if names.len() == MAX_MENTION_CANDIDATES {
                    return names;
                }
                keys.push(key);
                names.push(name);
            }
        }
    }
    names
}

/// Whether `text` mentions `name` (see the module's rule).
pub fn mentions(text: &str, name: &str) -> bool {
    let key = username_key(name);
    mentioned(text)
        .iter()
        .any(|candidate| username_key(candidate) == key)
}

/// What to write to mention `name`: `@name`, or `@[name]` when the plain
/// form would not carry it (a space, full-width punctuation, a leading
/// `[`). The autocomplete inserts this.
pub fn mention_token(name: &str) -> String {
    if name.starts_with('[') || name.contains(|c: char| c.is_whitespace() || is_stop(c)) {
        format!("@[{name}]")
    } else {
        format!("@{name}")
    }
}

/// The byte ranges of `text` where an `@` mentions no one: code, code
/// blocks and links.
fn hidden_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    fn walk(spans: &[Span<'_>], base: usize, out: &mut Vec<std::ops::Range<usize>>) {
        for span in spans {
            match span {
                Span::Code(part) | Span::CodeBlock(part) | Span::Link(part) => {
                    // Every span borrows from the text: its offset is where
                    // it starts in it.
                    let start = (part.as_ptr() as usize).saturating_sub(base);
                    out.push(start..start + part.len());
                }
                Span::Bold(inner) | Span::Italic(inner) | Span::Strike(inner) => {
                    walk(inner, base, out)
                }
                Span::Text(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&format(text), text.as_ptr() as usize, &mut out);
    out
}

/// Whether the text before an `@` ends in what makes it an address
/// ("bob@", "first.last@", "a+b@") rather than a mention.
fn follows_word(before: &str) -> bool {
    before
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '%' | '+' | '-'))
}

/// The names the text right after an `@` may stand for, longest first.
fn candidates(after: &str) -> Vec<&str> {
    if let Some(inside) = after.strip_prefix('[') {
        // `@[name]`: up to any `]` (a name may hold one), within a name's
        // length, and not across a line.
        return inside
            .char_indices()
            .take(crate::MAX_USERNAME_CHARS * 2)
            .take_while(|&(_, c)| c != '\n')
            .filter(|&(_, c)| c == ']')
            .map(|(end, _)| &inside[..end])
            .collect();
    }
    let token = after
        .find(|c: char| c.is_whitespace() || is_stop(c))
        .map_or(after, |end| &after[..end]);
    let mut out = vec![token];
    let mut rest = token;
    loop {
        if let Some(stem) = rest
            .strip_suffix("'s")
            .or_else(|| rest.strip_suffix("\u{2019}s"))
        {
            rest = stem;
        } else if let Some(last) = rest.chars().next_back().filter(|&c| is_trailing(c)) {
            rest = &rest[..rest.len() - last.len_utf8()];
        } else {
            break;
        }
        out.push(rest);
    }
    out
}

/// Punctuation that ends a sentence or a clause, or closes a bracket or a
/// quote, after a name: not part of it.
fn is_trailing(c: char) -> bool {
    c.is_ascii_punctuation()
        || is_stop(c)
        || matches!(c, '…' | '»' | '«' | '”' | '“' | '’' | '‘' | '—' | '–')
}

/// The full-width punctuation of scripts written without spaces (Chinese,
/// Japanese): it ends a plain mention wherever it comes, as a space does
/// ("@山田さん、こんにちは").
fn is_stop(c: char) -> bool {
    matches!(
        c,
        '、' | '。' | '，' | '！' | '？' | '：' | '；' | '）' | '（' | '」' | '「' | '』' | '『'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_mention_runs_to_whitespace() {
        assert_eq!(mentioned("hi @bob how are you"), vec!["bob"]);
        assert!(mentions("hi @bob how are you", "bob"));
        assert!(!mentions("hi @bobby", "bob"));
        assert!(!mentions("hi bob", "bob"));
        assert!(mentions("@bob", "bob"));
    }

    #[test]
    fn case_and_composition_do_not_matter() {
        assert!(mentions("@ALICE look", "alice"));
        assert!(mentions("@Alice", "aLiCe"));
        // "José" composed and decomposed.
        assert!(mentions("@Jos\u{e9} hi", "Jose\u{301}"));
        assert!(mentions("@Jose\u{301} hi", "Jos\u{e9}"));
        // Full width is the same key too.
        assert!(mentions("@ａｌｉｃｅ", "alice"));
    }

    #[test]
    fn a_look_alike_is_not_a_mention() {
        // Cyrillic а (U+0430) in place of the Latin a.
        assert!(!mentions("@\u{430}lice", "alice"));
        // A capital I for an l.
        assert!(!mentions("@aIice", "alice"));
    }

    #[test]
    fn punctuation_after_a_name_is_not_part_of_it() {
        for text in [
            "@bob, look",
            "@bob.",
            "@bob!",
            "@bob?!",
            "(@bob)",
            "«@bob»",
            "@bob: hi",
            "@bob's idea",
            "@bob\u{2019}s idea",
            "\"@bob\"",
            "@bob…",
        ] {
            assert!(mentions(text, "bob"), "{text}");
        }
        // A name that ends in punctuation is still found.
        assert!(mentions("@bob. hi", "bob."));
        assert_eq!(mentioned("@bob."), vec!["bob.", "bob"]);
    }

    #[test]
    fn any_script() {
        assert!(mentions("привет, @Алиса!", "алиса"));
        assert!(mentions("@山田さん、こんにちは", "山田さん"));
        assert!(mentions("@山田さん。", "山田さん"));
        assert!(mentions("مرحبا @سارة", "سارة"));
        assert!(mentions("@Ωμέγα.", "ωμέγα"));
    }

    #[test]
    fn names_with_spaces_take_brackets() {
        assert!(mentions("ask @[Anna Maria] about it", "anna maria"));
        assert!(mentions("@[Anna Maria], hi", "Anna Maria"));
        assert!(!mentions("ask @Anna Maria about it", "Anna Maria"));
        assert!(mentions("ask @Anna Maria about it", "Anna"));
        // A name with a bracket in it.
        assert!(mentions("@[x]y] hi", "x]y"));
        // Unclosed, or across a line: nothing.
        assert!(mentioned("@[Anna Maria").is_empty());
        assert!(mentioned("@[Anna\nMaria]").is_empty());
    }

    #[test]
    fn e_mail_addresses_are_not_mentions() {
        assert!(mentioned("write to bob@example.com").is_empty());
        assert!(mentioned("first.last@example.com").is_empty());
        assert!(mentioned("a+tag@example.com").is_empty());
        assert!(mentioned("user_1@host").is_empty());
        // But a mention right after punctuation or a bracket is one.
        assert!(mentions("(@bob)", "bob"));
        assert!(mentions("hi,@bob", "bob"));
    }

    #[test]
    fn code_and_links_mention_no_one() {
        assert!(mentioned("`@bob` is a decorator").is_empty());
        assert!(mentioned("```\n@bob\n```").is_empty());
        assert!(mentioned("see https://example.com/@bob").is_empty());
        assert!(mentions("`x` @bob", "bob"));
        assert!(mentions("**@bob** look", "bob"));
        assert!(mentions("_@bob_", "bob"));
    }

    #[test]
    fn invalid_names_are_no_candidates() {
        assert!(mentioned("@").is_empty());
        assert!(mentioned("@ bob").is_empty());
        assert!(mentioned("@!!!").is_empty());
        assert!(mentioned(&format!("@{}", "x".repeat(40))).is_empty());
    }

    #[test]
    fn each_name_once_and_the_count_bounded() {
        assert_eq!(mentioned("@bob @BOB @bob"), vec!["bob"]);
        let many: String = (0..100).map(|i| format!("@u{i} ")).collect();
        assert_eq!(mentioned(&many).len(), MAX_MENTION_CANDIDATES);
    }

    #[test]
    fn the_token_mentions_its_name() {
        for name in [
            "bob",
            "Anna Maria",
            "山田さん",
            "x]y",
            "bob.",
            "o'neil",
            "a*b*c",
            "[x",
            "a、b",
        ] {
            let text = format!("hi {} there", mention_token(name));
            assert!(mentions(&text, name), "{text}");
        }
        assert_eq!(mention_token("Anna Maria"), "@[Anna Maria]");
        assert_eq!(mention_token("bob"), "@bob");
    }

    proptest::proptest! {
        /// Whatever a name is, the autocomplete's token calls it, at the
        /// start of a text, in its middle and before punctuation.
        #[test]
        fn every_name_can_be_mentioned(raw in "\\PC{1,32}") {
            if let Ok(name) = normalize_username(&raw) {
                let token = mention_token(&name);
                for text in [token.clone(), format!("hey {token}, hi"), format!("({token})")] {
                    proptest::prop_assert!(mentions(&text, &name), "{:?} in {:?}", name, text);
                }
            }
        }
    }
}

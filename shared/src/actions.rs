//! The rules for acting on a message (editing, deleting, replying,
//! reacting) that both sides apply: what an author key looks like, which
//! emoji a reaction may be, and how a reply quotes its original.

/// The shortest author key: a browser makes 128 random bits or more.
pub const MIN_AUTHOR_KEY_CHARS: usize = 16;
/// The longest author key.
pub const MAX_AUTHOR_KEY_CHARS: usize = 128;

/// How much of the original a reply quotes, in Unicode scalar values.
pub const MAX_QUOTE_CHARS: usize = 120;

/// How long after posting its author may still edit a message, unless the
/// server says otherwise (`--edit-window`).
pub const DEFAULT_EDIT_WINDOW_SECS: u64 = 24 * 60 * 60;

/// The reactions there are, in the order a picker shows them. A fixed set
/// keeps a reaction row small and free of abuse (no zalgo, no text).
pub const REACTION_EMOJI: [&str; 8] = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];

/// Whether a text can be an author key: 16 to 128 ASCII letters, digits,
/// `-` or `_`. The server refuses a `join` whose key breaks it.
pub fn is_valid_author_key(key: &str) -> bool {
    let lengths = MIN_AUTHOR_KEY_CHARS..=MAX_AUTHOR_KEY_CHARS;
    lengths.contains(&key.len())
        && key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// The reaction `emoji` stands for, in its one stored form, or `None`
/// when it is not one of [`REACTION_EMOJI`]. A bare heart (U+2764 without
/// the emoji variation selector, as some keyboards type it) is the red
/// heart.
pub fn normalize_emoji(emoji: &str) -> Option<&'static str> {
    if emoji == "\u{2764}" {
        return Some(REACTION_EMOJI[1]);
    }
    REACTION_EMOJI.iter().copied().find(|known| *known == emoji)
}

/// What a reply shows of its original: the text without its formatting
/// markers ([`crate::format::plain_text`]: a one-line quote cannot show a
/// code block or bold, and a cut must not leave half a marker), with its
/// whitespace runs folded to single spaces, cut to at most
/// [`MAX_QUOTE_CHARS`] scalar values. A cut text ends with "…" after the
/// last whole word that fits, or mid-word when a single word is longer
/// than the room there is.
pub fn quote_excerpt(text: &str) -> String {
    let plain = crate::format::plain_text(&crate::format::format(text));
    let folded = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= MAX_QUOTE_CHARS {
        return folded;
    }
    // Room for the ellipsis.
    let room = MAX_QUOTE_CHARS - 1;
    let end = folded
        .char_indices()
        .nth(room)
        .map_or(folded.len(), |(at, _)| at);
    let head = &folded[..end];
    // Cut at a word boundary unless that would leave little: a quote of
    // one very long word keeps its start.
    let cut = match head.rfind(' ') {
        Some(space) if head[..space].chars().count() >= room / 2 => &head[..space],
        _ => head,
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_keys_are_long_link_safe_secrets() {
        assert!(is_valid_author_key("0123456789abcdef"));
        assert!(is_valid_author_key(&"k-_".repeat(42)));
        assert!(!is_valid_author_key("short"));
        assert!(!is_valid_author_key(&"a".repeat(129)));
        assert!(!is_valid_author_key("0123456789abcdef!"));
        assert!(!is_valid_author_key("0123456789abcdéf"));
    }

    #[test]
    fn only_the_eight_emoji_are_reactions() {
        for emoji in REACTION_EMOJI {
            assert_eq!(normalize_emoji(emoji), Some(emoji));
        }
        assert_eq!(normalize_emoji("❤"), Some("❤️"));
        assert_eq!(normalize_emoji("+1"), None);
        assert_eq!(normalize_emoji("👍👍"), None);
        assert_eq!(normalize_emoji(""), None);
        assert_eq!(normalize_emoji("👍🏽"), None);
    }

    #[test]
    fn a_short_original_is_quoted_whole() {
        assert_eq!(quote_excerpt("hello  there\nbob"), "hello there bob");
        let exact = "x".repeat(MAX_QUOTE_CHARS);
        assert_eq!(quote_excerpt(&exact), exact);
    }

    #[test]
    fn a_quote_shows_the_words_without_the_markup() {
        let text = "Look:\n```rust\nfn main() {}\n```\nthen **bold**, `code` and _this_";
        assert_eq!(
            quote_excerpt(text),
            "Look: fn main() {} then bold, code and this"
        );
        // Cut after the markers are gone: no half marker is left.
        let long = format!("{} `inline code` after", "word ".repeat(22));
        let quote = quote_excerpt(&long);
        assert!(!quote.contains('`'), "{quote}");
        assert!(quote.chars().count() <= MAX_QUOTE_CHARS);
    }

    #[test]
    fn a_long_original_is_cut_at_a_word_with_an_ellipsis() {
        let text = "word ".repeat(40);
        let quote = quote_excerpt(&text);
        assert!(quote.ends_with("word…"), "{quote}");
        assert!(quote.chars().count() <= MAX_QUOTE_CHARS);
        let cyrillic = "привет ".repeat(30);
        let quote = quote_excerpt(&cyrillic);
        assert!(quote.ends_with("привет…"), "{quote}");
        assert!(quote.chars().count() <= MAX_QUOTE_CHARS);
    }

    #[test]
    fn one_endless_word_is_cut_mid_word() {
        let quote = quote_excerpt(&"я".repeat(500));
        assert_eq!(quote.chars().count(), MAX_QUOTE_CHARS);
        assert!(quote.ends_with('…'));
    }
}

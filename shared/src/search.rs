//! Search (issue 26): what a search box's text means, and how a hit comes
//! back. The app and the server both call [`parse_query`], so `from:`,
//! `in:`, `has:file`, `before:`, `after:` and "exact phrases" mean the same
//! on both sides, and a query the server would refuse is refused in the
//! app first, with the same words.
//!
//! Highlights are ranges of the hit's text in characters (Unicode scalar
//! values), never markup: a client shows them as it likes, and a message
//! that contains `<b>` shows `<b>`.

use serde::{Deserialize, Serialize};

/// The longest query taken, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most words and phrases in one query.
pub const MAX_QUERY_TERMS: usize = 12;
/// The most hits in one page of results.
pub const MAX_SEARCH_HITS: usize = 50;

/// The order of the results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// The newest first (the default: a chat is read by time).
    #[default]
    Newest,
    /// The best match first.
    Best,
}

impl SearchOrder {
    /// The default, left out of frames.
    pub fn is_newest(&self) -> bool {
        *self == Self::Newest
    }
}

/// A query as the search box's text says it: the words and phrases to
/// find and the filters that narrow them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    /// Words to find, as typed (each may match any form of the word).
    pub words: Vec<String>,
    /// "Exact phrases", each to be found as it is.
    pub phrases: Vec<String>,
    /// `from:name`: only this name's messages.
    pub from: Option<String>,
    /// `in:room`: only this room (normalised as room names are).
    pub room: Option<String>,
    /// `has:file`: only messages with files.
    pub has_file: bool,
    /// `before:YYYY-MM-DD`: only messages from before that day (UTC).
    pub before: Option<String>,
    /// `after:YYYY-MM-DD`: only messages from after that day (UTC).
    pub after: Option<String>,
}

impl ParsedQuery {
    /// Whether there is anything to look for: a query of filters alone
    /// (`from:bob`) finds that name's messages, newest first.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
            && self.phrases.is_empty()
            && self.from.is_none()
            && self.room.is_none()
            && !self.has_file
            && self.before.is_none()
            && self.after.is_none()
    }
}

/// Why a query is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Longer than [`MAX_QUERY_CHARS`].
    TooLong,
    /// More than [`MAX_QUERY_TERMS`] words and phrases.
    TooManyTerms,
    /// A `before:` or `after:` that is not a day (`2026-12-31`).
    BadDate(String),
    /// A filter this build does not know (`has:` with something other
    /// than `file`, `size:`…), named.
    UnknownFilter(String),
    /// An `in:` that is not a room name.
    BadRoom(String),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLong => write!(f, "A search is at most {MAX_QUERY_CHARS} characters"),
            Self::TooManyTerms => {
                write!(
                    f,
                    "A search has at most {MAX_QUERY_TERMS} words and phrases"
                )
            }
            Self::BadDate(text) => write!(f, "{text:?} is not a day: write it as 2026-12-31"),
            Self::UnknownFilter(text) => write!(
                f,
                "{text:?} is not a filter: use from:, in:, has:file, before: or after:"
            ),
            Self::BadRoom(text) => write!(f, "{text:?} is not a room name"),
        }
    }
}

/// Reads a search box's text: words, "exact phrases" and the filters
/// `from:name`, `in:room`, `has:file`, `before:YYYY-MM-DD` and
/// `after:YYYY-MM-DD`. A word with a colon that is not one of those
/// (`12:30`, `http://…`) is a word.
pub fn parse_query(text: &str) -> Result<ParsedQuery, QueryError> {
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong);
    }
    let mut query = ParsedQuery::default();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let (phrase, after) = quoted.split_once('"').unwrap_or((quoted, ""));
            let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
            if !phrase.is_empty() {
                query.phrases.push(phrase);
            }
            rest = after.trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (token, after) = rest.split_at(end);
        rest = after.trim_start();
        match token.split_once(':') {
            Some((key, value)) if !value.is_empty() => {
                apply_filter(&mut query, &key.to_lowercase(), value, token)?;
            }
            _ => query.words.push(token.to_owned()),
        }
    }
    if query.words.len() + query.phrases.len() > MAX_QUERY_TERMS {
        return Err(QueryError::TooManyTerms);
    }
    Ok(query)
}

/// Puts one `key:value` into `query`: a filter, or a word for keys that
/// are not filters' names.
fn apply_filter(
    query: &mut ParsedQuery,
    key: &str,
    value: &str,
    token: &str,
) -> Result<(), QueryError> {
    match key {
        "from" => query.from = Some(value.trim_start_matches('@').to_owned()),
        "in" => {
            let room = crate::normalize_room(value.trim_start_matches('#'))
                .map_err(|_| QueryError::BadRoom(value.to_owned()))?;
            query.room = Some(room);
        }
        "has" if value.eq_ignore_ascii_case("file") || value.eq_ignore_ascii_case("files") => {
            query.has_file = true;
        }
        "has" => return Err(QueryError::UnknownFilter(token.to_owned())),
        "before" => query.before = Some(parse_day(value)?),
        "after" => query.after = Some(parse_day(value)?),
        _ => query.words.push(token.to_owned()),
    }
    Ok(())
}

/// A day as `YYYY-MM-DD`, checked (month lengths and leap years
/// included), or why not.
fn parse_day(text: &str) -> Result<String, QueryError> {
    let bad = || QueryError::BadDate(text.to_owned());
    let mut parts = text.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let digits = |part: &str, len: usize| {
        (part.len() == len && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (digits(year, 4), digits(month, 2), digits(day, 2))
    else {
        return Err(bad());
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1..=days).contains(&day) {
        return Err(bad());
    }
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// The first millisecond (since the Unix epoch, UTC) of a day that
/// [`parse_query`] took (`2026-12-31`); `None` for anything else.
pub fn day_start_ms(day: &str) -> Option<u64> {
    let day = parse_day(day).ok()?;
    let number = |range: std::ops::Range<usize>| day.get(range)?.parse::<i64>().ok();
    let (year, month, date) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let days = crate::date::days_from_civil(year, month, date);
    u64::try_from(days).ok()?.checked_mul(86_400_000)
}

/// One message found, as `search_results` carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The message's id: `history` with `around` opens the room there.
    pub id: u64,
    pub room: String,
    pub username: String,
    /// RFC 3339 UTC, as messages carry it.
    pub timestamp: String,
    /// The message's text now, or a part of it around the matches when it
    /// is long (then `cut_before`/`cut_after` say so).
    pub text: String,
    /// Where the matches are in `text`: `[start, end)` in characters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<[u32; 2]>,
    /// `text` starts after the message's start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut_before: bool,
    /// `text` ends before the message's end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut_after: bool,
    /// The names of the message's files, with what matched in them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FoundFile>,
}

/// A file name of a hit, with where the query matched it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundFile {
    pub name: String,
    /// `[start, end)` in characters of `name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<[u32; 2]>,
}

/// The most characters of a message a hit carries: a longer one is cut
/// around its first match ([`snippet`]).
pub const SNIPPET_CHARS: usize = 300;

/// Byte ranges of `text` (as a store finds them) as character ranges (as
/// the wire carries them). Ranges off character boundaries or past the
/// end are clamped, never a panic.
pub fn char_ranges(text: &str, byte_ranges: &[(usize, usize)]) -> Vec<[u32; 2]> {
    let to_char = |byte: usize| {
        let byte = byte.min(text.len());
        u32::try_from(text.char_indices().take_while(|(at, _)| *at < byte).count())
            .unwrap_or(u32::MAX)
    };
    byte_ranges
        .iter()
        .map(|(start, end)| [to_char(*start), to_char(*end)])
        .filter(|[start, end]| start < end)
        .collect()
}

/// What a hit shows of a message: all of it when it is at most
/// `max_chars` long, else `max_chars` of it starting a little before its
/// first match, with the highlights moved to match and those outside
/// dropped.
pub fn snippet(text: &str, highlights: &[[u32; 2]], max_chars: usize) -> SearchHit {
    let total = text.chars().count();
    if total <= max_chars {
        return SearchHit {
            text: text.to_owned(),
            highlights: highlights.to_vec(),
            ..SearchHit::default()
        };
    }
    let first = highlights
        .iter()
        .map(|[start, _]| *start as usize)
        .min()
        .unwrap_or(0);
    // A fifth of the room before the first match, for its context.
    let start = first
        .saturating_sub(max_chars / 5)
        .min(total.saturating_sub(max_chars));
    let end = start + max_chars;
    let cut: String = text.chars().skip(start).take(max_chars).collect();
    let shift = |at: u32| (at as usize).clamp(start, end) - start;
    SearchHit {
        text: cut,
        highlights: highlights
            .iter()
            .map(|[from, to]| [shift(*from) as u32, shift(*to) as u32])
            .filter(|[from, to]| from < to)
            .collect(),
        cut_before: start > 0,
        cut_after: end < total,
        ..SearchHit::default()
    }
}

/// `text` split at `highlights` into pieces, each with whether it is a
/// match: what a client shows, bold or not. Ranges out of order, out of
/// the text or overlapping are mended, never a panic.
pub fn highlighted<'a>(text: &'a str, highlights: &[[u32; 2]]) -> Vec<(&'a str, bool)> {
    let chars: Vec<usize> = text
        .char_indices()
        .map(|(at, _)| at)
        .chain(std::iter::once(text.len()))
        .collect();
    let byte = |char_at: u32| chars.get(char_at as usize).copied().unwrap_or(text.len());
    let mut ranges: Vec<(usize, usize)> = highlights
        .iter()
        .map(|[start, end]| (byte(*start), byte(*end)))
        .filter(|(start, end)| start < end)
        .collect();
    ranges.sort_unstable();
    let mut pieces = Vec::new();
    let mut at = 0;
    for (start, end) in ranges {
        let start = start.max(at);
        if start >= end {
            continue;
        }
        if start > at {
            pieces.push((&text[at..start], false));
        }
        pieces.push((&text[start..end], true));
        at = end;
    }
    if at < text.len() {
        pieces.push((&text[at..], false));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_filters_are_told_apart() {
        let query = parse_query(
            r#"deploy "the new server"  from:@Bob in:#Rust has:file after:2026-01-31 before:2026-02-28 12:30"#,
        )
        .expect("a query");
        assert_eq!(query.words, ["deploy", "12:30"]);
        assert_eq!(query.phrases, ["the new server"]);
        assert_eq!(query.from.as_deref(), Some("Bob"));
        assert_eq!(query.room.as_deref(), Some("rust"));
        assert!(query.has_file);
        assert_eq!(query.after.as_deref(), Some("2026-01-31"));
        assert_eq!(
            parse_query("before:2026-02-29"),
            Err(QueryError::BadDate("2026-02-29".into())),
            "2026 is not a leap year"
        );
        assert_eq!(
            parse_query("before:2028-02-29").map(|q| q.before),
            Ok(Some("2028-02-29".into()))
        );
    }

    #[test]
    fn what_is_not_taken_says_why() {
        for (text, error) in [
            ("before:yesterday", QueryError::BadDate("yesterday".into())),
            ("after:2026-13-01", QueryError::BadDate("2026-13-01".into())),
            ("has:link", QueryError::UnknownFilter("has:link".into())),
            ("in:#", QueryError::BadRoom("#".into())),
        ] {
            let refused = parse_query(text);
            assert_eq!(refused, Err(error.clone()), "{text}");
            assert!(!error.to_string().is_empty());
        }
        assert_eq!(
            parse_query(&"a".repeat(MAX_QUERY_CHARS + 1)),
            Err(QueryError::TooLong)
        );
        let many = vec!["w"; MAX_QUERY_TERMS + 1].join(" ");
        assert_eq!(parse_query(&many), Err(QueryError::TooManyTerms));
    }

    #[test]
    fn an_unclosed_quote_is_a_phrase_to_the_end_and_blank_is_empty() {
        let query = parse_query(r#"say "hello   world"#).expect("a query");
        assert_eq!(query.phrases, ["hello world"]);
        assert!(parse_query("   ").expect("blank").is_empty());
        assert!(parse_query(r#""""#).expect("empty quotes").is_empty());
        assert!(!parse_query("from:bob").expect("a filter").is_empty());
        // A colon that is not a filter, or an empty value, is a word.
        assert_eq!(
            parse_query("http://x from:").expect("words").words,
            ["http://x", "from:"]
        );
    }

    #[test]
    fn highlights_are_characters_and_bad_ranges_are_mended() {
        let text = "Сообщения <b>run</b>";
        assert_eq!(
            highlighted(text, &[[0, 9], [13, 16]]),
            [
                ("Сообщения", true),
                (" <b>", false),
                ("run", true),
                ("</b>", false)
            ]
        );
        // Reversed, overlapping, past the end: still pieces of the text.
        let pieces = highlighted("abcdef", &[[4, 99], [5, 2], [1, 3], [2, 4]]);
        assert_eq!(
            pieces,
            [("a", false), ("bc", true), ("d", true), ("ef", true)]
        );
        let whole: String = pieces.iter().map(|(piece, _)| *piece).collect();
        assert_eq!(whole, "abcdef");
    }

    #[test]
    fn days_start_at_utc_midnight() {
        assert_eq!(day_start_ms("1970-01-01"), Some(0));
        assert_eq!(day_start_ms("2000-03-01"), Some(951_868_800_000));
        assert_eq!(day_start_ms("2026-12-07"), Some(1_796_601_600_000));
        assert_eq!(day_start_ms("1969-12-31"), None);
        assert_eq!(day_start_ms("2026-02-30"), None);
    }

    #[test]
    fn byte_ranges_become_character_ranges() {
        let text = "ёж run";
        // "ёж" is 4 bytes, 2 characters.
        assert_eq!(char_ranges(text, &[(0, 4), (5, 8)]), [[0, 2], [3, 6]]);
        // Off a boundary, past the end, empty: clamped or dropped.
        assert_eq!(char_ranges(text, &[(1, 99), (3, 3)]), [[1, 6]]);
    }

    #[test]
    fn a_long_message_is_cut_around_its_first_match() {
        let text = format!("{}needle{}", "a".repeat(500), "b".repeat(500));
        let hit = snippet(&text, &[[500, 506]], 100);
        assert_eq!(hit.text.chars().count(), 100);
        assert!(hit.cut_before && hit.cut_after);
        let [[start, end]] = hit.highlights[..] else {
            panic!("one highlight: {:?}", hit.highlights);
        };
        assert_eq!(
            hit.text
                .chars()
                .skip(start as usize)
                .take((end - start) as usize)
                .collect::<String>(),
            "needle"
        );
        // Short texts are whole; a match at the very end keeps the end.
        let short = snippet("short needle", &[[6, 12]], 100);
        assert_eq!(
            (short.text.as_str(), short.cut_before, short.cut_after),
            ("short needle", false, false)
        );
        let end_match = snippet(&format!("{}end", "x".repeat(200)), &[[200, 203]], 50);
        assert!(end_match.cut_before && !end_match.cut_after);
        assert!(end_match.text.ends_with("end"));
    }

    #[test]
    fn a_hit_on_the_wire() {
        let hit = SearchHit {
            id: 7,
            room: "general".into(),
            username: "bob".into(),
            timestamp: "2026-12-01T10:00:00.000Z".into(),
            text: "we deploy today".into(),
            highlights: vec![[3, 9]],
            ..SearchHit::default()
        };
        assert_eq!(
            serde_json::to_string(&hit).unwrap_or_default(),
            r#"{"id":7,"room":"general","username":"bob","timestamp":"2026-12-01T10:00:00.000Z","text":"we deploy today","highlights":[[3,9]]}"#
        );
        assert_eq!(
            serde_json::from_str::<SearchOrder>(r#""best""#).ok(),
            Some(SearchOrder::Best)
        );
    }
}

//! What counts as formatting in a message, so that every client renders a
//! text the same way: `inline code`, fenced ```` ``` ```` code blocks,
//! `**bold**`, `_italic_`, `~strike~` and web links.
//!
//! The rules are deliberately small and forgiving, for people typing in a
//! chat rather than writing documents:
//! - A marker that is never closed stays literal text.
//! - `_` and `~` open only at the start of a word and close only at its
//!   end, so `snake_case_names` and `~/path~x` stay as typed; `**` follows
//!   the same rule.
//! - Code (inline or fenced) is literal: no formatting and no links in it.
//! - A link is one piece: markers inside an address do not format it.
//! - Only `http://` and `https://` addresses become links, so a message can
//!   never produce a `javascript:` or `data:` link.
//!
//! The result is a tree of [`Span`]s borrowing from the text; a client turns
//! it into its own nodes (DOM text nodes in the browser, never HTML), so
//! `<script>` in a message is only ever text.

/// A piece of a formatted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span<'a> {
    /// Plain text, to show as it is (line breaks included).
    Text(&'a str),
    /// A web address, to show as a link to itself.
    Link(&'a str),
    /// `inline code`, without its backticks.
    Code(&'a str),
    /// A fenced block, without its fences, the newlines next to them and
    /// an info string (` ```rust `); its whitespace is meant to be kept.
    CodeBlock(&'a str),
    Bold(Vec<Span<'a>>),
    Italic(Vec<Span<'a>>),
    Strike(Vec<Span<'a>>),
}

/// The text as formatted spans, in order.
pub fn format(text: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut rest_start = 0;
    let mut search_from = 0;
    while let Some(open) = text[search_from..].find(FENCE).map(|at| at + search_from) {
        let body_start = open + FENCE.len();
        let Some(close) = text[body_start..].find(FENCE).map(|at| at + body_start) else {
            break;
        };
        let body = fence_body(&text[body_start..close]);
        if body.is_empty() {
            // ```` `````` ```` (nothing inside) is not a block.
            search_from = body_start;
            continue;
        }
        out.extend(inline(&text[rest_start..open], &[]));
        out.push(Span::CodeBlock(body));
        rest_start = close + FENCE.len();
        search_from = rest_start;
    }
    out.extend(inline(&text[rest_start..], &[]));
    out
}

/// The text alone, without markers: what a notification or a quote shows.
pub fn plain_text(spans: &[Span<'_>]) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(text) | Span::Link(text) | Span::Code(text) | Span::CodeBlock(text) => {
                out.push_str(text)
            }
            Span::Bold(inner) | Span::Italic(inner) | Span::Strike(inner) => {
                out.push_str(&plain_text(inner))
            }
        }
    }
    out
}

const FENCE: &str = "```";

/// A fenced block's content: without the newline after the opening fence
/// (and an info string before it) and the one before the closing fence.
fn fence_body(raw: &str) -> &str {
    let body = match raw.split_once('\n') {
        Some((first, rest))
            if first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-_#.".contains(c)) =>
        {
            rest
        }
        _ => raw,
    };
    let body = body.strip_suffix('\n').unwrap_or(body);
    body.strip_suffix('\r').unwrap_or(body)
}

/// The emphasis markers, each with the span it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Bold,
    Italic,
    Strike,
}

impl Marker {
    const ALL: [Marker; 3] = [Marker::Bold, Marker::Italic, Marker::Strike];

    fn token(self) -> &'static str {
        match self {
            Marker::Bold => "**",
            Marker::Italic => "_",
            Marker::Strike => "~",
        }
    }

    fn wrap(self, inner: Vec<Span<'_>>) -> Span<'_> {
        match self {
            Marker::Bold => Span::Bold(inner),
            Marker::Italic => Span::Italic(inner),
            Marker::Strike => Span::Strike(inner),
        }
    }
}

/// Inline formatting of `text`; `open` are the markers of the spans it is
/// inside, which cannot open again in it (no bold inside bold).
fn inline<'a>(text: &'a str, open: &[Marker]) -> Vec<Span<'a>> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut at = 0;
    // Where a search for each marker's closer already failed: a later
    // opener of it has no closer either, which keeps a text full of
    // unclosed markers linear rather than quadratic.
    let mut no_closer_from: [Option<usize>; 3] = [None; 3];
    while at < text.len() {
        if let Some(end) = atom_end(text, at) {
            let span = if text[at..].starts_with('`') {
                Span::Code(&text[at + 1..end - 1])
            } else {
                Span::Link(&text[at..end])
            };
            push_text(&mut out, &text[plain_start..at]);
            out.push(span);
            at = end;
            plain_start = end;
            continue;
        }
        let opened = Marker::ALL.iter().enumerate().find_map(|(index, &marker)| {
            if open.contains(&marker) || !opens(text, at, marker) {
                return None;
            }
            let body_start = at + marker.token().len();
            if no_closer_from[index].is_some_and(|from| body_start >= from) {
                return None;
            }
            match closer(text, body_start, marker) {
                Some(close) => Some((marker, body_start, close)),
                None => {
                    no_closer_from[index] = Some(body_start);
                    None
                }
            }
        });
        match opened {
            Some((marker, body_start, close)) => {
                push_text(&mut out, &text[plain_start..at]);
                let mut inside = open.to_vec();
                inside.push(marker);
                out.push(marker.wrap(inline(&text[body_start..close], &inside)));
                at = close + marker.token().len();
                plain_start = at;
            }
            None => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    push_text(&mut out, &text[plain_start..]);
    out
}

fn push_text<'a>(out: &mut Vec<Span<'a>>, text: &'a str) {
    if !text.is_empty() {
        out.push(Span::Text(text));
    }
}

/// The end of the piece at `at` that formatting cannot enter: an inline
/// code span or a link.
fn atom_end(text: &str, at: usize) -> Option<usize> {
    let rest = &text[at..];
    if let Some(body) = rest.strip_prefix('`') {
        let close = body.find('`')?;
        return (close > 0).then_some(at + 1 + close + 1);
    }
    if starts_link(text, at) {
        let end = link_end(text, at);
        return (end > at).then_some(end);
    }
    None
}

/// Whether `marker` at `at` can open a span: at the start of a word
/// (after nothing, a space or punctuation) and before something that is
/// not a space.
fn opens(text: &str, at: usize, marker: Marker) -> bool {
    let token = marker.token();
    if !text[at..].starts_with(token) {
        return false;
    }
    let before = text[..at].chars().next_back();
    let after = text[at + token.len()..].chars().next();
    before.is_none_or(|c| !c.is_alphanumeric() && !is_marker_char(c))
        && after.is_some_and(|c| !c.is_whitespace() && !is_marker_char_of(c, marker))
}

/// The closer of `marker` for a span whose body starts at `from`: at the
/// end of a word (after something that is not a space, before nothing, a
/// space or punctuation), skipping code and links.
fn closer(text: &str, from: usize, marker: Marker) -> Option<usize> {
    let token = marker.token();
    let mut at = from;
    while at < text.len() {
        if let Some(end) = atom_end(text, at) {
            at = end;
            continue;
        }
        if at > from && text[at..].starts_with(token) {
            let before = text[..at].chars().next_back();
            let after = text[at + token.len()..].chars().next();
            if before.is_some_and(|c| !c.is_whitespace())
                && after.is_none_or(|c| !c.is_alphanumeric() && !is_marker_char_of(c, marker))
            {
                return Some(at);
            }
        }
        at += text[at..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

fn is_marker_char(c: char) -> bool {
    matches!(c, '*' | '_' | '~')
}

/// Whether `c` continues `marker`'s own token (`***`, `__`): a run of
/// marker characters is not formatting.
fn is_marker_char_of(c: char, marker: Marker) -> bool {
    marker.token().starts_with(c)
}

/// Whether an `http://` or `https://` link starting a word begins at `at`.
fn starts_link(text: &str, at: usize) -> bool {
    let tail = &text[at..];
    (tail.starts_with("http://") || tail.starts_with("https://"))
        && text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "([{<\"'*_~".contains(c))
}

/// The end of the link starting at `start`: up to whitespace, minus
/// trailing punctuation that belongs to the sentence ("see https://x.org.")
/// or closes formatting around it (`**https://x.org**`).
fn link_end(text: &str, start: usize) -> usize {
    let tail = &text[start..];
    let word_len = tail
        .find(|c: char| c.is_whitespace() || "<>\"`".contains(c))
        .unwrap_or(tail.len());
    let mut link = &tail[..word_len];
    loop {
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '*', '_', '~']);
        // A closing bracket belongs to the link only if it opened one:
        // https://en.wikipedia.org/wiki/Rust_(language)
        let trimmed = match trimmed.chars().next_back() {
            Some(close @ (')' | ']' | '}')) => {
                let open = match close {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if trimmed.matches(open).count() < trimmed.matches(close).count() {
                    &trimmed[..trimmed.len() - 1]
                } else {
                    trimmed
                }
            }
            _ => trimmed,
        };
        if trimmed.len() == link.len() {
            break;
        }
        link = trimmed;
    }
    // "https://" alone is not a link.
    if link
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .is_empty()
    {
        return start;
    }
    start + link.len()
}

#[cfg(test)]
mod tests {
    use super::Span::*;
    use super::*;

    #[test]
    fn plain_text_stays_one_span_and_html_is_text() {
        assert_eq!(format("hello <b>world</b>"), [Text("hello <b>world</b>")]);
        assert_eq!(
            format("<script>alert(1)</script>"),
            [Text("<script>alert(1)</script>")]
        );
        assert_eq!(format(""), []);
    }

    #[test]
    fn the_three_emphases() {
        assert_eq!(
            format("a **b** c"),
            [Text("a "), Bold(vec![Text("b")]), Text(" c")]
        );
        assert_eq!(format("_it_"), [Italic(vec![Text("it")])]);
        assert_eq!(
            format("~gone~, yes"),
            [Strike(vec![Text("gone")]), Text(", yes")]
        );
        assert_eq!(
            format("(_so_)"),
            [Text("("), Italic(vec![Text("so")]), Text(")")]
        );
    }

    #[test]
    fn emphases_nest() {
        assert_eq!(
            format("**bold _and italic_ ~and struck~**"),
            [Bold(vec![
                Text("bold "),
                Italic(vec![Text("and italic")]),
                Text(" "),
                Strike(vec![Text("and struck")]),
            ])]
        );
        assert_eq!(
            format("_a **b** c_"),
            [Italic(vec![Text("a "), Bold(vec![Text("b")]), Text(" c")])]
        );
    }

    #[test]
    fn unclosed_markers_stay_literal() {
        assert_eq!(format("**not bold"), [Text("**not bold")]);
        assert_eq!(format("_half"), [Text("_half")]);
        assert_eq!(format("a ~ b"), [Text("a ~ b")]);
        assert_eq!(format("`open code"), [Text("`open code")]);
        assert_eq!(format("``` no end"), [Text("``` no end")]);
        assert_eq!(format("2 * 3 * 4"), [Text("2 * 3 * 4")]);
        assert_eq!(format("** spaced **"), [Text("** spaced **")]);
        assert_eq!(
            format("_a **b_ c**"),
            [Italic(vec![Text("a **b")]), Text(" c**")]
        );
    }

    #[test]
    fn markers_inside_words_stay_literal() {
        assert_eq!(format("snake_case_names"), [Text("snake_case_names")]);
        assert_eq!(
            format("my_var and other_var"),
            [Text("my_var and other_var")]
        );
        assert_eq!(format("~/.config~x"), [Text("~/.config~x")]);
        assert_eq!(format("a**b**c"), [Text("a**b**c")]);
        assert_eq!(format("__init__"), [Text("__init__")]);
        assert_eq!(
            format("_snake_case_ word"),
            [Italic(vec![Text("snake_case")]), Text(" word")]
        );
    }

    #[test]
    fn code_suppresses_other_formatting() {
        assert_eq!(
            format("run `**x** _y_ https://a.b` now"),
            [Text("run "), Code("**x** _y_ https://a.b"), Text(" now")]
        );
        assert_eq!(
            format("**a `b**` c**"),
            [Bold(vec![Text("a "), Code("b**"), Text(" c")])]
        );
        assert_eq!(format("``"), [Text("``")]);
    }

    #[test]
    fn fenced_blocks_keep_their_whitespace_and_stay_text() {
        assert_eq!(
            format("look:\n```\nfn main() {\n    <script>x</script> **y**\n}\n```\ndone"),
            [
                Text("look:\n"),
                CodeBlock("fn main() {\n    <script>x</script> **y**\n}"),
                Text("\ndone"),
            ]
        );
        assert_eq!(
            format("```rust\nlet a = 1;\n```"),
            [CodeBlock("let a = 1;")]
        );
        assert_eq!(format("```one line```"), [CodeBlock("one line")]);
        assert_eq!(
            format("```a``` and ```b```"),
            [CodeBlock("a"), Text(" and "), CodeBlock("b")]
        );
        assert_eq!(format("``````"), [Text("``````")]);
    }

    #[test]
    fn links_are_found_between_text_and_inside_formatting() {
        assert_eq!(
            format("see https://example.org/a?b=1 now"),
            [
                Text("see "),
                Link("https://example.org/a?b=1"),
                Text(" now")
            ]
        );
        assert_eq!(
            format("**see https://x.org**"),
            [Bold(vec![Text("see "), Link("https://x.org")])]
        );
        assert_eq!(
            format("_https://x.org/_under_score_/_"),
            [Italic(vec![Link("https://x.org/_under_score_/")])]
        );
        assert_eq!(
            format("https://x.org/a_b_c and _it_"),
            [
                Link("https://x.org/a_b_c"),
                Text(" and "),
                Italic(vec![Text("it")])
            ]
        );
    }

    #[test]
    fn sentence_punctuation_is_not_part_of_a_link() {
        assert_eq!(
            format("go to https://x.org."),
            [Text("go to "), Link("https://x.org"), Text(".")]
        );
        assert_eq!(
            format("(https://x.org/page)"),
            [Text("("), Link("https://x.org/page"), Text(")")]
        );
        assert_eq!(
            format("https://en.wikipedia.org/wiki/Rust_(language)!"),
            [
                Link("https://en.wikipedia.org/wiki/Rust_(language)"),
                Text("!")
            ]
        );
    }

    #[test]
    fn other_schemes_and_fragments_are_not_links() {
        assert_eq!(format("javascript:alert(1)"), [Text("javascript:alert(1)")]);
        assert_eq!(format("xhttps://a.b"), [Text("xhttps://a.b")]);
        assert_eq!(format("https:// alone"), [Text("https:// alone")]);
        assert_eq!(format("http"), [Text("http")]);
    }

    #[test]
    fn the_plain_text_keeps_every_character_but_the_markers() {
        let input = "Привет **мир** https://пример.рф/путь, `a_b` и _ещё_";
        assert_eq!(
            plain_text(&format(input)),
            "Привет мир https://пример.рф/путь, a_b и ещё"
        );
        let unformatted = "snake_case, 2 * 3, ~/x";
        assert_eq!(plain_text(&format(unformatted)), unformatted);
    }

    #[test]
    fn a_text_of_unclosed_markers_is_left_alone_quickly() {
        let text = "_a *".repeat(2_000) + &"`".repeat(500);
        assert_eq!(format(&text), [Text(&text)]);
    }
}

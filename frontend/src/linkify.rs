//! Splits message text into plain text and web links.
//!
//! Only `http://` and `https://` addresses become links, so a message can
//! never produce a `javascript:` or `data:` link. Everything else stays text
//! and is rendered as a DOM text node, never as HTML.

/// A piece of a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// The text cut into runs of text and links, in order; concatenated they
/// give back the input exactly.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut search_from = 0;
    while let Some(start) = next_link_start(text, search_from) {
        let end = link_end(text, start);
        if end == start {
            search_from = start + 1;
            continue;
        }
        if start > plain_start {
            out.push(Segment::Text(&text[plain_start..start]));
        }
        out.push(Segment::Link(&text[start..end]));
        plain_start = end;
        search_from = end;
    }
    if plain_start < text.len() {
        out.push(Segment::Text(&text[plain_start..]));
    }
    out
}

/// Where the next `http://` or `https://` starting a word begins.
fn next_link_start(text: &str, from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let rest = text.get(at..)?;
        let offset = rest.find("http")?;
        let start = at + offset;
        let tail = &text[start..];
        let starts_word = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "([{<\"'".contains(c));
        if starts_word && (tail.starts_with("http://") || tail.starts_with("https://")) {
            return Some(start);
        }
        at = start + 4;
    }
}

/// The end of the link starting at `start`: up to whitespace, minus
/// trailing punctuation that belongs to the sentence ("see https://x.org.").
fn link_end(text: &str, start: usize) -> usize {
    let tail = &text[start..];
    let word_len = tail
        .find(|c: char| c.is_whitespace() || "<>\"".contains(c))
        .unwrap_or(tail.len());
    let mut link = &tail[..word_len];
    loop {
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'']);
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
    use super::Segment::{Link, Text};
    use super::*;

    #[test]
    fn plain_text_stays_one_segment() {
        assert_eq!(
            segments("hello <b>world</b>"),
            vec![Text("hello <b>world</b>")]
        );
        assert_eq!(segments(""), vec![]);
    }

    #[test]
    fn links_are_found_between_text() {
        assert_eq!(
            segments("see https://example.org/a?b=1 now"),
            vec![
                Text("see "),
                Link("https://example.org/a?b=1"),
                Text(" now")
            ]
        );
        assert_eq!(
            segments("http://a.b\nhttps://c.d"),
            vec![Link("http://a.b"), Text("\n"), Link("https://c.d")]
        );
    }

    #[test]
    fn sentence_punctuation_is_not_part_of_a_link() {
        assert_eq!(
            segments("go to https://x.org."),
            vec![Text("go to "), Link("https://x.org"), Text(".")]
        );
        assert_eq!(
            segments("(https://x.org/page)"),
            vec![Text("("), Link("https://x.org/page"), Text(")")]
        );
        assert_eq!(
            segments("https://en.wikipedia.org/wiki/Rust_(language)!"),
            vec![
                Link("https://en.wikipedia.org/wiki/Rust_(language)"),
                Text("!")
            ]
        );
    }

    #[test]
    fn other_schemes_and_fragments_are_not_links() {
        assert_eq!(
            segments("javascript:alert(1)"),
            vec![Text("javascript:alert(1)")]
        );
        assert_eq!(segments("xhttps://a.b"), vec![Text("xhttps://a.b")]);
        assert_eq!(segments("https:// alone"), vec![Text("https:// alone")]);
        assert_eq!(segments("http"), vec![Text("http")]);
    }

    #[test]
    fn segments_rebuild_the_input() {
        let input = "Привет https://пример.рф/путь, и (http://a.b/c) ok";
        let joined: String = segments(input)
            .iter()
            .map(|s| match s {
                Text(t) | Link(t) => *t,
            })
            .collect();
        assert_eq!(joined, input);
    }
}

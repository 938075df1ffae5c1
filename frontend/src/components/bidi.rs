//! Keeping text of either direction in its place.
//!
//! A name or a message may be right-to-left (Arabic, Hebrew) or carry a
//! right-to-left override (U+202E in a message). Shown as its own element,
//! a name is wrapped in `<bdi>` and message text gets `dir="auto"`, so
//! neither can reorder what is around it. A name inside a translated
//! sentence (a notice, the typing line) gets its own `<bdi>` too
//! ([`sentence_with_names`]); inside an attribute (a tooltip, an
//! `aria-label`), where no element can wrap it, [`isolate`] does the same
//! with Unicode's isolate characters.

use leptos::prelude::*;

/// `name` between FIRST STRONG ISOLATE (U+2068) and POP DIRECTIONAL
/// ISOLATE (U+2069): the plain-text `<bdi>`, for attributes. Names cannot
/// contain either (they are invisible formatting characters, which names
/// refuse), so the pair always matches.
pub(crate) fn isolate(name: &str) -> String {
    format!("\u{2068}{name}\u{2069}")
}

/// The sentence `build` makes of `names`, as nodes: its text, with each
/// name in a `<bdi>` of its own.
///
/// `build` gets stand-ins for the names (control characters, which
/// neither names nor the translations contain) and the sentence is split
/// where they land, so each language puts the names where its grammar
/// wants them.
pub(crate) fn sentence_with_names(
    names: &[String],
    build: impl Fn(&[String]) -> String,
) -> Vec<AnyView> {
    let stand_ins: Vec<String> = (0..names.len()).map(|i| stand_in(i).to_string()).collect();
    split_at_stand_ins(&build(&stand_ins), names.len())
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.into_any(),
            Piece::Name(index) => {
                let name = names.get(index).cloned().unwrap_or_default();
                view! { <bdi>{name}</bdi> }.into_any()
            }
        })
        .collect()
}

/// The stand-in for the `index`th name: U+0001 onwards (at most 8 names).
fn stand_in(index: usize) -> char {
    char::from(u8::try_from(index + 1).unwrap_or(1).min(8))
}

/// A part of a sentence: text, or which name goes there.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Name(usize),
}

/// `text` cut at the stand-ins of `count` names.
fn split_at_stand_ins(text: &str, count: usize) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut plain = String::new();
    for c in text.chars() {
        match (0..count.min(8)).find(|&index| stand_in(index) == c) {
            Some(index) => {
                if !plain.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut plain)));
                }
                pieces.push(Piece::Name(index));
            }
            None => plain.push(c),
        }
    }
    if !plain.is_empty() {
        pieces.push(Piece::Text(plain));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_wrapped_in_one_isolate() {
        assert_eq!(isolate("alice"), "\u{2068}alice\u{2069}");
    }

    #[test]
    fn sentences_are_cut_where_the_names_go() {
        let two = format!("{} and {} are typing…", stand_in(0), stand_in(1));
        assert_eq!(
            split_at_stand_ins(&two, 2),
            [
                Piece::Name(0),
                Piece::Text(" and ".into()),
                Piece::Name(1),
                Piece::Text(" are typing…".into()),
            ]
        );
        let plain = "Several people are typing…";
        assert_eq!(split_at_stand_ins(plain, 0), [Piece::Text(plain.into())]);
    }
}

//! Words and their stems: the one tokenizer and stemmer that both indexes
//! and every query go through, so a word is always compared with a word
//! made the same way, in SQLite and in PostgreSQL alike.
//!
//! A **word** is a run of letters and digits ([`char::is_alphanumeric`]);
//! everything else separates words. Its **stem** is its lower case with
//! `ё` read as `е`, put through the Snowball stemmer of its script:
//! Russian for a word with a Cyrillic letter, English for any other. So
//! "сообщения" and "сообщение" are both `сообщен`, "running" and "run"
//! both `run`. Words longer than [`MAX_WORD_CHARS`] are not indexed (a
//! pasted hash or blob would only bloat the index).

use rust_stemmers::{Algorithm, Stemmer};

/// The longest word that is indexed and searched for, in characters.
pub(crate) const MAX_WORD_CHARS: usize = 64;

/// One word of a text: where it is (UTF-8 byte offsets into the text,
/// on character boundaries, `end` exclusive) and its stem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub start: usize,
    pub end: usize,
    pub stem: String,
}

/// Every word of `text`, in order, with its stem.
pub(crate) fn words(text: &str) -> Vec<Word> {
    let english = Stemmer::create(Algorithm::English);
    let russian = Stemmer::create(Algorithm::Russian);
    let mut found = Vec::new();
    let mut start = None;
    // One past the end, so the last word is closed like the others.
    let ends = text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')));
    for (at, c) in ends {
        match (start, c.is_alphanumeric() && at < text.len()) {
            (None, true) => start = Some(at),
            (Some(from), false) => {
                start = None;
                let word = &text[from..at];
                if word.chars().count() <= MAX_WORD_CHARS {
                    let stem = stem(word, &english, &russian);
                    if !stem.is_empty() {
                        found.push(Word {
                            start: from,
                            end: at,
                            stem,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The stems of `text`'s words, in order, separated by spaces: what the
/// index keeps of a text.
pub(crate) fn stems(text: &str) -> String {
    let stems: Vec<String> = words(text).into_iter().map(|word| word.stem).collect();
    stems.join(" ")
}

/// One word's stem, by the stemmer of its script.
fn stem(word: &str, english: &Stemmer, russian: &Stemmer) -> String {
    let lower: String = word
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect();
    let cyrillic = lower
        .chars()
        .any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    let stemmer = if cyrillic { russian } else { english };
    stemmer.stem(&lower).into_owned()
}

/// The ranges of `text` (byte offsets, as [`Word`]) that `words` and
/// `phrases` (stems, as [`words`] makes them) match: each word alone,
/// each phrase only where its words stand in a row (one range from its
/// first word to its last). Sorted, overlapping ones merged.
pub(crate) fn highlight(
    text: &str,
    words_sought: &[String],
    phrases: &[Vec<String>],
) -> Vec<(usize, usize)> {
    let found = words(text);
    let mut ranges: Vec<(usize, usize)> = found
        .iter()
        .filter(|word| words_sought.contains(&word.stem))
        .map(|word| (word.start, word.end))
        .collect();
    for phrase in phrases.iter().filter(|phrase| !phrase.is_empty()) {
        for run in found.windows(phrase.len()) {
            if run
                .iter()
                .zip(phrase)
                .all(|(word, stem)| word.stem == *stem)
            {
                if let (Some(first), Some(last)) = (run.first(), run.last()) {
                    ranges.push((first.start, last.end));
                }
            }
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::{highlight, stems, words, MAX_WORD_CHARS};

    #[test]
    fn english_and_russian_words_meet_their_other_forms() {
        assert_eq!(stems("running"), stems("run"));
        assert_eq!(stems("Messages"), stems("message"));
        assert_eq!(stems("сообщения"), stems("сообщение"));
        assert_eq!(stems("Ёлка"), stems("елки"));
        assert_ne!(stems("run"), stems("ran away"));
    }

    #[test]
    fn words_are_split_on_anything_but_letters_and_digits() {
        let found: Vec<String> = words("don't—stop: v2.0 «привет»")
            .into_iter()
            .map(|word| word.stem)
            .collect();
        assert_eq!(found, ["don", "t", "stop", "v2", "0", "привет"]);
        let long = "a".repeat(MAX_WORD_CHARS + 1);
        assert_eq!(stems(&format!("short {long} tail")), "short tail");
    }

    #[test]
    fn offsets_are_bytes_on_character_boundaries() {
        let text = "Ёж: «Сообщения» and running";
        let found = words(text);
        let slices: Vec<&str> = found.iter().map(|w| &text[w.start..w.end]).collect();
        assert_eq!(slices, ["Ёж", "Сообщения", "and", "running"]);
    }

    #[test]
    fn a_phrase_is_highlighted_only_where_its_words_stand_in_a_row() {
        let text = "quick fox, quick brown fox";
        let phrase = vec![vec![stems("brown"), stems("fox")]];
        let ranges = highlight(text, &[], &phrase);
        assert_eq!(ranges, [(17, 26)]);
        assert_eq!(&text[17..26], "brown fox");
        // Words and a phrase that overlap come back as one range.
        let both = highlight(text, &[stems("quick")], &phrase);
        assert_eq!(both, [(0, 5), (11, 16), (17, 26)]);
        let touching = highlight("brown fox", &[stems("fox")], &phrase);
        assert_eq!(touching, [(0, 9)]);
    }
}

//! Finding what was said (issue 26): the search half of a store, what a
//! search asks and what it answers.
//!
//! Each message that is not deleted is in a full-text index as the stems
//! of its caption (its text without the link lines of its files) and of
//! its files' names ([`words`]: one tokenizer and one Snowball stemmer,
//! in Rust, for both databases and for every query), in `search_docs`.
//! SQLite indexes them with FTS5, PostgreSQL as a `tsvector` with a GIN
//! index; the
//! statements are written once in `history::sql::search`, with the two
//! that differ (matching and ranking) named per database. A message is
//! indexed when it is stored, again when it is edited, and taken out of
//! the index when it is deleted, in the same transaction each time.
//! Messages stored before the index existed are indexed in batches by
//! [`Search::index_backlog`], which a background task calls.
//!
//! **Private stays private.** Who may read what is decided in one place,
//! the store's search statement: a DM ([`chat_shared::is_dm_room`]) is
//! searched only when [`SearchQuery::reader`] is one of its members
//! (`dm_members`), whatever rooms [`SearchQuery::rooms`] names; every
//! other room is public. The caller cannot widen that, only narrow it.

pub(crate) mod words;

use crate::history::store::StoreResult;

/// The most hits a page holds: a larger `limit` is read as this.
pub(crate) const MAX_SEARCH_PAGE: usize = 50;

/// How far pages in best-match order go: ranking is recomputed for every
/// page, so paging deep into a ranked list is costly and of little use.
/// Past it there is no next page (newest-first pages have no such end).
pub(crate) const MAX_RANKED_SKIP: u64 = 500;

/// How many of the newest matches best-match order ranks. Ranking every
/// match of a common word ("the" is in half of all messages) would cost
/// a second at a million messages; the newest thousand are what someone
/// looking for something recent wants, and cover every page there is
/// ([`MAX_RANKED_SKIP`] and one more page). A word in fewer messages is
/// ranked over all of them.
pub(crate) const RANKED_WINDOW: usize = 1000;

/// What is sought in the text: every word and every phrase must match.
/// Each entry is a stem ([`words::stems`]), so "running" seeks `run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Terms {
    /// Words that must each occur somewhere.
    pub words: Vec<String>,
    /// Phrases whose words must occur in a row, in this order.
    pub phrases: Vec<Vec<String>>,
}

impl Terms {
    /// The terms of a typed query: text in double quotes is a phrase
    /// (an unclosed quote runs to the end), every other word a word.
    /// Filters such as `from:` are the caller's to take out first.
    pub(crate) fn parse(query: &str) -> Self {
        let mut terms = Self::default();
        for (n, part) in query.split('"').enumerate() {
            let stems: Vec<String> = words::words(part).into_iter().map(|w| w.stem).collect();
            // Outside quotes, or a "phrase" of one word: words.
            if n % 2 == 0 || stems.len() == 1 {
                terms.words.extend(stems);
            } else if !stems.is_empty() {
                terms.phrases.push(stems);
            }
        }
        terms.words.sort_unstable();
        terms.words.dedup();
        terms
    }

    /// Whether nothing is sought in the text (a search by filters alone).
    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty()
    }
}

/// In which order hits come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Order {
    /// The newest message first.
    #[default]
    Newest,
    /// The best match first (BM25 in SQLite, `ts_rank` in PostgreSQL),
    /// the newer first among equals, of the newest [`RANKED_WINDOW`]
    /// matches. Without terms, the newest first.
    Best,
}

/// Where the next page starts: handed back with a page, passed in for
/// the next one. Which kind depends on the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// Newest first: the hits older than this message id.
    Older(u64),
    /// Best match first: the hits after this many (never more than
    /// [`MAX_RANKED_SKIP`]).
    Skip(u64),
}

/// One search.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchQuery {
    /// What the text must hold; empty searches by the filters alone.
    pub terms: Terms,
    /// The person asking, whose DMs may be searched; `None` (a keyless
    /// connection) searches no DM at all.
    pub reader: Option<u64>,
    /// Only these rooms (the current room, `in:`); `None`: every room
    /// the reader may read. Never widens what the reader may read.
    pub rooms: Option<Vec<String>>,
    /// Only messages by this author: the name's
    /// [`chat_shared::username_key`] (`from:`).
    pub from: Option<String>,
    /// Only messages with files (`has:file`).
    pub has_file: bool,
    /// Only messages posted at or after this time, in milliseconds since
    /// the Unix epoch (`after:`).
    pub after_ms: Option<u64>,
    /// Only messages posted before this time, in milliseconds since the
    /// Unix epoch (`before:`).
    pub before_ms: Option<u64>,
    pub order: Order,
    /// How many hits a page holds, at most [`MAX_SEARCH_PAGE`].
    pub limit: usize,
    /// Where this page starts; `None` for the first.
    pub cursor: Option<Cursor>,
}

/// A text with the ranges of it that matched: UTF-8 byte offsets into
/// `text`, on character boundaries, `end` exclusive, sorted and not
/// overlapping. Offsets, not markup: the app marks them however it shows
/// them, and no text is ever read as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Highlighted {
    pub text: String,
    pub ranges: Vec<(usize, usize)>,
}

/// One message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    pub id: u64,
    pub room: String,
    pub username: String,
    /// When it was posted, RFC 3339 as stored.
    pub timestamp: String,
    /// Its caption as it is now (its edit, if edited; a file message's
    /// text without the link lines of its files, which are not searched
    /// and which `files` names), with what matched.
    pub text: Highlighted,
    /// The names of its files, in their order, with what matched.
    pub files: Vec<Highlighted>,
}

/// One page of hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchPage {
    pub hits: Vec<Hit>,
    /// Where the next page starts; `None` when this is the last.
    pub next: Option<Cursor>,
}

/// What one batch of the backlog did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backlog {
    /// Messages indexed by this batch.
    pub indexed: u64,
    /// Ids still to look at (an upper bound on the messages left: changes
    /// and deleted messages are among them and are skipped). 0 when done.
    pub ids_left: u64,
}

/// The search half of a store.
pub(crate) trait Search {
    /// One page of the messages matching `query` that its reader may
    /// read (see the module's "private stays private").
    fn search(&mut self, query: &SearchQuery) -> StoreResult<SearchPage>;

    /// Indexes up to `batch` of the messages stored before the index
    /// existed, newest first, in one short transaction: a background task
    /// calls it until `ids_left` is 0, so an upgrade never waits for it.
    /// Safe to call from several nodes at once.
    fn index_backlog(&mut self, batch: usize) -> StoreResult<Backlog>;
}

#[cfg(test)]
mod tests {
    use super::{words::stems, Terms};

    #[test]
    fn quotes_make_phrases_and_the_rest_words() {
        let terms = Terms::parse(r#"Running "quick brown fox" run "solo" "unclosed phrase"#);
        assert_eq!(terms.words, [stems("run"), stems("solo")]);
        assert_eq!(
            terms.phrases,
            [
                vec![stems("quick"), stems("brown"), stems("fox")],
                vec![stems("unclosed"), stems("phrase")]
            ]
        );
        assert!(Terms::parse(" \"\" -- ").is_empty());
    }
}

//! `search` (issue 26): the search box's text read by the rules in
//! `shared` ([`chat_shared::search::parse_query`]), asked of the store's
//! index for the rooms the asker may read, and answered with
//! `search_results`: snippets with highlight ranges in characters, never
//! markup.
//!
//! Who may read what is the store's to decide, in one statement
//! ([`crate::history::search`]): a DM only for its members' person (a
//! keyless connection has none and gets no DM), every other room for
//! anyone joined. What is asked here can only narrow that.

use super::{server_error, Caller};
use crate::chat::hub::encode;
use crate::error::Rejection;
use crate::history::search::{Cursor, Hit, Order, SearchPage, SearchQuery, Terms, MAX_SEARCH_PAGE};
use crate::AppState;
use chat_shared::search::{
    char_ranges, day_start_ms, parse_query, snippet, FoundFile, ParsedQuery, SearchHit,
    SearchOrder, SNIPPET_CHARS,
};
use chat_shared::{normalize_room, username_key, ErrorCode, ServerFrame};

/// A day, for `after:` (which means after that day).
const DAY_MS: u64 = 86_400_000;

/// A `search` frame's fields.
#[derive(Debug)]
pub(crate) struct Search {
    pub(crate) query: String,
    pub(crate) room: Option<String>,
    pub(crate) order: SearchOrder,
    pub(crate) page: Option<String>,
}

impl Search {
    /// Finds the messages and answers with one page of them.
    pub(crate) async fn apply(self, state: &AppState, caller: &Caller) -> Result<(), Rejection> {
        caller.joined()?;
        let Self {
            query,
            room,
            order,
            page,
        } = self;
        let parsed =
            parse_query(&query).map_err(|error| Rejection::new(ErrorCode::BadSearch, error))?;
        let cursor = page.as_deref().map(read_cursor).transpose()?;
        let answer = |hits, next| {
            encode(&ServerFrame::SearchResults {
                query: query.clone(),
                room: room.clone(),
                order,
                page: page.clone(),
                hits,
                next,
            })
        };
        if parsed.is_empty() {
            caller.peer.send(answer(Vec::new(), None));
            return Ok(());
        }
        let asked = SearchQuery {
            terms: terms(&parsed),
            reader: caller.person.as_ref().map(|person| person.id),
            rooms: rooms(room.as_deref(), parsed.room.as_deref())?,
            from: parsed.from.as_deref().map(username_key),
            has_file: parsed.has_file,
            after_ms: parsed
                .after
                .as_deref()
                .and_then(day_start_ms)
                .map(|start| start + DAY_MS),
            before_ms: parsed.before.as_deref().and_then(day_start_ms),
            order: match order {
                SearchOrder::Newest => Order::Newest,
                SearchOrder::Best => Order::Best,
            },
            limit: MAX_SEARCH_PAGE,
            cursor,
        };
        let SearchPage { hits, next } = state.searcher.search(asked).await.map_err(server_error)?;
        let hits = hits.into_iter().map(on_the_wire).collect();
        caller.peer.send(answer(hits, next.map(write_cursor)));
        Ok(())
    }
}

/// What the text must hold: the parsed words and phrases, stemmed by the
/// store's one tokenizer.
fn terms(parsed: &ParsedQuery) -> Terms {
    let phrases = parsed.phrases.iter().map(|phrase| format!("\"{phrase}\""));
    let text: Vec<String> = parsed.words.iter().cloned().chain(phrases).collect();
    Terms::parse(&text.join(" "))
}

/// The rooms asked for: the frame's `room` and the query's `in:`. Both
/// must agree (two different rooms find nothing); neither is every room
/// the asker may read.
fn rooms(room: Option<&str>, in_room: Option<&str>) -> Result<Option<Vec<String>>, Rejection> {
    let room = room
        .map(|room| {
            normalize_room(room).map_err(|_| {
                Rejection::new(ErrorCode::BadSearch, format!("{room:?} is not a room name"))
            })
        })
        .transpose()?;
    Ok(match (room, in_room) {
        (Some(room), Some(other)) if room != other => Some(Vec::new()),
        (Some(room), _) => Some(vec![room]),
        (None, Some(other)) => Some(vec![other.to_owned()]),
        (None, None) => None,
    })
}

/// A page's `next` on the wire: `o` and the id the next page is older
/// than (newest first), or `s` and the hits to skip (best first).
fn write_cursor(cursor: Cursor) -> String {
    match cursor {
        Cursor::Older(id) => format!("o{id}"),
        Cursor::Skip(skip) => format!("s{skip}"),
    }
}

/// A `page` as [`write_cursor`] wrote it, or a refusal.
fn read_cursor(page: &str) -> Result<Cursor, Rejection> {
    let number = |digits: &str| digits.parse::<u64>().ok();
    let cursor = match page.split_at_checked(1) {
        Some(("o", id)) => number(id).map(Cursor::Older),
        Some(("s", skip)) => number(skip).map(Cursor::Skip),
        _ => None,
    };
    cursor.ok_or_else(|| {
        Rejection::new(
            ErrorCode::BadSearch,
            "That page is not one a search answered with (its next)",
        )
    })
}

/// A store's hit as `search_results` carries it: the caption (the store
/// leaves a file message's link lines out, its files named apart), cut
/// around the first match when long, highlights in characters.
fn on_the_wire(hit: Hit) -> SearchHit {
    let Hit {
        id,
        room,
        username,
        timestamp,
        text,
        files,
    } = hit;
    let shown = snippet(
        &text.text,
        &char_ranges(&text.text, &text.ranges),
        SNIPPET_CHARS,
    );
    SearchHit {
        id,
        room,
        username,
        timestamp,
        files: files
            .into_iter()
            .map(|file| FoundFile {
                highlights: char_ranges(&file.text, &file.ranges),
                name: file.text,
            })
            .collect(),
        ..shown
    }
}

#[cfg(test)]
mod tests {
    use super::{read_cursor, rooms, write_cursor};
    use crate::history::search::Cursor;

    #[test]
    fn cursors_go_out_and_come_back() {
        for cursor in [Cursor::Older(42), Cursor::Skip(50)] {
            assert_eq!(read_cursor(&write_cursor(cursor)).ok(), Some(cursor));
        }
        for bad in ["", "o", "x12", "o-1", "s1e3", "о12"] {
            assert!(read_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_room_and_in_narrow_together() {
        assert_eq!(rooms(None, None).ok(), Some(None));
        assert_eq!(
            rooms(Some("Rust"), None).ok(),
            Some(Some(vec!["rust".into()]))
        );
        assert_eq!(
            rooms(None, Some("rust")).ok(),
            Some(Some(vec!["rust".into()]))
        );
        assert_eq!(rooms(Some("rust"), Some("go")).ok(), Some(Some(Vec::new())));
        assert!(rooms(Some("bad room!"), None).is_err());
    }
}

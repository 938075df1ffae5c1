//! What one answer of history holds: at most a count of messages and at
//! most a number of bytes once encoded.
//!
//! A message encodes to anything from a hundred bytes to some 12 KB (each
//! control character in its text becomes six bytes of JSON), so a count
//! alone lets one `welcome` or `history` page grow to megabytes: memory a
//! client that never reads could make the server hold. Every list here
//! is cut to a byte budget too (see `Config::page_bytes`), always keeping
//! at least one item, and says what it left out the way the protocol
//! already does: `history_gap` on a replay, `has_more` / `has_newer` on a
//! page. The client fetches the rest by paging.

use crate::history::journal::{HistoryLimits, Page};
use crate::history::store::{Store, StoreResult};
use chat_shared::{ChatMessage, HistoryItem, ServerFrame};
use serde::Serialize;

/// What a joiner is sent from the history for `welcome.history`, read up
/// to `through`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replay {
    pub(crate) history: Vec<HistoryItem>,
    /// More was missed than a replay holds: `history` is the latest page.
    pub(crate) gap: bool,
    /// The room's newest event when the history was read: everything up
    /// to it is in the replay or was before `since`.
    pub(crate) through: u64,
}

/// How many bytes `value` encodes to as JSON, without keeping the text.
pub(crate) fn encoded_len<T: Serialize>(value: &T) -> usize {
    /// Counts what is written and keeps nothing.
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and the frames' types always
    // serialise; were it to fail, what was counted so far is a fair guess.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// How many of `items`, taken in order, fit in `bytes` once encoded (with
/// the comma between each two): at least one when there is any.
pub(crate) fn fitting<'a, T: Serialize + 'a>(
    items: impl IntoIterator<Item = &'a T>,
    bytes: usize,
) -> usize {
    let mut used = 0;
    let mut count = 0;
    for item in items {
        used += encoded_len(item) + 1;
        if used > bytes && count > 0 {
            break;
        }
        count += 1;
    }
    count
}

/// Keeps the newest (last) items of `items` that fit in `bytes`; returns
/// whether any were left out.
pub(crate) fn keep_newest<T: Serialize>(items: &mut Vec<T>, bytes: usize) -> bool {
    let keep = fitting(items.iter().rev(), bytes);
    let dropped = items.len() - keep;
    items.drain(..dropped);
    dropped > 0
}

/// Keeps the first items of `items` that fit in `bytes`: for lists that
/// come newest first.
pub(crate) fn keep_first<T: Serialize>(items: &mut Vec<T>, bytes: usize) {
    let keep = fitting(items.iter(), bytes);
    items.truncate(keep);
}

/// What a joiner gets in `welcome.history`, read up to at least
/// `at_least`. Without `since`, the latest page in its current state;
/// with it, every message and change after it in id order, or, when that
/// would be more than the replay limit or the byte budget, the latest
/// page marked as a gap. The latest page is cut to the budget from its
/// oldest end. Every read stops at the room's newest event when the first
/// began, so the picture is consistent even while others post.
pub(crate) fn replay(
    store: &mut dyn Store,
    limits: &HistoryLimits,
    room: &str,
    since: Option<u64>,
    at_least: u64,
) -> StoreResult<Replay> {
    let through = store.last_event(room)?.max(at_least);
    if let Some(since) = since {
        let missed = store.after(room, since, through, limits.replay + 1)?;
        if missed.len() <= limits.replay && fitting(&missed, limits.page_bytes) == missed.len() {
            return Ok(Replay {
                history: missed,
                gap: false,
                through,
            });
        }
    }
    let mut latest = store.page_before(room, through.saturating_add(1), limits.on_join)?;
    keep_newest(&mut latest, limits.page_bytes);
    Ok(Replay {
        history: latest.into_iter().map(HistoryItem::Message).collect(),
        gap: since.is_some(),
        through,
    })
}

/// One `history` page, read one message further each way than it holds,
/// to know whether more lie beyond, and cut to `bytes`: from its oldest
/// end for a page before an id, from whichever end is further from the
/// target for a page around one.
pub(crate) fn read_page(
    store: &mut dyn Store,
    room: &str,
    page: Page,
    limit: usize,
    bytes: usize,
) -> StoreResult<ServerFrame> {
    let (before, older, newer) = match page {
        Page::Before(before) => (before, limit, 0),
        // Half before, the target itself and the rest after it.
        Page::Around(target) => (target, limit / 2, limit - limit / 2),
    };
    let mut earlier = store.page_before(room, before, older + 1)?;
    let mut has_more = earlier.len() > older;
    if has_more {
        earlier.remove(0);
    }
    let mut later = Vec::new();
    let mut has_newer = false;
    if newer > 0 {
        later = store.page_after(room, before.saturating_sub(1), newer + 1)?;
        has_newer = later.len() > newer;
        later.truncate(newer);
    }
    let (cut_older, cut_newer) = cut_around(&mut earlier, &mut later, bytes);
    has_more |= cut_older;
    has_newer |= cut_newer;
    earlier.append(&mut later);
    Ok(ServerFrame::History {
        room: room.to_owned(),
        messages: earlier,
        has_more,
        has_newer,
    })
}

/// Cuts `earlier` (older than the target, oldest first) and `later` (the
/// target and newer) to `bytes` together, taking from whichever side
/// holds more, so the target stays near the middle; `later`'s first item
/// (the target) goes last. Returns whether each side lost any.
fn cut_around(
    earlier: &mut Vec<ChatMessage>,
    later: &mut Vec<ChatMessage>,
    bytes: usize,
) -> (bool, bool) {
    let older_sizes: Vec<usize> = earlier.iter().map(|item| encoded_len(item) + 1).collect();
    let newer_sizes: Vec<usize> = later.iter().map(|item| encoded_len(item) + 1).collect();
    let mut total: usize = older_sizes.iter().chain(&newer_sizes).sum();
    // What is kept: earlier[first..], later[..end].
    let (mut first, mut end) = (0, later.len());
    while total > bytes && (earlier.len() - first) + end > 1 {
        let older_left = earlier.len() - first;
        // The target (later[0]) is not counted as "newer": it goes last.
        let newer_left = end.saturating_sub(1);
        if older_left > 0 && (older_left >= newer_left || end == 0) {
            total -= older_sizes[first];
            first += 1;
        } else {
            end -= 1;
            total -= newer_sizes[end];
        }
    }
    earlier.drain(..first);
    let cut_newer = end < later.len();
    later.truncate(end);
    (first > 0, cut_newer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64, text: &str) -> ChatMessage {
        ChatMessage {
            id,
            username: "ann".into(),
            text: text.into(),
            timestamp: "2026-11-25T21:00:00.000Z".into(),
            ..ChatMessage::default()
        }
    }

    #[test]
    fn a_list_keeps_what_fits_and_always_one() {
        let big = "\u{1}".repeat(1000);
        let mut items: Vec<ChatMessage> = (1..=5).map(|id| message(id, &big)).collect();
        let one = encoded_len(&items[0]) + 1;
        assert!(one > 6000, "a control character is six bytes of JSON");
        assert!(keep_newest(&mut items, 2 * one + 10));
        assert_eq!(items.iter().map(|m| m.id).collect::<Vec<_>>(), [4, 5]);
        assert!(keep_newest(&mut items, 10));
        assert_eq!(items.len(), 1, "a single item always fits");
        assert!(!keep_newest(&mut items, 10));
    }

    #[test]
    fn a_page_around_an_id_is_cut_from_its_far_ends() {
        let text = "x".repeat(200);
        let mut earlier: Vec<ChatMessage> = (1..=5).map(|id| message(id, &text)).collect();
        let mut later: Vec<ChatMessage> = (6..=10).map(|id| message(id, &text)).collect();
        let one = encoded_len(&earlier[0]) + 1;
        assert_eq!(cut_around(&mut earlier, &mut later, 3 * one), (true, true));
        let ids: Vec<u64> = earlier.iter().chain(&later).map(|m| m.id).collect();
        assert_eq!(ids, [5, 6, 7]);
        assert_eq!(cut_around(&mut earlier, &mut later, 0), (true, true));
        assert_eq!(later.iter().map(|m| m.id).collect::<Vec<_>>(), [6]);
        assert!(earlier.is_empty(), "the target is what is left");
    }
}

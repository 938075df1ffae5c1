//! The conversation this device keeps, so the app opened offline (or
//! opening a room before the server answers) shows what it last showed
//! there instead of an empty room.
//!
//! - what is kept: a room's newest messages as the page showed them, at
//!   most [`KEEP_MESSAGES`] and [`KEEP_BYTES`] of JSON, in the versioned
//!   [`Kept`] format; reading it back skips whatever does not parse.
//! - showing it: [`ConversationState::show_kept`] fills an empty page with
//!   them, marked as kept; the room's `welcome` replaces them all with the
//!   server's history, so nothing deleted or changed meanwhile survives.
//!
//! Where it is kept, for whom and when it is dropped is [`super::disk`].

use chat_shared::ChatMessage;
use serde::Deserialize;

use super::{ConversationState, EntryKind};

/// The most messages kept per room: a screenful or two, what the app
/// opened offline is for.
pub(crate) const KEEP_MESSAGES: usize = 150;
/// The most JSON kept per room, so a room of long messages cannot fill
/// the browser's storage (a few megabytes for the whole site).
pub(crate) const KEEP_BYTES: usize = 256 * 1024;
/// The format written; anything else is ignored when read.
const VERSION: u32 = 1;

/// What is written for one room (read here; [`encode`] writes it).
#[derive(Deserialize)]
struct Kept {
    /// [`VERSION`]: an older or newer format is not guessed at.
    v: u32,
    /// Oldest first. Each is read on its own, so one that no longer
    /// parses loses only itself.
    messages: Vec<serde_json::Value>,
}

/// The newest of `messages` (oldest first) within [`KEEP_MESSAGES`] and
/// [`KEEP_BYTES`], as the JSON to keep (the [`Kept`] format, written by
/// hand so each message is serialised once).
pub(crate) fn encode<'a>(messages: impl DoubleEndedIterator<Item = &'a ChatMessage>) -> String {
    let mut kept = Vec::new();
    let mut bytes = 0;
    for message in messages.rev().take(KEEP_MESSAGES) {
        let Ok(json) = serde_json::to_string(message) else {
            continue;
        };
        bytes += json.len() + 1;
        if bytes > KEEP_BYTES {
            break;
        }
        kept.push(json);
    }
    kept.reverse();
    format!("{{\"v\":{VERSION},\"messages\":[{}]}}", kept.join(","))
}

/// The messages in `json`, oldest first, each id once; corrupt or
/// other-format data gives none, a message that does not parse is skipped.
pub(crate) fn decode(json: &str) -> Vec<ChatMessage> {
    let Ok(kept) = serde_json::from_str::<Kept>(json) else {
        return Vec::new();
    };
    if kept.v != VERSION {
        return Vec::new();
    }
    let mut messages: Vec<ChatMessage> = kept
        .messages
        .into_iter()
        .filter_map(|value| serde_json::from_value(value).ok())
        .collect();
    messages.sort_by_key(|m| m.id);
    messages.dedup_by_key(|m| m.id);
    messages.truncate(KEEP_MESSAGES);
    messages
}

impl ConversationState {
    /// Fills an empty page with the messages this device kept for the
    /// room, headed by the "earlier messages" divider, until the room's
    /// `welcome` replaces them; `is_mine` says which are mine. A copy
    /// shown already goes first (it may be another name's: a join under
    /// it was refused); a page the server filled is left alone.
    pub(crate) fn show_kept(
        &mut self,
        messages: Vec<ChatMessage>,
        is_mine: impl Fn(&ChatMessage) -> bool,
    ) {
        if self.kept {
            self.clear();
        }
        if !self.entries.is_empty() || messages.is_empty() {
            return;
        }
        self.push_entry(EntryKind::Earlier);
        for message in messages {
            let mine = is_mine(&message);
            self.show(message, mine);
        }
        self.kept = true;
    }

    /// Whether the page shows what this device kept, not yet the server's
    /// version (tracked through the conversation's signal).
    pub(crate) fn is_kept(&self) -> bool {
        self.kept
    }

    /// The JSON to keep for the page's room: its newest messages as shown.
    /// None while the page shows the kept copy itself: nothing is new.
    pub(crate) fn to_keep(&self) -> Option<String> {
        if self.kept {
            return None;
        }
        Some(encode(self.entries.iter().filter_map(
            |entry| match &entry.kind {
                EntryKind::Message { message, .. } => Some(message),
                _ => None,
            },
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ids, message};
    use super::*;

    fn messages(range: std::ops::RangeInclusive<u64>) -> Vec<ChatMessage> {
        range.map(|id| message(id, "ann", 0)).collect()
    }

    #[test]
    fn keeps_the_newest_messages_up_to_the_count() {
        let all = messages(1..=400);
        let kept = decode(&encode(all.iter()));
        assert_eq!(kept.len(), KEEP_MESSAGES);
        assert_eq!(
            kept.first().map(|m| m.id),
            Some(400 - KEEP_MESSAGES as u64 + 1)
        );
        assert_eq!(kept.last(), all.last());
    }

    #[test]
    fn keeps_the_newest_messages_up_to_the_size() {
        let mut all = messages(1..=20);
        for m in &mut all {
            m.text = "x".repeat(KEEP_BYTES / 10);
        }
        let json = encode(all.iter());
        assert!(json.len() <= KEEP_BYTES + 100, "{} bytes", json.len());
        let kept = decode(&json);
        assert_eq!(
            kept.iter().map(|m| m.id).collect::<Vec<_>>(),
            [12, 13, 14, 15, 16, 17, 18, 19, 20]
        );
    }

    #[test]
    fn corrupt_or_other_format_data_gives_nothing() {
        for json in [
            "",
            "not json",
            "[1,2,3]",
            "{\"v\":2,\"messages\":[]}",
            "{\"messages\":[]}",
            "{\"v\":1,\"messages\":{}}",
        ] {
            assert!(decode(json).is_empty(), "{json}");
        }
    }

    #[test]
    fn a_message_that_does_not_parse_loses_only_itself() {
        let one = serde_json::to_value(message(1, "ann", 0)).expect("serialises");
        let three = serde_json::to_value(message(3, "bob", 0)).expect("serialises");
        let json =
            serde_json::json!({ "v": 1, "messages": [three, {"id": "two"}, one.clone(), one] });
        let kept = decode(&json.to_string());
        assert_eq!(kept.iter().map(|m| m.id).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn what_is_kept_is_shown_until_the_welcome_replaces_it() {
        let mut page = ConversationState::default();
        let mut deleted = message(2, "bob", 1);
        deleted.text = "gone on the server meanwhile".into();
        let kept = vec![message(1, "ann", 0), deleted, message(3, "ann", 2)];
        page.show_kept(kept, |m| m.username == "ann");
        assert!(page.is_kept());
        assert_eq!(ids(&page), [1, 2, 3]);
        assert!(matches!(page.entries()[0].kind, EntryKind::Earlier));
        assert!(matches!(
            page.entries()[1].kind,
            EntryKind::Message { mine: true, .. }
        ));
        // The join asks for the whole recent history, not what follows the copy.
        assert_eq!(page.newest_id(), None);
        assert_eq!(page.to_keep(), None);

        // The server's history: 2 is gone, 4 is new.
        page.welcome(true, false);
        for m in [
            message(1, "ann", 0),
            message(3, "ann", 2),
            message(4, "bob", 3),
        ] {
            page.show(m, false);
        }
        assert!(!page.is_kept());
        assert_eq!(ids(&page), [1, 3, 4]);
        let earlier = page
            .entries()
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Earlier))
            .count();
        assert_eq!(earlier, 1);
        assert_eq!(page.newest_id(), Some(4));
        let again = decode(&page.to_keep().expect("the server's version is kept"));
        assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), [1, 3, 4]);
    }

    #[test]
    fn an_empty_room_on_the_server_empties_the_copy() {
        let mut page = ConversationState::default();
        page.show_kept(messages(1..=3), |_| false);
        page.welcome(false, false);
        assert!(ids(&page).is_empty());
        assert!(decode(&page.to_keep().expect("kept")).is_empty());
    }

    #[test]
    fn a_page_already_showing_something_is_left_alone() {
        let mut page = ConversationState::default();
        page.show(message(7, "bob", 0), false);
        page.show_kept(messages(1..=3), |_| false);
        assert!(!page.is_kept());
        assert_eq!(ids(&page), [7]);
        // Nothing kept: no divider, nothing marked.
        let mut empty = ConversationState::default();
        empty.show_kept(Vec::new(), |_| false);
        assert!(!empty.is_kept());
        assert!(empty.entries().is_empty());
    }

    #[test]
    fn another_names_copy_goes_before_this_ones() {
        let mut page = ConversationState::default();
        page.show_kept(messages(1..=3), |_| false);
        page.show_kept(messages(8..=9), |_| false);
        assert_eq!(ids(&page), [8, 9]);
        // A name with nothing kept sees nothing of the other's.
        page.show_kept(Vec::new(), |_| false);
        assert!(page.entries().is_empty());
        assert!(!page.is_kept());
    }
}

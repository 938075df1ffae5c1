//! Pages of older messages: asked for by scrolling up (the page before
//! the oldest message shown) or by a reply's quote (the page around its
//! original), answered in order, and put above what is shown.

use chat_shared::ChatMessage;

use super::{client_key, continues_after, ConversationState, Entry, EntryKind};

/// A page of history asked for and not answered yet; the server answers
/// in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PageRequest {
    /// The page before the oldest message shown (scrolling up).
    Older,
    /// The page around a quoted original, to jump to it.
    Around(u64),
}

/// Whether the messages before the oldest one on the page can be loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Older {
    #[default]
    MayExist,
    Loading,
    /// The page shows the room from its first message.
    NoMore,
}

impl ConversationState {
    /// Whether scrolling up can show more.
    pub(crate) fn older(&self) -> Older {
        self.older
    }

    /// The id to page back from (the oldest message on the page), if older
    /// messages may exist and none are being loaded; a page without
    /// messages has nothing older.
    pub(crate) fn older_page_start(&mut self) -> Option<u64> {
        if self.older != Older::MayExist {
            return None;
        }
        let oldest = self.shown.keys().min().copied();
        if oldest.is_none() {
            self.older = Older::NoMore;
        }
        oldest
    }

    /// The request for older messages went out.
    pub(crate) fn loading_older(&mut self) {
        self.older = Older::Loading;
        self.pages.push_back(PageRequest::Older);
    }

    /// The request for the page around message `id` went out.
    pub(crate) fn loading_around(&mut self, id: u64) {
        self.pages.push_back(PageRequest::Around(id));
    }

    /// A page of history (oldest first) arrived, answering the oldest
    /// request. Its messages that are older than the page's go above
    /// everything, below the "earlier messages" divider, skipping ones
    /// shown. Returns the original to jump to, for a page around one.
    pub(crate) fn history(
        &mut self,
        messages: Vec<ChatMessage>,
        has_more: bool,
        has_newer: bool,
        is_mine: impl Fn(&ChatMessage) -> bool,
    ) -> Option<u64> {
        match self.pages.pop_front().unwrap_or(PageRequest::Older) {
            PageRequest::Older => {
                self.prepend(messages, is_mine);
                self.older = older_after(has_more);
                None
            }
            PageRequest::Around(id) => {
                self.around(messages, has_more, has_newer, is_mine);
                Some(id)
            }
        }
    }

    /// The page around a quoted original: what is older than the page
    /// goes on top (newer ones came live already), after a divider when it
    /// may not join up with what is shown.
    fn around(
        &mut self,
        messages: Vec<ChatMessage>,
        has_more: bool,
        has_newer: bool,
        is_mine: impl Fn(&ChatMessage) -> bool,
    ) {
        let count = messages.len();
        let oldest = self.shown.keys().min().copied();
        let older: Vec<ChatMessage> = messages
            .into_iter()
            .filter(|m| oldest.is_none_or(|oldest| m.id < oldest))
            .collect();
        if older.is_empty() {
            return;
        }
        let overlaps = older.len() < count;
        if has_newer && !overlaps {
            self.prepend_entry(EntryKind::Gap);
        }
        self.prepend(older, is_mine);
        if self.older != Older::Loading {
            self.older = older_after(has_more);
        }
    }

    /// The socket closed: an answer to a request for history will not
    /// come.
    pub(crate) fn socket_closed(&mut self) {
        if self.older == Older::Loading {
            self.older = Older::MayExist;
        }
        self.pages.clear();
    }

    fn prepend(&mut self, messages: Vec<ChatMessage>, is_mine: impl Fn(&ChatMessage) -> bool) {
        let mut block: Vec<Entry> = Vec::with_capacity(messages.len());
        for message in messages {
            let known = self.shown.contains_key(&message.id)
                || client_key(&message).is_some_and(|c| self.by_client_id.contains_key(&c));
            if known {
                continue;
            }
            let key = self.next_key();
            self.remember(&message, key);
            self.dirty.push(key);
            let mine = is_mine(&message);
            let kind = EntryKind::Message { message, mine };
            let continues = block
                .last()
                .is_some_and(|previous| continues_after(&previous.kind, &kind));
            block.push(Entry {
                key,
                continues,
                kind,
            });
        }
        if block.is_empty() {
            return;
        }
        let at = usize::from(matches!(
            self.entries.first(),
            Some(Entry {
                kind: EntryKind::Earlier,
                ..
            })
        ));
        // The line that was first may now continue the block's last.
        if let (Some(last), Some(next)) = (block.last(), self.entries.get_mut(at)) {
            next.continues = continues_after(&last.kind, &next.kind);
        }
        self.entries.splice(at..at, block);
    }

    /// Puts a divider at the top, below the "earlier messages" one.
    fn prepend_entry(&mut self, kind: EntryKind) {
        let key = self.next_key();
        let at = usize::from(matches!(
            self.entries.first(),
            Some(Entry {
                kind: EntryKind::Earlier,
                ..
            })
        ));
        if let Some(next) = self.entries.get_mut(at) {
            next.continues = false;
        }
        self.entries.insert(
            at,
            Entry {
                key,
                continues: false,
                kind,
            },
        );
    }
}

/// What can be loaded by scrolling up after a page with `has_more`.
fn older_after(has_more: bool) -> Older {
    if has_more {
        Older::MayExist
    } else {
        Older::NoMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::conversation::tests::{grouping, ids, message};
    use crate::state::conversation::MAX_ENTRIES;

    #[test]
    fn a_page_around_an_original_goes_on_top_after_a_gap() {
        let mut state = ConversationState::default();
        state.welcome(true, false);
        for id in 50..=52 {
            state.show(message(id, "a", 0), false);
        }
        state.loading_around(10);
        let page = (9..=11).map(|id| message(id, "b", 0)).collect();
        assert_eq!(state.history(page, true, true, |_| false), Some(10));
        assert_eq!(ids(&state), [9, 10, 11, 50, 51, 52]);
        assert!(matches!(state.entries()[4].kind, EntryKind::Gap));
        assert!(state.contains(10));
        // A page that overlaps what is shown joins up: no divider.
        state.loading_around(8);
        let page = (7..=9).map(|id| message(id, "b", 0)).collect();
        assert_eq!(state.history(page, false, true, |_| false), Some(8));
        assert_eq!(ids(&state), [7, 8, 9, 10, 11, 50, 51, 52]);
        assert_eq!(
            state
                .entries()
                .iter()
                .filter(|e| matches!(e.kind, EntryKind::Gap))
                .count(),
            1
        );
        assert_eq!(state.older(), Older::NoMore);
    }

    #[test]
    fn the_page_keeps_the_newest_lines_and_can_page_back_again() {
        let mut state = ConversationState::default();
        state.welcome(false, false);
        assert_eq!(state.older(), Older::NoMore);
        for id in 1..=MAX_ENTRIES as u64 + 1 {
            state.show(message(id, "alice", 0), false);
        }
        assert_eq!(state.entries().len(), MAX_ENTRIES);
        assert_eq!(ids(&state).first(), Some(&2));
        assert_eq!(state.older(), Older::MayExist);
        assert!(!state.entries()[0].continues, "the first line has a header");
        assert!(state.entries()[1].continues);
        // The dropped message can be shown again when paging back.
        assert_eq!(state.older_page_start(), Some(2));
        state.loading_older();
        state.history(vec![message(1, "alice", 0)], false, false, |_| false);
        assert_eq!(ids(&state).first(), Some(&1));
    }

    #[test]
    fn older_history_goes_on_top_below_the_divider_without_repeats() {
        let mut state = ConversationState::default();
        state.welcome(true, false);
        state.show(message(10, "alice", 30), false);
        state.show(message(11, "bob", 31), false);
        assert_eq!(state.older_page_start(), Some(10));
        state.loading_older();
        assert_eq!(state.older_page_start(), None, "one request at a time");
        state.history(
            vec![
                message(8, "bob", 29),
                message(9, "alice", 29),
                message(10, "alice", 30),
            ],
            true,
            false,
            |m| m.username == "alice",
        );
        assert!(matches!(state.entries()[0].kind, EntryKind::Earlier));
        assert_eq!(ids(&state), [8, 9, 10, 11]);
        // 10 now continues 9 (same author a minute later) at the seam.
        assert_eq!(grouping(&state), [false, false, false, true, false]);
        assert!(matches!(
            state.entries()[2].kind,
            EntryKind::Message { mine: true, .. }
        ));
        assert_eq!(state.older(), Older::MayExist);
        state.history(Vec::new(), false, false, |_| false);
        assert_eq!(state.older(), Older::NoMore);
    }

    #[test]
    fn a_page_without_messages_has_nothing_older() {
        let mut state = ConversationState::default();
        assert_eq!(state.older_page_start(), None);
        assert_eq!(state.older(), Older::NoMore);
    }

    #[test]
    fn a_closed_socket_ends_loading_and_a_gap_starts_over() {
        let mut state = ConversationState::default();
        state.welcome(true, false);
        state.show(message(1, "a", 0), false);
        state.older_page_start();
        state.loading_older();
        state.socket_closed();
        assert_eq!(state.older(), Older::MayExist);
        state.welcome(true, true);
        state.show(message(40, "a", 0), false);
        assert_eq!(ids(&state), [40]);
        assert!(matches!(state.entries()[0].kind, EntryKind::Earlier));
        // A rejoin without a gap keeps the page, with no second divider.
        state.welcome(true, false);
        assert_eq!(state.entries().len(), 2);
    }
}

//! The conversation on the page: messages in server id order, each shown
//! once, with join/leave notices between them, at most [`MAX_ENTRIES`]
//! lines, and whether older ones can be loaded by scrolling up.
//!
//! [`ConversationState`] is the plain logic; [`Conversation`] holds it in
//! a signal for the views, with one signal per line for what can change
//! in it (its grouping), so a new line patches the list and a regrouped
//! line patches that line only.

use chat_shared::{username_key, ChatMessage};
use leptos::prelude::*;
use std::collections::HashMap;

use super::rows::RowSignals;
use crate::time::epoch_ms;

/// The conversation keeps this many lines; older ones leave the page so a
/// chat left open for days stays fast (scrolling up brings them back).
pub const MAX_ENTRIES: usize = 500;
/// Messages by one author closer together than this share one header.
const GROUP_WINDOW_MS: f64 = 5.0 * 60.0 * 1000.0;

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Local and unique for the page, and the line's key for its whole
    /// life: server ids restart with a server that keeps its history in
    /// memory.
    pub key: u64,
    /// Shown without the author's name because the previous line is a
    /// message by the same author a moment earlier.
    pub continues: bool,
    pub kind: EntryKind,
}

/// What a conversation line shows.
#[derive(Clone, Debug, PartialEq)]
pub enum EntryKind {
    Message {
        message: ChatMessage,
        mine: bool,
    },
    Joined(String),
    Left(String),
    /// Heads the history the server sent on joining, so it does not read
    /// as if it had just been said.
    Earlier,
}

/// Whether the messages before the oldest one on the page can be loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Older {
    #[default]
    MayExist,
    Loading,
    /// The page shows the room from its first message.
    NoMore,
}

/// The newest line, for following the conversation as it grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Newest {
    pub key: u64,
    pub is_message: bool,
    pub mine: bool,
}

/// The conversation's lines and what they are known by.
#[derive(Debug, Default)]
pub struct ConversationState {
    entries: Vec<Entry>,
    /// The messages on the page by server id: the key of the line showing
    /// each and its timestamp. A copy (a history replay, the original of a
    /// resend) is recognised here and never shown twice.
    shown: HashMap<u64, (u64, String)>,
    /// The messages on the page by author key and `client_id`: a message
    /// the server stored again under a new numbering (it lost its
    /// history) is still the one already shown.
    by_client_id: HashMap<(String, String), u64>,
    older: Older,
    next_key: u64,
}

impl ConversationState {
    /// The lines, oldest first.
    #[cfg(test)]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether scrolling up can show more.
    pub fn older(&self) -> Older {
        self.older
    }

    /// The newest message id on the page: a (re-)join asks the server for
    /// what came after it.
    pub fn newest_id(&self) -> Option<u64> {
        self.shown.keys().max().copied()
    }

    /// The newest line.
    pub fn newest(&self) -> Option<Newest> {
        self.entries.last().map(|entry| Newest {
            key: entry.key,
            is_message: matches!(entry.kind, EntryKind::Message { .. }),
            mine: matches!(entry.kind, EntryKind::Message { mine: true, .. }),
        })
    }

    /// A `welcome` arrived with history (`has_history`); `gap` says what
    /// the page shows and what follows are not continuous, so the page
    /// starts over. A page that shows nothing yet heads the history with
    /// the "earlier messages" divider.
    pub fn welcome(&mut self, has_history: bool, gap: bool) {
        if gap {
            self.clear();
        }
        if self.shown.is_empty() {
            self.older = if has_history {
                Older::MayExist
            } else {
                Older::NoMore
            };
            if has_history {
                self.push_entry(EntryKind::Earlier);
            }
        }
    }

    /// Shows a message in id order unless it is on the page already;
    /// returns whether it was new.
    pub fn show(&mut self, message: ChatMessage, mine: bool) -> bool {
        if let Some(client) = client_key(&message) {
            if self.by_client_id.contains_key(&client) {
                return false;
            }
        }
        match self.shown.get(&message.id) {
            Some((_, timestamp)) if *timestamp == message.timestamp => return false,
            // The same id for another message: the server lost its history
            // and counts from 1 again. What is on the page stays, but no
            // longer orders or filters the new numbering.
            Some(_) => self.shown.clear(),
            None => {}
        }
        self.push_entry(EntryKind::Message { message, mine });
        true
    }

    /// Takes a deleted message off the page (a moderator deleted it);
    /// returns whether it was shown. The line below it regroups with the
    /// one that is now above it.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some((key, _)) = self.shown.remove(&id) else {
            return false;
        };
        let Some(at) = self.entries.iter().position(|entry| entry.key == key) else {
            return false;
        };
        let entry = self.entries.remove(at);
        if let EntryKind::Message { message, .. } = &entry.kind {
            if let Some(client) = client_key(message) {
                self.by_client_id.remove(&client);
            }
        }
        let previous = at.checked_sub(1).and_then(|i| self.entries.get(i)).cloned();
        if let Some(next) = self.entries.get_mut(at) {
            next.continues =
                previous.is_some_and(|previous| continues_after(&previous.kind, &next.kind));
        }
        true
    }

    /// Adds a join or leave notice at the end.
    pub fn notice(&mut self, kind: EntryKind) {
        self.push_entry(kind);
    }

    /// The id to page back from (the oldest message on the page), if older
    /// messages may exist and none are being loaded; a page without
    /// messages has nothing older.
    pub fn older_page_start(&mut self) -> Option<u64> {
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
    pub fn loading_older(&mut self) {
        self.older = Older::Loading;
    }

    /// Older messages (oldest first) arrived: they go above everything on
    /// the page, below the "earlier messages" divider, skipping ones shown.
    pub fn history(
        &mut self,
        messages: Vec<ChatMessage>,
        has_more: bool,
        is_mine: impl Fn(&ChatMessage) -> bool,
    ) {
        self.prepend(messages, is_mine);
        self.older = if has_more {
            Older::MayExist
        } else {
            Older::NoMore
        };
    }

    /// The socket closed: an answer to a request for older messages will
    /// not come.
    pub fn socket_closed(&mut self) {
        if self.older == Older::Loading {
            self.older = Older::MayExist;
        }
    }

    /// Empties the page (leaving the room, or history that does not join
    /// up with what is shown).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.shown.clear();
        self.by_client_id.clear();
        self.older = Older::MayExist;
    }

    fn next_key(&mut self) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        key
    }

    /// Notes a message as on the page in the line `key`.
    fn remember(&mut self, message: &ChatMessage, key: u64) {
        self.shown
            .insert(message.id, (key, message.timestamp.clone()));
        if let Some(client) = client_key(message) {
            self.by_client_id.insert(client, key);
        }
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

    fn push_entry(&mut self, kind: EntryKind) {
        let key = self.next_key();
        let at = match &kind {
            EntryKind::Message { message, .. } => {
                let at = self.message_position(message.id);
                self.remember(message, key);
                at
            }
            _ => self.entries.len(),
        };
        let continues = at
            .checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .is_some_and(|previous| continues_after(&previous.kind, &kind));
        if let Some(next) = self.entries.get_mut(at) {
            next.continues = continues_after(&kind, &next.kind);
        }
        self.entries.insert(
            at,
            Entry {
                key,
                continues,
                kind,
            },
        );
        self.trim();
    }

    /// Where a message with `id` goes: at the end, unless messages with
    /// higher ids of the current numbering end the page (a late replay
    /// goes before them). A notice stops the search: what was said before
    /// someone joined stays before it.
    fn message_position(&self, id: u64) -> usize {
        let mut at = self.entries.len();
        while let Some(Entry {
            key,
            kind: EntryKind::Message {
                message: before, ..
            },
            ..
        }) = at.checked_sub(1).and_then(|i| self.entries.get(i))
        {
            let current = self.shown.get(&before.id).map(|s| s.0) == Some(*key);
            if !current || before.id < id {
                break;
            }
            at -= 1;
        }
        at
    }

    /// Drops the oldest lines beyond [`MAX_ENTRIES`].
    fn trim(&mut self) {
        let excess = self.entries.len().saturating_sub(MAX_ENTRIES);
        if excess == 0 {
            return;
        }
        for entry in self.entries.drain(..excess) {
            if let EntryKind::Message { message, .. } = &entry.kind {
                if self
                    .shown
                    .get(&message.id)
                    .is_some_and(|s| s.0 == entry.key)
                {
                    self.shown.remove(&message.id);
                }
                if let Some(client) = client_key(message) {
                    if self.by_client_id.get(&client) == Some(&entry.key) {
                        self.by_client_id.remove(&client);
                    }
                }
            }
        }
        // What left the page can be loaded again by scrolling up.
        if self.older == Older::NoMore {
            self.older = Older::MayExist;
        }
        // The new first line has lost the header it continued.
        if let Some(first) = self.entries.first_mut() {
            first.continues = false;
        }
    }
}

/// A message's author key and `client_id`, when it has one.
fn client_key(message: &ChatMessage) -> Option<(String, String)> {
    let client_id = message.client_id.clone()?;
    Some((username_key(&message.username), client_id))
}

/// Whether `next` is shown without a header, continuing `previous`: the
/// same author a moment later.
pub fn continues_after(previous: &EntryKind, next: &EntryKind) -> bool {
    match (previous, next) {
        (
            EntryKind::Message {
                message: previous, ..
            },
            EntryKind::Message { message, .. },
        ) => {
            username_key(&previous.username) == username_key(&message.username)
                && epoch_ms(&message.timestamp) - epoch_ms(&previous.timestamp) < GROUP_WINDOW_MS
        }
        _ => false,
    }
}

/// The conversation for the views: read-only signals over the state, and
/// the changes the chat makes to it as frames arrive.
#[derive(Clone, Copy)]
pub struct Conversation {
    state: RwSignal<ConversationState>,
    continues: StoredValue<RowSignals<bool>>,
}

impl Conversation {
    /// An empty conversation.
    pub fn new() -> Self {
        let state = RwSignal::new(ConversationState::default());
        Self {
            state,
            continues: StoredValue::new(RowSignals::new()),
        }
    }

    /// The lines' keys, oldest first (tracked): what the list renders.
    pub fn keys(&self) -> Vec<u64> {
        self.state
            .with(|s| s.entries.iter().map(|e| e.key).collect())
    }

    /// The line `key` as it is now (untracked): what in it can change is
    /// read from [`Conversation::continues`].
    pub fn entry(&self, key: u64) -> Option<Entry> {
        self.state
            .with_untracked(|s| s.entries.iter().find(|e| e.key == key).cloned())
    }

    /// Whether line `key` continues the one above, as a signal of that
    /// line alone.
    pub fn continues(&self, key: u64) -> ArcReadSignal<bool> {
        self.continues
            .with_value(|rows| rows.get(key))
            .unwrap_or_else(|| ArcRwSignal::new(false).read_only())
    }

    /// Whether scrolling up can show more (tracked).
    pub fn older(&self) -> Older {
        self.state.with(ConversationState::older)
    }

    /// Whether the page shows no lines (tracked).
    pub fn is_empty(&self) -> bool {
        self.state.with(|s| s.entries.is_empty())
    }

    /// The newest line (tracked).
    pub fn newest(&self) -> Option<Newest> {
        self.state.with(ConversationState::newest)
    }

    /// The newest message id on the page.
    pub fn newest_id(&self) -> Option<u64> {
        self.state.with_untracked(ConversationState::newest_id)
    }

    /// See [`ConversationState::welcome`].
    pub fn welcome(&self, has_history: bool, gap: bool) {
        self.change(|s| s.welcome(has_history, gap));
    }

    /// See [`ConversationState::show`].
    pub fn show(&self, message: ChatMessage, mine: bool) -> bool {
        self.change(|s| s.show(message, mine)).unwrap_or(false)
    }

    /// See [`ConversationState::remove`].
    pub fn remove(&self, id: u64) -> bool {
        self.change(|s| s.remove(id)).unwrap_or(false)
    }

    /// See [`ConversationState::notice`].
    pub fn notice(&self, kind: EntryKind) {
        self.change(|s| s.notice(kind));
    }

    /// See [`ConversationState::older_page_start`].
    pub fn older_page_start(&self) -> Option<u64> {
        self.change(ConversationState::older_page_start).flatten()
    }

    /// See [`ConversationState::loading_older`].
    pub fn loading_older(&self) {
        self.change(ConversationState::loading_older);
    }

    /// See [`ConversationState::history`].
    pub fn history(
        &self,
        messages: Vec<ChatMessage>,
        has_more: bool,
        is_mine: impl Fn(&ChatMessage) -> bool,
    ) {
        self.change(|s| s.history(messages, has_more, is_mine));
    }

    /// See [`ConversationState::socket_closed`].
    pub fn socket_closed(&self) {
        self.change(ConversationState::socket_closed);
    }

    /// See [`ConversationState::clear`].
    pub fn clear(&self) {
        self.change(ConversationState::clear);
    }

    /// Changes the state, then tells each line whose grouping changed.
    fn change<R>(&self, f: impl FnOnce(&mut ConversationState) -> R) -> Option<R> {
        let result = self.state.try_update(f);
        self.state.with_untracked(|s| {
            self.continues.update_value(|rows| {
                rows.sync(s.entries.iter().map(|e| (e.key, e.continues)));
            });
        });
        result
    }
}

impl Default for Conversation {
    fn default() -> Self {
        Self::new()
    }
}

/// The conversation from context.
pub fn use_conversation() -> Conversation {
    expect_context::<Conversation>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message by `author` `minute` minutes into the day.
    fn message(id: u64, author: &str, minute: u32) -> ChatMessage {
        ChatMessage {
            id,
            username: author.into(),
            text: format!("text {id}"),
            timestamp: format!("2026-11-25T{:02}:{:02}:00.000Z", minute / 60, minute % 60),
            client_id: None,
        }
    }

    fn with_client_id(mut message: ChatMessage, client_id: &str) -> ChatMessage {
        message.client_id = Some(client_id.into());
        message
    }

    fn ids(state: &ConversationState) -> Vec<u64> {
        state
            .entries()
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Message { message, .. } => Some(message.id),
                _ => None,
            })
            .collect()
    }

    fn grouping(state: &ConversationState) -> Vec<bool> {
        state.entries().iter().map(|e| e.continues).collect()
    }

    #[test]
    fn a_deleted_message_leaves_and_its_neighbours_regroup() {
        let mut state = ConversationState::default();
        state.show(message(1, "a", 0), false);
        state.show(message(2, "b", 0), false);
        state.show(with_client_id(message(3, "a", 1), "c-3"), false);
        assert_eq!(grouping(&state), [false, false, false]);
        assert!(state.remove(2));
        assert_eq!(ids(&state), [1, 3]);
        assert_eq!(grouping(&state), [false, true], "a's two lines join up");
        // A deletion of something not shown (or shown no more) is no news.
        assert!(!state.remove(2));
        assert!(!state.remove(99));
        // A replay of the deleted message would not come; the client id
        // of a removed one no longer hides a new message.
        assert!(state.remove(3));
        assert!(state.show(with_client_id(message(4, "a", 2), "c-3"), false));
        assert_eq!(ids(&state), [1, 4]);
    }

    #[test]
    fn a_late_replay_goes_before_newer_lines() {
        let mut state = ConversationState::default();
        for (id, author) in [(1, "a"), (2, "b"), (4, "a"), (5, "b")] {
            assert!(state.show(message(id, author, 0), false));
        }
        assert!(state.show(message(3, "c", 0), false));
        assert_eq!(ids(&state), [1, 2, 3, 4, 5]);
        assert_eq!(state.newest_id(), Some(5));
    }

    #[test]
    fn a_notice_keeps_what_was_said_before_it() {
        let mut state = ConversationState::default();
        state.show(message(1, "a", 0), false);
        state.show(message(3, "a", 0), false);
        state.notice(EntryKind::Joined("b".into()));
        state.show(message(2, "a", 0), false);
        assert_eq!(ids(&state), [1, 3, 2]);
        assert!(matches!(state.entries()[2].kind, EntryKind::Joined(_)));
    }

    #[test]
    fn a_message_is_shown_once_by_id() {
        let mut state = ConversationState::default();
        assert!(state.show(message(1, "a", 0), false));
        assert!(state.show(message(2, "b", 0), false));
        assert!(!state.show(message(1, "a", 0), false));
        assert_eq!(ids(&state), [1, 2]);
    }

    #[test]
    fn a_reused_id_with_another_time_is_a_new_message() {
        let mut state = ConversationState::default();
        state.show(message(1, "a", 0), false);
        state.show(message(2, "a", 1), false);
        // The server restarted without its history and counts from 1.
        assert!(state.show(message(1, "b", 10), false));
        assert_eq!(ids(&state), [1, 2, 1]);
        assert_eq!(state.newest_id(), Some(1));
    }

    #[test]
    fn a_message_is_shown_once_by_client_id() {
        let mut state = ConversationState::default();
        assert!(state.show(with_client_id(message(7, "Alice", 0), "c-1"), true));
        // Stored again under a new numbering, author spelled another way.
        assert!(!state.show(with_client_id(message(1, "alice", 1), "c-1"), true));
        // Another author's message may carry the same client id.
        assert!(state.show(with_client_id(message(8, "bob", 1), "c-1"), false));
        assert_eq!(ids(&state), [7, 8]);
    }

    #[test]
    fn messages_by_one_author_close_together_share_a_header() {
        let mut state = ConversationState::default();
        state.show(message(1, "alice", 0), false);
        state.show(message(2, "Alice", 4), false);
        state.show(message(3, "bob", 4), false);
        state.show(message(4, "bob", 10), false);
        state.notice(EntryKind::Left("alice".into()));
        state.show(message(5, "bob", 10), false);
        assert_eq!(grouping(&state), [false, true, false, false, false, false]);
    }

    #[test]
    fn an_insert_between_two_lines_regroups_the_next_one() {
        let mut state = ConversationState::default();
        state.show(message(1, "alice", 0), false);
        state.show(message(3, "alice", 1), false);
        assert_eq!(grouping(&state), [false, true]);
        state.show(message(2, "bob", 0), false);
        assert_eq!(ids(&state), [1, 2, 3]);
        assert_eq!(grouping(&state), [false, false, false]);
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
        state.history(vec![message(1, "alice", 0)], false, |_| false);
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
        state.history(Vec::new(), false, |_| false);
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

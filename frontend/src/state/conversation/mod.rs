//! The conversation on the page: messages in server id order, each shown
//! once, with join/leave notices between them, at most [`MAX_ENTRIES`]
//! lines, and whether older ones can be loaded by scrolling up.
//!
//! - here: the lines ([`ConversationState`], the plain logic) and
//!   [`Conversation`], which holds them in a signal for the views, with one
//!   signal per line for what can change in it (its grouping, its
//!   message), so a new line patches the list and a regrouped or edited
//!   line patches that line only.
//! - [`history`]: pages of older messages, asked for by scrolling up or by
//!   a reply's quote, and where they go on the page.
//! - [`changes`]: messages change in place as their edits, deletions and
//!   reactions arrive; a deleted one stays as a tombstone.
//! - [`cache`]: the newest messages kept on this device, shown before the
//!   server's `welcome` (the app opened offline); [`disk`]: where they are
//!   kept, for whom, and when they are dropped.

pub(crate) mod cache;
pub(crate) mod changes;
pub(crate) mod disk;
pub(crate) mod history;

use chat_shared::{username_key, ChatMessage, ClientFrame, ClientLimits};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet, VecDeque};

use history::{Older, PageRequest};

use super::rows::RowSignals;
use super::Sender;
use crate::time::epoch_ms;

/// The conversation keeps this many lines; older ones leave the page so a
/// chat left open for days stays fast (scrolling up brings them back).
pub(crate) const MAX_ENTRIES: usize = 500;
/// Messages by one author closer together than this share one header.
const GROUP_WINDOW_MS: f64 = 5.0 * 60.0 * 1000.0;

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    /// Local and unique for the page, and the line's key for its whole
    /// life: server ids restart with a server that keeps its history in
    /// memory.
    pub(crate) key: u64,
    /// Shown without the author's name because the previous line is a
    /// message by the same author a moment earlier.
    pub(crate) continues: bool,
    pub(crate) kind: EntryKind,
}

/// What a conversation line shows.
// Nearly every line is a message, so boxing it would only add an
// allocation each; the size is over the lint's line on 64-bit hosts only.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum EntryKind {
    Message {
        message: ChatMessage,
        mine: bool,
    },
    Joined(String),
    Left(String),
    /// Heads the history the server sent on joining, so it does not read
    /// as if it had just been said.
    Earlier,
    /// Messages between the lines above and below may be missing: a page
    /// loaded around a quoted original that does not join up with the rest.
    Gap,
}

/// The newest line, for following the conversation as it grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Newest {
    pub(crate) key: u64,
    pub(crate) is_message: bool,
    pub(crate) mine: bool,
}

/// The conversation's lines and what they are known by.
#[derive(Debug, Default)]
pub(crate) struct ConversationState {
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
    /// The newest change (edit, deletion, reaction) seen: changes take ids
    /// from the messages' sequence, so a rejoin asks for what came after
    /// whichever is newer.
    newest_change: Option<u64>,
    /// The lines whose message is new or changed since the views last
    /// looked.
    dirty: Vec<u64>,
    /// History pages asked for, oldest request first.
    pages: VecDeque<PageRequest>,
    /// The page shows what this device kept ([`cache`]), not yet the
    /// server's version: the `welcome` replaces it.
    kept: bool,
}

impl ConversationState {
    /// The lines, oldest first.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The newest id on the page, of a message or a change to one: a
    /// (re-)join asks the server for what came after it.
    /// None while the page shows the kept copy: the server then sends its
    /// whole recent history, which replaces the copy.
    pub(crate) fn newest_id(&self) -> Option<u64> {
        if self.kept {
            return None;
        }
        self.shown.keys().max().copied().max(self.newest_change)
    }

    /// Whether message `id` is on the page.
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.shown.contains_key(&id)
    }

    /// Message `id` as it is now, if it is on the page.
    #[cfg(test)]
    pub(crate) fn message(&self, id: u64) -> Option<&ChatMessage> {
        let (key, _) = self.shown.get(&id)?;
        self.entries.iter().find_map(|entry| match &entry.kind {
            EntryKind::Message { message, .. } if entry.key == *key => Some(message),
            _ => None,
        })
    }

    /// My newest message on the page that is still there, of those `owns`
    /// accepts (posted with my key): what the Up arrow edits.
    pub(crate) fn last_own(&self, owns: impl Fn(u64) -> bool) -> Option<&ChatMessage> {
        self.entries
            .iter()
            .rev()
            .find_map(|entry| match &entry.kind {
                EntryKind::Message { message, .. } if !message.deleted && owns(message.id) => {
                    Some(message)
                }
                _ => None,
            })
    }

    pub(crate) fn take_dirty(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dirty)
    }

    /// The newest line.
    pub(crate) fn newest(&self) -> Option<Newest> {
        self.entries.last().map(|entry| Newest {
            key: entry.key,
            is_message: matches!(entry.kind, EntryKind::Message { .. }),
            mine: matches!(entry.kind, EntryKind::Message { mine: true, .. }),
        })
    }

    /// A `welcome` arrived with history (`has_history`); `gap` says what
    /// the page shows and what follows are not continuous, so the page
    /// starts over, as it does over the copy this device kept. A page that
    /// shows nothing yet heads the history with the "earlier messages"
    /// divider.
    pub(crate) fn welcome(&mut self, has_history: bool, gap: bool) {
        if gap || self.kept {
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
    pub(crate) fn show(&mut self, message: ChatMessage, mine: bool) -> bool {
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
            Some(_) => {
                self.shown.clear();
                self.newest_change = None;
            }
            None => {}
        }
        self.push_entry(EntryKind::Message { message, mine });
        true
    }

    /// Adds a join or leave notice at the end.
    pub(crate) fn notice(&mut self, kind: EntryKind) {
        self.push_entry(kind);
    }

    /// Empties the page (leaving the room, or history that does not join
    /// up with what is shown).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.shown.clear();
        self.by_client_id.clear();
        self.older = Older::MayExist;
        self.newest_change = None;
        self.pages.clear();
        self.kept = false;
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

    fn push_entry(&mut self, kind: EntryKind) {
        let key = self.next_key();
        let at = match &kind {
            EntryKind::Message { message, .. } => {
                let at = self.message_position(message.id);
                self.remember(message, key);
                self.dirty.push(key);
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
pub(crate) fn continues_after(previous: &EntryKind, next: &EntryKind) -> bool {
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

/// The conversation for the views and the chat: the lines in a signal,
/// read through [`Conversation::with`] and changed through
/// [`Conversation::change`], which patches the rows that changed; and the
/// requests for history, which go out through `send`.
#[derive(Clone, Copy)]
pub(crate) struct Conversation {
    state: RwSignal<ConversationState>,
    continues: StoredValue<RowSignals<bool>>,
    /// Each message line's message as it is now (edited, reacted to).
    messages: StoredValue<RowSignals<ChatMessage>>,
    /// The message to scroll to and highlight (a quote was clicked), once
    /// it is on the page.
    spotlight: RwSignal<Option<u64>>,
    /// How many messages a page of history asks for: what the server
    /// announced (the shared default until it does).
    history_page: StoredValue<u32>,
    send: StoredValue<Sender, LocalStorage>,
}

impl Conversation {
    /// An empty conversation; its history requests go out through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            state: RwSignal::new(ConversationState::default()),
            continues: StoredValue::new(RowSignals::new()),
            messages: StoredValue::new(RowSignals::new()),
            spotlight: RwSignal::new(None),
            history_page: StoredValue::new(ClientLimits::default().history_page),
            send: StoredValue::new_local(send),
        }
    }

    /// Reads the lines (tracked).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&ConversationState) -> R) -> R {
        self.state.with(f)
    }

    /// Reads the lines without tracking, for the chat's decisions.
    pub(crate) fn with_untracked<R>(&self, f: impl FnOnce(&ConversationState) -> R) -> R {
        self.state.with_untracked(f)
    }

    /// Changes the lines, then tells each line whose grouping or message
    /// changed; `None` once the page is gone.
    pub(crate) fn change<R>(&self, f: impl FnOnce(&mut ConversationState) -> R) -> Option<R> {
        let result = self.state.try_update(f);
        let dirty = self
            .state
            .try_update_untracked(ConversationState::take_dirty)
            .unwrap_or_default();
        self.state.with_untracked(|s| {
            self.continues.update_value(|rows| {
                rows.sync(s.entries.iter().map(|e| (e.key, e.continues)));
            });
            self.messages.update_value(|rows| {
                for key in dirty {
                    if let Some(message) = s.entries.iter().find_map(|e| match &e.kind {
                        EntryKind::Message { message, .. } if e.key == key => Some(message),
                        _ => None,
                    }) {
                        rows.put(key, message.clone());
                    }
                }
                let present: HashSet<u64> = s.entries.iter().map(|e| e.key).collect();
                rows.retain(&present);
            });
        });
        result
    }

    /// Line `key`'s message as a signal of that line alone.
    pub(crate) fn message_signal(&self, key: u64) -> Option<ArcReadSignal<ChatMessage>> {
        self.messages.with_value(|rows| rows.get(key))
    }

    /// The lines' keys, oldest first (tracked): what the list renders.
    pub(crate) fn keys(&self) -> Vec<u64> {
        self.state
            .with(|s| s.entries.iter().map(|e| e.key).collect())
    }

    /// The line `key` as it is now (untracked): what in it can change is
    /// read from [`Conversation::continues`].
    pub(crate) fn entry(&self, key: u64) -> Option<Entry> {
        self.state
            .with_untracked(|s| s.entries.iter().find(|e| e.key == key).cloned())
    }

    /// Whether line `key` continues the one above, as a signal of that
    /// line alone.
    pub(crate) fn continues(&self, key: u64) -> ArcReadSignal<bool> {
        self.continues
            .with_value(|rows| rows.get(key))
            .unwrap_or_else(|| ArcRwSignal::new(false).read_only())
    }

    /// The message to scroll to and highlight (tracked).
    pub(crate) fn spotlight(&self) -> Option<u64> {
        self.spotlight.get()
    }

    /// Asks the list to scroll to message `id` and highlight it.
    pub(crate) fn show_in_spotlight(&self, id: u64) {
        self.spotlight.set(Some(id));
    }

    /// The list did.
    pub(crate) fn spotlight_done(&self) {
        self.spotlight.set(None);
    }

    /// The server announced its limits: pages of history are this long.
    pub(crate) fn set_limits(&self, limits: &ClientLimits) {
        self.history_page.set_value(limits.history_page);
    }

    /// Asks for a page of messages before the oldest one shown. Only for
    /// a page that can send (joined on an open socket): with no message to
    /// page back from, it is marked as having nothing older.
    pub(crate) fn load_older(&self) {
        let Some(before) = self.change(ConversationState::older_page_start).flatten() else {
            return;
        };
        let request = ClientFrame::History {
            before: Some(before),
            limit: Some(self.history_page.get_value()),
            around: None,
        };
        if (self.send.get_value())(&request) {
            self.change(ConversationState::loading_older);
        }
    }

    /// Shows message `id` (a reply's original): scrolls to it and
    /// highlights it, after loading the page around it if it is not on
    /// the page.
    pub(crate) fn jump_to(&self, id: u64) {
        if self.with_untracked(|s| s.contains(id)) {
            self.show_in_spotlight(id);
            return;
        }
        let request = ClientFrame::History {
            before: None,
            limit: Some(self.history_page.get_value()),
            around: Some(id),
        };
        if (self.send.get_value())(&request) {
            self.change(|s| s.loading_around(id));
        }
    }

    /// A page of history for this room arrived (see
    /// [`ConversationState::history`]); the original it was loaded for is
    /// shown in the spotlight.
    pub(crate) fn history_arrived(
        &self,
        messages: Vec<ChatMessage>,
        has_more: bool,
        has_newer: bool,
        is_mine: impl Fn(&ChatMessage) -> bool,
    ) {
        let jump = self
            .change(|s| s.history(messages, has_more, has_newer, is_mine))
            .flatten();
        if let Some(id) = jump.filter(|id| self.with_untracked(|s| s.contains(*id))) {
            self.show_in_spotlight(id);
        }
    }
}

/// The conversation from context.
pub(crate) fn use_conversation() -> Conversation {
    expect_context::<Conversation>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message by `author` `minute` minutes into the day.
    pub(super) fn message(id: u64, author: &str, minute: u32) -> ChatMessage {
        ChatMessage {
            id,
            username: author.into(),
            text: format!("text {id}"),
            timestamp: format!("2026-11-25T{:02}:{:02}:00.000Z", minute / 60, minute % 60),
            ..ChatMessage::default()
        }
    }

    pub(super) fn with_client_id(mut message: ChatMessage, client_id: &str) -> ChatMessage {
        message.client_id = Some(client_id.into());
        message
    }

    pub(super) fn ids(state: &ConversationState) -> Vec<u64> {
        state
            .entries()
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Message { message, .. } => Some(message.id),
                _ => None,
            })
            .collect()
    }

    pub(super) fn grouping(state: &ConversationState) -> Vec<bool> {
        state.entries().iter().map(|e| e.continues).collect()
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
}

//! The conversation on the page: messages in server id order, each shown
//! once, with join/leave notices between them, at most [`MAX_ENTRIES`]
//! lines, and whether older ones can be loaded by scrolling up.
//!
//! Messages change in place as their edits, deletions and reactions
//! arrive (see [`apply_change`]); a deleted one stays as a tombstone.
//!
//! [`ConversationState`] is the plain logic; [`Conversation`] holds it in
//! a signal for the views, with one signal per line for what can change
//! in it (its grouping, its message), so a new line patches the list and a
//! regrouped or edited line patches that line only.

use chat_shared::{normalize_emoji, username_key, Change, ChatMessage, Reactions};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet, VecDeque};

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
// Nearly every line is a message, so boxing it would only add an
// allocation each; the size is over the lint's line on 64-bit hosts only.
#[allow(clippy::large_enum_variant)]
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
    /// Messages between the lines above and below may be missing: a page
    /// loaded around a quoted original that does not join up with the rest.
    Gap,
}

/// A page of history asked for and not answered yet; the server answers
/// in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageRequest {
    /// The page before the oldest message shown (scrolling up).
    Older,
    /// The page around a quoted original, to jump to it.
    Around(u64),
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
    /// The newest change (edit, deletion, reaction) seen: changes take ids
    /// from the messages' sequence, so a rejoin asks for what came after
    /// whichever is newer.
    newest_change: Option<u64>,
    /// The lines whose message is new or changed since the views last
    /// looked.
    dirty: Vec<u64>,
    /// History pages asked for, oldest request first.
    pages: VecDeque<PageRequest>,
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

    /// The newest id on the page, of a message or a change to one: a
    /// (re-)join asks the server for what came after it.
    pub fn newest_id(&self) -> Option<u64> {
        self.shown.keys().max().copied().max(self.newest_change)
    }

    /// Whether message `id` is on the page.
    pub fn contains(&self, id: u64) -> bool {
        self.shown.contains_key(&id)
    }

    /// Message `id` as it is now, if it is on the page.
    #[cfg(test)]
    pub fn message(&self, id: u64) -> Option<&ChatMessage> {
        let (key, _) = self.shown.get(&id)?;
        self.entries.iter().find_map(|entry| match &entry.kind {
            EntryKind::Message { message, .. } if entry.key == *key => Some(message),
            _ => None,
        })
    }

    /// My newest message on the page that is still there, of those `owns`
    /// accepts (posted with my key): what the Up arrow edits.
    pub fn last_own(&self, owns: impl Fn(u64) -> bool) -> Option<&ChatMessage> {
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

    /// Applies an edit, deletion or reaction (live or replayed) to its
    /// message, if that is on the page; returns whether anything changed.
    /// Applying one twice changes nothing the second time.
    pub fn apply(&mut self, change: &Change) -> bool {
        self.newest_change = self.newest_change.max(Some(change.id()));
        let target = change.target();
        let mut changed = false;
        if let Some(&(key, _)) = self.shown.get(&target) {
            for entry in self.entries.iter_mut().filter(|e| e.key == key) {
                if let EntryKind::Message { message, .. } = &mut entry.kind {
                    if apply_change(message, change) {
                        changed = true;
                        self.dirty.push(key);
                    }
                }
            }
        }
        // Replies quoting a deleted original say so.
        if matches!(change, Change::MessageDeleted(_)) {
            for entry in &mut self.entries {
                if let EntryKind::Message { message, .. } = &mut entry.kind {
                    if let Some(quote) = message.reply.as_mut().filter(|q| q.id == target) {
                        if !quote.deleted {
                            quote.deleted = true;
                            quote.text.clear();
                            self.dirty.push(entry.key);
                            changed = true;
                        }
                    }
                }
            }
        }
        changed
    }

    /// The lines whose message changed since the last call.
    pub fn take_dirty(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dirty)
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
        self.pages.push_back(PageRequest::Older);
    }

    /// The request for the page around message `id` went out.
    pub fn loading_around(&mut self, id: u64) {
        self.pages.push_back(PageRequest::Around(id));
    }

    /// A page of history (oldest first) arrived, answering the oldest
    /// request. Its messages that are older than the page's go above
    /// everything, below the "earlier messages" divider, skipping ones
    /// shown. Returns the original to jump to, for a page around one.
    pub fn history(
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
    pub fn socket_closed(&mut self) {
        if self.older == Older::Loading {
            self.older = Older::MayExist;
        }
        self.pages.clear();
    }

    /// Empties the page (leaving the room, or history that does not join
    /// up with what is shown).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.shown.clear();
        self.by_client_id.clear();
        self.older = Older::MayExist;
        self.newest_change = None;
        self.pages.clear();
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

/// What can be loaded by scrolling up after a page with `has_more`.
fn older_after(has_more: bool) -> Older {
    if has_more {
        Older::MayExist
    } else {
        Older::NoMore
    }
}

/// Applies `change` to `message` (its target); returns whether it changed.
/// Idempotent, so a replay of what was seen live changes nothing: an edit
/// sets the text, a reaction adds or removes one user once, a deletion
/// leaves a tombstone that nothing changes any more.
pub fn apply_change(message: &mut ChatMessage, change: &Change) -> bool {
    if message.deleted {
        return false;
    }
    match change {
        Change::MessageEdited(edit) => {
            // Without text: deleted since, which a later item says.
            let Some(text) = &edit.text else {
                return false;
            };
            let edited_at = Some(edit.edited_at.clone());
            if message.text == *text && message.edited_at == edited_at {
                return false;
            }
            message.text.clone_from(text);
            message.edited_at = edited_at;
            true
        }
        Change::MessageDeleted(_) => {
            message.deleted = true;
            message.text.clear();
            message.reactions.clear();
            message.edited_at = None;
            true
        }
        Change::Reaction(reaction) => {
            let Some(emoji) = normalize_emoji(&reaction.emoji) else {
                return false;
            };
            let user = &reaction.username;
            let group = message.reactions.iter().position(|r| r.emoji == emoji);
            match (reaction.on, group) {
                (true, Some(at)) => {
                    let users = &mut message.reactions[at].users;
                    if users.contains(user) {
                        return false;
                    }
                    users.push(user.clone());
                }
                (true, None) => message.reactions.push(Reactions {
                    emoji: emoji.to_owned(),
                    users: vec![user.clone()],
                }),
                (false, Some(at)) => {
                    let users = &mut message.reactions[at].users;
                    let before = users.len();
                    users.retain(|u| u != user);
                    if users.len() == before {
                        return false;
                    }
                    if users.is_empty() {
                        message.reactions.remove(at);
                    }
                }
                (false, None) => return false,
            }
            true
        }
    }
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
    /// Each message line's message as it is now (edited, reacted to).
    messages: StoredValue<RowSignals<ChatMessage>>,
    /// The message to scroll to and highlight (a quote was clicked), once
    /// it is on the page.
    spotlight: RwSignal<Option<u64>>,
}

impl Conversation {
    /// An empty conversation.
    pub fn new() -> Self {
        let state = RwSignal::new(ConversationState::default());
        Self {
            state,
            continues: StoredValue::new(RowSignals::new()),
            messages: StoredValue::new(RowSignals::new()),
            spotlight: RwSignal::new(None),
        }
    }

    /// Line `key`'s message as a signal of that line alone.
    pub fn message_signal(&self, key: u64) -> Option<ArcReadSignal<ChatMessage>> {
        self.messages.with_value(|rows| rows.get(key))
    }

    /// Whether message `id` is on the page (untracked).
    pub fn contains(&self, id: u64) -> bool {
        self.state.with_untracked(|s| s.contains(id))
    }

    /// See [`ConversationState::last_own`] (untracked).
    pub fn last_own(&self, owns: impl Fn(u64) -> bool) -> Option<ChatMessage> {
        self.state.with_untracked(|s| s.last_own(owns).cloned())
    }

    /// See [`ConversationState::apply`].
    pub fn apply(&self, change: &Change) -> bool {
        self.change(|s| s.apply(change)).unwrap_or(false)
    }

    /// See [`ConversationState::loading_around`].
    pub fn loading_around(&self, id: u64) {
        self.change(|s| s.loading_around(id));
    }

    /// The message to scroll to and highlight (tracked).
    pub fn spotlight(&self) -> Option<u64> {
        self.spotlight.get()
    }

    /// Asks the list to scroll to message `id` and highlight it.
    pub fn show_in_spotlight(&self, id: u64) {
        self.spotlight.set(Some(id));
    }

    /// The list did.
    pub fn spotlight_done(&self) {
        self.spotlight.set(None);
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
        has_newer: bool,
        is_mine: impl Fn(&ChatMessage) -> bool,
    ) -> Option<u64> {
        self.change(|s| s.history(messages, has_more, has_newer, is_mine))
            .flatten()
    }

    /// See [`ConversationState::socket_closed`].
    pub fn socket_closed(&self) {
        self.change(ConversationState::socket_closed);
    }

    /// See [`ConversationState::clear`].
    pub fn clear(&self) {
        self.change(ConversationState::clear);
    }

    /// Changes the state, then tells each line whose grouping or message
    /// changed.
    fn change<R>(&self, f: impl FnOnce(&mut ConversationState) -> R) -> Option<R> {
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
    use chat_shared::{Deletion, Edit, Quote, Reaction};

    /// A message by `author` `minute` minutes into the day.
    fn message(id: u64, author: &str, minute: u32) -> ChatMessage {
        ChatMessage {
            id,
            username: author.into(),
            text: format!("text {id}"),
            timestamp: format!("2026-11-25T{:02}:{:02}:00.000Z", minute / 60, minute % 60),
            ..ChatMessage::default()
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

    fn deletion(id: u64, target: u64) -> Change {
        Change::MessageDeleted(Deletion {
            id,
            target,
            username: "a".into(),
            client_id: None,
        })
    }

    fn reaction(id: u64, target: u64, user: &str, on: bool) -> Change {
        Change::Reaction(Reaction {
            id,
            target,
            emoji: "👍".into(),
            on,
            username: user.into(),
            client_id: None,
        })
    }

    fn shown(state: &ConversationState, id: u64) -> ChatMessage {
        state.message(id).cloned().expect("on the page")
    }

    #[test]
    fn a_deleted_message_stays_as_a_tombstone_and_its_quotes_say_so() {
        let mut state = ConversationState::default();
        state.show(message(1, "a", 0), false);
        let mut reply = message(2, "b", 0);
        reply.reply_to = Some(1);
        reply.reply = Some(Quote {
            id: 1,
            username: "a".into(),
            text: "text 1".into(),
            deleted: false,
        });
        state.show(reply, false);
        state.take_dirty();
        assert!(state.apply(&deletion(3, 1)));
        let tombstone = shown(&state, 1);
        assert!(tombstone.deleted && tombstone.text.is_empty());
        let quote = shown(&state, 2).reply.expect("a quote");
        assert!(quote.deleted && quote.text.is_empty());
        assert_eq!(state.take_dirty(), [0, 1], "both lines are patched");
        // Again (a replay): nothing changes, but the id is counted.
        assert!(!state.apply(&deletion(3, 1)));
        assert_eq!(ids(&state), [1, 2]);
        assert_eq!(state.newest_id(), Some(3));
    }

    #[test]
    fn edits_and_reactions_apply_once_and_only_to_messages_shown() {
        let mut state = ConversationState::default();
        state.show(message(1, "a", 0), false);
        let edit = Change::MessageEdited(Edit {
            id: 2,
            target: 1,
            text: Some("fixed".into()),
            edited_at: "2026-11-25T00:01:00.000Z".into(),
            username: "a".into(),
            client_id: None,
        });
        assert!(state.apply(&edit));
        assert!(!state.apply(&edit));
        assert_eq!(shown(&state, 1).text, "fixed");
        assert!(state.apply(&reaction(3, 1, "b", true)));
        assert!(!state.apply(&reaction(3, 1, "b", true)));
        assert!(state.apply(&reaction(4, 1, "c", true)));
        assert_eq!(shown(&state, 1).reactions[0].users, ["b", "c"]);
        assert!(state.apply(&reaction(5, 1, "b", false)));
        assert!(state.apply(&reaction(6, 1, "c", false)));
        assert!(shown(&state, 1).reactions.is_empty(), "no empty chip");
        assert!(!state.apply(&reaction(7, 1, "c", false)));
        // A change for a message not loaded is no news, but counts for `since`.
        assert!(!state.apply(&reaction(9, 99, "b", true)));
        assert_eq!(state.newest_id(), Some(9));
        // A deleted message takes no more changes.
        state.apply(&deletion(10, 1));
        assert!(!state.apply(&edit));
        assert!(!state.apply(&reaction(11, 1, "b", true)));
        // A replayed edit of a message deleted since carries no text.
        let mut other = message(12, "a", 0);
        let blank = Change::MessageEdited(Edit {
            id: 13,
            target: 12,
            text: None,
            edited_at: "2026-11-25T00:01:00.000Z".into(),
            username: "a".into(),
            client_id: None,
        });
        assert!(!apply_change(&mut other, &blank));
        assert_eq!(other.text, "text 12");
    }

    #[test]
    fn my_last_message_is_the_newest_one_i_own_that_is_not_deleted() {
        let mut state = ConversationState::default();
        state.show(message(1, "me", 0), true);
        state.show(message(2, "me", 0), true);
        state.show(message(3, "b", 0), false);
        assert_eq!(state.last_own(|id| id != 3).map(|m| m.id), Some(2));
        state.apply(&deletion(4, 2));
        assert_eq!(state.last_own(|id| id != 3).map(|m| m.id), Some(1));
    }

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

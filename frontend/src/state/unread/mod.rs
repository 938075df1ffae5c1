//! What I have not read yet (issue 24): per room and DM, my read marker,
//! how many messages came after it, how many of those call me, and my
//! notification level.
//!
//! - here: [`UnreadState`], the plain rules (host-tested), and [`Unread`],
//!   which holds it in a signal, sends `mark_read` / `set_level` for a held
//!   name and keeps a keyless name's markers on disk.
//! - [`disk`]: a keyless name's markers in localStorage, per name and room.
//!
//! Where the numbers come from: the server's `rooms` list (a held name's
//! marker and counts), `read` (another device of mine read: clear),
//! `notify` (a message that calls me, in another room), `activity` (news
//! in another room, coalesced: at least one more) and the messages shown in
//! the current room. The marker counts messages only: reactions, edits and
//! deletions never move it nor count (element-web#33575).

pub(crate) mod disk;

use chat_shared::attention::{NotifyLevel, UNREAD_COUNT_CAP};
use chat_shared::mention::mentions;
use chat_shared::{username_key, ChatMessage, ClientFrame, RoomInfo};
use leptos::prelude::*;
use std::collections::{BTreeMap, HashMap};

use super::Sender;

/// One room's unread state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RoomUnread {
    /// My read marker: the last message read (none before the first).
    pub(crate) read: Option<u64>,
    /// Messages after the marker, not mine, in a room not shown: the
    /// server's count, plus what arrived since.
    unread: u32,
    /// How many of those call me (a mention or a reply to mine).
    mentions: u32,
    /// The newest message id heard of here, so news already counted is
    /// not counted twice.
    latest: Option<u64>,
    /// My level, as set (none: the room's default).
    pub(crate) level: Option<NotifyLevel>,
}

/// The unread state of every room I know, and of the one shown.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct UnreadState {
    rooms: HashMap<String, RoomUnread>,
    /// The room shown.
    current: String,
    /// The messages shown in the current room after my marker, not mine:
    /// id → whether it calls me. Its count is the room's count.
    pending: BTreeMap<u64, bool>,
    /// The marker as it was when the room was entered: the "New messages"
    /// divider sits above the first message after it, and stays there
    /// while the marker moves on, until "Mark as read" or another room.
    divider_after: Option<u64>,
    /// The first unread message shown since the room was entered, after
    /// `divider_after`: where the divider sits.
    divider_at: Option<u64>,
    /// Whether the divider was put away ("Mark as read").
    divider_dismissed: bool,
}

/// What a count looks like on a badge: "999+" from the server's cap on.
pub(crate) fn badge_text(count: u32) -> String {
    if count >= UNREAD_COUNT_CAP {
        format!("{}+", UNREAD_COUNT_CAP - 1)
    } else {
        count.to_string()
    }
}

/// Whether `message` calls `me`: it mentions me (the shared rule) or
/// replies to one of my messages. Mine never calls me; a deleted one no
/// longer does.
pub(crate) fn calls(message: &ChatMessage, me: &str) -> bool {
    if message.deleted || username_key(&message.username) == username_key(me) {
        return false;
    }
    let replies_to_me = message
        .reply
        .as_ref()
        .is_some_and(|quote| username_key(&quote.username) == username_key(me));
    replies_to_me || mentions(&message.text, me)
}

impl UnreadState {
    fn room_mut(&mut self, room: &str) -> &mut RoomUnread {
        self.rooms.entry(room.to_owned()).or_default()
    }

    /// My marker in `room`.
    pub(crate) fn marker(&self, room: &str) -> Option<u64> {
        self.rooms.get(room).and_then(|r| r.read)
    }

    /// `room`'s unread count: the messages shown after my marker for the
    /// room shown, the counted ones elsewhere.
    pub(crate) fn unread(&self, room: &str) -> u32 {
        if room == self.current {
            return u32::try_from(self.pending.len()).unwrap_or(u32::MAX);
        }
        self.rooms.get(room).map_or(0, |r| r.unread)
    }

    /// How many of `room`'s unread messages call me.
    pub(crate) fn mentions(&self, room: &str) -> u32 {
        if room == self.current {
            let calls = self.pending.values().filter(|calls| **calls).count();
            return u32::try_from(calls).unwrap_or(u32::MAX);
        }
        self.rooms.get(room).map_or(0, |r| r.mentions)
    }

    /// Every room's unread count together: the title and the app badge.
    pub(crate) fn total(&self) -> u32 {
        let others: u32 = self
            .rooms
            .iter()
            .filter(|(name, _)| **name != self.current)
            .map(|(_, r)| r.unread)
            .fold(0, u32::saturating_add);
        others.saturating_add(self.unread(&self.current.clone()))
    }

    /// Every room's mention count together: whether something calls me.
    pub(crate) fn total_mentions(&self) -> u32 {
        let others: u32 = self
            .rooms
            .iter()
            .filter(|(name, _)| **name != self.current)
            .map(|(_, r)| r.mentions)
            .fold(0, u32::saturating_add);
        others.saturating_add(self.mentions(&self.current.clone()))
    }

    /// My level in `room`, the default when unset.
    pub(crate) fn level(&self, room: &str) -> NotifyLevel {
        NotifyLevel::effective(self.rooms.get(room).and_then(|r| r.level), room)
    }

    /// The server listed the rooms: for mine, its marker, counts and
    /// level. A marker of mine that is ahead of the server's (a
    /// `mark_read` on its way) is kept, and so are its counts.
    pub(crate) fn listed(&mut self, rooms: &[RoomInfo]) {
        for info in rooms.iter().filter(|r| r.mine) {
            let state = self.room_mut(&info.name);
            state.level = info.level;
            let ours_ahead = match (state.read, info.read) {
                (Some(ours), Some(theirs)) => ours > theirs,
                (Some(_), None) => true,
                _ => false,
            };
            if ours_ahead {
                continue;
            }
            state.read = info.read;
            state.unread = info.unread;
            state.mentions = info.mentions.min(info.unread);
        }
    }

    /// A keyless name's marker from disk, as the room is entered.
    pub(crate) fn remembered(&mut self, room: &str, read: Option<u64>) {
        let state = self.room_mut(room);
        state.read = state.read.max(read);
    }

    /// Moves to `room`: what was counted there becomes what is shown, and
    /// the divider will sit after the marker as it is now.
    pub(crate) fn entered(&mut self, room: &str) {
        if self.current == room {
            return;
        }
        let pending = self.pending.len();
        let calls = self.pending.values().filter(|calls| **calls).count();
        let left = self.current.clone();
        if !left.is_empty() {
            let state = self.room_mut(&left);
            state.unread = u32::try_from(pending).unwrap_or(u32::MAX);
            state.mentions = u32::try_from(calls).unwrap_or(u32::MAX);
        }
        self.current = room.to_owned();
        self.pending.clear();
        self.divider_after = self.marker(room);
        self.divider_at = None;
        self.divider_dismissed = false;
    }

    /// A message is shown in the current room (live or from history):
    /// after my marker and not mine, it is unread; `calls` says it
    /// mentions me or replies to mine. Mine never counts.
    pub(crate) fn shown(&mut self, id: u64, mine: bool, calls: bool) {
        let current = self.current.clone();
        let state = self.room_mut(&current);
        state.latest = state.latest.max(Some(id));
        if state.read.is_some_and(|read| id <= read) {
            return;
        }
        if mine {
            return;
        }
        self.pending.insert(id, calls);
        if self.divider_after.is_some() {
            self.divider_at = Some(self.divider_at.map_or(id, |at| at.min(id)));
        }
    }

    /// Where the marker would move if everything up to `seen` (the newest
    /// message in view) is read: `Some(id)` only when that moves it
    /// forward. Never backwards.
    pub(crate) fn advance_to(&self, seen: u64) -> Option<u64> {
        let read = self.marker(&self.current);
        (read < Some(seen)).then_some(seen)
    }

    /// My marker in the current room moved to `id` (reported, or read on
    /// another device): what is up to it is read.
    pub(crate) fn read_here(&mut self, id: u64) {
        let current = self.current.clone();
        self.read(&current, id);
    }

    /// My marker in `room` is `id` (a `read` frame: any device of mine):
    /// it only moves forward; what it covers is read, and in another room
    /// reading up to the newest heard of clears the count.
    pub(crate) fn read(&mut self, room: &str, id: u64) {
        let state = self.room_mut(room);
        if state.read.is_some_and(|read| read >= id) {
            return;
        }
        state.read = Some(id);
        if state.latest.is_none_or(|latest| latest <= id) {
            state.unread = 0;
            state.mentions = 0;
        }
        if room == self.current {
            self.pending.retain(|pending, _| *pending > id);
        }
    }

    /// `activity`: another room got news up to `latest`. Coalesced, it may
    /// stand for several messages: counted as one more unless already
    /// heard of (a `notify` for it, or an older `activity`); the next
    /// `rooms` list brings a held name's exact count.
    pub(crate) fn activity(&mut self, room: &str, latest: u64) {
        if room == self.current {
            return;
        }
        let state = self.room_mut(room);
        if state.latest.is_some_and(|known| known >= latest)
            || state.read.is_some_and(|read| read >= latest)
        {
            return;
        }
        state.latest = Some(latest);
        state.unread = state.unread.saturating_add(1).min(UNREAD_COUNT_CAP);
    }

    /// `notify`: message `id` in another room calls me by my level;
    /// `mention` says it mentions me or replies to mine. Counted once.
    pub(crate) fn notify(&mut self, room: &str, id: u64, mention: bool) {
        if room == self.current {
            return;
        }
        let state = self.room_mut(room);
        if state.read.is_some_and(|read| read >= id) {
            return;
        }
        if state.latest.is_none_or(|known| known < id) {
            state.latest = Some(id);
            state.unread = state.unread.saturating_add(1).min(UNREAD_COUNT_CAP);
        }
        if mention {
            state.mentions = state.mentions.saturating_add(1).min(state.unread);
        }
    }

    /// My level in `room` is `level` (a `level` frame, or set here).
    pub(crate) fn set_level(&mut self, room: &str, level: NotifyLevel) {
        self.room_mut(room).level = Some(level);
    }

    /// The room is no longer mine: nothing to count there.
    pub(crate) fn left(&mut self, room: &str) {
        if room != self.current {
            self.rooms.remove(room);
        }
    }

    /// The message the "New messages" divider sits above: the first shown
    /// after the marker I entered with, while not put away. It keeps its
    /// place as the marker moves on.
    pub(crate) fn divider(&self) -> Option<u64> {
        self.divider_at.filter(|_| !self.divider_dismissed)
    }

    /// "Mark as read": everything shown is read and the divider goes.
    /// Returns the newest id to report, if that moves the marker.
    pub(crate) fn mark_all_read(&mut self, newest: Option<u64>) -> Option<u64> {
        self.divider_dismissed = true;
        let target = newest.or_else(|| self.pending.keys().next_back().copied())?;
        let forward = self.advance_to(target);
        self.read_here(target);
        forward
    }
}

/// The unread state for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Unread {
    state: RwSignal<UnreadState>,
    /// Whether my name is held: then the server keeps my markers and
    /// levels; else this browser does.
    held: RwSignal<bool>,
    /// My name's key, for a keyless name's markers on disk.
    me: RwSignal<Option<String>>,
    send: StoredValue<Sender, LocalStorage>,
}

impl Unread {
    /// Nothing known yet; `mark_read` and `set_level` go out through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            state: RwSignal::new(UnreadState::default()),
            held: RwSignal::new(false),
            me: RwSignal::new(None),
            send: StoredValue::new_local(send),
        }
    }

    /// Reads the state (tracked).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&UnreadState) -> R) -> R {
        self.state.with(f)
    }

    /// Reads the state (untracked).
    pub(crate) fn with_untracked<R>(&self, f: impl FnOnce(&UnreadState) -> R) -> R {
        self.state.with_untracked(f)
    }

    /// Whether my name is held (tracked): levels can be set.
    pub(crate) fn held(&self) -> bool {
        self.held.get()
    }

    /// Joined `room` as `me` (its key), `held` or not: a keyless name's
    /// marker there comes from disk.
    pub(crate) fn welcomed(&self, room: &str, me: &str, held: bool) {
        self.held.set(held);
        self.me.set(Some(me.to_owned()));
        let remembered = (!held).then(|| disk::marker(me, room)).flatten();
        self.state.update(|s| {
            s.remembered(room, remembered);
            s.entered(room);
        });
    }

    /// Changes the state (the chat's frames).
    pub(crate) fn change(&self, f: impl FnOnce(&mut UnreadState)) {
        self.state.update(f);
    }

    /// Everything up to `seen` in the current room has been in view:
    /// the marker moves there if that is forward, told to the server for
    /// a held name and kept on disk for a keyless one.
    pub(crate) fn seen(&self, room: &str, seen: u64) {
        let forward = self.state.with_untracked(|s| s.advance_to(seen));
        let Some(id) = forward else {
            return;
        };
        self.state.update(|s| s.read_here(id));
        self.report(room, id);
    }

    /// "Mark as read": everything shown is read, and the divider goes.
    pub(crate) fn mark_all_read(&self, room: &str, newest: Option<u64>) {
        let mut forward = None;
        self.state.update(|s| forward = s.mark_all_read(newest));
        if let Some(id) = forward {
            self.report(room, id);
        }
    }

    fn report(&self, room: &str, id: u64) {
        if self.held.get_untracked() {
            let frame = ClientFrame::MarkRead {
                room: room.to_owned(),
                id,
            };
            self.send.with_value(|send| send(&frame));
        } else if let Some(me) = self.me.get_untracked() {
            disk::keep_marker(&me, room, id);
        }
    }

    /// Sets my level in `room`: sent for a held name, which the server
    /// answers with `level`; shown at once.
    pub(crate) fn choose_level(&self, room: &str, level: NotifyLevel) {
        self.state.update(|s| s.set_level(room, level));
        let frame = ClientFrame::SetLevel {
            room: room.to_owned(),
            level,
        };
        self.send.with_value(|send| send(&frame));
    }
}

/// The unread state from context.
pub(crate) fn use_unread() -> Unread {
    expect_context::<Unread>()
}

#[cfg(test)]
mod tests;

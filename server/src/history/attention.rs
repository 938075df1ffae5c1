//! What lasts of attention (issue 24): each held person's read marker and
//! notification level per room, the unread and mention counts read from
//! them, and who a new message may call.
//!
//! **Where mentions are detected.** At post time, once: the command works
//! out the name keys a text mentions ([`chat_shared::mention::mentioned`],
//! at most [`chat_shared::mention::MAX_MENTION_CANDIDATES`]) and the store
//! keeps them beside the message (`mentions`, keyed by name key). Counting
//! a person's mentions is then an index probe per unread message, and
//! calling the people a message mentions is one lookup per mentioned name,
//! never a scan of a room's texts or members. The price: an edit that
//! adds or removes a mention changes neither the count nor who was called
//! (an edit is not a new message, and calls nobody twice).
//!
//! The rules (who may move a marker, which levels call whom) are in
//! `crate::command::attention`; the store only stores.

use crate::history::store::StoreResult;
use chat_shared::NotifyLevel;

/// One of a person's rooms as the side panel needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomAttention {
    pub room: String,
    /// The read marker: the last message read, 0 for none.
    pub read: u64,
    /// The level the person set, `None` for the room's default.
    pub level: Option<NotifyLevel>,
    /// Messages after the marker that are not the person's own and not
    /// deleted, up to [`chat_shared::UNREAD_COUNT_CAP`].
    pub unread: u32,
    /// Those of them that mention the person or reply to one of theirs.
    pub mentions: u32,
}

/// A person a new message may call, with what decides whether it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Called {
    pub person: u64,
    /// The level the person set in the room, `None` for the default.
    pub level: Option<NotifyLevel>,
    /// The message mentions the person or replies to one of theirs.
    pub mention: bool,
}

/// The attention half of a store.
pub(crate) trait Attention {
    /// Moves the person's marker in `room` to `id` if that is forward and
    /// no further than the room's newest event (a client cannot mark what
    /// does not exist yet, and so hide the messages to come); the marker
    /// in force afterwards. Moving forward only is the statement's own
    /// rule, so two devices marking at once cannot move it back.
    fn mark_read(&mut self, person: u64, room: &str, id: u64) -> StoreResult<u64>;

    /// Sets the person's level in `room`.
    fn set_level(&mut self, person: u64, room: &str, level: NotifyLevel) -> StoreResult<()>;

    /// For each of `rooms` (the person's): its marker, level, and unread
    /// and mention counts. `name_key` is the person's held name's key.
    ///
    /// Cost: one indexed read of the person's markers, then per room one
    /// range scan of `messages_live` (room, id) from the marker, stopped
    /// after [`chat_shared::UNREAD_COUNT_CAP`] rows, each with up to three
    /// primary-key probes (own message? mentions me? replies to mine?).
    /// So at most rooms × 1000 index entries, whatever the rooms' sizes.
    fn attention(
        &mut self,
        person: u64,
        name_key: &str,
        rooms: &[String],
    ) -> StoreResult<Vec<RoomAttention>>;

    /// Who message `id` of `room` may call, among the persons who have
    /// the room among theirs: the holders of the `mentioned` name keys
    /// and the person whose message it replies to (`mention: true`), the
    /// persons who set the level `all` there, and a DM's members. Each
    /// once. Cost: one primary-key lookup per mentioned name, one for the
    /// reply, and index reads of the room's level-`all` choosers and DM
    /// members: never a scan of the room's members.
    fn called(
        &mut self,
        room: &str,
        mentioned: &[String],
        reply_to: Option<u64>,
    ) -> StoreResult<Vec<Called>>;
}

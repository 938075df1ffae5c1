//! The seam for what must last: the messages and their ids, the rooms, the
//! `client_id` record, and the server-wide settings.
//!
//! Two databases sit behind it: SQLite, embedded, the single-node default
//! ([`crate::history::sqlite`]); and PostgreSQL, which several nodes
//! share ([`crate::history::postgres`]). Only the journal thread calls a
//! store, so every method is a plain blocking call on `&mut self`.

use crate::config::Database;
use crate::history::attention::Attention;
use crate::history::changes::Changes;
use crate::history::files::FilesStore;
use crate::history::moderation::Moderation;
use crate::history::people::People;
use crate::history::push::PushStore;
use crate::history::search::Search;
use chat_shared::{ChatMessage, HistoryItem};
use std::time::SystemTime;

/// A message to be stored.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub room: String,
    pub username: String,
    /// The author's [`chat_shared::username_key`], for de-duplication:
    /// a `client_id` names one thing per room and author.
    pub author_key: String,
    pub text: String,
    pub client_id: Option<String>,
    /// The SHA-256 of the author key the sender joined with
    /// ([`crate::history::changes::owner_hash`]): whoever presents the
    /// same key may edit and delete the message. `None`: nobody may.
    pub owner: Option<String>,
    /// The message of the same room this one answers.
    pub reply_to: Option<u64>,
    /// The name keys the text mentions ([`mention_keys`]), kept beside
    /// the message so that counting and calling mentions never reads
    /// texts again ([`crate::history::attention`]).
    pub mentions: Vec<String>,
    /// Its files: uploads by the author to the room that went out with
    /// no message yet (checked again when it is stored). The text already
    /// ends with their links.
    pub attachments: Vec<chat_shared::files::Attachment>,
}

/// The name keys `text` mentions, each once: what [`NewMessage::mentions`]
/// keeps. Worked out by whoever builds the message, not by the journal
/// thread.
pub(crate) fn mention_keys(text: &str) -> Vec<String> {
    chat_shared::mention::mentioned(text)
        .iter()
        .map(|name| chat_shared::username_key(name))
        .collect()
}

/// What storing a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Stored now, with a fresh id. `prev` is the id of the room's event
    /// before it (0 for the first): a node that has delivered `prev` may
    /// deliver this one next, and one that has not knows it missed some.
    New { message: ChatMessage, prev: u64 },
    /// The author already sent a message with this `client_id` to this
    /// room: nothing was stored, and this is the original. (The same id in
    /// another room names another message.)
    Duplicate(ChatMessage),
    /// The author already used this `client_id` in this room for
    /// something else (a change): nothing was stored.
    ClientIdTaken,
    /// `reply_to` names no message of the room that is not deleted:
    /// nothing was stored.
    ReplyNotFound,
    /// An attachment is not an upload of the author's to the room that
    /// is still unsent: nothing was stored.
    AttachmentNotFound,
}

/// A database operation that failed: the database refused, or could not
/// be reached. The text is for the log; clients are told `server_error`.
/// It carries no driver's type: each driver turns its own errors into one
/// ([`crate::history::sqlite`], [`crate::history::postgres`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// What a store call returns.
pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// Messages, rooms and settings, whichever database keeps them.
///
/// Within a room, ids strictly increase in the order events are committed:
/// an event is never committed after one with a higher id in the same
/// room. That is what lets a node fill a gap it sees from the store.
pub(crate) trait Messages {
    /// Stores a batch in one transaction: one disk sync for the lot.
    fn append(&mut self, batch: &[NewMessage]) -> StoreResult<Vec<Appended>>;

    /// The id of the room's newest event (message or change), 0 if none.
    /// Every event of the room up to it is committed and readable, so a
    /// read bounded by it is a consistent picture of the room.
    fn last_event(&mut self, room: &str) -> StoreResult<u64>;

    /// Up to `limit` messages of the room older than `before`, oldest
    /// first, in their current state: edited text with `edited_at`,
    /// reactions, reply quotes (marked deleted with no text once the
    /// original is), and deleted messages as tombstones (no text, no
    /// reactions, `deleted: true`). Changes are not counted.
    fn page_before(
        &mut self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChatMessage>>;

    /// Like [`Messages::page_before`], but the messages newer than
    /// `after`, oldest first.
    fn page_after(&mut self, room: &str, after: u64, limit: usize)
        -> StoreResult<Vec<ChatMessage>>;

    /// Up to `limit` items of the room with `since < id <= through`, in id
    /// order: every change (edit, deletion, reaction), and every message
    /// that is not deleted, in its current state (a deleted one is left
    /// out: its deletion follows it anyway). What a client that was away
    /// has to learn, and what a node that missed events delivers.
    fn after(
        &mut self,
        room: &str,
        since: u64,
        through: u64,
        limit: usize,
    ) -> StoreResult<Vec<HistoryItem>>;

    /// Succeeds only if a message could be stored now.
    fn probe(&mut self) -> StoreResult<()>;

    /// Every room that lasts: see [`Messages::forget_unused_rooms`].
    fn rooms(&mut self) -> StoreResult<Vec<String>>;

    /// At start: lists every room that holds a message or a moderator's
    /// lock or topic (however it was created), and forgets the rest: rooms
    /// a join created that nobody ever posted in, and settings that set
    /// nothing (unlocked, no topic).
    fn forget_unused_rooms(&mut self) -> StoreResult<()>;

    /// Records a room, so that it is listed after a restart. (The
    /// server lists rooms by what they hold: [`Messages::forget_unused_rooms`].)
    #[cfg(test)]
    fn add_room(&mut self, name: &str) -> StoreResult<()>;

    /// Puts an invitation code in force (only its SHA-256 is kept, so a
    /// copy of the database does not hand out the code), or with `None`
    /// makes the chat open again.
    fn set_join_code(&mut self, code: Option<&str>) -> StoreResult<()>;

    /// Whether `code` lets a join in: always when no code is in force,
    /// otherwise only the code in force. Read on every join, so a
    /// `rotate-join-code` takes effect without a restart.
    fn join_code_admits(&mut self, code: Option<&str>) -> StoreResult<bool> {
        let Some(stored) = self.join_code_hash()? else {
            return Ok(true);
        };
        let Some(code) = code else {
            return Ok(false);
        };
        Ok(constant_time_eq(
            sha256_hex(code).as_bytes(),
            stored.as_bytes(),
        ))
    }

    /// The hash of the invitation code in force, if any.
    fn join_code_hash(&mut self) -> StoreResult<Option<String>>;
}

/// Everything the journal keeps: the messages, the changes to them, what
/// moderators change, who holds which name, what each person has read,
/// and the index that finds what was said.
pub(crate) trait Store:
    Messages + Changes + Moderation + People + Attention + PushStore + FilesStore + Search + Send
{
}

impl<
        T: Messages
            + Changes
            + Moderation
            + People
            + Attention
            + PushStore
            + FilesStore
            + Search
            + Send,
    > Store for T
{
}

/// Opens (creating and migrating as needed) the database.
pub(crate) fn open(database: &Database) -> Result<Box<dyn Store>, String> {
    match database {
        Database::Sqlite(path) => crate::history::sqlite::Sqlite::open(path)
            .map(|store| Box::new(store) as Box<dyn Store>)
            .map_err(|error| error.to_string()),
        Database::Postgres(url) => crate::history::postgres::Postgres::open(url)
            .map(|store| Box::new(store) as Box<dyn Store>)
            .map_err(|error| error.to_string()),
    }
}

/// SHA-256 in hex: what the settings keep of a secret. Enough for long
/// random codes and tokens, which no dictionary holds.
pub(crate) fn sha256_hex(code: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Compares without stopping at the first difference, so the time taken
/// tells a guesser nothing about how much of a code was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Server time as RFC 3339 UTC with milliseconds, e.g. `2026-11-25T21:00:00.123Z`.
pub(crate) fn timestamp_now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// The settings row that holds the invitation code's hash.
pub(crate) const JOIN_CODE_SETTING: &str = "join_code_sha256";
/// The settings row that holds the moderator token's hash.
pub(crate) const ADMIN_TOKEN_SETTING: &str = "admin_token_sha256";
/// The `kind` of a row that is a message, not a change to one (the other
/// kinds are in [`crate::history::changes`]).
pub(crate) const MESSAGE_KIND: &str = "message";
/// The `kind` of a row that deletes the message it targets.
pub(crate) const DELETED_KIND: &str = "message_deleted";

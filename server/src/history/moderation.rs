//! What moderators change, kept beside the messages: bans, room locks and
//! topics, the moderation log, and the moderator token's hash. (Their
//! deletions are changes like authors' own: [`crate::history::changes`].)
//!
//! Every change and its log entry are one transaction: an action is either
//! done and recorded, or neither.

use crate::history::store::{sha256_hex, StoreResult};
use chat_shared::AuditEntry;

/// A ban as stored: the name key and the address prefixes it keeps out,
/// until a wall-clock time (so it outlives a restart). The same shape
/// crosses the bus to the other nodes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredBan {
    pub name_key: String,
    /// Address prefixes as text (`192.0.2.7`, `2001:db8:1:2::`).
    pub addresses: Vec<String>,
    /// Milliseconds since the Unix epoch.
    pub until_ms: u64,
}

/// A room's moderated state, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RoomSettings {
    pub room: String,
    pub locked: bool,
    pub topic: Option<String>,
}

/// The moderation half of a store.
pub(crate) trait Moderation {
    /// Stores a ban and logs it.
    fn add_ban(
        &mut self,
        ban: &StoredBan,
        moderator: &str,
        username: &str,
        duration_secs: u64,
    ) -> StoreResult<()>;

    /// The bans still in force at `now_ms`; ended ones are forgotten.
    fn active_bans(&mut self, now_ms: u64) -> StoreResult<Vec<StoredBan>>;

    /// Locks or unlocks a room and logs it.
    fn set_room_locked(&mut self, room: &str, locked: bool, moderator: &str) -> StoreResult<()>;

    /// Sets (or with an empty text clears) a room's topic and logs it.
    fn set_room_topic(&mut self, room: &str, topic: &str, moderator: &str) -> StoreResult<()>;

    /// Every room's lock and topic, for the hub at start.
    fn room_settings(&mut self) -> StoreResult<Vec<RoomSettings>>;

    /// The newest `limit` entries of the moderation log, newest first.
    fn audit(&mut self, limit: usize) -> StoreResult<Vec<AuditEntry>>;

    /// Puts a moderator token in force; only its SHA-256 is kept, so a
    /// copy of the database does not hand out moderation.
    fn set_admin_token(&mut self, token: &str) -> StoreResult<()>;

    /// The hash of the moderator token in force, if one was ever set.
    fn admin_token_hash(&mut self) -> StoreResult<Option<String>>;
}

/// The hash a token is compared by, the same one the store keeps.
pub(crate) fn hash_admin_token(token: &str) -> String {
    sha256_hex(token)
}

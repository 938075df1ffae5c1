//! Catching up and being called (issue 24): read markers, unread counts,
//! notification levels and push subscriptions, as both sides see them.
//!
//! A held name's read marker in a room is the id of the last message it
//! read there; the server keeps one per name and room and tells every
//! device of the name when it moves, so reading on the phone clears the
//! laptop. A keyless name keeps its markers in the browser alone. Who a
//! message calls is [`crate::mention`]'s rule plus replies to one's own
//! messages, filtered by the room's [`NotifyLevel`].

use crate::people::is_dm_room;
use serde::{Deserialize, Serialize};

/// How much of a room calls me: a notification, a push, the side panel's
/// mention count. Kept per held name and room on the server, so a push
/// with no tab open honours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyLevel {
    /// Every message.
    All,
    /// Messages that mention me or reply to mine: a room's default.
    Mentions,
    /// Nothing (the unread count still shows).
    None,
    /// A level this build does not know yet (from a newer peer); treated
    /// as the room's default.
    #[serde(other)]
    Unknown,
}

impl NotifyLevel {
    /// The level of a room nobody set one for: everything in a DM,
    /// mentions and replies elsewhere.
    pub fn default_for(room: &str) -> Self {
        if is_dm_room(room) {
            Self::All
        } else {
            Self::Mentions
        }
    }

    /// The level in force: `set`, or the room's default when unset or
    /// unknown.
    pub fn effective(set: Option<Self>, room: &str) -> Self {
        match set {
            Some(Self::Unknown) | None => Self::default_for(room),
            Some(level) => level,
        }
    }

    /// Whether a message calls me at this level: `mention` says whether
    /// it mentions me or replies to one of my messages.
    pub fn calls(self, mention: bool) -> bool {
        match self {
            Self::All => true,
            Self::Mentions | Self::Unknown => mention,
            Self::None => false,
        }
    }

    /// The wire name, which the store keeps too.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mentions => "mentions",
            Self::None => "none",
            Self::Unknown => "unknown",
        }
    }

    /// The level a stored name stands for.
    pub fn parse(name: &str) -> Self {
        match name {
            "all" => Self::All,
            "mentions" => Self::Mentions,
            "none" => Self::None,
            _ => Self::Unknown,
        }
    }
}

/// The server counts a room's unread messages up to this many; the app
/// shows "999+" from here on. Counting further would cost a reader of a
/// busy room more than the number tells them.
pub const UNREAD_COUNT_CAP: u32 = 1000;

/// The longest push endpoint URL accepted, in bytes.
pub const MAX_PUSH_ENDPOINT_CHARS: usize = 1000;

/// A push subscription's keys, as the browser's `PushSubscription.toJSON()`
/// gives them: base64url, `p256dh` a 65-byte uncompressed P-256 point,
/// `auth` a 16-byte secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dms_default_to_everything_and_rooms_to_mentions() {
        assert_eq!(NotifyLevel::default_for("dm-abc"), NotifyLevel::All);
        assert_eq!(NotifyLevel::default_for("general"), NotifyLevel::Mentions);
        assert_eq!(
            NotifyLevel::effective(Some(NotifyLevel::Unknown), "general"),
            NotifyLevel::Mentions
        );
        assert_eq!(
            NotifyLevel::effective(Some(NotifyLevel::None), "dm-abc"),
            NotifyLevel::None
        );
    }

    #[test]
    fn each_level_calls_for_what_it_says() {
        assert!(NotifyLevel::All.calls(false));
        assert!(NotifyLevel::Mentions.calls(true));
        assert!(!NotifyLevel::Mentions.calls(false));
        assert!(!NotifyLevel::None.calls(true));
    }

    #[test]
    fn levels_round_trip_through_their_names() {
        for level in [NotifyLevel::All, NotifyLevel::Mentions, NotifyLevel::None] {
            assert_eq!(NotifyLevel::parse(level.as_str()), level);
        }
        assert_eq!(NotifyLevel::parse("loud"), NotifyLevel::Unknown);
    }
}

//! Changes to messages: edits, deletions and reactions. Each is an event of
//! its own in the room's id sequence (a row beside the messages, `kind`
//! saying which, `target` the message it changes), committed before anyone
//! sees it, so a `since` replay brings it to a client that was away; and
//! each updates the message's current state, which history pages show.
//!
//! One request type and one store call for the three, so the rules and
//! their order live in one place per store: `client_id` first (a resend
//! gets the original event whatever else changed since), then the target,
//! the author key, the edit window, the text or emoji, then whether the
//! request would change anything at all, and last, for a reaction that
//! would open a new emoji group, whether the message has room for one
//! more ([`MAX_EMOJI_PER_MESSAGE`]).

use crate::history::store::{constant_time_eq, StoreResult, DELETED_KIND};
use chat_shared::{Change, Reactions};

/// What a change request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Replace the text of a message posted with the same author key.
    Edit {
        /// The new text, normalised by the message rules; `None` when it
        /// broke them (the caller knows which rule and says so when the
        /// store answers [`Refusal::BadText`]).
        text: Option<String>,
        /// RFC 3339 UTC, as message timestamps: a message posted before
        /// this is past the edit window.
        window_start: String,
    },
    /// Delete a message for everyone: its author's (same key) or, for a
    /// moderator, anyone's.
    Delete,
    /// Put a reaction on (`on`) or take this user's off.
    React {
        /// One of [`chat_shared::REACTION_EMOJI`] in stored form; `None`
        /// when the frame named another.
        emoji: Option<String>,
        on: bool,
    },
}

/// One request to change a message.
#[derive(Debug, Clone)]
pub(crate) struct ChangeRequest {
    pub room: String,
    /// The message to change.
    pub target: u64,
    /// The requester's name, shown in the event.
    pub username: String,
    /// The requester's [`chat_shared::username_key`]: `client_id`s are
    /// unique per room and key (shared with messages), reactions are per
    /// key.
    pub name_key: String,
    pub client_id: Option<String>,
    /// The SHA-256 of the author key the connection joined with
    /// ([`owner_hash`]), if it presented one.
    pub owner: Option<String>,
    /// The person the connection is ([`crate::history::people`]): any of
    /// its devices may change what another of them posted under its name.
    pub person: Option<u64>,
    /// The connection presented the moderator token: it may delete any
    /// message (and the moderation log records it).
    pub moderator: bool,
    pub action: Action,
}

impl Action {
    /// The `kind` of the event the action makes.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Edit { .. } => EDITED_KIND,
            Self::Delete => DELETED_KIND,
            Self::React { .. } => REACTION_KIND,
        }
    }
}

/// The message a change targets, as a store read it for the rules.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Its author, for the moderation log.
    pub username: String,
    /// Who may edit and delete it.
    pub owner: Option<String>,
    /// It was posted, under the requester's held name, by one of the
    /// requester's devices (revoked ones included).
    pub by_my_device: bool,
    /// When it was posted, against the edit window.
    pub timestamp: String,
    /// Its current text, against an edit that changes nothing.
    pub text: String,
}

impl ChangeRequest {
    /// The rules that follow "the target is a message of this room", in
    /// their order: the author key (a moderator may delete), the edit
    /// window, the text, the emoji. `Ok(true)` when the change goes in the
    /// moderation log (a moderator deleting a message that is not theirs).
    pub(crate) fn check(&self, target: &Target) -> Result<bool, Refusal> {
        // Compared like the join code, though a hash tells a timer little.
        let same_key = match (self.owner.as_deref(), target.owner.as_deref()) {
            (Some(asked), Some(stored)) => constant_time_eq(asked.as_bytes(), stored.as_bytes()),
            _ => false,
        };
        let owns = same_key || target.by_my_device;
        let logged = match self.action {
            Action::React { .. } => false,
            _ if owns => false,
            Action::Delete if self.moderator => true,
            _ => return Err(Refusal::Forbidden),
        };
        match &self.action {
            Action::Edit { window_start, .. } if target.timestamp < *window_start => {
                Err(Refusal::Expired)
            }
            Action::Edit { text: None, .. } => Err(Refusal::BadText),
            Action::React { emoji: None, .. } => Err(Refusal::BadEmoji),
            _ => Ok(logged),
        }
    }
}

/// What a change request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Changed {
    /// Committed now; `prev` is the room's event before it, as in
    /// [`crate::history::store::Appended::New`].
    New { change: Change, prev: u64 },
    /// This `client_id` already named a change of the same kind in this
    /// room: nothing changed, and this is the original event (its text
    /// gone if the message was deleted since).
    Duplicate(Change),
    /// The request would change nothing (an edit to the same text, a
    /// reaction already on, or one that is not there taken off): no event
    /// was made. This is the earlier event that produced the current
    /// state, if there is one.
    Unchanged(Option<Change>),
    /// Refused, and nothing stored.
    Refused(Refusal),
}

/// Why a change was refused, in the order the rules are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The `client_id` already names something of another kind in this
    /// room (a message, or another kind of change).
    ClientIdTaken,
    /// The target is not a message of this room, or it is deleted.
    NotFound,
    /// An edit or a deletion without the message's author key (and, for a
    /// deletion, not by a moderator).
    Forbidden,
    /// An edit of a message posted before the window start.
    Expired,
    /// An edit whose text broke the message rules.
    BadText,
    /// A reaction that is not one of the allowed emoji.
    BadEmoji,
    /// A reaction with an emoji the message does not carry yet, when it
    /// already carries [`MAX_EMOJI_PER_MESSAGE`] different ones.
    TooManyEmoji,
}

/// The change half of a store.
pub(crate) trait Changes {
    /// Checks the request against the rules and, when it changes
    /// something, commits the event and the message's new state (and for
    /// a moderator's deletion, the log entry) in one transaction.
    fn change(&mut self, request: &ChangeRequest) -> StoreResult<Changed>;
}

/// Adds one user's reaction to a message's groups, read in event order:
/// a new emoji opens a group after the others (groups are ordered by
/// their earliest current reaction), a user joins the end of theirs.
/// Both stores read reactions this way.
pub(crate) fn add_reaction(groups: &mut Vec<Reactions>, emoji: String, username: String) {
    match groups.iter_mut().find(|group| group.emoji == emoji) {
        Some(group) => group.users.push(username),
        None => groups.push(Reactions {
            emoji,
            users: vec![username],
        }),
    }
}

/// What the store keeps of an author key: its SHA-256, so a copy of the
/// database cannot be used to edit anyone's messages.
pub(crate) fn owner_hash(author_key: &str) -> String {
    crate::history::store::sha256_hex(author_key)
}

/// The most different emoji one message carries: each is a group in
/// every page and replay that shows the message, so their number is
/// bounded even if the allowed emoji ([`chat_shared::REACTION_EMOJI`],
/// eight today) grow, or an imported history holds others. Reacting
/// with an emoji the message already has is always possible.
pub(crate) const MAX_EMOJI_PER_MESSAGE: i64 = 20;

/// The `kind` of a row that edits the message it targets.
pub(crate) const EDITED_KIND: &str = "message_edited";
/// The `kind` of a row that puts a reaction on or takes one off.
pub(crate) const REACTION_KIND: &str = "reaction";

//! Error codes, refusal reasons and the moderation log's entries: the
//! stable words clients translate by, kept apart from the frames that
//! carry them ([`crate::protocol`]).

use serde::{Deserialize, Serialize};

/// One moderator action, as the moderation log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: u64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The name of the moderator who did it.
    pub moderator: String,
    pub action: AuditAction,
    /// What it was done to: a message id, a user name or a room.
    pub target: String,
    /// The rest worth knowing: the deleted message's author and room, a
    /// ban's length, a new topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What a moderator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Delete,
    Ban,
    Lock,
    Unlock,
    Topic,
    /// A held name was given up by its owner (`moderator` is the owner).
    Release,
    /// A moderator made a held name free.
    FreeName,
    /// Someone reported a message (`moderator` is who reported it,
    /// `detail` the reason and the message's text).
    Report,
    /// An action this build does not know yet (from a newer server).
    #[serde(other)]
    Unknown,
}

impl AuditAction {
    /// The wire name, which the store keeps too.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Ban => "ban",
            Self::Lock => "lock",
            Self::Unlock => "unlock",
            Self::Topic => "topic",
            Self::Release => "release",
            Self::FreeName => "free_name",
            Self::Report => "report",
            Self::Unknown => "unknown",
        }
    }

    /// The action a stored name stands for.
    pub fn parse(name: &str) -> Self {
        match name {
            "delete" => Self::Delete,
            "ban" => Self::Ban,
            "lock" => Self::Lock,
            "unlock" => Self::Unlock,
            "topic" => Self::Topic,
            "release" => Self::Release,
            "free_name" => Self::FreeName,
            "report" => Self::Report,
            _ => Self::Unknown,
        }
    }
}

/// Why a request was refused. Stable: clients translate by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidUsername,
    NameTaken,
    EmptyMessage,
    MessageTooLong,
    NotJoined,
    AlreadyJoined,
    BadRequest,
    InvalidRoom,
    /// The server failed (for example its disk); the request may be retried.
    ServerError,
    /// Too many frames too fast; the message says when to try again.
    RateLimited,
    /// A rule refused the request; `reason` says which (see
    /// [`ForbiddenReason`]). Without a reason (an older server) it most
    /// likely means the chat is invite-only and the join did not carry the
    /// code in force; the connection stays open for a join with the code.
    Forbidden,
    /// A moderator banned this user or address; `retry_after_ms` says
    /// how long the ban still lasts.
    Banned,
    /// The target of a request does not exist (a message to delete, edit,
    /// react to or reply to that is not in this room or already deleted,
    /// a user to ban who is not here).
    NotFound,
    /// The message is older than the edit window: it can still be
    /// deleted, not edited.
    EditExpired,
    /// The name is held by someone's devices (see [`crate::people`]):
    /// this join has neither one of its keys nor a link code for it.
    NameHeld,
    /// A `push_subscribe` whose endpoint or keys are not a browser's push
    /// subscription; the message says which part.
    InvalidSubscription,
    /// A `message`'s attachment is not a file this name uploaded to this
    /// room that has not gone out yet (or files are off).
    AttachmentNotFound,
    /// A `search` whose query is not taken (too long, a bad date, a
    /// filter this server does not know); the message says why.
    BadSearch,
    /// A code this build does not know yet (from a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// A human explanation in English, for clients that show the server's text.
    pub fn default_message(self) -> &'static str {
        match self {
            Self::InvalidUsername => "That name is not allowed",
            Self::NameTaken => "That name is already in use",
            Self::EmptyMessage => "A message cannot be empty",
            Self::MessageTooLong => "That message is too long",
            Self::NotJoined => "Join the chat first",
            Self::AlreadyJoined => "You have already joined",
            Self::BadRequest => "That frame was not understood",
            Self::InvalidRoom => "That room name is not allowed",
            Self::ServerError => "The server could not do that just now; try again",
            Self::RateLimited => "Too many messages: slow down",
            Self::Forbidden => "This chat is invite-only: open the invitation link",
            Self::Banned => "A moderator has banned you from this chat for a while",
            Self::NotFound => "There is no such message or user here",
            Self::EditExpired => "That message is too old to edit",
            Self::NameHeld => {
                "That name belongs to someone. If it is yours, open \"Link another device\" \
                 on a device that has it and use the link here; otherwise pick another name"
            }
            Self::AttachmentNotFound => {
                "That file is not one you uploaded to this room, or it was sent already: \
                 upload it again"
            }
            Self::BadSearch => "That search was not understood",
            Self::InvalidSubscription => {
                "That push subscription is not valid: it needs an https endpoint and the \
                 browser's p256dh and auth keys"
            }
            Self::Unknown => "Something went wrong",
        }
    }
}

/// Which rule a `forbidden` refusal applies: the `reason` of its `error`
/// frame. Stable, like the codes: clients translate by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForbiddenReason {
    /// The chat is invite-only and the request carried no code in force
    /// (a `join`, or `list_rooms` before joining).
    JoinCode,
    /// `become_moderator` with a token that is not the moderator token.
    ModeratorToken,
    /// A moderator action from a connection that did not become one.
    NotModerator,
    /// A message, edit or reaction in a room a moderator locked.
    RoomLocked,
    /// An edit or delete of a message this author key did not post.
    NotAuthor,
    /// A direct-message room this name is not a member of (or no such
    /// room: the answer is the same, so it tells nothing).
    NotMember,
    /// A request only a held name may make (linking devices, DMs, my
    /// rooms), or a DM to a name no one holds.
    NotHeld,
    /// A reason this build does not know yet (from a newer server).
    #[serde(other)]
    Unknown,
}

impl ForbiddenReason {
    /// A human explanation in English, for clients that show the server's text.
    pub fn default_message(self) -> &'static str {
        match self {
            Self::JoinCode => ErrorCode::Forbidden.default_message(),
            Self::ModeratorToken => "That is not the moderator token",
            Self::NotModerator => {
                "Only moderators may do that: send become_moderator with the token first"
            }
            Self::RoomLocked => "This room is read-only: a moderator locked it",
            Self::NotAuthor => {
                "Only the author of a message may change it (with the author key it was \
                 posted with), and a moderator may delete it"
            }
            Self::NotMember => "That room is not open to you",
            Self::NotHeld => {
                "Only a name that lasts can do that: join with this browser's author key \
                 (the app does), and direct messages go only to such names"
            }
            Self::Unknown => "That is not allowed",
        }
    }
}

//! The wire contract: JSON text frames tagged by `type`.
//!
//! Changes here must be additive: outside clients ignore unknown fields and
//! unknown server frame types, and the server ignores unknown client fields.

use serde::{Deserialize, Serialize};

pub use crate::codes::{AuditAction, AuditEntry, ErrorCode, ForbiddenReason};
pub use crate::people::DeviceInfo;

/// A frame a client sends to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Ask to enter a room under a name.
    Join {
        username: String,
        /// The room to enter; `general` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// The id of the last message this client has: the server replays
        /// every later one in `welcome.history`, so a reconnect leaves no gap.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
        /// The token from an earlier `welcome`: keeps the name through a
        /// reconnect, and lets a second tab share it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
        /// The invitation code, for a server that is invite-only: without
        /// the code in force the join is refused with `forbidden`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        join_code: Option<String>,
        /// The browser's own secret (see [`crate::actions`]): messages
        /// posted with it may later be edited and deleted by whoever
        /// presents it again, under any name. Without it, messages cannot.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author_key: Option<String>,
        /// A code from `device_link`: with a new `author_key`, makes this
        /// device one more holder of `username` (see
        /// [`crate::people`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link_code: Option<String>,
        /// What this device is, for the owner's device list ("Firefox on
        /// Android"); at most [`crate::people::MAX_DEVICE_LABEL_CHARS`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
    },
    /// Say something to everyone in the room.
    Message {
        text: String,
        /// The client's own id for this message (a UUID). A resend with the
        /// same id never makes a second message; the broadcast echoes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// The message of this room this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
        /// Files uploaded to this room (`POST /files`, their `id`s), at
        /// most [`crate::files::MAX_ATTACHMENTS`]: the text is then their
        /// caption and may be empty.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<String>,
    },
    /// Change the text of one of my messages (posted with my author key,
    /// within the edit window).
    Edit {
        id: u64,
        text: String,
        /// Makes a resend harmless, as with messages.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// Put a reaction on a message (`on: true`) or take mine off.
    React {
        id: u64,
        emoji: String,
        on: bool,
        /// Makes a resend harmless, as with messages.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// Tell the others whether this user is typing right now.
    Typing { is_typing: bool },
    /// Ask for a page of the room's messages: the ones just older than
    /// `before`, or with `around` instead, the ones centred on that id
    /// (for jumping to a quoted original). Neither: the newest page.
    History {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        around: Option<u64>,
    },
    /// Ask for the list of rooms.
    ListRooms,
    /// Present the operator's moderator token; answered with `moderator`,
    /// or `forbidden` when it is wrong (wrong tokens are rate-limited per
    /// address). Lasts for the connection.
    BecomeModerator { token: String },
    /// Delete a message of this room: my own (posted with my author key),
    /// or any, for a moderator. Deleting is final.
    Delete {
        /// The message to delete.
        id: u64,
        /// Makes a resend harmless: the same `client_id` gets the original
        /// `message_deleted` back instead of a second deletion.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// Moderators: throw a user out and keep the name and the address out
    /// for `duration_secs`.
    Ban {
        username: String,
        duration_secs: u64,
    },
    /// Moderators: make this room read-only (`true`) or open it again.
    LockRoom { locked: bool },
    /// Moderators: set this room's topic; an empty text clears it.
    SetTopic { topic: String },
    /// Moderators: ask for the newest entries of the moderation log.
    Audit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Ask for a page of who is in the room, ordered by name: the first
    /// page without `after`, then each `next` the previous page gave. For
    /// a large room, whose `welcome` lists only part of it.
    Users {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Is the connection still there? Answered at once with `heartbeat`
    /// (joined or not), so a client that has heard nothing for a few
    /// seconds learns within a few more whether the network is gone,
    /// instead of waiting out the heartbeat interval. Only for servers
    /// whose `welcome` has `answers_ping`: older ones answer `bad_request`.
    Ping,
    /// Give up my held name: it becomes free for anyone, and my devices
    /// hold it no more. Answered with `name_released`.
    ReleaseName,
    /// Moderators: make a held name free again (its devices hold it no
    /// more). Answered with `name_released`.
    FreeName { username: String },
    /// Ask for a one-time code that links another device to my held
    /// name; answered with `device_link`.
    LinkDevice,
    /// Ask for the devices that hold my name; answered with `devices`.
    Devices,
    /// Take a device off my name: it holds it no more, and its open
    /// connections are closed. Answered with `devices`.
    RevokeDevice { id: u64 },
    /// Open (or find again) the direct-message room of me and `with`
    /// (one to [`crate::people::MAX_DM_OTHERS`] other held names);
    /// answered with `dm`.
    OpenDm { with: Vec<String> },
    /// Take a room or DM off my rooms (the ones `list_rooms` marks
    /// `mine`); answered with `room_left`.
    LeaveRoom { room: String },
    /// Show a message of this room to the moderators, with why; answered
    /// with `reported`.
    Report { id: u64, reason: String },
    /// I have read `room` up to message `id`: my read marker there moves
    /// forward to it (never back). A held name's only; answered to every
    /// connection of the name with `read` (see [`crate::attention`]).
    MarkRead { room: String, id: u64 },
    /// How much of `room` should call me; answered to every connection
    /// of the name with `level`.
    SetLevel {
        room: String,
        level: crate::attention::NotifyLevel,
    },
    /// Send Web Push to this browser when a message calls my held name
    /// and no tab of mine is open: the browser's `PushSubscription`,
    /// answered with `push_subscribed`.
    PushSubscribe {
        endpoint: String,
        keys: crate::attention::PushKeys,
    },
    /// Stop pushing to this endpoint; answered with `push_unsubscribed`.
    PushUnsubscribe { endpoint: String },
    /// May I upload files to this room? Answered with `upload_token`.
    UploadToken,
    /// Find messages: `query` is what the search box says
    /// ([`crate::search::parse_query`]: words, "phrases", `from:`, `in:`,
    /// `has:file`, `before:`, `after:`). Answered with `search_results`
    /// from the rooms and DMs the asker may read; rate-limited.
    Search {
        query: String,
        /// Only this room; absent: every room and DM the asker may read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        #[serde(default, skip_serializing_if = "crate::search::SearchOrder::is_newest")]
        order: crate::search::SearchOrder,
        /// The `next` of the page before, for the page after it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<String>,
    },
}

impl ClientFrame {
    /// A plain join: the default room, no resume, no replay.
    pub fn join(username: impl Into<String>) -> Self {
        Self::Join {
            username: username.into(),
            room: None,
            since: None,
            resume: None,
            join_code: None,
            author_key: None,
            link_code: None,
            device: None,
        }
    }

    /// A message without a client id, answering nothing.
    pub fn message(text: impl Into<String>) -> Self {
        Self::Message {
            text: text.into(),
            client_id: None,
            reply_to: None,
            attachments: Vec::new(),
        }
    }
}

impl ClientFrame {
    /// Parses one text frame. The error is serde's description, good enough
    /// to tell a client developer what was wrong with the frame.
    pub fn decode(text: &str) -> Result<Self, String> {
        // serde would also read a struct from an array (`["join","bob"]`);
        // the contract is objects only.
        if !text.trim_start().starts_with('{') {
            return Err("a frame must be a JSON object".into());
        }
        serde_json::from_str(text).map_err(|error| error.to_string())
    }

    /// The JSON text of this frame.
    pub fn encode(&self) -> String {
        // Serialising these plain structs cannot fail: no maps with
        // non-string keys, no custom serialisers.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One chat message as the server confirmed and numbered it: as posted
/// in a `message` frame, in its current state (edited, deleted, reacted
/// to) in a history page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Increases monotonically, so clients can order and de-duplicate.
    pub id: u64,
    pub username: String,
    /// Absent (empty) once the message is deleted: a message that is not
    /// deleted is never empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Server time, RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// The sender's id for the message, so its outbox can let go of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// When the text was last edited (RFC 3339 UTC); absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// The message was deleted: only its id, author and time are left.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// What the answered message said when the reply was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Quote>,
    /// The reactions on it, in the order each emoji was first put on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reactions>,
    /// Its files; the text then ends with a link line per file
    /// ([`crate::files::text_with_links`]). Gone once it is deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::files::Attachment>,
}

/// The original a reply answers, as the reply shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub id: u64,
    pub username: String,
    /// The original's text when the reply was made, without its
    /// formatting markers and cut, by [`crate::actions::quote_excerpt`]
    /// (a quote stored before the markers were taken out may still show
    /// them); absent once it is deleted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The original was deleted since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// One emoji on a message and who put it there, in the order they did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactions {
    pub emoji: String,
    pub users: Vec<String>,
}

/// A message's text was changed by its author: an event with its own `id`
/// from the room's sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub id: u64,
    /// The edited message.
    pub target: u64,
    /// The new text; absent when the message has been deleted since (in
    /// a replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// RFC 3339 UTC.
    pub edited_at: String,
    /// The name the author edited under.
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A message was deleted (by its author or a moderator): an event with
/// its own `id` from the room's sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    pub id: u64,
    /// The deleted message.
    pub target: u64,
    /// Who deleted it.
    pub username: String,
    /// The deleting frame's `client_id`, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Someone put a reaction on a message or took theirs off: an event with
/// its own `id` from the room's sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub id: u64,
    /// The message reacted to.
    pub target: u64,
    /// One of [`crate::actions::REACTION_EMOJI`].
    pub emoji: String,
    /// Put on (`true`) or taken off.
    pub on: bool,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A change to a message, as broadcast and as replayed: the three frames
/// that carry an event id without being a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    MessageEdited(Edit),
    MessageDeleted(Deletion),
    Reaction(Reaction),
}

impl Change {
    /// The event's own id.
    pub fn id(&self) -> u64 {
        match self {
            Self::MessageEdited(edit) => edit.id,
            Self::MessageDeleted(deletion) => deletion.id,
            Self::Reaction(reaction) => reaction.id,
        }
    }

    /// The message it changes.
    pub fn target(&self) -> u64 {
        match self {
            Self::MessageEdited(edit) => edit.target,
            Self::MessageDeleted(deletion) => deletion.target,
            Self::Reaction(reaction) => reaction.target,
        }
    }

    /// The frame that broadcasts it.
    pub fn into_frame(self) -> ServerFrame {
        match self {
            Self::MessageEdited(edit) => ServerFrame::MessageEdited(edit),
            Self::MessageDeleted(deletion) => ServerFrame::MessageDeleted(deletion),
            Self::Reaction(reaction) => ServerFrame::Reaction(reaction),
        }
    }
}

/// One item of a `welcome.history`: a message (an object without `type`,
/// as always), or, in a replay after `since`, a change (an object tagged
/// by `type`, the same as its broadcast frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HistoryItem {
    Change(Change),
    Message(ChatMessage),
}

impl HistoryItem {
    /// The item's id in the room's sequence.
    pub fn id(&self) -> u64 {
        match self {
            Self::Change(change) => change.id(),
            Self::Message(message) => message.id,
        }
    }
}

/// A room and how many people are in it now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub name: String,
    pub online: u32,
    /// One of my rooms (my held name joined it and did not leave it):
    /// the side panel shows the same list on every device. Absent when
    /// false, and for a connection without a held name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mine: bool,
    /// A direct-message room: its members' names, mine included. Only
    /// members are ever shown one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
    /// My read marker here: the last message my held name read. Absent
    /// when it read nothing here yet, and for rooms not mine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<u64>,
    /// Messages after my read marker, not mine and not deleted, counted up
    /// to [`crate::attention::UNREAD_COUNT_CAP`]. Absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unread: u32,
    /// How many of those mention me or reply to mine. Absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mentions: u32,
    /// My notification level here; absent for the room's default
    /// ([`crate::attention::NotifyLevel::default_for`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<crate::attention::NotifyLevel>,
}

/// For `skip_serializing_if`: a count of zero is left out.
fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// The limits a client must respect, announced in `welcome`. The defaults
/// are the server's defaults: the one place both sides take them from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientLimits {
    /// Frames per second one connection may send, sustained (typing aside).
    pub message_rate: f64,
    /// Frames one connection may send at once before the rate applies.
    pub message_burst: u32,
    /// Typing notices per second, sustained; excess ones are dropped.
    pub typing_rate: f64,
    /// Typing notices one connection may send at once.
    pub typing_burst: u32,
    /// The server drops a connection it has heard nothing from this long.
    pub idle_timeout_ms: u64,
    /// Heartbeats a client may miss before it should treat the connection
    /// as dead (the idle timeout measured in heartbeat intervals).
    pub missed_heartbeats: u32,
    /// The messages a `history` request without `limit` gets: the page a
    /// client should ask for when scrolling back.
    pub history_page: u32,
    /// The longest message, in Unicode scalar values.
    pub max_message_chars: u32,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            message_rate: 5.0,
            message_burst: 10,
            typing_rate: 2.0,
            typing_burst: 6,
            idle_timeout_ms: 60_000,
            missed_heartbeats: 3,
            history_page: 50,
            max_message_chars: crate::validate::MAX_MESSAGE_CHARS as u32,
        }
    }
}

/// The answer to an accepted `join`: the name as the server stored it,
/// everyone online (sorted), and what the client needs to show the room.
/// A named struct, so the server, the app and the tests build and read it
/// by field rather than repeating all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub username: String,
    pub users: Vec<String>,
    /// The room joined.
    #[serde(default)]
    pub room: String,
    /// Without `since`: the room's latest messages in their current
    /// state. With `since`: every message and change after it, in id
    /// order.
    #[serde(default)]
    pub history: Vec<HistoryItem>,
    /// True when more messages followed `since` than the server replays:
    /// `history` is then only the latest page, and the client should
    /// drop what it had rather than show a gap as continuous.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub history_gap: bool,
    /// An opaque token: present it in a later `join` to keep the name.
    #[serde(default)]
    pub resume: String,
    /// How often the server sends `heartbeat`, in milliseconds. A client
    /// that hears nothing for a few of these treats the connection as
    /// dead; absent from servers that send no heartbeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_ms: Option<u64>,
    /// Whether this server answers `ping` with `heartbeat` at once, so a
    /// client may check a quiet connection within seconds; absent from
    /// older servers, which answer `ping` with `bad_request`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answers_ping: bool,
    /// What this server allows, so clients respect it instead of
    /// assuming defaults; absent from older servers (assume
    /// [`ClientLimits::default`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ClientLimits>,
    /// The room's topic, set by a moderator; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Whether the room is read-only (a moderator locked it); absent
    /// when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locked: bool,
    /// How many are in the room, when `users` lists only the first of
    /// them (a large room: see [`ServerFrame::Online`]); absent when
    /// `users` is everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<u32>,
    /// The name is held by this device's key (see [`crate::people`]):
    /// no one else may take it, and this connection may link devices,
    /// open DMs and keep "my rooms". Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// The server's VAPID public key (base64url, a 65-byte uncompressed
    /// P-256 point), which a browser needs to subscribe to Web Push.
    /// Absent when the server sends no push (`--no-push`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_key: Option<String>,
}

impl Welcome {
    /// The common case: a welcome to `room` under `username`, with
    /// `users` online and the `resume` token; no history, no gap, no
    /// topic, unlocked, and the older servers' silence on heartbeats and
    /// limits. Set the rest with struct update syntax.
    pub fn new(username: &str, users: Vec<String>, room: &str, resume: &str) -> Self {
        Self {
            username: username.to_owned(),
            users,
            room: room.to_owned(),
            resume: resume.to_owned(),
            ..Self::default()
        }
    }
}

/// A frame the server sends to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The join was accepted: see [`Welcome`].
    Welcome(Welcome),
    /// A message for everyone, the sender included (its confirmation).
    Message(ChatMessage),
    /// Someone else started or stopped typing; never echoed to the typist.
    Typing { username: String, is_typing: bool },
    /// Someone joined; only the name and the new count, never the whole list.
    UserJoined { username: String, count: u32 },
    /// Someone left; only the name and the new count.
    UserLeft { username: String, count: u32 },
    /// A request was refused; the connection stays open and usable.
    Error {
        code: ErrorCode,
        /// English text for people; programs read the fields below instead.
        message: String,
        /// With `rate_limited`: how long to wait before sending again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
        /// The `client_id` of the refused frame, when it carried one, so a
        /// client knows which of its messages in flight was refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// With `forbidden`: which rule refused, so a client need not guess
        /// from context; absent from other codes and from older servers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<ForbiddenReason>,
    },
    /// A page of messages in their current state, answering a `history`
    /// request; oldest first.
    History {
        room: String,
        messages: Vec<ChatMessage>,
        /// Whether even older messages exist.
        has_more: bool,
        /// Whether newer messages exist than the page holds (answering
        /// `around`); absent when false.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        has_newer: bool,
    },
    /// The rooms there are, answering `list_rooms`.
    Rooms { rooms: Vec<RoomInfo> },
    /// Sent on every ping tick, and at once in answer to a client's
    /// `ping`: browsers hide WebSocket pings from pages, so this is how a
    /// page notices that a connection went silent.
    Heartbeat,
    /// The moderator token was right: this connection may moderate.
    Moderator,
    /// A message's text was edited.
    MessageEdited(Edit),
    /// A message was deleted.
    MessageDeleted(Deletion),
    /// A reaction was put on a message or taken off.
    Reaction(Reaction),
    /// To the moderator who banned: the ban is in force until `until`.
    UserBanned {
        username: String,
        /// RFC 3339 UTC, like message timestamps.
        until: String,
        duration_secs: u64,
    },
    /// To the room: a moderator locked (read-only) or unlocked it.
    RoomLocked {
        room: String,
        locked: bool,
        /// The moderator.
        username: String,
    },
    /// To the room: a moderator changed its topic (empty: cleared).
    Topic {
        room: String,
        topic: String,
        /// The moderator.
        username: String,
    },
    /// The moderation log, newest first, answering `audit`.
    Audit { entries: Vec<AuditEntry> },
    /// How many are in a large room now. In a room of more than
    /// [`crate::PRESENCE_LIST_LIMIT`] users, `user_joined` and `user_left`
    /// give way to this, at most about once a second: one frame per member
    /// per join would make a crowd's arrival cost the square of its size.
    Online { count: u32 },
    /// A page of who is in the room, ordered by name, answering `users`;
    /// also sent to everyone, unasked and without `next`, when a large room
    /// becomes small again: the whole list, to replace what the client had.
    Users {
        users: Vec<String>,
        /// How many are in the room.
        online: u32,
        /// Where the next page starts (send it as `after`); absent on the
        /// last page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// A one-time code for linking another device to my held name,
    /// answering `link_device`; the app shows it as `/#/link/CODE`.
    DeviceLink {
        code: String,
        /// When it stops working, RFC 3339 UTC.
        expires_at: String,
    },
    /// The devices that hold my name, answering `devices` and
    /// `revoke_device`; oldest first.
    Devices { devices: Vec<DeviceInfo> },
    /// A held name is free again: answering `release_name` (my own) or a
    /// moderator's `free_name`.
    NameReleased { username: String },
    /// The direct-message room of `with` (every member, me included,
    /// sorted), answering `open_dm`: join `room` to talk there.
    Dm { room: String, with: Vec<String> },
    /// Someone wrote in another of my rooms or DMs: its newest message
    /// is `latest` (edits, deletions and reactions are not news). Sent to a held name's connections in other
    /// rooms, at most about once a second per room.
    Activity { room: String, latest: u64 },
    /// The room is no longer one of mine, answering `leave_room`.
    RoomLeft { room: String },
    /// The message was shown to the moderators, answering `report`.
    Reported { id: u64 },
    /// My read marker in `room` is now `id` (this device's `mark_read` or
    /// another's), to every connection of the name.
    Read { room: String, id: u64 },
    /// My notification level in `room`, answering `set_level`, to every
    /// connection of the name.
    Level {
        room: String,
        level: crate::attention::NotifyLevel,
    },
    /// A new message in another room calls me (by my level there): sent
    /// at once to my connections in other rooms, for the side panel's
    /// mention count and a notification while the tab is hidden. Never
    /// for my own messages.
    Notify {
        room: String,
        id: u64,
        author: String,
        /// The message's start, as a quote shows it.
        text: String,
        /// It mentions me or replies to one of my messages (not only the
        /// level `all`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        mention: bool,
    },
    /// This browser will get Web Push, answering `push_subscribe`.
    PushSubscribed { endpoint: String },
    /// This browser will get no more Web Push, answering
    /// `push_unsubscribe`.
    PushUnsubscribed { endpoint: String },
    /// Answers `search`: its `query`, `room`, `order` and `page` as asked
    /// (so a client typing ahead knows which answer this is), at most
    /// [`crate::search::MAX_SEARCH_HITS`] hits, and `next` when there is
    /// another page.
    SearchResults {
        query: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        #[serde(default, skip_serializing_if = "crate::search::SearchOrder::is_newest")]
        order: crate::search::SearchOrder,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<String>,
        hits: Vec<crate::search::SearchHit>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Answers `upload_token`: `token` authorises `POST /files` to this
    /// room under this name for `expires_in_secs`; `read`, when the room's
    /// files need one (a DM, an invite-only server), goes on their
    /// download paths as `?t=` and lasts a day or more.
    UploadToken {
        room: String,
        token: String,
        expires_in_secs: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read: Option<String>,
        /// The size limit of one file, in bytes (`--max-upload`).
        max_bytes: u64,
    },
    /// A frame type this build does not know: a newer server may add frames,
    /// and clients must ignore them. Never sent.
    #[serde(other, skip_serializing)]
    Unknown,
}

impl ServerFrame {
    /// Parses one text frame from the server.
    pub fn decode(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|error| error.to_string())
    }

    /// The JSON text of this frame (empty for [`ServerFrame::Unknown`],
    /// which is never sent).
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An error frame with the code's standard English message.
    pub fn error(code: ErrorCode) -> Self {
        Self::Error {
            code,
            message: code.default_message().to_owned(),
            retry_after_ms: None,
            client_id: None,
            reason: None,
        }
    }
}

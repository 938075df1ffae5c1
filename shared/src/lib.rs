//! Everything the chat server and the browser client must agree on.
//!
//! The wire protocol is a contract that outside clients rely on too, so it
//! lives in one crate that both sides compile (native for the server, wasm32
//! for the browser). `docs/protocol.md` describes the same frames in prose.
//!
//! # Layout
//! - [`attention`]: read markers, unread counts, notification levels and
//!   push subscriptions.
//! - [`actions`]: the rules for editing, deleting, replying and reacting
//!   (author keys, the reaction emoji, reply quotes).
//! - [`close`]: WebSocket close codes and what each means for presence.
//! - [`codes`]: error codes, refusal reasons and the moderation log's
//!   entries.
//! - [`date`]: days since the epoch of a calendar date, for times read
//!   without a date library.
//! - [`mention`]: who a message @mentions, the same on every side.
//! - [`people`]: names that last, linked devices and direct messages.
//! - [`files`]: attachments, their names and paths, and how a file
//!   message reads without them.
//! - [`format`]: what counts as formatting in a message (code, bold,
//!   italic, strike, links), so every client renders text the same way.
//! - [`protocol`]: the JSON frames, one enum per direction, and error codes.
//! - [`search`]: what a search box's text means, and a hit's highlights.
//! - [`validate`]: the username, room, message, topic, moderator token and
//!   ban rules with their limits; the server enforces them and the client
//!   checks them before sending.

pub mod actions;
pub mod attention;
pub mod close;
pub mod codes;
pub mod date;
pub mod files;
pub mod format;
pub mod mention;
pub mod people;
pub mod protocol;
pub mod search;
pub mod validate;

pub use actions::{
    is_valid_author_key, normalize_emoji, quote_excerpt, DEFAULT_EDIT_WINDOW_SECS,
    MAX_AUTHOR_KEY_CHARS, MAX_QUOTE_CHARS, MIN_AUTHOR_KEY_CHARS, REACTION_EMOJI,
};
pub use attention::{NotifyLevel, PushKeys, MAX_PUSH_ENDPOINT_CHARS, UNREAD_COUNT_CAP};
pub use codes::{AuditAction, AuditEntry, ErrorCode, ForbiddenReason};
pub use people::{
    is_dm_room, is_valid_link_code, normalize_device_label, normalize_dm_with,
    normalize_report_reason, DeviceInfo, DmError, DM_ROOM_PREFIX, LINK_CODE_CHARS, LINK_CODE_SECS,
    MAX_DEVICE_LABEL_CHARS, MAX_DM_OTHERS, MAX_REPORT_CHARS,
};
pub use protocol::{
    Change, ChatMessage, ClientFrame, ClientLimits, Deletion, Edit, HistoryItem, Quote, Reaction,
    Reactions, RoomInfo, ServerFrame, Welcome,
};
pub use validate::{
    check_ban_duration, is_valid_admin_token, is_valid_client_id, is_valid_join_code,
    message_length, normalize_message, normalize_room, normalize_topic, normalize_username,
    username_key, MessageError, RoomError, TopicError, UsernameError, DEFAULT_ROOM,
    MAX_ADMIN_TOKEN_CHARS, MAX_BAN_SECS, MAX_CLIENT_ID_CHARS, MAX_FRAME_BYTES, MAX_JOIN_CODE_CHARS,
    MAX_MESSAGE_CHARS, MAX_ROOM_CHARS, MAX_TOPIC_CHARS, MAX_USERNAME_CHARS, MAX_USERS_PAGE,
    MIN_ADMIN_TOKEN_CHARS, MIN_BAN_SECS, PRESENCE_LIST_LIMIT,
};
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use validate::{same_username, username_looks};

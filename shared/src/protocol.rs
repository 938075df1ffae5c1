//! The wire contract: JSON text frames tagged by `type`.
//!
//! Changes here must be additive: outside clients ignore unknown fields and
//! unknown server frame types, and the server ignores unknown client fields.

use serde::{Deserialize, Serialize};

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
    },
    /// Say something to everyone in the room.
    Message {
        text: String,
        /// The client's own id for this message (a UUID). A resend with the
        /// same id never makes a second message; the broadcast echoes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// Tell the others whether this user is typing right now.
    Typing { is_typing: bool },
    /// Ask for older messages of the room, newest first from `before`.
    History {
        before: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Ask for the list of rooms.
    ListRooms,
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
        }
    }

    /// A message without a client id.
    pub fn message(text: impl Into<String>) -> Self {
        Self::Message {
            text: text.into(),
            client_id: None,
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

/// One chat message as the server confirmed and numbered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Increases monotonically, so clients can order and de-duplicate.
    pub id: u64,
    pub username: String,
    pub text: String,
    /// Server time, RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// The sender's id for the message, so its outbox can let go of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A room and how many people are in it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub name: String,
    pub online: u32,
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

/// A frame the server sends to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The join was accepted: the name as the server stored it and everyone
    /// online, sorted.
    Welcome {
        username: String,
        users: Vec<String>,
        /// The room joined.
        #[serde(default)]
        room: String,
        /// Without `since`: the room's latest messages. With `since`: every
        /// message after it, oldest first.
        #[serde(default)]
        history: Vec<ChatMessage>,
        /// True when more messages followed `since` than the server replays:
        /// `history` is then only the latest page, and the client should
        /// drop what it had rather than show a gap as continuous.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        history_gap: bool,
        /// An opaque token: present it in a later `join` to keep the name.
        #[serde(default)]
        resume: String,
        /// How often the server sends `heartbeat`, in milliseconds. A client
        /// that hears nothing for a few of these treats the connection as
        /// dead; absent from servers that send no heartbeats.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat_ms: Option<u64>,
        /// What this server allows, so clients respect it instead of
        /// assuming defaults; absent from older servers (assume
        /// [`ClientLimits::default`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limits: Option<ClientLimits>,
    },
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
    },
    /// Older messages, answering a `history` request; oldest first.
    History {
        room: String,
        messages: Vec<ChatMessage>,
        /// Whether even older messages exist.
        has_more: bool,
    },
    /// The rooms there are, answering `list_rooms`.
    Rooms { rooms: Vec<RoomInfo> },
    /// Sent on every ping tick: browsers hide WebSocket pings from pages,
    /// so this is how a page notices that a connection went silent.
    Heartbeat,
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
    /// The chat is invite-only and the join did not carry the code in
    /// force; the connection stays open for a join with the code.
    Forbidden,
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
            Self::Unknown => "Something went wrong",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_client_golden(frame: ClientFrame, json: &str) {
        assert_eq!(frame.encode(), json);
        assert_eq!(ClientFrame::decode(json), Ok(frame));
    }

    fn assert_server_golden(frame: ServerFrame, json: &str) {
        assert_eq!(frame.encode(), json);
        assert_eq!(ServerFrame::decode(json), Ok(frame));
    }

    #[test]
    fn client_frames_have_the_documented_json() {
        assert_client_golden(
            ClientFrame::join("alice"),
            r#"{"type":"join","username":"alice"}"#,
        );
        assert_client_golden(
            ClientFrame::Join {
                username: "alice".into(),
                room: Some("rust".into()),
                since: Some(123),
                resume: Some("t0k3n".into()),
                join_code: None,
            },
            r#"{"type":"join","username":"alice","room":"rust","since":123,"resume":"t0k3n"}"#,
        );
        assert_client_golden(
            ClientFrame::Join {
                username: "alice".into(),
                room: None,
                since: None,
                resume: None,
                join_code: Some("Xy_9-abcdefghijklmnop".into()),
            },
            r#"{"type":"join","username":"alice","join_code":"Xy_9-abcdefghijklmnop"}"#,
        );
        assert_client_golden(
            ClientFrame::message("hello"),
            r#"{"type":"message","text":"hello"}"#,
        );
        assert_client_golden(
            ClientFrame::Message {
                text: "hello".into(),
                client_id: Some("5f0c6a8e-1b7e-4d5a-9a53-3c2f1e0d9b7a".into()),
            },
            r#"{"type":"message","text":"hello","client_id":"5f0c6a8e-1b7e-4d5a-9a53-3c2f1e0d9b7a"}"#,
        );
        assert_client_golden(
            ClientFrame::History {
                before: 120,
                limit: Some(50),
            },
            r#"{"type":"history","before":120,"limit":50}"#,
        );
        assert_client_golden(ClientFrame::ListRooms, r#"{"type":"list_rooms"}"#);
        assert_client_golden(
            ClientFrame::Typing { is_typing: true },
            r#"{"type":"typing","is_typing":true}"#,
        );
    }

    #[test]
    fn server_frames_have_the_documented_json() {
        let hi = ChatMessage {
            id: 17,
            username: "bob".into(),
            text: "hi".into(),
            timestamp: "2026-11-25T21:00:00.123Z".into(),
            client_id: None,
        };
        assert_server_golden(
            ServerFrame::Welcome {
                username: "alice".into(),
                users: vec!["alice".into(), "bob".into()],
                room: "general".into(),
                history: vec![hi.clone()],
                history_gap: false,
                resume: "t0k3n".into(),
                heartbeat_ms: None,
                limits: None,
            },
            r#"{"type":"welcome","username":"alice","users":["alice","bob"],"room":"general","history":[{"id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z"}],"resume":"t0k3n"}"#,
        );
        assert_server_golden(
            ServerFrame::Message(hi.clone()),
            r#"{"type":"message","id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z"}"#,
        );
        assert_server_golden(
            ServerFrame::Message(ChatMessage {
                client_id: Some("c-1".into()),
                ..hi.clone()
            }),
            r#"{"type":"message","id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z","client_id":"c-1"}"#,
        );
        assert_server_golden(
            ServerFrame::History {
                room: "general".into(),
                messages: vec![hi],
                has_more: true,
            },
            r#"{"type":"history","room":"general","messages":[{"id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z"}],"has_more":true}"#,
        );
        assert_server_golden(
            ServerFrame::Rooms {
                rooms: vec![RoomInfo {
                    name: "general".into(),
                    online: 2,
                }],
            },
            r#"{"type":"rooms","rooms":[{"name":"general","online":2}]}"#,
        );
        assert_server_golden(ServerFrame::Heartbeat, r#"{"type":"heartbeat"}"#);
        assert_server_golden(
            ServerFrame::Welcome {
                username: "a".into(),
                users: vec!["a".into()],
                room: "general".into(),
                history: Vec::new(),
                history_gap: false,
                resume: "t".into(),
                heartbeat_ms: Some(20_000),
                limits: None,
            },
            r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":[],"resume":"t","heartbeat_ms":20000}"#,
        );
        assert_server_golden(
            ServerFrame::Welcome {
                username: "a".into(),
                users: vec!["a".into()],
                room: "general".into(),
                history: Vec::new(),
                history_gap: false,
                resume: "t".into(),
                heartbeat_ms: Some(20_000),
                limits: Some(ClientLimits::default()),
            },
            r#"{"type":"welcome","username":"a","users":["a"],"room":"general","history":[],"resume":"t","heartbeat_ms":20000,"limits":{"message_rate":5.0,"message_burst":10,"typing_rate":2.0,"typing_burst":6,"idle_timeout_ms":60000,"missed_heartbeats":3,"history_page":50,"max_message_chars":2000}}"#,
        );
        assert_server_golden(
            ServerFrame::Typing {
                username: "bob".into(),
                is_typing: true,
            },
            r#"{"type":"typing","username":"bob","is_typing":true}"#,
        );
        assert_server_golden(
            ServerFrame::UserJoined {
                username: "carol".into(),
                count: 3,
            },
            r#"{"type":"user_joined","username":"carol","count":3}"#,
        );
        assert_server_golden(
            ServerFrame::UserLeft {
                username: "carol".into(),
                count: 2,
            },
            r#"{"type":"user_left","username":"carol","count":2}"#,
        );
        assert_server_golden(
            ServerFrame::Error {
                code: ErrorCode::NameTaken,
                message: "That name is already in use".into(),
                retry_after_ms: None,
                client_id: None,
            },
            r#"{"type":"error","code":"name_taken","message":"That name is already in use"}"#,
        );
        assert_server_golden(
            ServerFrame::error(ErrorCode::Forbidden),
            r#"{"type":"error","code":"forbidden","message":"This chat is invite-only: open the invitation link"}"#,
        );
        assert_server_golden(
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                message: "Too many messages: retry in 180 ms".into(),
                retry_after_ms: Some(180),
                client_id: Some("c-1".into()),
            },
            r#"{"type":"error","code":"rate_limited","message":"Too many messages: retry in 180 ms","retry_after_ms":180,"client_id":"c-1"}"#,
        );
    }

    #[test]
    fn every_error_code_round_trips() {
        for code in [
            ErrorCode::InvalidUsername,
            ErrorCode::NameTaken,
            ErrorCode::EmptyMessage,
            ErrorCode::MessageTooLong,
            ErrorCode::NotJoined,
            ErrorCode::AlreadyJoined,
            ErrorCode::BadRequest,
            ErrorCode::InvalidRoom,
            ErrorCode::ServerError,
            ErrorCode::RateLimited,
            ErrorCode::Forbidden,
        ] {
            let frame = ServerFrame::error(code);
            assert_eq!(ServerFrame::decode(&frame.encode()), Ok(frame));
        }
    }

    #[test]
    fn unknown_fields_are_ignored_both_ways() {
        assert_eq!(
            ClientFrame::decode(r#"{"type":"join","username":"a","colour":"red"}"#),
            Ok(ClientFrame::join("a"))
        );
        assert_eq!(
            ServerFrame::decode(r#"{"type":"user_left","username":"a","count":0,"why":"x"}"#),
            Ok(ServerFrame::UserLeft {
                username: "a".into(),
                count: 0
            })
        );
    }

    #[test]
    fn the_first_version_of_welcome_still_decodes() {
        assert_eq!(
            ServerFrame::decode(r#"{"type":"welcome","username":"a","users":["a"]}"#),
            Ok(ServerFrame::Welcome {
                username: "a".into(),
                users: vec!["a".into()],
                room: String::new(),
                history: Vec::new(),
                history_gap: false,
                resume: String::new(),
                heartbeat_ms: None,
                limits: None,
            })
        );
    }

    #[test]
    fn clients_tolerate_new_server_frames_and_codes() {
        assert_eq!(
            ServerFrame::decode(r#"{"type":"reaction","emoji":"+1"}"#),
            Ok(ServerFrame::Unknown)
        );
        assert_eq!(
            ServerFrame::decode(r#"{"type":"error","code":"brand_new","message":"m"}"#),
            Ok(ServerFrame::Error {
                code: ErrorCode::Unknown,
                message: "m".into(),
                retry_after_ms: None,
                client_id: None,
            })
        );
    }

    #[test]
    fn the_server_rejects_unknown_or_incomplete_client_frames() {
        for bad in [
            r#"{"type":"shout","text":"x"}"#,
            r#"{"type":"message"}"#,
            r#"{"text":"no type"}"#,
            r#"{"type":"typing","is_typing":"yes"}"#,
            "not json",
            "[]",
            r#"["message","hi"]"#,
            "null",
        ] {
            assert!(ClientFrame::decode(bad).is_err(), "{bad} was accepted");
        }
    }
}

//! The wire contract: JSON text frames tagged by `type`.
//!
//! Changes here must be additive: outside clients ignore unknown fields and
//! unknown server frame types, and the server ignores unknown client fields.

use serde::{Deserialize, Serialize};

/// A frame a client sends to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Ask to enter the chat under a name.
    Join { username: String },
    /// Say something to everyone.
    Message { text: String },
    /// Tell the others whether this user is typing right now.
    Typing { is_typing: bool },
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
}

/// A frame the server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The join was accepted: the name as the server stored it and everyone
    /// online, sorted.
    Welcome {
        username: String,
        users: Vec<String>,
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
    Error { code: ErrorCode, message: String },
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
    /// Too many frames too fast; the message says when to try again.
    RateLimited,
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
            Self::RateLimited => "Too many messages: slow down",
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
            ClientFrame::Join {
                username: "alice".into(),
            },
            r#"{"type":"join","username":"alice"}"#,
        );
        assert_client_golden(
            ClientFrame::Message {
                text: "hello".into(),
            },
            r#"{"type":"message","text":"hello"}"#,
        );
        assert_client_golden(
            ClientFrame::Typing { is_typing: true },
            r#"{"type":"typing","is_typing":true}"#,
        );
    }

    #[test]
    fn server_frames_have_the_documented_json() {
        assert_server_golden(
            ServerFrame::Welcome {
                username: "alice".into(),
                users: vec!["alice".into(), "bob".into()],
            },
            r#"{"type":"welcome","username":"alice","users":["alice","bob"]}"#,
        );
        assert_server_golden(
            ServerFrame::Message(ChatMessage {
                id: 17,
                username: "bob".into(),
                text: "hi".into(),
                timestamp: "2026-11-25T21:00:00.123Z".into(),
            }),
            r#"{"type":"message","id":17,"username":"bob","text":"hi","timestamp":"2026-11-25T21:00:00.123Z"}"#,
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
            },
            r#"{"type":"error","code":"name_taken","message":"That name is already in use"}"#,
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
            ErrorCode::RateLimited,
        ] {
            let frame = ServerFrame::error(code);
            assert_eq!(ServerFrame::decode(&frame.encode()), Ok(frame));
        }
    }

    #[test]
    fn unknown_fields_are_ignored_both_ways() {
        assert_eq!(
            ClientFrame::decode(r#"{"type":"join","username":"a","colour":"red"}"#),
            Ok(ClientFrame::Join {
                username: "a".into()
            })
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
    fn clients_tolerate_new_server_frames_and_codes() {
        assert_eq!(
            ServerFrame::decode(r#"{"type":"reaction","emoji":"+1"}"#),
            Ok(ServerFrame::Unknown)
        );
        assert_eq!(
            ServerFrame::decode(r#"{"type":"error","code":"brand_new","message":"m"}"#),
            Ok(ServerFrame::Error {
                code: ErrorCode::Unknown,
                message: "m".into()
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

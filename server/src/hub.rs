//! Who is in the chat, and delivering frames to them.
//!
//! One mutex guards the members and the message counter. It is never held
//! across an `.await`: delivery only queues bytes on bounded channels. Doing
//! numbering and delivery under the same lock means every member receives
//! messages in id order.

use crate::peer::Peer;
use axum::extract::ws::Utf8Bytes;
use chat_shared::{
    normalize_message, normalize_username, username_key, ChatMessage, ErrorCode, ServerFrame,
};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// A refusal to send back to the client: the connection stays usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: ErrorCode,
    pub message: String,
}

impl Rejection {
    fn new(code: ErrorCode, message: impl ToString) -> Self {
        Self {
            code,
            message: message.to_string(),
        }
    }

    /// The error frame for the wire.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::Error {
            code: self.code,
            message: self.message.clone(),
        }
    }
}

impl From<ErrorCode> for Rejection {
    fn from(code: ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }
}

/// A joined user as the connection that joined remembers it.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The case-insensitive key the hub files the user under.
    key: String,
    /// The name as shown to everyone.
    pub name: String,
}

/// The set of joined users and the message sequence.
#[derive(Debug, Default)]
pub struct Hub {
    state: Mutex<HubState>,
}

#[derive(Debug, Default)]
struct HubState {
    /// Joined users by [`username_key`]; ordered, so `welcome` lists them
    /// sorted case-insensitively without sorting on every join.
    members: BTreeMap<String, Member>,
    /// The id of the last message sent.
    last_message_id: u64,
}

#[derive(Debug)]
struct Member {
    name: String,
    peer: Peer,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A panic elsewhere while holding the lock leaves the maps consistent
        // (every update is a single insert or remove), so keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a user: the peer gets `welcome`, everyone else `user_joined`.
    pub fn join(&self, requested: &str, peer: &Peer) -> Result<Membership, Rejection> {
        let name =
            normalize_username(requested).map_err(|error| Rejection::new(error.code(), error))?;
        let key = username_key(&name);
        let mut state = self.lock();
        if state.members.contains_key(&key) {
            return Err(ErrorCode::NameTaken.into());
        }
        state.members.insert(
            key.clone(),
            Member {
                name: name.clone(),
                peer: peer.clone(),
            },
        );
        let users = state.members.values().map(|m| m.name.clone()).collect();
        peer.send(encode(&ServerFrame::Welcome {
            username: name.clone(),
            users,
        }));
        let joined = encode(&ServerFrame::UserJoined {
            username: name.clone(),
            count: count(&state),
        });
        state.broadcast_except(&key, &joined);
        tracing::info!(peer = peer.id, user = %name, "joined");
        Ok(Membership { key, name })
    }

    /// Removes a user and tells the others. Only the connection that joined
    /// under the name can remove it.
    pub fn leave(&self, membership: &Membership, peer: &Peer) {
        let mut state = self.lock();
        let is_this_peer = state
            .members
            .get(&membership.key)
            .is_some_and(|member| member.peer.id == peer.id);
        if !is_this_peer {
            return;
        }
        state.members.remove(&membership.key);
        let left = encode(&ServerFrame::UserLeft {
            username: membership.name.clone(),
            count: count(&state),
        });
        state.broadcast_except(&membership.key, &left);
        tracing::info!(peer = peer.id, user = %membership.name, "left");
    }

    /// Numbers a message and sends it to everyone, the sender included.
    pub fn post(&self, author: &Membership, raw_text: &str) -> Result<u64, Rejection> {
        let text =
            normalize_message(raw_text).map_err(|error| Rejection::new(error.code(), error))?;
        let mut state = self.lock();
        state.last_message_id += 1;
        let id = state.last_message_id;
        let frame = encode(&ServerFrame::Message(ChatMessage {
            id,
            username: author.name.clone(),
            text: text.to_owned(),
            timestamp: timestamp_now(),
        }));
        state.broadcast_except("", &frame);
        Ok(id)
    }

    /// Tells everyone but the typist whether they are typing.
    pub fn typing(&self, author: &Membership, is_typing: bool) {
        let frame = encode(&ServerFrame::Typing {
            username: author.name.clone(),
            is_typing,
        });
        self.lock().broadcast_except(&author.key, &frame);
    }

    /// How many users are joined.
    pub fn member_count(&self) -> usize {
        self.lock().members.len()
    }
}

impl HubState {
    /// Queues the same bytes for every member but `skip_key` (`""` skips none).
    fn broadcast_except(&self, skip_key: &str, frame: &Utf8Bytes) {
        for (key, member) in &self.members {
            if key != skip_key {
                member.peer.send(frame.clone());
            }
        }
    }
}

fn count(state: &HubState) -> u32 {
    u32::try_from(state.members.len()).unwrap_or(u32::MAX)
}

/// Serialises a frame once; clones of the result share one buffer.
pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(frame.encode())
}

/// Server time as RFC 3339 UTC with milliseconds, e.g. `2026-11-25T21:00:00.123Z`.
fn timestamp_now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

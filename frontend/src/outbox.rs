//! The outbox on disk: every message written and not yet confirmed by the
//! server is kept in localStorage, so a reload, a closed laptop or a lost
//! network loses none of them. The page sends them again (with the same
//! `client_id`, so the server never stores one twice) once it is back.
//!
//! Edits, deletions and reactions wait here too, as [`Act`]s: done
//! offline, they go out once, after the reconnect, like messages.
//!
//! Each message has a key of its own, so two tabs of one user add and
//! remove their messages without overwriting each other's.

use serde::{Deserialize, Serialize};

use crate::storage;

const KEY_PREFIX: &str = "chat.outbox.";

/// One unconfirmed message (or change to a message) as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unsent {
    /// The room it was written in: it is only ever sent there.
    pub room: String,
    /// The author's name key (`username_key`): only that user sends it.
    pub user: String,
    /// A message's or an edit's text; empty for the other acts.
    pub text: String,
    pub client_id: String,
    /// When it was written (ms since the epoch): the sending order.
    pub written_ms: f64,
    /// What it does; absent from what older builds stored: a message.
    #[serde(default)]
    pub act: Act,
}

impl Unsent {
    /// Whether it is a new message, shown in the pending list (the other
    /// acts change a message already on the page).
    pub fn is_post(&self) -> bool {
        matches!(self.act, Act::Post { .. })
    }
}

/// What an unsent entry asks the server to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Act {
    /// Post a message, answering `reply_to` if set.
    Post {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    },
    /// Change message `id`'s text to the entry's text.
    Edit { id: u64 },
    /// Delete message `id`.
    Delete { id: u64 },
    /// Put a reaction on message `id` or take mine off.
    React { id: u64, emoji: String, on: bool },
}

impl Default for Act {
    fn default() -> Self {
        Act::Post { reply_to: None }
    }
}

/// Keeps a message until [`forget`] is called with its `client_id`.
pub fn keep(unsent: &Unsent) {
    if let Ok(json) = serde_json::to_string(unsent) {
        storage::set(&key(&unsent.client_id), &json);
    }
}

/// Whether the message `client_id` is still kept: this browser wrote it.
pub fn contains(client_id: &str) -> bool {
    storage::get(&key(client_id)).is_some()
}

/// Drops a message: the server confirmed it, or the user discarded it.
pub fn forget(client_id: &str) {
    storage::remove(&key(client_id));
}

/// The messages `user` left unsent in `room`, oldest first.
pub fn load(room: &str, user: &str) -> Vec<Unsent> {
    let stored = storage::keys_with_prefix(KEY_PREFIX)
        .into_iter()
        .filter_map(|key| storage::get(&key));
    select(stored, room, user)
}

/// The stored messages (JSON) of `user` in `room`, in the order they were
/// written; entries that do not parse (a future format) are skipped.
fn select(stored: impl Iterator<Item = String>, room: &str, user: &str) -> Vec<Unsent> {
    let mut unsent: Vec<Unsent> = stored
        .filter_map(|json| serde_json::from_str::<Unsent>(&json).ok())
        .filter(|u| u.room == room && u.user == user)
        .collect();
    unsent.sort_by(|a, b| {
        a.written_ms
            .total_cmp(&b.written_ms)
            .then_with(|| a.client_id.cmp(&b.client_id))
    });
    unsent
}

/// A random UUID v4 for a new message's `client_id`.
pub fn new_client_id() -> String {
    let mut bytes = crate::random::bytes::<16>();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = crate::random::hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn key(client_id: &str) -> String {
    format!("{KEY_PREFIX}{client_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsent(room: &str, user: &str, text: &str, written_ms: f64) -> String {
        serde_json::to_string(&Unsent {
            room: room.into(),
            user: user.into(),
            text: text.into(),
            client_id: format!("id-{text}"),
            written_ms,
            act: Act::default(),
        })
        .expect("serialises")
    }

    #[test]
    fn only_the_users_messages_in_the_room_in_writing_order() {
        let stored = vec![
            unsent("general", "alice", "second", 20.0),
            unsent("rust", "alice", "elsewhere", 15.0),
            unsent("general", "bob", "not mine", 5.0),
            "{\"something\":\"else\"}".to_owned(),
            unsent("general", "alice", "first", 10.0),
        ];
        let texts: Vec<String> = select(stored.into_iter(), "general", "alice")
            .into_iter()
            .map(|u| u.text)
            .collect();
        assert_eq!(texts, ["first", "second"]);
    }

    #[test]
    fn an_entry_stored_by_an_older_build_is_a_message() {
        let old = r#"{"room":"general","user":"a","text":"hi","client_id":"c","written_ms":1.0}"#;
        let unsent: Unsent = serde_json::from_str(old).expect("parses");
        assert!(unsent.is_post());
        let edit = Unsent {
            act: Act::Edit { id: 4 },
            ..unsent
        };
        let json = serde_json::to_string(&edit).expect("serialises");
        assert_eq!(serde_json::from_str::<Unsent>(&json).ok(), Some(edit));
    }
}

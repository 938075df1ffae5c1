//! The outbox on disk: every message written and not yet confirmed by the
//! server is kept in localStorage, so a reload, a closed laptop or a lost
//! network loses none of them. The page sends them again (with the same
//! `client_id`, so the server never stores one twice) once it is back.
//!
//! Each message has a key of its own, so two tabs of one user add and
//! remove their messages without overwriting each other's.

use super::Unsent;
use crate::storage;

const KEY_PREFIX: &str = "chat.outbox.";

/// Keeps a message until [`forget`] is called with its `client_id`.
pub(crate) fn keep(unsent: &Unsent) {
    if let Ok(json) = serde_json::to_string(unsent) {
        storage::set(&key(&unsent.client_id), &json);
    }
}

/// Whether the message `client_id` is still kept: this browser wrote it.
pub(crate) fn contains(client_id: &str) -> bool {
    storage::get(&key(client_id)).is_some()
}

/// Drops a message: the server confirmed it, or the user discarded it.
pub(crate) fn forget(client_id: &str) {
    storage::remove(&key(client_id));
}

/// The messages `user` left unsent in `room`, oldest first.
pub(crate) fn load(room: &str, user: &str) -> Vec<Unsent> {
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

fn key(client_id: &str) -> String {
    format!("{KEY_PREFIX}{client_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::outbox::Act;

    fn unsent(room: &str, user: &str, text: &str, written_ms: f64) -> String {
        serde_json::to_string(&Unsent {
            room: room.into(),
            user: user.into(),
            text: text.into(),
            client_id: format!("id-{text}"),
            written_ms,
            act: Act::default(),
            attachments: Vec::new(),
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
}

//! This browser's author key and the messages it posted with it, kept in
//! localStorage so that a reload (or another tab) can still edit and
//! delete them.
//!
//! The key is the secret the server checks an edit or a deletion against
//! (see `chat_shared::actions`); the ids are how the page knows, without
//! asking, which messages to offer those actions on.

use chat_shared::is_valid_author_key;

use crate::storage;

const KEY: &str = "chat.author_key";
const OWN_PREFIX: &str = "chat.own.";
/// The newest ids kept per room: enough for anything still in the edit
/// window of a busy day, small enough to read on every join.
pub(crate) const MAX_OWN_IDS: usize = 500;

/// The author key, made once (192 random bits as 48 hex digits) and kept.
/// Without working storage it lasts as long as the page.
pub(crate) fn author_key() -> String {
    if let Some(key) = storage::get(KEY).filter(|key| is_valid_author_key(key)) {
        return key;
    }
    let key = random_key();
    storage::set(KEY, &key);
    key
}

fn random_key() -> String {
    crate::random::hex(&crate::random::bytes::<24>())
}

/// The ids of the messages this browser posted in `room`, oldest first.
pub(crate) fn own_ids(room: &str) -> Vec<u64> {
    storage::get(&own_key(room))
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Keeps `id` as posted by this browser in `room`, forgetting the oldest
/// beyond [`MAX_OWN_IDS`].
pub(crate) fn keep_own_id(room: &str, id: u64) {
    let ids = with_id(own_ids(room), id);
    if let Ok(json) = serde_json::to_string(&ids) {
        storage::set(&own_key(room), &json);
    }
}

/// `ids` with `id` added once, bounded.
fn with_id(mut ids: Vec<u64>, id: u64) -> Vec<u64> {
    if !ids.contains(&id) {
        ids.push(id);
    }
    let excess = ids.len().saturating_sub(MAX_OWN_IDS);
    ids.drain(..excess);
    ids
}

fn own_key(room: &str) -> String {
    format!("{OWN_PREFIX}{room}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_ids_are_kept_once_and_bounded() {
        assert_eq!(with_id(vec![1, 2], 2), [1, 2]);
        let full: Vec<u64> = (0..MAX_OWN_IDS as u64).collect();
        let ids = with_id(full, 9_999);
        assert_eq!(ids.len(), MAX_OWN_IDS);
        assert_eq!(ids.first(), Some(&1));
        assert_eq!(ids.last(), Some(&9_999));
    }
}

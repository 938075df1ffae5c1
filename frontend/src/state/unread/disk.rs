//! A keyless name's read markers, kept in this browser only (the server
//! keeps a held name's): one localStorage entry per name and room.

use crate::storage;

/// Where the marker of name key `me` in `room` is kept.
fn key(me: &str, room: &str) -> String {
    format!("chat.read.{me}.{room}")
}

/// The marker kept for `me` in `room`, if any.
pub(crate) fn marker(me: &str, room: &str) -> Option<u64> {
    storage::get(&key(me, room))?.parse().ok()
}

/// Keeps `id` as the marker of `me` in `room`; never moves it back (another
/// tab may have read further).
pub(crate) fn keep_marker(me: &str, room: &str, id: u64) {
    if marker(me, room).is_some_and(|kept| kept >= id) {
        return;
    }
    storage::set(&key(me, room), &id.to_string());
}

//! Where the kept conversation ([`super::cache`]) lives: localStorage, one
//! entry per name and room (`chat.conversation.{name key}.{room}`), for
//! at most [`MAX_ROOMS`] rooms in this browser, the least recently kept
//! dropped first. An index (`chat.conversations`) lists them, so eviction
//! and dropping a name's rooms need no scan of the keys (a name may
//! contain dots, so the keys alone do not say whose they are).
//!
//! Private stays private: a name's copy is read for that name only, and
//! dropped when the name is given up, when this device is removed from
//! it, when the person leaves the chat, and for a room (or DM) they leave.

use serde::{Deserialize, Serialize};

use crate::storage;

/// The most rooms kept in this browser, all names together: with
/// [`super::cache::KEEP_BYTES`] each, well within the site's storage.
pub(crate) const MAX_ROOMS: usize = 6;
const INDEX_KEY: &str = "chat.conversations";
const KEY_PREFIX: &str = "chat.conversation.";

/// One kept room: whose, and which.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Place {
    /// The name key (`username_key`) it was kept for.
    me: String,
    room: String,
}

impl Place {
    fn new(me: &str, room: &str) -> Self {
        Self {
            me: me.to_owned(),
            room: room.to_owned(),
        }
    }

    fn key(&self) -> String {
        format!("{KEY_PREFIX}{}.{}", self.me, self.room)
    }
}

/// The kept rooms, least recently kept first.
#[derive(Debug, Default, PartialEq, Eq)]
struct Index(Vec<Place>);

impl Index {
    /// The index in `json`; None if it does not parse.
    fn parse(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok().map(Self)
    }

    fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// `place` was kept just now: it moves to the end; returns the places
    /// beyond [`MAX_ROOMS`] that must go.
    fn touch(&mut self, place: Place) -> Vec<Place> {
        self.0.retain(|p| *p != place);
        self.0.push(place);
        let excess = self.0.len().saturating_sub(MAX_ROOMS);
        self.0.drain(..excess).collect()
    }

    /// Takes out the places `doomed` accepts and returns them.
    fn take(&mut self, doomed: impl Fn(&Place) -> bool) -> Vec<Place> {
        let (gone, stay) = std::mem::take(&mut self.0).into_iter().partition(doomed);
        self.0 = stay;
        gone
    }
}

/// The index as stored. One that does not parse is dropped with every
/// copy (they could no longer be found to be dropped).
fn load_index() -> Index {
    let Some(json) = storage::get(INDEX_KEY) else {
        return Index::default();
    };
    Index::parse(&json).unwrap_or_else(|| {
        for key in storage::keys_with_prefix(KEY_PREFIX) {
            storage::remove(&key);
        }
        Index::default()
    })
}

/// The copy kept for name key `me` in `room` (the JSON of
/// [`super::cache`]), if any.
pub(crate) fn load(me: &str, room: &str) -> Option<String> {
    storage::get(&Place::new(me, room).key())
}

/// Keeps `json` as the copy for name key `me` in `room`, dropping the
/// least recently kept rooms beyond [`MAX_ROOMS`].
pub(crate) fn keep(me: &str, room: &str, json: &str) {
    let place = Place::new(me, room);
    let mut index = load_index();
    for gone in index.touch(place.clone()) {
        storage::remove(&gone.key());
    }
    storage::set(INDEX_KEY, &index.to_json());
    storage::set(&place.key(), json);
}

/// Drops every copy kept for name key `me`.
pub(crate) fn forget_name(me: &str) {
    forget(|p| p.me == me);
}

/// Drops the copy kept for name key `me` in `room`.
pub(crate) fn forget_room(me: &str, room: &str) {
    forget(|p| p.me == me && p.room == room);
}

fn forget(doomed: impl Fn(&Place) -> bool) {
    let mut index = load_index();
    for gone in index.take(doomed) {
        storage::remove(&gone.key());
    }
    storage::set(INDEX_KEY, &index.to_json());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(index: &Index) -> Vec<(&str, &str)> {
        index
            .0
            .iter()
            .map(|p| (p.me.as_str(), p.room.as_str()))
            .collect()
    }

    #[test]
    fn the_least_recently_kept_room_goes_first() {
        let mut index = Index::default();
        for room in 0..MAX_ROOMS {
            assert!(index
                .touch(Place::new("ann", &format!("r{room}")))
                .is_empty());
        }
        // Kept again: it is the newest now.
        assert!(index.touch(Place::new("ann", "r0")).is_empty());
        let gone = index.touch(Place::new("bob", "general"));
        assert_eq!(gone, [Place::new("ann", "r1")]);
        assert_eq!(index.0.len(), MAX_ROOMS);
        assert_eq!(places(&index).last(), Some(&("bob", "general")));
    }

    #[test]
    fn a_names_rooms_go_with_it_and_no_one_elses() {
        let mut index = Index::default();
        for (me, room) in [("ann", "general"), ("ann.b", "general"), ("ann", "dm-x")] {
            index.touch(Place::new(me, room));
        }
        let gone = index.take(|p| p.me == "ann");
        assert_eq!(gone.len(), 2);
        assert_eq!(places(&index), [("ann.b", "general")]);
    }

    #[test]
    fn the_index_round_trips_and_garbage_does_not_parse() {
        let mut index = Index::default();
        index.touch(Place::new("ann", "general"));
        assert_eq!(Index::parse(&index.to_json()), Some(index));
        assert_eq!(Index::parse("{\"me\":1}"), None);
        assert_eq!(Index::parse("nonsense"), None);
    }

    #[test]
    fn each_name_and_room_has_its_own_key() {
        assert_eq!(
            Place::new("ann", "general").key(),
            "chat.conversation.ann.general"
        );
        assert_ne!(
            Place::new("ann", "general").key(),
            Place::new("bob", "general").key()
        );
    }
}

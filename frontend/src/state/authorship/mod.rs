//! Which messages on the page I may edit and delete: the ones this browser
//! posted with its author key, by id, remembered per room across reloads.
//!
//! - [`disk`]: the author key and the posted ids, kept in localStorage.
//! - [`Authorship`] (here): the ids of the room shown, for the views.

pub(crate) mod disk;

use leptos::prelude::*;
use std::collections::HashSet;

/// My own messages' ids in the room shown, for the views.
#[derive(Clone, Copy)]
pub(crate) struct Authorship {
    ids: RwSignal<HashSet<u64>>,
    /// The room they are of, for keeping new ones.
    room: StoredValue<String>,
}

impl Authorship {
    /// None yet: they are read on joining a room.
    pub(crate) fn new() -> Self {
        Self {
            ids: RwSignal::new(HashSet::new()),
            room: StoredValue::new(String::new()),
        }
    }

    /// Joined `room`: read what this browser posted there.
    pub(crate) fn joined(&self, room: &str) {
        self.room.set_value(room.to_owned());
        let ids: HashSet<u64> = disk::own_ids(room).into_iter().collect();
        if self.ids.with_untracked(|now| *now != ids) {
            self.ids.set(ids);
        }
    }

    /// The server numbered one of this browser's messages `id`.
    pub(crate) fn posted(&self, id: u64) {
        if self.ids.with_untracked(|ids| ids.contains(&id)) {
            return;
        }
        disk::keep_own_id(&self.room.get_value(), id);
        self.ids.update(|ids| {
            ids.insert(id);
        });
    }

    /// Whether message `id` is mine to edit and delete (tracked).
    pub(crate) fn owns(&self, id: u64) -> bool {
        self.ids.with(|ids| ids.contains(&id))
    }

    /// [`Authorship::owns`], untracked.
    pub(crate) fn owns_untracked(&self, id: u64) -> bool {
        self.ids.with_untracked(|ids| ids.contains(&id))
    }
}

impl Default for Authorship {
    fn default() -> Self {
        Self::new()
    }
}

/// The authorship from context.
pub(crate) fn use_authorship() -> Authorship {
    expect_context::<Authorship>()
}

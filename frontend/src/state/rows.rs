//! One signal per row of a keyed list, holding what of the row can change.
//!
//! A list is rendered with `<For>` keyed by the row's stable local key;
//! what changes inside a row (a message's grouping, a delivery state) is
//! read by that row from its own signal, so a change patches that one row
//! instead of re-creating rows or re-running every row's view.

use leptos::prelude::*;
use std::collections::{HashMap, HashSet};

/// The changing part of each row, by row key.
pub(crate) struct RowSignals<T: Send + Sync + 'static> {
    rows: HashMap<u64, ArcRwSignal<T>>,
}

impl<T: Clone + PartialEq + Send + Sync + 'static> RowSignals<T> {
    /// No rows.
    pub(crate) fn new() -> Self {
        Self {
            rows: HashMap::new(),
        }
    }

    /// Brings the signals in line with the rows now in the list: a row
    /// whose value changed is notified, a new row gets a signal, a row that
    /// left the list loses its own.
    pub(crate) fn sync(&mut self, now: impl Iterator<Item = (u64, T)>) {
        let mut present = HashSet::new();
        for (key, value) in now {
            present.insert(key);
            match self.rows.get(&key) {
                Some(signal) => {
                    if signal.with_untracked(|old| *old != value) {
                        signal.set(value);
                    }
                }
                None => {
                    self.rows.insert(key, ArcRwSignal::new(value));
                }
            }
        }
        self.rows.retain(|key, _| present.contains(key));
    }

    /// Sets row `key`'s value, notifying its view if it changed; a new row
    /// gets a signal.
    pub(crate) fn put(&mut self, key: u64, value: T) {
        match self.rows.get(&key) {
            Some(signal) => {
                if signal.with_untracked(|old| *old != value) {
                    signal.set(value);
                }
            }
            None => {
                self.rows.insert(key, ArcRwSignal::new(value));
            }
        }
    }

    /// Drops the signals of rows no longer in the list.
    pub(crate) fn retain(&mut self, present: &HashSet<u64>) {
        self.rows.retain(|key, _| present.contains(key));
    }

    /// The signal of row `key`, if it is in the list.
    pub(crate) fn get(&self, key: u64) -> Option<ArcReadSignal<T>> {
        self.rows.get(&key).map(ArcRwSignal::read_only)
    }
}

impl<T: Clone + PartialEq + Send + Sync + 'static> Default for RowSignals<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_row_is_patched_in_place_and_the_others_keep_their_signal() {
        let mut rows = RowSignals::new();
        rows.sync([(1, "sending"), (2, "sent")].into_iter());
        let first = rows.get(1).expect("row 1");
        let second = rows.get(2).expect("row 2");

        rows.sync([(1, "sent"), (2, "sent"), (3, "sending")].into_iter());
        // The signal the row's view already holds now reads the new state:
        // the row is patched, not replaced by a new one.
        assert_eq!(first.get_untracked(), "sent");
        assert_eq!(second.get_untracked(), "sent");
        assert_eq!(rows.get(3).map(|row| row.get_untracked()), Some("sending"));

        rows.sync([(2, "sent"), (3, "sending")].into_iter());
        assert!(rows.get(1).is_none(), "a row that left has no signal");
    }
}

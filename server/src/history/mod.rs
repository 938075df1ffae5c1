//! What is said stays said: the journal thread that orders and commits
//! messages, the store seam under it with its two databases (SQLite,
//! PostgreSQL), the changes people make to messages (edits, deletions,
//! reactions), what moderators change in it, who holds which name
//! ([`people`]), what each person has read and wants to be called for
//! ([`attention`]), where their Web Push goes ([`push`]), what files were
//! uploaded to which room ([`files`]), how what was said is found
//! ([`search`]), and the operator's copies of an SQLite history.

pub mod archive;
pub(crate) mod attention;
pub(crate) mod changes;
pub(crate) mod files;
pub(crate) mod journal;
pub(crate) mod moderation;
pub(crate) mod pages;
pub(crate) mod people;
pub(crate) mod postgres;
pub(crate) mod push;
// The command that answers `search` and the task that indexes the
// backlog come next (issue 26); until then only the tests call this.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod search;
mod sql;
pub(crate) mod sqlite;
pub(crate) mod store;

#[cfg(test)]
mod conformance;

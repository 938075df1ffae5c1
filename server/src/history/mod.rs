//! What is said stays said: the journal thread that orders and commits
//! messages, the store seam under it with its two databases (SQLite,
//! PostgreSQL), the changes people make to messages (edits, deletions,
//! reactions), what moderators change in it, who holds which name
//! ([`people`]), what each person has read and wants to be called for
//! ([`attention`]), where their Web Push goes ([`push`]), what files were
//! uploaded to which room ([`files`]), how what was said is found
//! ([`search`], beside the journal: [`searcher`]), and the operator's
//! copies of an SQLite history.

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
pub(crate) mod search;
pub(crate) mod searcher;
mod sql;
pub(crate) mod sqlite;
pub(crate) mod store;

#[cfg(test)]
mod conformance;

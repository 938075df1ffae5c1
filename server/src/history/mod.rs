//! What is said stays said: the journal thread that orders and commits
//! messages, the store seam under it with its two databases (SQLite,
//! PostgreSQL), the changes people make to messages (edits, deletions,
//! reactions), what moderators change in it, and the operator's copies of
//! an SQLite history.

pub mod archive;
pub mod changes;
pub mod journal;
pub mod moderation;
pub mod pages;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod store;

#[cfg(test)]
mod conformance;

//! What is said stays said: the journal thread that orders and commits
//! messages, and the SQLite store under it.

pub mod journal;
pub mod store;

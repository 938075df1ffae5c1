//! What is said stays said: the journal thread that orders and commits
//! messages, the SQLite store under it, what moderators change in it, and
//! the operator's copies of it.

pub mod archive;
pub mod journal;
pub mod moderation;
pub mod store;

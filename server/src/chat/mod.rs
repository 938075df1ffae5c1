//! The chat itself, once a socket is open: one task pair per connection,
//! its rate limits, the handle the hub holds on it, the hub of rooms, how
//! what the journal committed reaches the hub and the bus, and what
//! moderators may do there. The rules of each frame live in
//! [`crate::command`].

pub(crate) mod connection;
pub(crate) mod delivery;
pub(crate) mod hub;
pub(crate) mod moderation;
pub(crate) mod peer;
pub(crate) mod rate_limit;

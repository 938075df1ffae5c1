//! The chat itself, once a socket is open: one task pair per connection,
//! its rate limits, the handle the hub holds on it, the hub of rooms, and
//! what moderators may do there.

pub mod connection;
pub(crate) mod delivery;
pub mod hub;
pub mod moderation;
pub mod peer;
pub mod rate_limit;

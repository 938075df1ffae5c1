//! The chat itself, once a socket is open: one task pair per connection,
//! its rate limits, the handle the hub holds on it, the hub of rooms, and
//! what moderators may do there.

pub(crate) mod connection;
pub(crate) mod delivery;
pub(crate) mod hub;
pub(crate) mod moderation;
pub(crate) mod peer;
pub(crate) mod rate_limit;

//! The chat itself, once a socket is open: one task pair per connection,
//! its rate limits, the handle the hub holds on it, and the hub of rooms.

pub mod connection;
pub mod hub;
pub mod peer;
pub mod rate_limit;

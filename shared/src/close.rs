//! WebSocket close codes and what each means for presence.
//!
//! Both sides must read a close the same way: a page that leaves on purpose
//! must vanish from the user list at once, while a dropped network, a reload
//! or an abandoned silent socket keeps the user's name and place for the
//! server's resume grace period, so a quick reconnect shows no leave/join.

/// The conversation ended on purpose (Leave, switching rooms).
pub const NORMAL: u16 = 1000;
/// The endpoint is going away: a server shutting down, a tab closing.
pub const GOING_AWAY: u16 = 1001;
/// The peer broke a rule (too slow, flooding, no join in time).
pub const POLICY: u16 = 1008;
/// A frame or message was larger than the receiver accepts.
pub const TOO_BIG: u16 = 1009;
/// A client gave up on a connection that went silent (no heartbeat) and is
/// opening a new one: not a departure.
pub const SILENT: u16 = 4000;
/// The server closed the connection because its device was revoked from
/// the name it holds (`revoke_device`): the client must not reconnect
/// under that name.
pub const REVOKED: u16 = 4003;

/// What a closed connection means for the user's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// Gone on purpose: the others see the user leave now.
    AtOnce,
    /// Possibly coming back: the name and place are kept for the grace period.
    AfterGrace,
}

/// How the server treats a connection that closed with `code` (`None`: a
/// close frame without a code, which is how a plain `WebSocket.close()` and
/// some libraries' drop end a socket: also on purpose).
pub fn departure(code: Option<u16>) -> Departure {
    match code {
        None | Some(NORMAL) => Departure::AtOnce,
        Some(_) => Departure::AfterGrace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_normal_close_or_none_leaves_at_once() {
        assert_eq!(departure(None), Departure::AtOnce);
        assert_eq!(departure(Some(NORMAL)), Departure::AtOnce);
        for code in [GOING_AWAY, POLICY, TOO_BIG, SILENT, REVOKED, 1006] {
            assert_eq!(departure(Some(code)), Departure::AfterGrace, "code {code}");
        }
    }
}

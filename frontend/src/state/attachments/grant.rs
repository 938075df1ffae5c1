//! The upload token the server gave for the room shown (`upload_token`),
//! and when to ask for another: on joining a room, and before one runs
//! out.

/// Ask for a new token when the one held has less than this left, so an
/// upload never starts with a token about to expire.
pub(crate) const RENEW_BEFORE_MS: f64 = 60_000.0;
/// Asking again for a token that has not come sooner than this is
/// pointless (the answer is on its way, or the socket is down).
const ASK_AGAIN_AFTER_MS: f64 = 10_000.0;

/// One room's upload token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Grant {
    pub(crate) room: String,
    /// `Authorization: Bearer` of every upload to the room.
    pub(crate) token: String,
    /// Added as `?t=` to the room's file URLs (a DM's files need it).
    pub(crate) read: Option<String>,
    /// The largest file the server takes.
    pub(crate) max_bytes: u64,
    /// When it runs out, ms since the epoch (by this browser's clock).
    pub(crate) expires_ms: f64,
}

/// The token held and the last time one was asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Grants {
    held: Option<Grant>,
    asked_ms: Option<f64>,
}

impl Grants {
    /// The token for `room`, if one is held and good for a while at `now`.
    pub(crate) fn usable(&self, room: &str, now: f64) -> Option<&Grant> {
        self.held
            .as_ref()
            .filter(|g| g.room == room && g.expires_ms - now > RENEW_BEFORE_MS)
    }

    /// The read token of `room`'s file URLs, even from a token too old to
    /// upload with (reading needs it as long as the server takes it).
    pub(crate) fn read_token(&self, room: &str) -> Option<&str> {
        self.held
            .as_ref()
            .filter(|g| g.room == room)
            .and_then(|g| g.read.as_deref())
    }

    /// The largest file the server takes, once it has said.
    pub(crate) fn max_bytes(&self) -> Option<u64> {
        self.held.as_ref().map(|g| g.max_bytes)
    }

    /// Whether to ask for a token for `room` at `now`: none usable, and
    /// not asked for a moment ago. Notes the asking when it says yes.
    pub(crate) fn should_ask(&mut self, room: &str, now: f64) -> bool {
        if self.usable(room, now).is_some() {
            return false;
        }
        if self
            .asked_ms
            .is_some_and(|at| now - at < ASK_AGAIN_AFTER_MS)
        {
            return false;
        }
        self.asked_ms = Some(now);
        true
    }

    /// A new room was joined: its token is asked for at once.
    pub(crate) fn joined(&mut self) {
        self.asked_ms = None;
    }

    /// The server said the token expired: ask again at once.
    pub(crate) fn expired(&mut self) {
        if let Some(grant) = &mut self.held {
            grant.expires_ms = 0.0;
        }
        self.asked_ms = None;
    }

    /// A token arrived.
    pub(crate) fn arrived(&mut self, grant: Grant) {
        self.held = Some(grant);
        self.asked_ms = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(room: &str, expires_ms: f64) -> Grant {
        Grant {
            room: room.into(),
            token: "tok".into(),
            read: Some("r".into()),
            max_bytes: 100,
            expires_ms,
        }
    }

    #[test]
    fn a_token_is_asked_for_once_until_it_comes_and_again_before_it_runs_out() {
        let mut grants = Grants::default();
        assert!(grants.should_ask("general", 0.0));
        assert!(!grants.should_ask("general", 1_000.0));
        grants.arrived(grant("general", 1_800_000.0));
        assert!(grants.usable("general", 1_000.0).is_some());
        assert!(!grants.should_ask("general", 1_000.0));
        assert!(grants.usable("other", 1_000.0).is_none());
        // Near its end it is not used any more, and a new one is asked for.
        assert!(grants.usable("general", 1_750_000.0).is_none());
        assert!(grants.should_ask("general", 1_750_000.0));
        // The read token still serves the room's pictures.
        assert_eq!(grants.read_token("general"), Some("r"));
        assert_eq!(grants.read_token("other"), None);
    }

    #[test]
    fn an_expired_answer_asks_again_at_once() {
        let mut grants = Grants::default();
        grants.arrived(grant("general", 1_800_000.0));
        grants.expired();
        assert!(grants.usable("general", 0.0).is_none());
        assert!(grants.should_ask("general", 0.0));
        grants.joined();
        assert!(grants.should_ask("general", 1.0));
    }
}

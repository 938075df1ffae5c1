//! The moderator's side of the page: the token (kept in localStorage and
//! presented again after every reconnect), whether the server accepted
//! it, the room's lock and topic, and the moderation log.
//!
//! [`ModerationState`] is the plain logic; [`Moderation`] holds it in a
//! signal for the views and sends the moderator's frames.

use chat_shared::{is_valid_admin_token, AuditEntry, ClientFrame, ErrorCode, ForbiddenReason};
use leptos::prelude::*;

use super::Sender;
use crate::storage;

/// The ban lengths the app offers, in seconds: 5 minutes, an hour, a day,
/// a week (labels in [`crate::i18n::Strings::ban_lengths`]).
pub(crate) const BAN_LENGTHS: [u64; 4] = [5 * 60, 60 * 60, 24 * 60 * 60, 7 * 24 * 60 * 60];

/// Where the moderator token is kept between visits.
const TOKEN_KEY: &str = "chat.admin_token";

/// Whether this page moderates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Standing {
    /// No token: an ordinary page.
    #[default]
    Off,
    /// The token went out; the server has not answered yet.
    Asking,
    /// The server accepted the token on this connection.
    On,
}

/// Why the server turned the token down, for the switch to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenRefusal {
    Wrong,
    TooManyTries,
}

/// The moderation facts of the page.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ModerationState {
    /// The token to present, if the user gave one.
    token: Option<String>,
    standing: Standing,
    refusal: Option<TokenRefusal>,
    /// The room's topic, from `welcome` and `topic` frames.
    topic: Option<String>,
    /// Whether the room is read-only.
    locked: bool,
    /// The newest log entries, newest first, as last received.
    audit: Vec<AuditEntry>,
}

impl ModerationState {
    /// A state that remembers `token` from an earlier visit.
    pub(crate) fn with_token(token: Option<String>) -> Self {
        Self {
            token: token.filter(|token| is_valid_admin_token(token)),
            ..Self::default()
        }
    }

    /// Takes a token the user typed; `false` when it cannot be one (the
    /// shared rule), so nothing is sent.
    pub(crate) fn set_token(&mut self, raw: &str) -> bool {
        let token = raw.trim();
        if !is_valid_admin_token(token) {
            self.refusal = Some(TokenRefusal::Wrong);
            return false;
        }
        self.token = Some(token.to_owned());
        self.refusal = None;
        true
    }

    /// The frame that presents the token, marking it as asked.
    pub(crate) fn ask(&mut self) -> Option<ClientFrame> {
        let token = self.token.clone()?;
        self.standing = Standing::Asking;
        Some(ClientFrame::BecomeModerator { token })
    }

    /// The server said yes.
    pub(crate) fn accepted(&mut self) {
        if self.token.is_some() {
            self.standing = Standing::On;
        }
    }

    /// An error arrived: if it answers the token, the token is forgotten
    /// (a wrong one) or kept for later (too many tries); returns whether
    /// it was about the token.
    pub(crate) fn refused(&mut self, code: ErrorCode, reason: Option<ForbiddenReason>) -> bool {
        if self.standing != Standing::Asking {
            return false;
        }
        match code {
            // An older server names no reason.
            ErrorCode::Forbidden
                if matches!(reason, None | Some(ForbiddenReason::ModeratorToken)) =>
            {
                self.token = None;
                self.standing = Standing::Off;
                self.refusal = Some(TokenRefusal::Wrong);
                true
            }
            ErrorCode::RateLimited => {
                self.token = None;
                self.standing = Standing::Off;
                self.refusal = Some(TokenRefusal::TooManyTries);
                true
            }
            _ => false,
        }
    }

    /// The moderator switch turned off: the token is forgotten.
    pub(crate) fn turn_off(&mut self) {
        *self = Self {
            topic: self.topic.take(),
            locked: self.locked,
            ..Self::default()
        };
    }

    /// A new connection: the server forgot who moderates.
    pub(crate) fn socket_closed(&mut self) {
        if self.standing != Standing::Off {
            self.standing = Standing::Off;
        }
    }

    /// The room's state from `welcome`.
    pub(crate) fn welcome(&mut self, topic: Option<String>, locked: bool) {
        self.topic = topic.filter(|topic| !topic.is_empty());
        self.locked = locked;
    }

    /// A `topic` frame (empty: cleared).
    pub(crate) fn set_topic(&mut self, topic: String) {
        self.topic = Some(topic).filter(|topic| !topic.is_empty());
    }

    pub(crate) fn set_locked(&mut self, locked: bool) {
        self.locked = locked;
    }

    pub(crate) fn set_audit(&mut self, entries: Vec<AuditEntry>) {
        self.audit = entries;
    }

    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub(crate) fn is_on(&self) -> bool {
        self.standing == Standing::On
    }
}

/// Moderation for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Moderation {
    state: RwSignal<ModerationState>,
    send: StoredValue<Sender, LocalStorage>,
}

impl Moderation {
    /// The remembered token, if any; frames go out through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            state: RwSignal::new(ModerationState::with_token(storage::get(TOKEN_KEY))),
            send: StoredValue::new_local(send),
        }
    }

    /// Whether the server accepted the token (tracked).
    pub(crate) fn is_on(&self) -> bool {
        self.state.with(ModerationState::is_on)
    }

    /// Whether the token is out and unanswered (tracked).
    pub(crate) fn is_asking(&self) -> bool {
        self.state.with(|s| s.standing == Standing::Asking)
    }

    /// Why the last token was refused (tracked).
    pub(crate) fn refusal(&self) -> Option<TokenRefusal> {
        self.state.with(|s| s.refusal)
    }

    /// The room's topic (tracked).
    pub(crate) fn topic(&self) -> Option<String> {
        self.state.with(|s| s.topic.clone())
    }

    /// Whether the room is read-only (tracked).
    pub(crate) fn locked(&self) -> bool {
        self.state.with(|s| s.locked)
    }

    /// The moderation log (tracked).
    pub(crate) fn audit(&self) -> Vec<AuditEntry> {
        self.state.with(|s| s.audit.clone())
    }

    /// The user typed a token: kept, and presented now.
    pub(crate) fn turn_on(&self, raw: &str) {
        let accepted = self.state.try_update(|s| s.set_token(raw)).unwrap_or(false);
        if accepted {
            if let Some(token) = self.state.with_untracked(|s| s.token().map(str::to_owned)) {
                storage::set(TOKEN_KEY, &token);
            }
            self.present();
        }
    }

    /// The user turned the switch off: the token is forgotten here (the
    /// connection keeps its powers until it closes, which changes nothing
    /// the page shows).
    pub(crate) fn turn_off(&self) {
        storage::remove(TOKEN_KEY);
        self.state.update(ModerationState::turn_off);
    }

    /// Presents the kept token, after each welcome.
    pub(crate) fn present(&self) {
        if let Some(frame) = self.state.try_update(ModerationState::ask).flatten() {
            if !self.send.with_value(|send| send(&frame)) {
                self.state.update(ModerationState::socket_closed);
            }
        }
    }

    /// The server accepted the token: show the log.
    pub(crate) fn accepted(&self) {
        self.state.update(ModerationState::accepted);
        self.refresh_audit();
    }

    /// See [`ModerationState::refused`]; a wrong token is forgotten.
    pub(crate) fn refused(&self, code: ErrorCode, reason: Option<ForbiddenReason>) -> bool {
        let about_token = self
            .state
            .try_update(|s| s.refused(code, reason))
            .unwrap_or(false);
        if about_token {
            storage::remove(TOKEN_KEY);
        }
        about_token
    }

    pub(crate) fn socket_closed(&self) {
        self.state.update(ModerationState::socket_closed);
    }

    pub(crate) fn welcome(&self, topic: Option<String>, locked: bool) {
        self.state.update(|s| s.welcome(topic, locked));
    }

    /// A moderator changed the topic; moderators' logs grow.
    pub(crate) fn topic_changed(&self, topic: String) {
        self.state.update(|s| s.set_topic(topic));
        self.refresh_audit();
    }

    /// A moderator locked or unlocked the room; moderators' logs grow.
    pub(crate) fn lock_changed(&self, locked: bool) {
        self.state.update(|s| s.set_locked(locked));
        self.refresh_audit();
    }

    pub(crate) fn audit_arrived(&self, entries: Vec<AuditEntry>) {
        self.state.update(|s| s.set_audit(entries));
    }

    /// Asks for the newest log entries, if this page moderates.
    pub(crate) fn refresh_audit(&self) {
        if self.state.with_untracked(ModerationState::is_on) {
            self.send_frame(&ClientFrame::Audit { limit: None });
        }
    }

    /// Deletes message `id` for everyone.
    pub(crate) fn delete(&self, id: u64) {
        self.send_frame(&ClientFrame::Delete {
            id,
            client_id: Some(crate::state::outbox::new_client_id()),
        });
    }

    /// Bans `username` for `duration_secs`.
    pub(crate) fn ban(&self, username: String, duration_secs: u64) {
        self.send_frame(&ClientFrame::Ban {
            username,
            duration_secs,
        });
    }

    pub(crate) fn lock(&self, locked: bool) {
        self.send_frame(&ClientFrame::LockRoom { locked });
    }

    pub(crate) fn set_topic(&self, topic: String) {
        self.send_frame(&ClientFrame::SetTopic { topic });
    }

    fn send_frame(&self, frame: &ClientFrame) {
        if self.state.with_untracked(ModerationState::is_on) {
            self.send.with_value(|send| send(frame));
        }
    }
}

/// Moderation from context.
pub(crate) fn use_moderation() -> Moderation {
    expect_context::<Moderation>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "a-moderator-token-0123";

    #[test]
    fn a_token_is_presented_and_on_only_once_accepted() {
        let mut state = ModerationState::default();
        assert_eq!(state.ask(), None, "no token, nothing to present");
        assert!(!state.set_token("too short"));
        assert_eq!(state.refusal, Some(TokenRefusal::Wrong));
        assert!(state.set_token(&format!("  {TOKEN} ")));
        assert_eq!(
            state.ask(),
            Some(ClientFrame::BecomeModerator {
                token: TOKEN.into()
            })
        );
        assert!(!state.is_on());
        state.accepted();
        assert!(state.is_on());
        // A new connection presents it again.
        state.socket_closed();
        assert!(!state.is_on());
        assert!(state.ask().is_some());
    }

    #[test]
    fn a_refused_token_is_forgotten_and_other_errors_are_not_about_it() {
        let mut state = ModerationState::with_token(Some(TOKEN.into()));
        let wrong = Some(ForbiddenReason::ModeratorToken);
        assert!(
            !state.refused(ErrorCode::Forbidden, wrong),
            "nothing asked yet"
        );
        state.ask();
        assert!(!state.refused(ErrorCode::EmptyMessage, None));
        // A post to a locked room while asking is not about the token.
        let locked = Some(ForbiddenReason::RoomLocked);
        assert!(!state.refused(ErrorCode::Forbidden, locked));
        assert!(state.token().is_some());
        assert!(state.refused(ErrorCode::Forbidden, wrong));
        assert_eq!(state.token(), None);
        assert_eq!(state.refusal, Some(TokenRefusal::Wrong));
        let mut slowed = ModerationState::with_token(Some(TOKEN.into()));
        slowed.ask();
        assert!(slowed.refused(ErrorCode::RateLimited, None));
        assert_eq!(slowed.refusal, Some(TokenRefusal::TooManyTries));
        // A stored token that breaks the rule is not even tried.
        assert_eq!(ModerationState::with_token(Some("x".into())).token(), None);
    }

    #[test]
    fn the_room_state_follows_welcome_and_changes() {
        let mut state = ModerationState::default();
        state.welcome(Some("Be kind".into()), true);
        assert_eq!(
            (state.topic.as_deref(), state.locked),
            (Some("Be kind"), true)
        );
        state.set_topic(String::new());
        assert_eq!(state.topic, None);
        state.set_locked(false);
        state.turn_off();
        assert!(!state.locked);
        state.welcome(Some(String::new()), false);
        assert_eq!(state.topic, None);
    }
}

//! This page's session with the server: the name asked for, the name the
//! server confirmed, whether the chat view is up, why a join failed, the
//! resume token that keeps the name through a reload, the automatic
//! re-joins after a reconnect, and the limits the server announced.
//!
//! [`SessionState`] is the plain logic; [`Session`] holds it in a signal
//! for the views and remembers the name and token in localStorage.

use chat_shared::{
    message_length, normalize_message, normalize_username, username_key, ClientLimits, ErrorCode,
    ForbiddenReason, MessageError,
};
use leptos::prelude::*;

use crate::i18n::Problem;
use crate::storage;

/// After a reconnect the server may not have noticed our old socket is
/// gone yet, and answer `name_taken` to our own name; we try again this
/// many times (see [`Session::REJOIN_RETRY`]) before asking for a name.
const REJOIN_ATTEMPTS: u32 = 5;

const NAME_KEY: &str = "chat.name";
/// The invitation code from the last invitation link, sent with every
/// join so reloads and reconnects keep working in an invite-only chat.
const JOIN_CODE_KEY: &str = "chat.join_code";
/// Followed by the name's key: the resume token of that name, so a reload
/// keeps the name through the server's grace period.
const RESUME_KEY_PREFIX: &str = "chat.resume.";

/// What to do about a refused join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The error is not about joining.
    NotAJoin,
    /// Our own name, still held by the socket we lost: ask again soon.
    RetryLater,
    /// The user must choose another name: the form shows why.
    AskForName,
}

/// The session's facts.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SessionState {
    /// The name to join (and re-join after a reconnect) under; `None`
    /// until the user asks to join.
    wanted: Option<String>,
    /// The name the server confirmed on the current socket.
    me: Option<String>,
    /// True once welcomed: the chat view stays up through reconnects.
    entered: bool,
    /// Why the last join failed, shown by the name field.
    join_error: Option<Problem>,
    /// The last `resume` token the server gave, with the name it is for.
    resume: Option<(String, String)>,
    rejoin_attempts: u32,
    /// What the server allows, as its `welcome` said (the shared defaults
    /// for a server that says nothing).
    limits: ClientLimits,
    /// The code of a device link this page was opened with: sent with
    /// the join until it is welcomed or refused (it works once).
    link_code: Option<String>,
}

impl SessionState {
    /// The user asks to join as `raw`: the name by the shared rules, or
    /// why it is refused (kept for the form).
    pub(crate) fn ask(&mut self, raw: &str) -> Result<String, Problem> {
        match normalize_username(raw) {
            Err(error) => {
                let problem = Problem::Name(error);
                self.join_error = Some(problem.clone());
                Err(problem)
            }
            Ok(name) => {
                self.join_error = None;
                self.rejoin_attempts = 0;
                self.wanted = Some(name.clone());
                Ok(name)
            }
        }
    }

    /// Going back in under the name this browser was in the chat as (a
    /// reload, the installed app opened): as [`Self::ask`], and the chat
    /// shows at once, with what this device kept, before the server
    /// answers (it may not, offline); a refusal goes back to the form.
    pub(crate) fn go_back_in(&mut self, name: &str) -> Result<String, Problem> {
        let name = self.ask(name)?;
        self.entered = true;
        Ok(name)
    }

    /// The user edits the name: the old error goes, and a join still
    /// waiting for the connection is called off.
    pub(crate) fn edit_name(&mut self) {
        self.join_error = None;
        if self.is_joining() {
            self.wanted = None;
        }
    }

    /// A device link asks to join as `name` with `code`: the join carries
    /// it until answered.
    pub(crate) fn link(&mut self, name: &str, code: String) -> Result<String, Problem> {
        let name = self.ask(name)?;
        self.link_code = Some(code);
        Ok(name)
    }

    /// The link code to send with the join, if a link gave one.
    pub(crate) fn link_code(&self) -> Option<&str> {
        self.link_code.as_deref()
    }

    /// The server closed this device's connection for good: the device
    /// was removed from `name`. Back to the form, saying so; nothing is
    /// re-joined.
    pub(crate) fn revoked(&mut self) -> Option<String> {
        let name = self.me.take().or_else(|| self.wanted.clone())?;
        self.wanted = None;
        self.entered = false;
        self.resume = None;
        self.link_code = None;
        self.join_error = Some(Problem::Revoked(name.clone()));
        Some(name)
    }

    /// The server welcomed us as `username`, with a resume token and
    /// maybe its limits.
    pub(crate) fn welcomed(&mut self, username: String, resume: String, limits: ClientLimits) {
        self.link_code = None;
        self.resume = Some((username.clone(), resume));
        self.rejoin_attempts = 0;
        self.join_error = None;
        self.wanted = Some(username.clone());
        self.me = Some(username);
        self.entered = true;
        self.limits = limits;
    }

    /// The server refused a request with `code` while we were not joined
    /// on this socket: decides what that means for the join.
    pub(crate) fn refused(&mut self, code: ErrorCode, problem: Problem) -> Refusal {
        // `forbidden` is shown by the name field too: the join cannot go
        // on until the user opens an invitation link; `banned` until the
        // ban ends.
        let about_the_name = match code {
            ErrorCode::NameTaken
            | ErrorCode::NameHeld
            | ErrorCode::InvalidUsername
            | ErrorCode::Banned => true,
            // An older server names no reason: it meant the join code.
            ErrorCode::Forbidden => matches!(
                problem.forbidden_reason(),
                None | Some(ForbiddenReason::JoinCode)
            ),
            _ => false,
        };
        if !about_the_name || self.me.is_some() {
            return Refusal::NotAJoin;
        }
        if self.entered && code == ErrorCode::NameTaken && self.rejoin_attempts < REJOIN_ATTEMPTS {
            self.rejoin_attempts += 1;
            return Refusal::RetryLater;
        }
        self.wanted = None;
        self.entered = false;
        self.link_code = None;
        self.join_error = Some(problem);
        Refusal::AskForName
    }

    /// The socket is gone, and with it the server's welcome.
    pub(crate) fn socket_closed(&mut self) {
        self.me = None;
    }

    /// Leaving on purpose: returns the name whose session is over.
    pub(crate) fn leave(&mut self) -> Option<String> {
        self.resume = None;
        self.me = None;
        self.entered = false;
        self.wanted.take()
    }

    /// The name to (re-)join under, if the user asked to be in the chat.
    pub(crate) fn wanted(&self) -> Option<&str> {
        self.wanted.as_deref()
    }

    /// The name the server confirmed on this socket.
    pub(crate) fn me(&self) -> Option<&str> {
        self.me.as_deref()
    }

    /// The name my messages go out under: the confirmed one, or the one
    /// asked for while the connection is down.
    pub(crate) fn author(&self) -> Option<&str> {
        self.me().or(self.wanted())
    }

    /// A message to send: its text by the shared rules and the server's
    /// announced length limit, and the name key of its author (the
    /// confirmed name, or the one asked for while the connection is down).
    pub(crate) fn message(&self, raw: &str) -> Result<(String, String), Problem> {
        let text = normalize_message(raw).map_err(Problem::Message)?;
        if message_length(text) > self.limits.max_message_chars as usize {
            return Err(Problem::Message(MessageError::TooLong));
        }
        let author = self.author().ok_or(Problem::ConnectionLost)?;
        Ok((text.to_owned(), username_key(author)))
    }

    /// Whether a join was asked for and has no answer yet.
    pub(crate) fn is_joining(&self) -> bool {
        self.wanted.is_some() && self.me.is_none()
    }

    /// Whether `name` is me: names differing only in case (or Unicode
    /// spelling) are one name to the server.
    pub(crate) fn is_mine(&self, name: &str) -> bool {
        self.me
            .as_deref()
            .is_some_and(|me| username_key(me) == username_key(name))
    }

    /// The resume token this page holds for `name`.
    pub(crate) fn resume_for(&self, name: &str) -> Option<&str> {
        self.resume
            .as_ref()
            .filter(|(for_name, _)| username_key(for_name) == username_key(name))
            .map(|(_, token)| token.as_str())
    }
}

/// Where the resume token for `name` is stored.
pub(crate) fn resume_key(name: &str) -> String {
    format!("{RESUME_KEY_PREFIX}{}", username_key(name))
}

/// The session for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Session {
    state: RwSignal<SessionState>,
}

impl Session {
    /// How long to wait before asking again for our own name (see
    /// [`Refusal::RetryLater`]).
    pub(crate) const REJOIN_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

    /// Not joined.
    pub(crate) fn new() -> Self {
        Self {
            state: RwSignal::new(SessionState::default()),
        }
    }

    /// Keeps the code of an invitation link the page was opened with, in
    /// place of any older one: the newest link is the one in force.
    pub(crate) fn adopt_invitation() {
        if let Some(code) = crate::route::take_join_code() {
            storage::set(JOIN_CODE_KEY, &code);
        }
    }

    /// Keeps the code of every invitation link opened in this page while
    /// it is open (which only changes the hash), for the life of the page.
    pub(crate) fn follow_invitations() {
        let invitations = window_event_listener(leptos::ev::hashchange, |_| {
            Self::adopt_invitation();
        });
        std::mem::forget(invitations);
    }

    /// The invitation code to send with a join, if a link gave one.
    pub(crate) fn join_code() -> Option<String> {
        storage::get(JOIN_CODE_KEY)
    }

    /// The name remembered from the last visit.
    pub(crate) fn remembered_name() -> Option<String> {
        storage::get(NAME_KEY)
    }

    /// Whether this browser holds a live session for `name` (it was in the
    /// chat and did not leave), so a reload goes straight back in.
    pub(crate) fn was_in_chat(name: &str) -> bool {
        storage::get(&resume_key(name)).is_some()
    }

    /// Whether joined on the current socket (tracked).
    pub(crate) fn is_joined(&self) -> bool {
        self.state.with(|s| s.me.is_some())
    }

    /// My name (tracked): the confirmed one, or the one being re-joined
    /// while the connection is down, so what shows it does not blink.
    pub(crate) fn name(&self) -> Option<String> {
        self.state.with(|s| s.author().map(str::to_owned))
    }

    /// Whether the chat view is up (tracked).
    pub(crate) fn entered(&self) -> bool {
        self.state.with(|s| s.entered)
    }

    /// Why the last join failed (tracked).
    pub(crate) fn join_error(&self) -> Option<Problem> {
        self.state.with(|s| s.join_error.clone())
    }

    /// Whether a join waits for its answer (tracked).
    pub(crate) fn is_joining(&self) -> bool {
        self.state.with(SessionState::is_joining)
    }

    /// Whether `name` is me (tracked).
    pub(crate) fn is_mine(&self, name: &str) -> bool {
        self.state.with(|s| s.is_mine(name))
    }

    /// The limits the server announced (tracked).
    pub(crate) fn limits(&self) -> ClientLimits {
        self.state.with(|s| s.limits.clone())
    }

    /// The name the form starts with: the one being joined, else the one
    /// remembered.
    pub(crate) fn name_for_form(&self) -> String {
        self.state
            .with_untracked(|s| s.wanted.clone())
            .or_else(Self::remembered_name)
            .unwrap_or_default()
    }

    /// Reads the state without tracking, for the chat's decisions.
    pub(crate) fn with_untracked<R>(&self, f: impl FnOnce(&SessionState) -> R) -> R {
        self.state.with_untracked(f)
    }

    /// See [`SessionState::ask`].
    pub(crate) fn ask(&self, raw: &str) -> Result<String, Problem> {
        self.state
            .try_update(|s| s.ask(raw))
            .unwrap_or(Err(Problem::ConnectionLost))
    }

    /// See [`SessionState::go_back_in`].
    pub(crate) fn go_back_in(&self, name: &str) -> Result<String, Problem> {
        self.state
            .try_update(|s| s.go_back_in(name))
            .unwrap_or(Err(Problem::ConnectionLost))
    }

    /// See [`SessionState::edit_name`].
    pub(crate) fn edit_name(&self) {
        if self
            .state
            .with_untracked(|s| s.join_error.is_some() || s.is_joining())
        {
            self.state.update(SessionState::edit_name);
        }
    }

    /// See [`SessionState::link`].
    pub(crate) fn link(&self, name: &str, code: String) -> Result<String, Problem> {
        self.state
            .try_update(|s| s.link(name, code))
            .unwrap_or(Err(Problem::ConnectionLost))
    }

    /// See [`SessionState::link_code`].
    pub(crate) fn link_code(&self) -> Option<String> {
        self.state
            .with_untracked(|s| s.link_code().map(str::to_owned))
    }

    /// See [`SessionState::revoked`]; this browser forgets the name's
    /// session too, so a reload shows the form.
    pub(crate) fn revoked(&self) {
        if let Some(name) = self.state.try_update(SessionState::revoked).flatten() {
            storage::remove(&resume_key(&name));
        }
    }

    /// Welcomed: remembers the name and its resume token for a reload.
    pub(crate) fn welcomed(&self, username: String, resume: String, limits: ClientLimits) {
        storage::set(NAME_KEY, &username);
        storage::set(&resume_key(&username), &resume);
        self.state.update(|s| s.welcomed(username, resume, limits));
    }

    /// See [`SessionState::refused`].
    pub(crate) fn refused(&self, code: ErrorCode, problem: Problem) -> Refusal {
        let mut refusal = Refusal::NotAJoin;
        // Most errors are not about the join: they change nothing here.
        self.state.maybe_update(|s| {
            refusal = s.refused(code, problem);
            refusal != Refusal::NotAJoin
        });
        refusal
    }

    /// See [`SessionState::socket_closed`].
    pub(crate) fn socket_closed(&self) {
        if self.state.with_untracked(|s| s.me.is_some()) {
            self.state.update(SessionState::socket_closed);
        }
    }

    /// Leaves on purpose: this browser forgets the name's session, so a
    /// reload shows the name form.
    pub(crate) fn leave(&self) {
        if let Some(name) = self.state.try_update(SessionState::leave).flatten() {
            storage::remove(&resume_key(&name));
        }
    }

    /// The resume token for `name`: the one the server gave this page,
    /// else one a previous visit kept.
    pub(crate) fn resume_for(&self, name: &str) -> Option<String> {
        self.state
            .with_untracked(|s| s.resume_for(name).map(str::to_owned))
            .or_else(|| storage::get(&resume_key(name)))
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// The session from context.
pub(crate) fn use_session() -> Session {
    expect_context::<Session>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken() -> Problem {
        Problem::server(ErrorCode::NameTaken, None, "taken".into())
    }

    #[test]
    fn a_join_asks_with_the_canonical_name_and_is_welcomed() {
        let mut state = SessionState::default();
        assert!(matches!(state.ask("   "), Err(Problem::Name(_))));
        assert!(state.join_error.is_some());
        assert_eq!(state.ask("  Alice ").as_deref(), Ok("Alice"));
        assert!(state.join_error.is_none());
        assert!(state.is_joining());
        assert_eq!(state.author(), Some("Alice"));
        state.welcomed("Alice".into(), "t0k3n".into(), ClientLimits::default());
        assert!(!state.is_joining());
        assert!(state.entered);
        assert_eq!(state.limits, ClientLimits::default());
        assert!(state.is_mine("alice"));
        assert!(!state.is_mine("bob"));
        assert_eq!(state.resume_for("ALICE"), Some("t0k3n"));
        assert_eq!(state.resume_for("bob"), None);
    }

    #[test]
    fn going_back_in_shows_the_chat_before_the_welcome_and_a_refusal_the_form() {
        let mut state = SessionState::default();
        assert_eq!(state.go_back_in("Alice").as_deref(), Ok("Alice"));
        assert!(state.entered);
        assert!(state.is_joining());
        let problem = Problem::server(ErrorCode::NameHeld, None, String::new());
        assert_eq!(
            state.refused(ErrorCode::NameHeld, problem),
            Refusal::AskForName
        );
        assert!(!state.entered);
        assert!(state.wanted().is_none());
    }

    #[test]
    fn the_announced_limits_replace_the_defaults() {
        let mut state = SessionState::default();
        let limits = ClientLimits {
            history_page: 20,
            ..ClientLimits::default()
        };
        state.welcomed("a".into(), "t".into(), limits.clone());
        assert_eq!(state.limits, limits);
    }

    #[test]
    fn our_own_name_after_a_reconnect_is_asked_for_again_a_few_times() {
        let mut state = SessionState::default();
        state.ask("alice").expect("a valid name");
        state.welcomed("alice".into(), "t".into(), ClientLimits::default());
        state.socket_closed();
        assert_eq!(state.wanted(), Some("alice"));
        for _ in 0..REJOIN_ATTEMPTS {
            assert_eq!(
                state.refused(ErrorCode::NameTaken, taken()),
                Refusal::RetryLater
            );
        }
        assert_eq!(
            state.refused(ErrorCode::NameTaken, taken()),
            Refusal::AskForName
        );
        assert!(!state.entered);
        assert_eq!(state.wanted(), None);
        assert_eq!(state.join_error, Some(taken()));
    }

    #[test]
    fn a_taken_name_on_the_form_is_shown_at_once() {
        let mut state = SessionState::default();
        state.ask("bob").expect("a valid name");
        assert_eq!(
            state.refused(ErrorCode::NameTaken, taken()),
            Refusal::AskForName
        );
        assert_eq!(
            state.refused(ErrorCode::RateLimited, taken()),
            Refusal::NotAJoin
        );
    }

    #[test]
    fn an_invite_only_refusal_goes_back_to_the_form_with_its_reason() {
        let forbidden = Problem::server(
            ErrorCode::Forbidden,
            Some(ForbiddenReason::JoinCode),
            "invite-only".into(),
        );
        let mut state = SessionState::default();
        state.ask("bob").expect("a valid name");
        assert_eq!(
            state.refused(ErrorCode::Forbidden, forbidden.clone()),
            Refusal::AskForName
        );
        assert_eq!(state.wanted(), None);
        assert_eq!(state.join_error, Some(forbidden.clone()));
        // Inside already, a rotation's refusal of a rejoin also lands on
        // the form: retrying the same code cannot help.
        state.ask("bob").expect("a valid name");
        state.welcomed("bob".into(), "t".into(), ClientLimits::default());
        state.socket_closed();
        assert_eq!(
            state.refused(ErrorCode::Forbidden, forbidden),
            Refusal::AskForName
        );
        assert!(!state.entered);
    }

    #[test]
    fn errors_while_joined_are_not_about_the_join() {
        let mut state = SessionState::default();
        state.ask("bob").expect("a valid name");
        state.welcomed("bob".into(), "t".into(), ClientLimits::default());
        assert_eq!(
            state.refused(ErrorCode::NameTaken, taken()),
            Refusal::NotAJoin
        );
        assert!(state.entered);
    }

    #[test]
    fn editing_the_name_calls_off_a_waiting_join_and_leaving_forgets_it() {
        let mut state = SessionState::default();
        state.ask("bob").expect("a valid name");
        state.edit_name();
        assert_eq!(state.wanted(), None);
        state.ask("bob").expect("a valid name");
        state.welcomed("bob".into(), "t".into(), ClientLimits::default());
        state.edit_name();
        assert_eq!(state.wanted(), Some("bob"), "joined: nothing to call off");
        assert_eq!(state.leave().as_deref(), Some("bob"));
        assert!(!state.entered);
        assert_eq!(state.me(), None);
        assert_eq!(state.resume_for("bob"), None);
    }

    #[test]
    fn a_message_keeps_to_the_announced_length_and_needs_a_name() {
        let mut state = SessionState::default();
        assert_eq!(state.message("hi"), Err(Problem::ConnectionLost));
        state.ask("Alice").expect("a valid name");
        assert_eq!(
            state.message("  hi  "),
            Ok(("hi".to_owned(), "alice".to_owned()))
        );
        let limits = ClientLimits {
            max_message_chars: 3,
            ..ClientLimits::default()
        };
        state.welcomed("Alice".into(), "t".into(), limits);
        assert_eq!(
            state.message("four"),
            Err(Problem::Message(MessageError::TooLong))
        );
        assert_eq!(
            state.message(" "),
            Err(Problem::Message(MessageError::Empty))
        );
    }

    #[test]
    fn a_device_link_sends_its_code_until_answered() {
        let mut state = SessionState::default();
        let code = "0f".repeat(16);
        assert_eq!(state.link(" alice ", code.clone()).as_deref(), Ok("alice"));
        assert_eq!(state.link_code(), Some(code.as_str()));
        state.welcomed("alice".into(), "t".into(), ClientLimits::default());
        assert_eq!(state.link_code(), None, "used up");
        let mut refused = SessionState::default();
        refused.link("alice", code).expect("a valid name");
        let held = Problem::server(ErrorCode::NameHeld, None, "held".into());
        assert_eq!(
            refused.refused(ErrorCode::NameHeld, held.clone()),
            Refusal::AskForName
        );
        assert_eq!(refused.link_code(), None);
        assert_eq!(refused.join_error, Some(held));
    }

    #[test]
    fn a_revoked_device_goes_back_to_the_form_and_says_why() {
        let mut state = SessionState::default();
        state.ask("alice").expect("a valid name");
        state.welcomed("alice".into(), "t".into(), ClientLimits::default());
        assert_eq!(state.revoked().as_deref(), Some("alice"));
        assert!(!state.entered);
        assert_eq!(state.wanted(), None, "nothing re-joins");
        assert_eq!(state.resume_for("alice"), None);
        assert_eq!(state.join_error, Some(Problem::Revoked("alice".into())));
        assert_eq!(state.revoked(), None, "once");
    }

    #[test]
    fn the_resume_key_is_the_names_key() {
        assert_eq!(resume_key("Alice"), resume_key("alice"));
        assert_eq!(resume_key("ÉMILE"), resume_key("e\u{301}mile"));
    }
}

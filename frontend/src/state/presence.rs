//! Who is online in this room and who is typing, and my own typing
//! notices.
//!
//! The server sends the whole list in `welcome` and then `user_joined` /
//! `user_left` for a name's first and last connection only (a second tab,
//! or a resume within the grace period, is no news to the others), so the
//! list holds each name once, by its key, in the server's order.

use chat_shared::{username_key, ClientFrame};
use leptos::prelude::*;

use super::Sender;
use crate::time::now_ms;
use crate::typing::{OutgoingTyping, Typists};

/// Everyone online, each name once, sorted by name key as the server
/// sorts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresenceState {
    users: Vec<(String, String)>,
}

impl PresenceState {
    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|(_, name)| name.as_str())
    }

    /// How many are online.
    pub fn count(&self) -> usize {
        self.users.len()
    }

    /// The list from `welcome`.
    pub fn welcome(&mut self, users: Vec<String>) {
        self.users.clear();
        for name in users {
            self.joined(name);
        }
    }

    /// Someone came; returns whether they were not listed yet.
    pub fn joined(&mut self, name: String) -> bool {
        let key = username_key(&name);
        match self.users.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(_) => false,
            Err(at) => {
                self.users.insert(at, (key, name));
                true
            }
        }
    }

    /// Someone went; returns whether they were listed.
    pub fn left(&mut self, name: &str) -> bool {
        let key = username_key(name);
        let before = self.users.len();
        self.users.retain(|(k, _)| *k != key);
        self.users.len() != before
    }

    /// Nobody is known to be online (the socket closed).
    pub fn clear(&mut self) {
        self.users.clear();
    }
}

/// Presence for the views and the chat.
#[derive(Clone, Copy)]
pub struct Presence {
    users: RwSignal<PresenceState>,
    typists: Typists,
    typing: StoredValue<OutgoingTyping, LocalStorage>,
    send: StoredValue<Sender, LocalStorage>,
}

impl Presence {
    /// Nobody online; typing notices go out through `send`.
    pub fn new(send: Sender) -> Self {
        Self {
            users: RwSignal::new(PresenceState::default()),
            typists: Typists::new(),
            typing: StoredValue::new_local(OutgoingTyping::default()),
            send: StoredValue::new_local(send),
        }
    }

    /// Everyone online, in order (tracked).
    pub fn users(&self) -> Vec<String> {
        self.users.with(|s| s.names().map(str::to_owned).collect())
    }

    /// How many are online (tracked).
    pub fn count(&self) -> usize {
        self.users.with(PresenceState::count)
    }

    /// Who else is typing, in the order they started (tracked).
    pub fn typists(&self) -> Vec<String> {
        self.typists.names()
    }

    /// The list from `welcome`.
    pub fn welcome(&self, users: Vec<String>) {
        self.users.update(|s| s.welcome(users));
    }

    /// `user_joined`; returns whether the name is new here.
    pub fn joined(&self, name: String) -> bool {
        self.users.try_update(|s| s.joined(name)).unwrap_or(false)
    }

    /// `user_left`: they are gone, and so is their typing; returns
    /// whether they were listed.
    pub fn left(&self, name: &str) -> bool {
        self.typists.stopped(name);
        self.users.try_update(|s| s.left(name)).unwrap_or(false)
    }

    /// `typing` from someone else.
    pub fn typing(&self, name: String, is_typing: bool) {
        if is_typing {
            self.typists.started(name);
        } else {
            self.typists.stopped(&name);
        }
    }

    /// Someone's message arrived: they are done typing it.
    pub fn spoke(&self, name: &str) {
        self.typists.stopped(name);
    }

    /// The socket closed: the server forgets us and we forget everyone.
    pub fn socket_closed(&self) {
        self.users.update(PresenceState::clear);
        self.typists.clear();
        self.typing.update_value(OutgoingTyping::reset);
    }

    /// The user typed in the composer: tell the others, at most as often
    /// as the typing rules say.
    pub fn typed(&self) {
        let send = self.send.get_value();
        let this = *self;
        self.typing.update_value(|typing| {
            typing.keystroke(
                now_ms(),
                |is_typing| send(&ClientFrame::Typing { is_typing }),
                move || this.stop_typing(),
            )
        });
    }

    /// The user sent, or left the composer: tell the others at once.
    pub fn stop_typing(&self) {
        let send = self.send.get_value();
        self.typing.update_value(|typing| {
            typing.stop(|is_typing| send(&ClientFrame::Typing { is_typing }))
        });
    }
}

/// Presence from context.
pub fn use_presence() -> Presence {
    expect_context::<Presence>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(state: &PresenceState) -> Vec<&str> {
        state.names().collect()
    }

    #[test]
    fn the_welcome_list_is_sorted_by_name_key_and_holds_each_name_once() {
        let mut state = PresenceState::default();
        state.welcome(vec![
            "bob".into(),
            "Alice".into(),
            "alice".into(),
            "carol".into(),
        ]);
        assert_eq!(names(&state), ["Alice", "bob", "carol"]);
        assert_eq!(state.count(), 3);
    }

    #[test]
    fn joins_and_leaves_count_each_name_once() {
        let mut state = PresenceState::default();
        state.welcome(vec!["alice".into()]);
        assert!(state.joined("Bob".into()));
        // A second tab of Bob, as an older server might announce it.
        assert!(!state.joined("bob".into()));
        assert_eq!(state.count(), 2);
        assert!(state.left("BOB"));
        assert!(!state.left("bob"));
        assert_eq!(names(&state), ["alice"]);
    }

    #[test]
    fn a_resume_replaces_the_list_and_a_closed_socket_empties_it() {
        let mut state = PresenceState::default();
        state.welcome(vec!["alice".into(), "bob".into()]);
        state.clear();
        assert_eq!(state.count(), 0);
        // Back within the grace period: the server's list is the truth,
        // whatever joined or left meanwhile.
        state.welcome(vec!["alice".into(), "carol".into()]);
        assert_eq!(names(&state), ["alice", "carol"]);
        assert!(state.joined("dave".into()));
        assert_eq!(state.count(), 3);
    }
}

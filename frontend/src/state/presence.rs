//! Who is online in this room and who is typing, and my own typing
//! notices.
//!
//! The server sends the whole list in `welcome` and then `user_joined` /
//! `user_left` for a name's first and last connection only (a second tab,
//! or a resume within the grace period, is no news to the others), so the
//! list holds each name once, by its key, in the server's order.
//!
//! A large room (more than [`chat_shared::PRESENCE_LIST_LIMIT`]) is
//! different: `welcome` lists only the first names and says how many are
//! there, arrivals and departures come as a count (`online`), and the rest
//! of the names are fetched a page at a time (`users`) when someone opens
//! the list and asks for more.
//!
//! While the connection is down the list is the last one known, marked
//! stale (and shown dimmed), never "0 online": the next `welcome` brings
//! the truth.

use chat_shared::{username_key, ClientFrame, MAX_USERS_PAGE};
use leptos::prelude::*;

use super::Sender;
use crate::time::now_ms;
use crate::typing::{OutgoingTyping, Typists};

/// Everyone online, each name once, sorted by name key as the server
/// sorts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PresenceState {
    users: Vec<(String, String)>,
    /// The server's count, when the list holds only part of the room.
    online: Option<usize>,
    /// Where the next page of names starts, once a page said so.
    next_page: Option<String>,
    /// A page was asked for and has not come yet.
    paging: bool,
    /// The socket that told us closed: this is the last known list, kept
    /// until the next `welcome`.
    stale: bool,
}

impl PresenceState {
    /// The names, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|(_, name)| name.as_str())
    }

    /// How many are online.
    pub(crate) fn count(&self) -> usize {
        self.online
            .unwrap_or(self.users.len())
            .max(self.users.len())
    }

    /// How many are online but not listed here (a large room).
    pub(crate) fn unlisted(&self) -> usize {
        self.count() - self.users.len()
    }

    /// Whether this is only the last known list (no connection now).
    pub(crate) fn is_stale(&self) -> bool {
        self.stale
    }

    /// The list from `welcome`, and the room's count when the list is
    /// only part of it.
    pub(crate) fn welcome(&mut self, users: Vec<String>, online: Option<u32>) {
        self.users.clear();
        for name in users {
            self.joined(name);
        }
        self.online = online.map(|count| count as usize);
        self.next_page = None;
        self.paging = false;
        self.stale = false;
    }

    /// `online`: how many are in a large room now.
    pub(crate) fn counted(&mut self, count: u32) {
        self.online = Some(count as usize);
    }

    /// `users`: a page asked for joins the list; an unasked whole list
    /// (the room became small again) replaces it.
    pub(crate) fn listed(&mut self, users: Vec<String>, online: u32, next: Option<String>) {
        if std::mem::take(&mut self.paging) {
            for name in users {
                self.joined(name);
            }
            self.online = Some(online as usize);
            self.next_page = next;
        } else {
            self.welcome(users, None);
        }
    }

    /// The request for the next page of names, if more are unlisted and
    /// none is on its way.
    pub(crate) fn next_page_request(&mut self) -> Option<ClientFrame> {
        if self.paging || self.unlisted() == 0 {
            return None;
        }
        self.paging = true;
        Some(ClientFrame::Users {
            after: self.next_page.clone(),
            limit: Some(MAX_USERS_PAGE as u32),
        })
    }

    /// Someone came; returns whether they were not listed yet.
    pub(crate) fn joined(&mut self, name: String) -> bool {
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
    pub(crate) fn left(&mut self, name: &str) -> bool {
        let key = username_key(name);
        let before = self.users.len();
        self.users.retain(|(k, _)| *k != key);
        self.users.len() != before
    }

    /// The socket closed: the list stays as last known, marked stale; a
    /// page asked for will not come.
    pub(crate) fn went_stale(&mut self) {
        self.stale = true;
        self.paging = false;
    }

    /// Nobody is known to be online (another room, or left).
    pub(crate) fn clear(&mut self) {
        self.welcome(Vec::new(), None);
    }
}

/// Presence for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Presence {
    users: RwSignal<PresenceState>,
    typists: Typists,
    typing: StoredValue<OutgoingTyping, LocalStorage>,
    send: StoredValue<Sender, LocalStorage>,
}

impl Presence {
    /// Nobody online; typing notices go out through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            users: RwSignal::new(PresenceState::default()),
            typists: Typists::new(),
            typing: StoredValue::new_local(OutgoingTyping::default()),
            send: StoredValue::new_local(send),
        }
    }

    /// Everyone online, in order (tracked).
    pub(crate) fn users(&self) -> Vec<String> {
        self.users.with(|s| s.names().map(str::to_owned).collect())
    }

    /// How many are online (tracked).
    pub(crate) fn count(&self) -> usize {
        self.users.with(PresenceState::count)
    }

    /// Who else is typing, in the order they started (tracked).
    pub(crate) fn typists(&self) -> Vec<String> {
        self.typists.names()
    }

    /// How many are online but not listed (tracked).
    pub(crate) fn unlisted(&self) -> usize {
        self.users.with(PresenceState::unlisted)
    }

    /// Whether the list is only the last known one (tracked).
    pub(crate) fn is_stale(&self) -> bool {
        self.users.with(PresenceState::is_stale)
    }

    /// The list from `welcome`.
    pub(crate) fn welcome(&self, users: Vec<String>, online: Option<u32>) {
        self.users.update(|s| s.welcome(users, online));
    }

    /// `online`: a large room's count.
    pub(crate) fn counted(&self, count: u32) {
        self.users.update(|s| s.counted(count));
    }

    /// `users`: a page of names, or the whole list again.
    pub(crate) fn listed(&self, users: Vec<String>, online: u32, next: Option<String>) {
        self.users.update(|s| s.listed(users, online, next));
    }

    /// Asks for the next page of names of a large room.
    pub(crate) fn show_more(&self) {
        if let Some(request) = self
            .users
            .try_update(PresenceState::next_page_request)
            .flatten()
        {
            (self.send.get_value())(&request);
        }
    }

    /// `user_joined`; returns whether the name is new here.
    pub(crate) fn joined(&self, name: String) -> bool {
        self.users.try_update(|s| s.joined(name)).unwrap_or(false)
    }

    /// `user_left`: they are gone, and so is their typing; returns
    /// whether they were listed.
    pub(crate) fn left(&self, name: &str) -> bool {
        self.typists.stopped(name);
        self.users.try_update(|s| s.left(name)).unwrap_or(false)
    }

    /// `typing` from someone else.
    pub(crate) fn typing(&self, name: String, is_typing: bool) {
        if is_typing {
            self.typists.started(name);
        } else {
            self.typists.stopped(&name);
        }
    }

    /// Someone's message arrived: they are done typing it.
    pub(crate) fn spoke(&self, name: &str) {
        self.typists.stopped(name);
    }

    /// The socket closed: who is online is only the last known list until
    /// the next `welcome`; who is typing and my typing notice are over.
    pub(crate) fn socket_closed(&self) {
        self.users.update(PresenceState::went_stale);
        self.typists.clear();
        self.typing.update_value(OutgoingTyping::reset);
    }

    /// Another room, or out of the chat: nobody known here any more.
    pub(crate) fn forget(&self) {
        self.users.update(PresenceState::clear);
    }

    /// The user typed in the composer: tell the others, at most as often
    /// as the typing rules say.
    pub(crate) fn typed(&self) {
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
    pub(crate) fn stop_typing(&self) {
        let send = self.send.get_value();
        self.typing.update_value(|typing| {
            typing.stop(|is_typing| send(&ClientFrame::Typing { is_typing }))
        });
    }
}

/// Presence from context.
pub(crate) fn use_presence() -> Presence {
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
        state.welcome(
            vec!["bob".into(), "Alice".into(), "alice".into(), "carol".into()],
            None,
        );
        assert_eq!(names(&state), ["Alice", "bob", "carol"]);
        assert_eq!(state.count(), 3);
    }

    #[test]
    fn joins_and_leaves_count_each_name_once() {
        let mut state = PresenceState::default();
        state.welcome(vec!["alice".into()], None);
        assert!(state.joined("Bob".into()));
        // A second tab of Bob, as an older server might announce it.
        assert!(!state.joined("bob".into()));
        assert_eq!(state.count(), 2);
        assert!(state.left("BOB"));
        assert!(!state.left("bob"));
        assert_eq!(names(&state), ["alice"]);
    }

    #[test]
    fn a_closed_socket_keeps_the_last_known_list_marked_stale_until_welcome() {
        let mut state = PresenceState::default();
        state.welcome(vec!["alice".into(), "me".into()], None);
        assert!(!state.is_stale());
        state.went_stale();
        // Never "0 online": the last known people, myself included.
        assert!(state.is_stale());
        assert_eq!(names(&state), ["alice", "me"]);
        assert_eq!(state.count(), 2);
        state.welcome(vec!["bob".into(), "me".into()], None);
        assert!(!state.is_stale());
        assert_eq!(names(&state), ["bob", "me"]);
        // Another room: nobody known.
        state.went_stale();
        state.clear();
        assert!(!state.is_stale());
        assert_eq!(state.count(), 0);
    }

    #[test]
    fn a_resume_replaces_the_list_and_clearing_empties_it() {
        let mut state = PresenceState::default();
        state.welcome(vec!["alice".into(), "bob".into()], None);
        state.clear();
        assert_eq!(state.count(), 0);
        // Back within the grace period: the server's list is the truth,
        // whatever joined or left meanwhile.
        state.welcome(vec!["alice".into(), "carol".into()], None);
        assert_eq!(names(&state), ["alice", "carol"]);
        assert!(state.joined("dave".into()));
        assert_eq!(state.count(), 3);
    }

    #[test]
    fn a_large_room_counts_pages_in_more_names_and_is_replaced_when_small_again() {
        let mut state = PresenceState::default();
        state.welcome(vec!["ann".into(), "me".into()], Some(500));
        assert_eq!((state.count(), state.unlisted()), (500, 498));
        state.counted(501);
        assert_eq!(state.count(), 501);
        let Some(ClientFrame::Users { after: None, .. }) = state.next_page_request() else {
            panic!("the first page starts at the beginning");
        };
        // One page at a time.
        assert_eq!(state.next_page_request(), None);
        state.listed(vec!["ann".into(), "bob".into()], 501, Some("bob".into()));
        assert_eq!(names(&state), ["ann", "bob", "me"]);
        let Some(ClientFrame::Users { after, .. }) = state.next_page_request() else {
            panic!("a second page");
        };
        assert_eq!(after.as_deref(), Some("bob"));
        state.listed(vec!["cy".into()], 501, None);
        assert_eq!(names(&state), ["ann", "bob", "cy", "me"]);
        // Unasked: the room is small again, and this is everyone.
        state.listed(vec!["bob".into(), "me".into()], 2, None);
        assert_eq!(names(&state), ["bob", "me"]);
        assert_eq!((state.count(), state.unlisted()), (2, 0));
        assert_eq!(state.next_page_request(), None);
    }
}

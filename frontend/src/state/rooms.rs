//! The room this page is in, named by the address bar, the list of
//! rooms with how many are online in each (my rooms first), my direct
//! messages, and a dot on each room with news (`activity`).

use chat_shared::{is_dm_room, username_key, ClientFrame, RoomInfo};
use leptos::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::Sender;
use crate::route;

/// The room list is refreshed this often while connected and visible
/// (and each time the list comes into view): every open page asks, so
/// this is what it costs the server.
const ROOMS_REFRESH: Duration = Duration::from_secs(10);

/// One room of the rooms section.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RoomRow {
    pub(crate) name: String,
    /// How many are online there (the live count for the current room).
    pub(crate) online: u32,
    /// One of my rooms (`mine`): listed first, and it can be left.
    pub(crate) mine: bool,
}

/// One direct-message room of the "Direct messages" section.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct DmRow {
    /// The room's name (`dm-…`), for its link.
    pub(crate) room: String,
    /// The other members, as the list names it.
    pub(crate) others: Vec<String>,
}

/// What the side panel knows about rooms beyond the current one: the
/// server's list, the DMs opened since, and which rooms have news.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RoomsState {
    /// Every room and DM, as the server last listed them (with the DMs
    /// opened since added).
    listed: Vec<RoomInfo>,
    /// Rooms with a message I have not seen: their dot.
    unseen: BTreeSet<String>,
    /// The newest message id `activity` named per room, so the DM with
    /// the latest news comes first.
    latest: HashMap<String, u64>,
    /// DMs opened here that the server's list has not shown yet: a list
    /// asked for before them must not drop them.
    opened: BTreeSet<String>,
}

impl RoomsState {
    /// The server's list arrived. DMs opened since the request went are
    /// kept: the list may have been made before them.
    pub(crate) fn listed(&mut self, rooms: Vec<RoomInfo>) {
        self.opened
            .retain(|room| !rooms.iter().any(|r| &r.name == room));
        let opened: Vec<RoomInfo> = self
            .listed
            .drain(..)
            .filter(|old| self.opened.contains(&old.name))
            .collect();
        self.listed = rooms;
        self.listed.extend(opened);
    }

    /// The rooms section: rooms (not DMs), mine first, each group by
    /// name, and the current room even before the server lists it, its
    /// count the live one (`here`).
    pub(crate) fn rooms(&self, current: &str, here: u32) -> Vec<RoomRow> {
        let mut rows: Vec<RoomRow> = self
            .listed
            .iter()
            .filter(|room| room.with.is_empty() && !is_dm_room(&room.name))
            .map(|room| RoomRow {
                name: room.name.clone(),
                online: if room.name == current {
                    here
                } else {
                    room.online
                },
                mine: room.mine,
            })
            .collect();
        if !is_dm_room(current) && !rows.iter().any(|row| row.name == current) {
            rows.push(RoomRow {
                name: current.to_owned(),
                online: here,
                mine: false,
            });
        }
        rows.sort_by(|a, b| b.mine.cmp(&a.mine).then_with(|| a.name.cmp(&b.name)));
        rows
    }

    /// The "Direct messages" section: each DM by its other members'
    /// names (`me` left out), the one with the latest news first, then by
    /// those names.
    pub(crate) fn dms(&self, me: &str) -> Vec<DmRow> {
        let me = username_key(me);
        let mut rows: Vec<(u64, DmRow)> = self
            .listed
            .iter()
            .filter(|room| !room.with.is_empty())
            .map(|room| {
                let others = room
                    .with
                    .iter()
                    .filter(|name| username_key(name) != me)
                    .cloned()
                    .collect();
                let latest = self.latest.get(&room.name).copied().unwrap_or(0);
                (
                    latest,
                    DmRow {
                        room: room.name.clone(),
                        others,
                    },
                )
            })
            .collect();
        rows.sort_by(|(a_latest, a), (b_latest, b)| {
            b_latest.cmp(a_latest).then_with(|| a.others.cmp(&b.others))
        });
        rows.into_iter().map(|(_, row)| row).collect()
    }

    /// The other members of DM `room`, as its heading names them ("bob,
    /// carol"); `None` for a room that is not a DM I know.
    pub(crate) fn dm_names(&self, room: &str, me: &str) -> Option<String> {
        self.dms(me)
            .into_iter()
            .find(|dm| dm.room == room)
            .map(|dm| dm.others.join(", "))
    }

    /// `open_dm` answered: the DM is listed from now on, first.
    pub(crate) fn dm_opened(&mut self, room: &str, with: Vec<String>) {
        let newest = self.latest.values().copied().max().unwrap_or(0);
        self.latest
            .insert(room.to_owned(), newest.saturating_add(1));
        if !self.listed.iter().any(|r| r.name == room) {
            self.opened.insert(room.to_owned());
        }
        match self.listed.iter_mut().find(|r| r.name == room) {
            Some(listed) => {
                listed.with = with;
                listed.mine = true;
            }
            None => self.listed.push(RoomInfo {
                name: room.to_owned(),
                mine: true,
                with,
                ..RoomInfo::default()
            }),
        }
    }

    /// Another of my rooms has a new message, `latest`: it gets a dot
    /// (unless it is the `current` one). Returns whether the room is not
    /// in the list yet (a new DM), so the list is asked for again.
    pub(crate) fn activity(&mut self, room: &str, latest: u64, current: &str) -> bool {
        if room == current {
            return false;
        }
        self.unseen.insert(room.to_owned());
        let known = self.latest.entry(room.to_owned()).or_insert(latest);
        *known = (*known).max(latest);
        !self.listed.iter().any(|r| r.name == room)
    }

    /// The room is shown: its news is seen.
    pub(crate) fn seen(&mut self, room: &str) {
        self.unseen.remove(room);
    }

    /// Whether `room` has news I have not seen.
    pub(crate) fn has_news(&self, room: &str) -> bool {
        self.unseen.contains(room)
    }

    /// The room is no longer one of mine (`room_left`): a DM leaves the
    /// list, a room stays as any other room.
    pub(crate) fn left(&mut self, room: &str) {
        self.unseen.remove(room);
        self.latest.remove(room);
        self.opened.remove(room);
        self.listed.retain(|r| r.name != room || r.with.is_empty());
        if let Some(listed) = self.listed.iter_mut().find(|r| r.name == room) {
            listed.mine = false;
        }
    }
}

/// The rooms for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Rooms {
    /// The room joined (or to join): the address bar names it too.
    current: RwSignal<String>,
    /// The list, the DMs and the news.
    state: RwSignal<RoomsState>,
    /// How the list is asked for (only once joined).
    send: StoredValue<Sender, LocalStorage>,
}

impl Rooms {
    /// The room the address names, and no list yet; the list is asked for
    /// through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            current: RwSignal::new(route::current_room()),
            state: RwSignal::new(RoomsState::default()),
            send: StoredValue::new_local(send),
        }
    }

    /// The current room (tracked).
    pub(crate) fn current(&self) -> String {
        self.current.get()
    }

    /// The current room (untracked), for the chat's frames.
    pub(crate) fn current_untracked(&self) -> String {
        self.current.get_untracked()
    }

    /// Whether `room` is the current one (tracked).
    pub(crate) fn is_current(&self, room: &str) -> bool {
        self.current.with(|current| current == room)
    }

    /// The rooms to list, given how many are online here (tracked).
    pub(crate) fn listing(&self, here: u32) -> Vec<RoomRow> {
        let current = self.current.get();
        self.state.with(|state| state.rooms(&current, here))
    }

    /// My direct messages, without `me` in their names (tracked).
    pub(crate) fn dms(&self, me: &str) -> Vec<DmRow> {
        self.state.with(|state| state.dms(me))
    }

    /// The current room's other members, if it is a DM (tracked).
    pub(crate) fn current_dm_names(&self, me: &str) -> Option<String> {
        let current = self.current.get();
        self.state.with(|state| state.dm_names(&current, me))
    }

    /// DM `room`'s other members, if I know it (tracked): a search hit's
    /// place.
    pub(crate) fn dm_names(&self, room: &str, me: &str) -> Option<String> {
        self.state.with(|state| state.dm_names(room, me))
    }

    /// DM `room`'s other members, untracked (a notification's title).
    pub(crate) fn dm_names_untracked(&self, room: &str, me: &str) -> Option<String> {
        self.state.with_untracked(|state| state.dm_names(room, me))
    }

    /// Whether `room` has news I have not seen (tracked).
    pub(crate) fn has_news(&self, room: &str) -> bool {
        self.state.with(|state| state.has_news(room))
    }

    /// See [`RoomsState::dm_opened`].
    pub(crate) fn dm_opened(&self, room: &str, with: Vec<String>) {
        self.state.update(|state| state.dm_opened(room, with));
    }

    /// See [`RoomsState::activity`]; a room not listed yet (a new DM) is
    /// asked for at once, so it appears live.
    pub(crate) fn activity(&self, room: &str, latest: u64) {
        let current = self.current.get_untracked();
        let mut unknown = false;
        self.state
            .update(|state| unknown = state.activity(room, latest, &current));
        if unknown {
            self.send.with_value(|send| send(&ClientFrame::ListRooms));
        }
    }

    /// See [`RoomsState::left`].
    pub(crate) fn left(&self, room: &str) {
        self.state.update(|state| state.left(room));
    }

    /// Takes `room` off my rooms (`leave_room`); the answer updates the list.
    pub(crate) fn leave(&self, room: &str) {
        self.send.with_value(|send| {
            send(&ClientFrame::LeaveRoom {
                room: room.to_owned(),
            })
        });
    }

    /// Moves to `room`, in the address bar too; returns whether it is
    /// another room than the current one.
    pub(crate) fn enter(&self, room: &str) -> bool {
        route::show_room(room);
        if self.state.with_untracked(|state| state.has_news(room)) {
            self.state.update(|state| state.seen(room));
        }
        if self.current.with_untracked(|current| current == room) {
            return false;
        }
        self.current.set(room.to_owned());
        true
    }

    /// The server's list arrived.
    pub(crate) fn listed(&self, rooms: Vec<RoomInfo>) {
        self.state.update(|state| state.listed(rooms));
    }

    /// Calls `switch` with the room the address names whenever it changes
    /// (a room link, Back, an edited address).
    pub(crate) fn follow_address(&self, switch: impl Fn(String) + 'static) {
        let listener = window_event_listener(leptos::ev::hashchange, move |_| {
            switch(route::current_room());
        });
        // For the life of the page, like the chat itself.
        std::mem::forget(listener);
    }

    /// Asks the server for the list now, unless the tab is hidden (nobody
    /// sees it) or not joined (the server would refuse).
    pub(crate) fn refresh(&self) {
        if !document().hidden() {
            self.send.with_value(|send| send(&ClientFrame::ListRooms));
        }
    }

    /// Refreshes the list regularly to keep the online counts and new rooms
    /// fresh while someone can see them: a hidden tab does not ask, and
    /// asks at once on coming back.
    pub(crate) fn refresh_regularly(&self) {
        let rooms = *self;
        // Both for the life of the page.
        let _ = set_interval_with_handle(move || rooms.refresh(), ROOMS_REFRESH);
        std::mem::forget(window_event_listener(
            leptos::ev::visibilitychange,
            move |_| rooms.refresh(),
        ));
    }
}

/// The rooms from context.
pub(crate) fn use_rooms() -> Rooms {
    expect_context::<Rooms>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str, online: u32) -> RoomInfo {
        RoomInfo {
            name: name.into(),
            online,
            ..RoomInfo::default()
        }
    }

    fn names(rows: &[RoomRow]) -> Vec<(&str, u32, bool)> {
        rows.iter()
            .map(|row| (row.name.as_str(), row.online, row.mine))
            .collect()
    }

    fn dm(name: &str, with: &[&str]) -> RoomInfo {
        RoomInfo {
            name: name.into(),
            mine: true,
            with: with.iter().map(|n| n.to_string()).collect(),
            ..RoomInfo::default()
        }
    }

    #[test]
    fn the_current_room_is_listed_with_the_live_count() {
        let mut state = RoomsState::default();
        state.listed(vec![room("general", 3), room("rust", 1)]);
        assert_eq!(
            names(&state.rooms("rust", 2)),
            [("general", 3, false), ("rust", 2, false)]
        );
        assert_eq!(
            names(&state.rooms("go", 1)),
            [("general", 3, false), ("go", 1, false), ("rust", 1, false)]
        );
        assert_eq!(
            names(&RoomsState::default().rooms("general", 1)),
            [("general", 1, false)]
        );
    }

    #[test]
    fn my_rooms_come_first_and_dms_are_not_rooms() {
        let mut state = RoomsState::default();
        let mine = RoomInfo {
            mine: true,
            ..room("zoo", 0)
        };
        state.listed(vec![
            room("general", 3),
            mine,
            dm("dm-ab", &["alice", "bob"]),
        ]);
        assert_eq!(
            names(&state.rooms("general", 3)),
            [("zoo", 0, true), ("general", 3, false)]
        );
        // In a DM, the rooms section does not list it as a room.
        assert_eq!(state.rooms("dm-ab", 2).len(), 2);
        assert_eq!(state.dm_names("dm-ab", "alice").as_deref(), Some("bob"));
        assert_eq!(state.dm_names("general", "alice"), None);
        assert_eq!(
            state.dms("Alice"),
            [DmRow {
                room: "dm-ab".into(),
                others: vec!["bob".into()]
            }]
        );
    }

    #[test]
    fn activity_puts_a_dot_asks_for_an_unknown_dm_and_orders_dms() {
        let mut state = RoomsState::default();
        state.listed(vec![dm("dm-1", &["a", "b"]), dm("dm-2", &["a", "c"])]);
        assert!(!state.activity("general", 5, "general"), "the room shown");
        assert!(!state.has_news("general"));
        assert!(!state.activity("dm-2", 7, "general"));
        assert!(state.has_news("dm-2"));
        let order: Vec<String> = state.dms("a").into_iter().map(|r| r.room).collect();
        assert_eq!(order, ["dm-2", "dm-1"], "the latest news first");
        assert!(state.activity("dm-3", 9, "general"), "not listed: ask");
        state.seen("dm-2");
        assert!(!state.has_news("dm-2"));
    }

    #[test]
    fn an_opened_dm_is_listed_first_and_survives_an_older_list() {
        let mut state = RoomsState::default();
        state.listed(vec![dm("dm-1", &["a", "b"])]);
        state.dm_opened("dm-2", vec!["a".into(), "c".into()]);
        assert_eq!(state.dms("a")[0].others, ["c"]);
        state.listed(vec![dm("dm-1", &["a", "b"])]);
        assert_eq!(state.dms("a").len(), 2, "kept until the server lists it");
        state.left("dm-2");
        assert_eq!(state.dms("a").len(), 1);
    }

    #[test]
    fn leaving_a_room_keeps_it_listed_but_not_mine() {
        let mut state = RoomsState::default();
        let mine = RoomInfo {
            mine: true,
            ..room("rust", 1)
        };
        state.listed(vec![mine]);
        state.left("rust");
        assert_eq!(names(&state.rooms("general", 1))[1], ("rust", 1, false));
    }
}

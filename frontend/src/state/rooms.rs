//! The room this page is in, named by the address bar, and the list of
//! rooms with how many are online in each.

use chat_shared::{ClientFrame, RoomInfo};
use leptos::prelude::*;
use std::time::Duration;

use super::Sender;
use crate::route;

/// The room list is refreshed this often while connected and visible
/// (and each time the list comes into view): every open page asks, so
/// this is what it costs the server.
const ROOMS_REFRESH: Duration = Duration::from_secs(10);

/// The rooms to list: every room the server listed, and the current one
/// even before the server's list arrives, its count the live one (`here`,
/// from join and leave notices), sorted by name.
pub(crate) fn rooms_to_show(listed: &[RoomInfo], current: &str, here: u32) -> Vec<(String, u32)> {
    let mut rooms: Vec<(String, u32)> = listed
        .iter()
        .map(|room| (room.name.clone(), room.online))
        .collect();
    match rooms.iter_mut().find(|(name, _)| name == current) {
        Some(entry) => entry.1 = here,
        None => {
            rooms.push((current.to_owned(), here));
            rooms.sort();
        }
    }
    rooms
}

/// The rooms for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct Rooms {
    /// The room joined (or to join): the address bar names it too.
    current: RwSignal<String>,
    /// Every room, as the server last listed them.
    listed: RwSignal<Vec<RoomInfo>>,
    /// How the list is asked for (only once joined).
    send: StoredValue<Sender, LocalStorage>,
}

impl Rooms {
    /// The room the address names, and no list yet; the list is asked for
    /// through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            current: RwSignal::new(route::current_room()),
            listed: RwSignal::new(Vec::new()),
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
    pub(crate) fn listing(&self, here: u32) -> Vec<(String, u32)> {
        let current = self.current.get();
        self.listed
            .with(|listed| rooms_to_show(listed, &current, here))
    }

    /// Moves to `room`, in the address bar too; returns whether it is
    /// another room than the current one.
    pub(crate) fn enter(&self, room: &str) -> bool {
        route::show_room(room);
        if self.current.with_untracked(|current| current == room) {
            return false;
        }
        self.current.set(room.to_owned());
        true
    }

    /// The server's list arrived.
    pub(crate) fn listed(&self, rooms: Vec<RoomInfo>) {
        self.listed.set(rooms);
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

    #[test]
    fn the_current_room_is_listed_with_the_live_count() {
        let listed = [room("general", 3), room("rust", 1)];
        assert_eq!(
            rooms_to_show(&listed, "rust", 2),
            [("general".to_owned(), 3), ("rust".to_owned(), 2)]
        );
        assert_eq!(
            rooms_to_show(&listed, "go", 1),
            [
                ("general".to_owned(), 3),
                ("go".to_owned(), 1),
                ("rust".to_owned(), 1)
            ]
        );
        assert_eq!(
            rooms_to_show(&[], "general", 1),
            [("general".to_owned(), 1)]
        );
    }
}

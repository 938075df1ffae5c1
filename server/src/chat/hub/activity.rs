//! `activity`: a held name's connections hear that its other rooms and
//! DMs have new messages, at most once a second per room.
//!
//! The cost is bounded by design. A message only marks its room as having
//! news (one map entry, whatever the rate). The persons are split into
//! [`SLOTS`] slots by id, and every tenth of a second one slot's persons
//! are told of the rooms they have not heard about since their slot last
//! came: each frame encoded once and handed, as shared bytes, to this
//! node's connections of the persons who have the room among theirs and
//! sit elsewhere. So each connection hears of a room at most once a
//! second, a room of 10,000 members elsewhere costs at most 10,000 small
//! frames a second however many messages it gets (nothing for a member
//! sitting in the room itself), and they go out a tenth at a time: the
//! busy room's own messages never queue behind all of them at once
//! (docs/benchmarks.md, "Activity in a big room").

use super::{encode, Hub, HubState};
use crate::chat::peer::Peer;
use crate::cluster::PersonChange;
use chat_shared::{close, ServerFrame};
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// One connection of a held name on this node.
#[derive(Debug, Clone)]
struct Watcher {
    peer: Peer,
    /// The room the connection sits in: it hears that room itself.
    room: String,
    /// The device it is, for a revoke.
    device: u64,
}

/// Who here wants to hear of which rooms, and which rooms have news.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    /// Each person's connections here, by peer id.
    people: HashMap<u64, HashMap<u64, Watcher>>,
    /// Each room's persons (with a connection here) that have it among
    /// their rooms.
    watchers: HashMap<String, HashSet<u64>>,
    /// Each person's rooms, as far as this node knows them.
    rooms: HashMap<u64, HashSet<String>>,
    /// Rooms with a new message, with its id and the slots not yet told
    /// of it (a bit per slot).
    news: BTreeMap<String, News>,
}

/// How many slots the persons are told in, one slot per tick.
pub(crate) const SLOTS: u64 = 10;

/// A room's news waiting to be told.
#[derive(Debug, Default)]
struct News {
    latest: u64,
    /// Bit `n`: slot `n` has not been told of `latest` yet.
    untold: u16,
}

/// Every slot's bit.
const ALL_SLOTS: u16 = (1 << SLOTS) - 1;

impl Activity {
    /// A connection of `person` (device `device`) sits in `room` and has
    /// `rooms` among its rooms.
    pub(crate) fn watch(
        &mut self,
        person: u64,
        device: u64,
        peer: &Peer,
        room: &str,
        rooms: impl IntoIterator<Item = String>,
    ) {
        let watcher = Watcher {
            peer: peer.clone(),
            room: room.to_owned(),
            device,
        };
        self.people
            .entry(person)
            .or_default()
            .insert(peer.id, watcher);
        for room in rooms {
            self.add_room(person, room);
        }
    }

    /// `room` became one of `person`'s rooms (a join, a new DM): its
    /// connections here hear of it from now on.
    pub(crate) fn add_room(&mut self, person: u64, room: String) {
        if !self.people.contains_key(&person) {
            return;
        }
        self.watchers
            .entry(room.clone())
            .or_default()
            .insert(person);
        self.rooms.entry(person).or_default().insert(room);
    }

    /// `room` is no longer one of `person`'s rooms.
    pub(crate) fn remove_room(&mut self, person: u64, room: &str) {
        if let Some(rooms) = self.rooms.get_mut(&person) {
            rooms.remove(room);
        }
        self.drop_watcher(room, person);
    }

    /// A connection ended.
    pub(crate) fn unwatch(&mut self, person: u64, peer: u64) {
        let Some(connections) = self.people.get_mut(&person) else {
            return;
        };
        connections.remove(&peer);
        if connections.is_empty() {
            self.forget(person);
        }
    }

    /// The person is gone (released, freed): nothing more for it here.
    /// Its connections, which may stay, are what it returns.
    pub(crate) fn forget(&mut self, person: u64) -> Vec<Peer> {
        let peers = self
            .people
            .remove(&person)
            .map(|connections| connections.into_values().map(|w| w.peer).collect())
            .unwrap_or_default();
        for room in self.rooms.remove(&person).unwrap_or_default() {
            self.drop_watcher(&room, person);
        }
        peers
    }

    /// Hands `frame` to every connection of the person here but those
    /// sitting in `except_room`; how many got it.
    pub(crate) fn tell_person(
        &self,
        person: u64,
        frame: &Utf8Bytes,
        except_room: Option<&str>,
    ) -> usize {
        let mut sent = 0;
        for watcher in self
            .people
            .get(&person)
            .into_iter()
            .flat_map(HashMap::values)
        {
            if except_room != Some(watcher.room.as_str()) {
                watcher.peer.send(frame.clone());
                sent += 1;
            }
        }
        sent
    }

    /// The connections of one device of the person here (for a revoke).
    pub(crate) fn device_peers(&self, person: u64, device: u64) -> Vec<Peer> {
        self.people
            .get(&person)
            .map(|connections| {
                connections
                    .values()
                    .filter(|watcher| watcher.device == device)
                    .map(|watcher| watcher.peer.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A message `id` was delivered in `room`.
    pub(crate) fn news(&mut self, room: &str, id: u64) {
        if !self.watchers.contains_key(room) {
            return;
        }
        let news = self.news.entry(room.to_owned()).or_default();
        news.latest = news.latest.max(id);
        news.untold = ALL_SLOTS;
    }

    /// Tells the persons of `slot` (`0..SLOTS`) of every room with news
    /// they have not heard of, except connections that sit in it; how many
    /// frames went out.
    pub(crate) fn tell(&mut self, slot: u64) -> usize {
        let slot = slot % SLOTS;
        let bit = 1u16 << slot;
        let mut due = Vec::new();
        self.news.retain(|room, news| {
            if news.untold & bit != 0 {
                news.untold &= !bit;
                due.push((room.clone(), news.latest));
            }
            news.untold != 0
        });
        let mut sent = 0;
        for (room, latest) in due {
            let Some(persons) = self.watchers.get(&room) else {
                continue;
            };
            let frame = encode(&ServerFrame::Activity {
                room: room.clone(),
                latest,
            });
            for person in persons.iter().filter(|person| *person % SLOTS == slot) {
                for watcher in self
                    .people
                    .get(person)
                    .into_iter()
                    .flat_map(HashMap::values)
                {
                    if watcher.room != room {
                        watcher.peer.send(frame.clone());
                        sent += 1;
                    }
                }
            }
        }
        sent
    }

    fn drop_watcher(&mut self, room: &str, person: u64) {
        if let Some(persons) = self.watchers.get_mut(room) {
            persons.remove(&person);
            if persons.is_empty() {
                self.watchers.remove(room);
            }
        }
    }
}

impl Hub {
    /// A held name's connection sits in `room`; `rooms` are its person's
    /// rooms, whose news it hears.
    pub(crate) fn watch(
        &self,
        person: u64,
        device: u64,
        peer: &Peer,
        room: &str,
        rooms: Vec<String>,
    ) {
        self.lock()
            .activity
            .watch(person, device, peer, room, rooms);
    }

    /// A held name's connection ended.
    pub(crate) fn unwatch(&self, person: u64, peer: u64) {
        self.lock().activity.unwatch(person, peer);
    }

    /// Tells one slot of held names' connections of their other rooms'
    /// news: called every tenth of a second, the slots in turn. How many
    /// frames went out.
    pub(crate) fn tell_activity(&self, slot: u64) -> usize {
        self.lock().activity.tell(slot)
    }
}

impl HubState {
    /// Applies a change to a person to its connections here.
    pub(super) fn person_changed(&mut self, change: PersonChange) {
        match change {
            PersonChange::RoomAdded { person, room } => self.activity.add_room(person, room),
            PersonChange::RoomLeft { person, room } => self.activity.remove_room(person, &room),
            PersonChange::Revoked { person, device } => {
                for peer in self.activity.device_peers(person, device) {
                    peer.closer()
                        .close_after_flush(close::REVOKED, "this device was revoked");
                }
            }
            PersonChange::Forgotten { person } => {
                self.activity.forget(person);
            }
            PersonChange::Tell {
                person,
                frame,
                except_room,
            } => {
                let frame = Utf8Bytes::from(frame);
                self.activity
                    .tell_person(person, &frame, except_room.as_deref());
            }
        }
    }
}

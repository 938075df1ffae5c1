//! This node's connections, by room, and delivering frames to them.
//!
//! One mutex guards everything here. It is never held across an `.await`:
//! delivery only queues bytes on bounded channels.
//!
//! Two sequences reach a room's members, and the hub keeps each in order:
//!
//! - committed events (messages, deletions), by id. An event is delivered
//!   only after the room's previous one (`prev`); one that arrives early
//!   (from another node, past a message still on its way) is a gap the
//!   caller fills from the store. A joiner's history was read up to some
//!   id: the joiner gets only what comes after it, and a joiner whose read
//!   is older than what this room already delivered reads again.
//! - presence changes, by the room's presence `seq` (see
//!   [`crate::cluster::Presence`]). A joiner's `users` reflect some
//!   `seq`: it gets only the changes after it, including those this node
//!   applied before the joiner sat down, from a short list of recent ones.
//!
//! Who is online is the presence's business, not the hub's: the hub only
//! mirrors each room's members (for a node that must catch up after
//! missing changes) and holds this node's connections.

use crate::chat::moderation::{banned_message, Ban, Bans, RecentAddresses};
use crate::chat::peer::Peer;
use crate::chat::rate_limit::AddressBudget;
use crate::cluster::{BusEvent, Claimed};
use crate::error::Rejection;
use crate::history::journal::Gap;
use crate::history::moderation::RoomSettings;
use crate::history::pages::Replay;
use chat_shared::close;
use chat_shared::{ClientLimits, ErrorCode, RoomInfo, ServerFrame, Welcome};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub(crate) mod activity;
mod admission;
pub(crate) mod presence;

/// A validated request to join.
#[derive(Debug, Clone)]
pub(crate) struct JoinRequest {
    /// The normalised name.
    pub(crate) name: String,
    /// Its [`chat_shared::username_key`].
    pub(crate) key: String,
    /// The normalised room name.
    pub(crate) room: String,
    /// The token from an earlier welcome, if the client has one.
    pub(crate) resume: Option<String>,
}

/// A joined user as the connection that joined remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) room: String,
    /// The case-insensitive key the hub files the user under.
    pub(crate) key: String,
    /// The name as shown to everyone.
    pub(crate) name: String,
    /// The name is held by the connection's device: `welcome.held`.
    pub(crate) held: bool,
}

/// How the hub treats its users; from the running config.
#[derive(Debug, Clone)]
pub(crate) struct HubSettings {
    /// Rooms are created by joining; this caps how many can exist.
    pub(crate) max_rooms: usize,
    /// How often each connection gets a `heartbeat`.
    pub(crate) heartbeat: Duration,
    /// What `welcome` announces.
    pub(crate) client_limits: ClientLimits,
    /// Whether loopback addresses are held to the per-address budgets
    /// (wrong join codes, new rooms) like any other (`--limit-loopback`).
    pub(crate) limit_loopback: bool,
    /// The VAPID public key a held name's `welcome` offers; `None` when
    /// the server sends no push.
    pub(crate) push_key: Option<String>,
}

/// This node's rooms and connections.
#[derive(Debug)]
pub(crate) struct Hub {
    state: Mutex<HubState>,
    /// Rooms are created by joining; this caps how many can exist.
    max_rooms: usize,
    /// How often each connection gets a `heartbeat`, told in `welcome` so a
    /// client knows how long a silence means a dead connection.
    heartbeat_ms: u64,
    /// What `welcome` announces, built once from the running config.
    client_limits: ClientLimits,
    /// Wrong join codes, per address: an invitation is slow to guess.
    wrong_codes: AddressBudget,
    /// Rooms created, per address: one address cannot fill `max_rooms`.
    new_rooms: AddressBudget,
    /// Whether loopback addresses spend from those budgets too.
    limit_loopback: bool,
    /// What a held name's `welcome` offers for Web Push.
    push_key: Option<String>,
}

#[derive(Debug, Default)]
struct HubState {
    /// Every room known here: from the database, created by a join here,
    /// or seen in another node's events.
    rooms: BTreeMap<String, Room>,
    /// Who moderators keep out, checked on every join.
    bans: Bans,
    /// Joins between [`Hub::admit`] and their end, by room: a room they
    /// are about to enter is not forgotten, and a new one counts against
    /// `max_rooms` already.
    joining: HashMap<String, u32>,
    /// The addresses each name joined from lately, for bans.
    recent: RecentAddresses,
    /// Held names' connections here and the news of their other rooms.
    activity: activity::Activity,
}

#[derive(Debug)]
struct Room {
    /// This node's users in the room, by key.
    users: HashMap<String, LocalUser>,
    /// The newest committed event this room's seats have all been given
    /// (or that passed while nobody here was in the room).
    last_delivered: u64,
    /// The room's members as the presence changes said.
    members: BTreeMap<String, String>,
    /// The presence `seq` applied last.
    presence_seq: u64,
    /// The latest presence changes as sent, for late joiners.
    recent_presence: VecDeque<(u64, Utf8Bytes)>,
    /// Read-only: a moderator locked it; posts are refused.
    locked: bool,
    /// Shown in the room's header; set by moderators.
    topic: Option<String>,
    /// Whether the members' lists are whole: false once the room grew past
    /// [`chat_shared::PRESENCE_LIST_LIMIT`] and arrivals were only counted.
    lists_whole: bool,
    /// A large room's count changed since its members last heard it.
    count_untold: bool,
    /// Kept when nobody is in it: it came from the store (it held a
    /// message, or a moderator set it), or it held an event here.
    lasting: bool,
}

impl Default for Room {
    fn default() -> Self {
        Self {
            users: HashMap::new(),
            last_delivered: 0,
            members: BTreeMap::new(),
            presence_seq: 0,
            recent_presence: VecDeque::new(),
            locked: false,
            topic: None,
            lists_whole: true,
            count_untold: false,
            lasting: false,
        }
    }
}

#[derive(Debug)]
struct LocalUser {
    name: String,
    /// The resume token, for a presence that lost its state.
    token: String,
    /// Every open connection of this user in this room here (one per tab).
    seats: Vec<Seat>,
}

#[derive(Debug)]
struct Seat {
    peer: Peer,
    /// Committed events up to this id were in the joiner's history.
    seen_event: u64,
    /// Presence changes up to this `seq` were in the joiner's `users`.
    seen_presence: u64,
}

impl Hub {
    /// A hub that knows `rooms` (from the database), with nobody in them.
    pub(crate) fn start(rooms: Vec<String>, settings: HubSettings) -> Arc<Self> {
        let rooms = rooms
            .into_iter()
            .map(|name| {
                let room = Room {
                    lasting: true,
                    ..Room::default()
                };
                (name, room)
            })
            .collect();
        Arc::new(Self {
            state: Mutex::new(HubState {
                rooms,
                ..HubState::default()
            }),
            max_rooms: settings.max_rooms,
            heartbeat_ms: u64::try_from(settings.heartbeat.as_millis()).unwrap_or(u64::MAX),
            client_limits: settings.client_limits,
            wrong_codes: AddressBudget::new(admission::CODE_TRIES_BURST, admission::CODE_TRY_EVERY),
            new_rooms: AddressBudget::new(admission::NEW_ROOMS_BURST, admission::NEW_ROOM_EVERY),
            limit_loopback: settings.limit_loopback,
            push_key: settings.push_key,
        })
    }

    /// Takes back what moderators set before a restart: room locks and
    /// topics, and the bans still in force. A room with settings is a
    /// room, however it was created and whether or not the store lists it.
    pub(crate) fn restore_moderation(&self, rooms: Vec<RoomSettings>, bans: Bans) {
        let mut state = self.lock();
        for settings in rooms {
            let room = state.rooms.entry(settings.room).or_default();
            room.lasting = true;
            room.locked = settings.locked;
            room.topic = settings.topic;
        }
        state.bans = bans;
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // Every update below leaves the maps consistent at each step, so a
        // panic elsewhere while holding the lock is no reason to stop serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Seats a connection whose claim succeeded: it gets `welcome` with
    /// the replay, then every change after what the replay and the claim
    /// reflect. `Err(id)` when the replay is older than what the room has
    /// already delivered here, or the room's topic or lock changed while
    /// the welcome was encoded: read it again through at least `id`.
    ///
    /// The welcome, with its whole history, is encoded before the lock is
    /// taken: every room's delivery waits for this lock.
    pub(crate) fn seat(
        &self,
        membership: &Membership,
        peer: &Peer,
        claimed: &Claimed,
        replay: Replay,
    ) -> Result<(), u64> {
        let (topic, locked) = {
            let state = self.lock();
            state
                .rooms
                .get(&membership.room)
                .map(|room| (room.topic.clone(), room.locked))
                .unwrap_or_default()
        };
        let through = replay.through;
        let welcome = encode(&ServerFrame::Welcome(Welcome {
            history: replay.history,
            history_gap: replay.gap,
            heartbeat_ms: Some(self.heartbeat_ms),
            answers_ping: true,
            limits: Some(self.client_limits.clone()),
            topic: topic.clone(),
            locked,
            online: (claimed.online as usize > claimed.users.len()).then_some(claimed.online),
            held: membership.held,
            // Only a held name can subscribe: its person is whose pushes
            // they are.
            push_key: self.push_key.clone().filter(|_| membership.held),
            ..Welcome::new(
                &claimed.username,
                claimed.users.clone(),
                &membership.room,
                &claimed.token,
            )
        }));
        let mut state = self.lock();
        let room = state.rooms.entry(membership.room.clone()).or_default();
        if through < room.last_delivered {
            return Err(room.last_delivered);
        }
        if room.topic != topic || room.locked != locked {
            // The joiner would miss the change: it is not seated yet.
            return Err(through);
        }
        if room.users.is_empty() {
            // Nobody here needs what came before the joiner's read: the
            // room is delivered through it (else the next event would look
            // like a gap back to the room's beginning).
            room.last_delivered = through;
        }
        let user = room
            .users
            .entry(membership.key.clone())
            .or_insert_with(|| LocalUser {
                name: claimed.username.clone(),
                token: claimed.token.clone(),
                seats: Vec::new(),
            });
        user.seats.push(Seat {
            peer: peer.clone(),
            seen_event: through,
            seen_presence: claimed.seq,
        });
        peer.send(welcome);
        for (seq, frame) in &room.recent_presence {
            if *seq > claimed.seq {
                peer.send(frame.clone());
            }
        }
        Ok(())
    }

    /// Removes one connection from its room here.
    pub(crate) fn unseat(&self, membership: &Membership, peer: &Peer) {
        let mut state = self.lock();
        let Some(room) = state.rooms.get_mut(&membership.room) else {
            return;
        };
        let Some(user) = room.users.get_mut(&membership.key) else {
            return;
        };
        user.seats.retain(|seat| seat.peer.id != peer.id);
        if user.seats.is_empty() {
            room.users.remove(&membership.key);
        }
    }

    /// Applies what happened, here or on another node: delivers it to the
    /// seats it concerns. A committed event that arrives before the one it
    /// follows is not delivered: the returned gap is to be read from the
    /// store and handed to [`Hub::fill`].
    pub(crate) fn apply(&self, event: BusEvent, committed: std::time::Instant) -> Option<Gap> {
        let mut state = self.lock();
        match event {
            BusEvent::Committed {
                room,
                id,
                prev,
                frame,
            } => {
                let room_name = room;
                if frame.starts_with(MESSAGE_FRAME) {
                    state.activity.news(&room_name, id);
                }
                let room = state.rooms.entry(room_name.clone()).or_default();
                if id <= room.last_delivered {
                    return None;
                }
                if prev > room.last_delivered && !room.users.is_empty() {
                    return Some(Gap {
                        room: room_name,
                        after: room.last_delivered,
                        through: id,
                    });
                }
                room.deliver(id, &Utf8Bytes::from(frame), committed);
            }
            BusEvent::Typing {
                room,
                key,
                username,
                is_typing,
            } => {
                if let Some(room) = state.rooms.get(&room) {
                    let frame = encode(&ServerFrame::Typing {
                        username,
                        is_typing,
                    });
                    room.broadcast_except(&key, &frame);
                }
            }
            BusEvent::Presence(event) => state.apply_presence(event),
            BusEvent::Locked {
                room,
                locked,
                username,
            } => {
                // A node that does not know the room yet keeps the lock
                // too: a joiner here must find it locked.
                let room_state = state.rooms.entry(room.clone()).or_default();
                room_state.locked = locked;
                room_state.broadcast_except(
                    "",
                    &encode(&ServerFrame::RoomLocked {
                        room,
                        locked,
                        username,
                    }),
                );
            }
            BusEvent::Topic {
                room,
                topic,
                username,
            } => {
                let room_state = state.rooms.entry(room.clone()).or_default();
                room_state.topic = (!topic.is_empty()).then(|| topic.clone());
                room_state.broadcast_except(
                    "",
                    &encode(&ServerFrame::Topic {
                        room,
                        topic,
                        username,
                    }),
                );
            }
            BusEvent::Banned(stored) => state.ban(Ban::from_stored(&stored)),
            BusEvent::Person(change) => state.person_changed(change),
        }
        None
    }

    /// Delivers committed events read from the store for a gap, in id
    /// order (those already delivered are skipped): every event of the
    /// room up to `through`, so the room is delivered through it.
    pub(crate) fn fill(
        &self,
        room: &str,
        events: Vec<(u64, Utf8Bytes)>,
        through: u64,
        committed: std::time::Instant,
    ) {
        let mut state = self.lock();
        let Some(room) = state.rooms.get_mut(room) else {
            return;
        };
        for (id, frame) in events {
            if id > room.last_delivered {
                room.deliver(id, &frame, committed);
            }
        }
        room.last_delivered = room.last_delivered.max(through);
    }

    /// Whether the room is read-only.
    pub(crate) fn is_locked(&self, room: &str) -> bool {
        self.lock().rooms.get(room).is_some_and(|room| room.locked)
    }

    /// Users connected here, counted once per room, and rooms: for the
    /// metrics.
    pub(crate) fn census(&self) -> (usize, usize) {
        let state = self.lock();
        let users = state.rooms.values().map(|room| room.users.len()).sum();
        (users, state.rooms.len())
    }

    /// Every room known here with how many users the presence counts in it.
    pub(crate) fn rooms(&self, online: Vec<RoomInfo>) -> Vec<RoomInfo> {
        let online: HashMap<String, u32> = online
            .into_iter()
            .map(|room| (room.name, room.online))
            .collect();
        let mut state = self.lock();
        // A room the presence still counts with nobody in it may be one
        // that was forgotten here.
        for (name, count) in &online {
            if *count > 0 {
                state.rooms.entry(name.clone()).or_default();
            }
        }
        state
            .rooms
            .keys()
            .map(|name| RoomInfo {
                name: name.clone(),
                online: online.get(name).copied().unwrap_or(0),
                ..RoomInfo::default()
            })
            .collect()
    }

    /// The rooms with connections here, with the newest event delivered
    /// in each: where a node that missed events catches up from.
    pub(crate) fn seated_rooms(&self) -> Vec<(String, u64)> {
        self.lock()
            .rooms
            .iter()
            .filter(|(_, room)| !room.users.is_empty())
            .map(|(name, room)| (name.clone(), room.last_delivered))
            .collect()
    }
}

impl HubState {
    /// Puts a ban (already stored) in force: every connection here it
    /// covers, by name or by address, is told why and closed; closing
    /// makes them leave at once.
    fn ban(&mut self, mut ban: Ban) {
        let now = std::time::SystemTime::now();
        // Also the addresses the name joined from here lately: leaving
        // before the moderator acts is no way around a ban. (The node
        // that stored the ban added what it saw; each node adds its own.)
        ban.extend(self.recent.of(&ban.name_key, now));
        let left = ban.until.duration_since(now).unwrap_or_default();
        let refusal = banned(left);
        for room in self.rooms.values() {
            for (key, user) in &room.users {
                // Moderators are not thrown out by an address they share
                // with whoever they ban.
                let hit = *key == ban.name_key
                    || user.seats.iter().any(|seat| {
                        !seat.peer.is_moderator() && ban.covers(None, seat.peer.client)
                    });
                if hit {
                    for seat in &user.seats {
                        seat.peer.reject(&refusal);
                        seat.peer
                            .closer()
                            .close_after_flush(close::POLICY, "banned");
                    }
                }
            }
        }
        self.bans.add(ban);
    }
}

impl Room {
    /// Queues a committed event for every seat whose history did not
    /// already hold it.
    fn deliver(&mut self, id: u64, frame: &Utf8Bytes, committed: std::time::Instant) {
        for seat in self.users.values().flat_map(|user| &user.seats) {
            if seat.seen_event < id {
                seat.peer.deliver(frame.clone(), committed);
            }
        }
        self.last_delivered = id;
        self.lasting = true;
    }

    /// Queues the same bytes for every connection of every user but
    /// `skip_key` (`""` skips none).
    fn broadcast_except(&self, skip_key: &str, frame: &Utf8Bytes) {
        for (key, user) in &self.users {
            if key != skip_key {
                for seat in &user.seats {
                    seat.peer.send(frame.clone());
                }
            }
        }
    }
}

/// An address no ban covers: bans come from real connections.
const UNSPECIFIED: std::net::IpAddr = std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);

/// The refusal of a banned user, naming the time left.
fn banned(left: Duration) -> Rejection {
    Rejection::new(ErrorCode::Banned, banned_message(left)).with_retry_after(left)
}

/// How a committed event's frame starts when it is a message (serde
/// writes the tag first): only messages are news for `activity`.
const MESSAGE_FRAME: &str = r#"{"type":"message","#;

/// Serialises a frame once; clones of the result share one buffer.
pub(crate) fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(frame.encode())
}

#[cfg(test)]
mod tests;

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
use crate::cluster::{BusEvent, Claimed, LocalPresence, PresenceChange, PresenceEvent, Snapshot};
use crate::error::Rejection;
use crate::history::journal::Gap;
use crate::history::moderation::RoomSettings;
use crate::history::pages::Replay;
use chat_shared::close;
use chat_shared::{
    ClientLimits, ErrorCode, RoomInfo, ServerFrame, MAX_USERS_PAGE, PRESENCE_LIST_LIMIT,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Utf8Bytes;

mod admission;

/// A validated request to join.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The normalised name.
    pub name: String,
    /// Its [`chat_shared::username_key`].
    pub key: String,
    /// The normalised room name.
    pub room: String,
    /// The token from an earlier welcome, if the client has one.
    pub resume: Option<String>,
    /// The invitation code the join carried; checked against the one in
    /// force.
    pub join_code: Option<String>,
}

/// A joined user as the connection that joined remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub room: String,
    /// The case-insensitive key the hub files the user under.
    pub key: String,
    /// The name as shown to everyone.
    pub name: String,
}

/// How the hub treats its users; from the running config.
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// Rooms are created by joining; this caps how many can exist.
    pub max_rooms: usize,
    /// How often each connection gets a `heartbeat`.
    pub heartbeat: Duration,
    /// What `welcome` announces.
    pub client_limits: ClientLimits,
    /// Whether loopback addresses are held to the per-address budgets
    /// (wrong join codes, new rooms) like any other (`--limit-loopback`).
    pub limit_loopback: bool,
}

/// This node's rooms and connections.
#[derive(Debug)]
pub struct Hub {
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
}

/// How many recent presence changes a room keeps for joiners whose
/// snapshot is older than what the room has applied.
const RECENT_PRESENCE: usize = 64;

/// How often a large room's members hear how many they are, at most.
pub const ONLINE_INTERVAL: Duration = Duration::from_secs(1);

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
    /// [`PRESENCE_LIST_LIMIT`] and arrivals were only counted.
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
    pub fn start(rooms: Vec<String>, settings: HubSettings) -> Arc<Self> {
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
        })
    }

    /// Takes back what moderators set before a restart: room locks and
    /// topics, and the bans still in force. A room with settings is a
    /// room, however it was created and whether or not the store lists it.
    pub fn restore_moderation(&self, rooms: Vec<RoomSettings>, bans: Bans) {
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
    pub fn seat(
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
        let welcome = encode(&ServerFrame::Welcome {
            username: claimed.username.clone(),
            users: claimed.users.clone(),
            room: membership.room.clone(),
            history: replay.history,
            history_gap: replay.gap,
            resume: claimed.token.clone(),
            heartbeat_ms: Some(self.heartbeat_ms),
            limits: Some(self.client_limits.clone()),
            topic: topic.clone(),
            locked,
            online: (claimed.online as usize > claimed.users.len()).then_some(claimed.online),
        });
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
    pub fn unseat(&self, membership: &Membership, peer: &Peer) {
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
    pub fn apply(&self, event: BusEvent, committed: std::time::Instant) -> Option<Gap> {
        let mut state = self.lock();
        match event {
            BusEvent::Committed {
                room,
                id,
                prev,
                frame,
            } => {
                let room_name = room;
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
        }
        None
    }

    /// Delivers committed events read from the store for a gap, in id
    /// order (those already delivered are skipped): every event of the
    /// room up to `through`, so the room is delivered through it.
    pub fn fill(
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

    /// Forgets the order of presence changes: the presence lost its state
    /// (a Redis restart numbers every room from 1 again), so the next
    /// changes are taken whatever their `seq`, and [`Hub::resync`] brings
    /// each room up to date.
    pub fn restart_presence(&self) {
        let mut state = self.lock();
        for room in state.rooms.values_mut() {
            room.presence_seq = 0;
            room.recent_presence.clear();
            for seat in room.users.values_mut().flat_map(|user| &mut user.seats) {
                seat.seen_presence = 0;
            }
        }
    }

    /// Brings a room's members up to `snapshot` after changes may have
    /// been missed: whoever appeared or vanished meanwhile is announced
    /// here as joined or left. A snapshot older than the changes already
    /// applied is ignored.
    pub fn resync(&self, room_name: &str, snapshot: Snapshot) {
        let mut state = self.lock();
        let Some(room) = state.rooms.get_mut(room_name) else {
            return;
        };
        if snapshot.seq < room.presence_seq {
            return;
        }
        let fresh: BTreeMap<String, String> = snapshot.members.into_iter().collect();
        let count = u32::try_from(fresh.len()).unwrap_or(u32::MAX);
        let before = std::mem::replace(&mut room.members, fresh);
        room.presence_seq = snapshot.seq;
        room.recent_presence.clear();
        if !room.counts_only(count as usize) {
            for (key, username) in &before {
                if !room.members.contains_key(key) {
                    let frame = encode(&ServerFrame::UserLeft {
                        username: username.clone(),
                        count,
                    });
                    room.broadcast_except(key, &frame);
                }
            }
            for (key, username) in &room.members {
                if !before.contains_key(key) {
                    let frame = encode(&ServerFrame::UserJoined {
                        username: username.clone(),
                        count,
                    });
                    room.broadcast_except(key, &frame);
                }
            }
        }
        for seat in room.users.values_mut().flat_map(|user| &mut user.seats) {
            seat.seen_presence = seat.seen_presence.min(snapshot.seq);
        }
    }

    /// A page of who is in `room`, by key after `after`: what a client of
    /// a large room, whose `welcome` listed only part of it, asks for. It
    /// holds at most `limit` names and, but for the first, `max_bytes` of
    /// them once encoded; `next` says where the rest starts.
    pub fn users_page(
        &self,
        room: &str,
        after: Option<&str>,
        limit: Option<u32>,
        max_bytes: usize,
    ) -> ServerFrame {
        let limit = limit.map_or(PRESENCE_LIST_LIMIT, |limit| limit as usize);
        let limit = limit.clamp(1, MAX_USERS_PAGE);
        let state = self.lock();
        let Some(room) = state.rooms.get(room) else {
            return ServerFrame::Users {
                users: Vec::new(),
                online: 0,
                next: None,
            };
        };
        let start = match after {
            Some(after) => Bound::Excluded(after),
            None => Bound::Unbounded,
        };
        let mut page = room
            .members
            .range::<str, _>((start, Bound::Unbounded))
            .take(limit + 1)
            .peekable();
        // A name's length, quotes and comma: what it adds to the frame,
        // unless it needs escaping (rare, and then a little more).
        let mut bytes = 0;
        let mut users: Vec<(&String, &String)> = Vec::new();
        while let Some((_, name)) = page.peek() {
            bytes += name.len() + 3;
            if users.len() == limit || (bytes > max_bytes && !users.is_empty()) {
                break;
            }
            users.extend(page.next());
        }
        let next = page.next().and(users.last()).map(|(key, _)| (*key).clone());
        ServerFrame::Users {
            users: users.into_iter().map(|(_, name)| name.clone()).collect(),
            online: room.count(),
            next,
        }
    }

    /// Tells every large room whose count changed how many are in it now:
    /// called every [`ONLINE_INTERVAL`].
    pub fn tell_counts(&self) {
        let mut state = self.lock();
        for room in state.rooms.values_mut() {
            if std::mem::take(&mut room.count_untold) {
                let frame = encode(&ServerFrame::Online {
                    count: room.count(),
                });
                room.broadcast_except("", &frame);
            }
        }
    }

    /// Whether the room is read-only.
    pub fn is_locked(&self, room: &str) -> bool {
        self.lock().rooms.get(room).is_some_and(|room| room.locked)
    }

    /// Users connected here, counted once per room, and rooms: for the
    /// metrics.
    pub fn census(&self) -> (usize, usize) {
        let state = self.lock();
        let users = state.rooms.values().map(|room| room.users.len()).sum();
        (users, state.rooms.len())
    }

    /// Every room known here with how many users the presence counts in it.
    pub fn rooms(&self, online: Vec<RoomInfo>) -> Vec<RoomInfo> {
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
            })
            .collect()
    }

    /// The rooms with connections here, with the newest event delivered
    /// in each: where a node that missed events catches up from.
    pub fn seated_rooms(&self) -> Vec<(String, u64)> {
        self.lock()
            .rooms
            .iter()
            .filter(|(_, room)| !room.users.is_empty())
            .map(|(name, room)| (name.clone(), room.last_delivered))
            .collect()
    }

    /// Who is connected here, for a presence that lost its state.
    pub fn local_presence(&self) -> Vec<LocalPresence> {
        let state = self.lock();
        state
            .rooms
            .iter()
            .flat_map(|(room, state)| {
                state.users.iter().map(|(key, user)| LocalPresence {
                    room: room.clone(),
                    key: key.clone(),
                    username: user.name.clone(),
                    token: user.token.clone(),
                    connections: u32::try_from(user.seats.len()).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }
}

impl HubState {
    /// Applies a presence change; a room its last member left is then
    /// forgotten if nothing else keeps it.
    fn apply_presence(&mut self, event: PresenceEvent) {
        let room = event.room.clone();
        let left = matches!(event.change, PresenceChange::Left { .. });
        self.tell_presence(event);
        if left {
            self.forget_if_unused(&room);
        }
    }

    fn tell_presence(&mut self, event: PresenceEvent) {
        let room_name = event.room;
        let room = self.rooms.entry(room_name.clone()).or_default();
        if event.seq <= room.presence_seq {
            return;
        }
        room.presence_seq = event.seq;
        let (frame, key, count) = match event.change {
            PresenceChange::Joined {
                key,
                username,
                count,
            } => {
                room.members.insert(key.clone(), username.clone());
                (ServerFrame::UserJoined { username, count }, key, count)
            }
            PresenceChange::Left {
                key,
                username,
                count,
            } => {
                room.members.remove(&key);
                tracing::info!(user = %username, room = %room_name, "left");
                (ServerFrame::UserLeft { username, count }, key, count)
            }
        };
        if room.counts_only(count as usize) {
            return;
        }
        let frame = encode(&frame);
        for (other, user) in &room.users {
            if *other == key {
                continue;
            }
            for seat in &user.seats {
                if seat.seen_presence < event.seq {
                    seat.peer.send(frame.clone());
                }
            }
        }
        room.remember_presence(event.seq, frame);
    }

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
    /// How many are in the room.
    fn count(&self) -> u32 {
        u32::try_from(self.members.len()).unwrap_or(u32::MAX)
    }

    /// Decides how the members hear of a change to `members`, just made:
    /// true when they are only to be told the count later (the room is
    /// large), false when the change is announced name by name. A room
    /// that shrank back to [`PRESENCE_LIST_LIMIT`] first sends everyone
    /// the whole list, which their name-by-name updates then follow.
    /// `count` is the room's size as the change reports it: on a cluster
    /// node the members seen here can trail it for a moment, and the
    /// count is what decides, as on a single node.
    fn counts_only(&mut self, count: usize) -> bool {
        if count.max(self.members.len()) > PRESENCE_LIST_LIMIT {
            self.lists_whole = false;
            self.count_untold = true;
            // Joiners from now on learn the count from their welcome.
            self.recent_presence.clear();
            return true;
        }
        if !self.lists_whole {
            self.lists_whole = true;
            self.count_untold = false;
            let whole = encode(&ServerFrame::Users {
                users: self.members.values().cloned().collect(),
                online: self.count(),
                next: None,
            });
            self.broadcast_except("", &whole);
            self.remember_presence(self.presence_seq, whole);
            return true;
        }
        false
    }

    /// Keeps a presence frame as sent, for joiners whose snapshot predates it.
    fn remember_presence(&mut self, seq: u64, frame: Utf8Bytes) {
        if self.recent_presence.len() == RECENT_PRESENCE {
            self.recent_presence.pop_front();
        }
        self.recent_presence.push_back((seq, frame));
    }

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

/// Tells large rooms how many are in them, every [`ONLINE_INTERVAL`],
/// until the server shuts down.
pub async fn tell_counts(hub: Arc<Hub>, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(ONLINE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => hub.tell_counts(),
        }
    }
}

/// An address no ban covers: bans come from real connections.
const UNSPECIFIED: std::net::IpAddr = std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);

/// The refusal of a banned user, naming the time left.
fn banned(left: Duration) -> Rejection {
    Rejection::new(ErrorCode::Banned, banned_message(left)).with_retry_after(left)
}

/// Serialises a frame once; clones of the result share one buffer.
pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(frame.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::peer::{Closer, Outbox, OutboxLimits};
    use crate::telemetry::Metrics;
    use chat_shared::username_key;
    use std::time::Instant;
    use tokio_util::sync::CancellationToken;

    fn hub() -> Arc<Hub> {
        let settings = HubSettings {
            max_rooms: 10,
            heartbeat: Duration::from_secs(20),
            client_limits: ClientLimits::default(),
            limit_loopback: false,
        };
        Hub::start(vec!["general".into()], settings)
    }

    fn connection(id: u64) -> (Peer, Outbox) {
        let closer = Arc::new(Closer::new(&CancellationToken::new()));
        let client = std::net::IpAddr::from([127, 0, 0, 1]);
        let limits = OutboxLimits {
            frames: 64,
            bytes: 1 << 20,
        };
        Peer::new(id, client, limits, closer, Arc::new(Metrics::off()))
    }

    fn member(name: &str) -> Membership {
        Membership {
            room: "general".into(),
            key: username_key(name),
            name: name.into(),
        }
    }

    fn claimed(name: &str, seq: u64) -> Claimed {
        Claimed {
            token: "t".into(),
            username: name.into(),
            users: vec![name.into()],
            online: 1,
            seq,
        }
    }

    fn through(id: u64) -> Replay {
        Replay {
            through: id,
            ..Replay::default()
        }
    }

    fn committed(id: u64, prev: u64) -> BusEvent {
        BusEvent::Committed {
            room: "general".into(),
            id,
            prev,
            frame: format!("{{\"event\":{id}}}"),
        }
    }

    fn joined(seq: u64, name: &str) -> BusEvent {
        BusEvent::Presence(PresenceEvent {
            room: "general".into(),
            seq,
            change: PresenceChange::Joined {
                key: username_key(name),
                username: name.into(),
                count: 2,
            },
        })
    }

    /// Everything queued for a connection, as text.
    fn drain(frames: &mut Outbox) -> Vec<String> {
        let mut texts = Vec::new();
        while let Some(outgoing) = frames.try_recv() {
            texts.push(outgoing.frame.to_string());
        }
        texts
    }

    fn seat(hub: &Hub, name: &str, replay: Replay, seq: u64) -> Outbox {
        let (peer, mut frames) = connection(1);
        hub.seat(&member(name), &peer, &claimed(name, seq), replay)
            .expect("seated");
        drain(&mut frames);
        // The hub holds the peer; the test keeps the receiving end.
        frames
    }

    #[test]
    fn an_event_past_a_missing_one_waits_for_the_fill_and_each_arrives_once() {
        let hub = hub();
        let mut alice = seat(&hub, "alice", through(10), 0);
        let now = Instant::now();
        assert_eq!(hub.apply(committed(11, 10), now), None);
        // 12 is still on its way from another node when 13 arrives.
        assert_eq!(
            hub.apply(committed(13, 12), now),
            Some(Gap {
                room: "general".into(),
                after: 11,
                through: 13,
            })
        );
        assert_eq!(drain(&mut alice), ["{\"event\":11}"]);
        let read = |id: u64| (id, Utf8Bytes::from(format!("{{\"event\":{id}}}")));
        hub.fill("general", vec![read(12), read(13)], 13, now);
        // 12 arriving late, and 11 again, are already delivered.
        assert_eq!(hub.apply(committed(12, 11), now), None);
        assert_eq!(hub.apply(committed(11, 10), now), None);
        assert_eq!(hub.apply(committed(14, 13), now), None);
        assert_eq!(
            drain(&mut alice),
            ["{\"event\":12}", "{\"event\":13}", "{\"event\":14}"]
        );
    }

    #[test]
    fn a_joiner_gets_only_what_its_history_did_not_hold() {
        let hub = hub();
        let mut alice = seat(&hub, "alice", through(10), 0);
        let now = Instant::now();
        hub.apply(committed(11, 10), now);
        // A history read before 11 was delivered here is read again.
        let (bob, _) = connection(2);
        assert_eq!(
            hub.seat(&member("bob"), &bob, &claimed("bob", 0), through(10)),
            Err(11)
        );
        // One read past what was delivered: 12 is in it, so only 13 is new.
        let mut bob = seat(&hub, "bob", through(12), 0);
        hub.apply(committed(12, 11), now);
        hub.apply(committed(13, 12), now);
        assert_eq!(
            drain(&mut alice),
            ["{\"event\":11}", "{\"event\":12}", "{\"event\":13}"]
        );
        assert_eq!(drain(&mut bob), ["{\"event\":13}"]);
    }

    #[test]
    fn presence_changes_go_in_order_and_a_late_joiner_gets_those_after_its_snapshot() {
        let hub = hub();
        let now = Instant::now();
        let mut alice = seat(&hub, "alice", through(0), 1);
        hub.apply(joined(2, "bob"), now);
        hub.apply(joined(2, "bob"), now);
        // carol's snapshot was taken at 2; the hub applied 3 before she sat.
        hub.apply(joined(3, "dave"), now);
        let (carol, mut to_carol) = connection(3);
        hub.seat(&member("carol"), &carol, &claimed("carol", 2), through(0))
            .expect("seated");
        let carol_frames = drain(&mut to_carol);
        assert_eq!(
            carol_frames.len(),
            2,
            "welcome, then dave: {carol_frames:?}"
        );
        assert!(carol_frames[1].contains("dave"));
        let alice_frames = drain(&mut alice);
        assert_eq!(
            alice_frames.len(),
            2,
            "bob once, then dave: {alice_frames:?}"
        );
        assert!(alice_frames[0].contains("bob") && alice_frames[1].contains("dave"));
    }
}

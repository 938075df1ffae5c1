//! Who is in which room, and delivering frames to them.
//!
//! One mutex guards everything here. It is never held across an `.await`:
//! delivery only queues bytes on bounded channels. Messages are delivered
//! by the journal thread in the order it committed them, so every member
//! receives a room's messages in id order.
//!
//! Presence: a user is listed once per room however many connections (tabs)
//! it has there, and leaves when the last one closes. A connection that
//! drops without saying goodbye keeps its place for a grace period, so a
//! quick reconnect (a page reload, a flaky phone network) shows no
//! left-and-joined flicker. A name belongs to whoever holds its resume token
//! while any of its presences lasts.
//!
//! Grace periods end in a task the hub starts, which sleeps until the
//! earliest deadline (like mini-redis's purge of expired keys): a user who
//! does not come back leaves when the grace ends, not at the next tick of a
//! poll, and an idle server does no work at all.

use crate::chat::moderation::{banned_message, Ban, Bans};
use crate::chat::peer::Peer;
use crate::error::Rejection;
use crate::history::moderation::RoomSettings;
use chat_shared::close::{self, Departure};
use chat_shared::{ChatMessage, ClientLimits, ErrorCode, RoomInfo, ServerFrame};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

/// A validated request to join, as the journal hands it to the hub.
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
    /// The invitation code the join carried; the journal checks it against
    /// the one in force.
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

/// The result of a successful join.
#[derive(Debug)]
pub struct Joined {
    pub membership: Membership,
    /// Whether this join created the room (the journal records new rooms).
    pub created_room: bool,
}

/// How the hub treats its users; from the running config.
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// How long a dropped connection keeps its place and name.
    pub resume_grace: Duration,
    /// Rooms are created by joining; this caps how many can exist.
    pub max_rooms: usize,
    /// How often each connection gets a `heartbeat`.
    pub heartbeat: Duration,
    /// What `welcome` announces.
    pub client_limits: ClientLimits,
}

/// Rooms, their members, and who owns which name.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<HubState>,
    /// Wakes the grace task when it may be sleeping toward the wrong
    /// deadline: one earlier than any it knew of was set.
    grace_changed: Notify,
    /// How long a dropped connection keeps its place and name.
    resume_grace: Duration,
    /// Rooms are created by joining; this caps how many can exist.
    max_rooms: usize,
    /// How often each connection gets a `heartbeat`, told in `welcome` so a
    /// client knows how long a silence means a dead connection.
    heartbeat_ms: u64,
    /// What `welcome` announces, built once from the running config.
    client_limits: ClientLimits,
}

#[derive(Debug, Default)]
struct HubState {
    rooms: BTreeMap<String, Room>,
    /// Names in use, by key: held while the user is present in any room
    /// (connected or within the grace period).
    names: HashMap<String, NameClaim>,
    /// Every running grace period as (deadline, room, key), earliest
    /// first: the grace task only ever looks at the first.
    graces: BTreeSet<(Instant, String, String)>,
    /// Who moderators keep out, checked on every join under this lock.
    bans: Bans,
}

#[derive(Debug)]
struct NameClaim {
    /// Whoever presents this token may use the name.
    token: String,
}

#[derive(Debug, Default)]
struct Room {
    /// Present users by key; ordered, so `welcome` lists them sorted
    /// case-insensitively without sorting on every join.
    members: BTreeMap<String, Member>,
    /// Read-only: a moderator locked it; posts are refused.
    locked: bool,
    /// Shown in the room's header; set by moderators.
    topic: Option<String>,
}

#[derive(Debug)]
struct Member {
    name: String,
    /// Every open connection of this user in this room (one per tab).
    peers: Vec<Peer>,
    /// Set when the last connection dropped: the user stays listed until then.
    grace_until: Option<Instant>,
}

impl Hub {
    /// A hub that knows `rooms` (from the database) and empty of users,
    /// with its grace task running until `shutdown` is cancelled.
    pub fn start(
        rooms: Vec<String>,
        settings: HubSettings,
        shutdown: &CancellationToken,
    ) -> Arc<Self> {
        let rooms = rooms
            .into_iter()
            .map(|name| (name, Room::default()))
            .collect();
        let hub = Arc::new(Self {
            state: Mutex::new(HubState {
                rooms,
                names: HashMap::new(),
                graces: BTreeSet::new(),
                bans: Bans::default(),
            }),
            grace_changed: Notify::new(),
            resume_grace: settings.resume_grace,
            max_rooms: settings.max_rooms,
            heartbeat_ms: u64::try_from(settings.heartbeat.as_millis()).unwrap_or(u64::MAX),
            client_limits: settings.client_limits,
        });
        tokio::spawn(end_grace_periods(hub.clone(), shutdown.clone()));
        hub
    }

    /// Takes back what moderators set before a restart: room locks and
    /// topics, and the bans still in force.
    pub fn restore_moderation(&self, rooms: Vec<RoomSettings>, bans: Bans) {
        let mut state = self.lock();
        for settings in rooms {
            // Settings of a room nobody ever joined (not in `rooms`) would
            // create it here; it is created by its first join instead.
            if let Some(room) = state.rooms.get_mut(&settings.room) {
                room.locked = settings.locked;
                room.topic = settings.topic;
            }
        }
        state.bans = bans;
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // Every update below leaves the maps consistent at each step, so a
        // panic elsewhere while holding the lock is no reason to stop serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection to a room: it gets `welcome` with `history`, and
    /// the others `user_joined` unless the user was already present.
    ///
    /// `invited` says the join carried the invitation code in force (or the
    /// chat is open). Without it, only a resume of a name still held (a
    /// presence or its grace period) gets in: a code rotation does not
    /// throw out people already inside, even across a reconnect. Checked
    /// under the same lock as the claim, so a grace period that ends
    /// meanwhile cannot let a stale token in.
    pub fn join(
        &self,
        request: &JoinRequest,
        peer: &Peer,
        history: Vec<ChatMessage>,
        history_gap: bool,
        invited: bool,
    ) -> Result<Joined, Rejection> {
        let mut guard = self.lock();
        // One plain borrow, so the maps can be borrowed separately.
        let state = &mut *guard;
        let now = std::time::SystemTime::now();
        // A moderator's connection is kept out by its name only: the
        // address may be one it shares with whoever it banned.
        let left = match peer.is_moderator() {
            true => state.bans.time_left(Some(&request.key), UNSPECIFIED, now),
            false => state.bans.time_left(Some(&request.key), peer.client, now),
        };
        if let Some(left) = left {
            return Err(banned(left));
        }
        let token = match state.names.get(&request.key) {
            Some(claim) if request.resume.as_deref() == Some(claim.token.as_str()) => {
                claim.token.clone()
            }
            _ if !invited => return Err(ErrorCode::Forbidden.into()),
            Some(_) => return Err(ErrorCode::NameTaken.into()),
            None => {
                let token = new_token()?;
                state.names.insert(
                    request.key.clone(),
                    NameClaim {
                        token: token.clone(),
                    },
                );
                token
            }
        };
        let created_room = !state.rooms.contains_key(&request.room);
        if created_room && state.rooms.len() >= self.max_rooms {
            state.release_name_if_unused(&request.key);
            return Err(Rejection::new(
                ErrorCode::InvalidRoom,
                format!(
                    "This server has reached its limit of {} rooms",
                    self.max_rooms
                ),
            ));
        }
        let room = state.rooms.entry(request.room.clone()).or_default();
        let name = match room.members.get_mut(&request.key) {
            Some(member) => {
                // Another tab, or a reconnect within the grace period: the
                // others already see this user, so they are told nothing.
                member.peers.push(peer.clone());
                if let Some(until) = member.grace_until.take() {
                    state
                        .graces
                        .remove(&(until, request.room.clone(), request.key.clone()));
                }
                member.name.clone()
            }
            None => {
                room.members.insert(
                    request.key.clone(),
                    Member {
                        name: request.name.clone(),
                        peers: vec![peer.clone()],
                        grace_until: None,
                    },
                );
                let joined = encode(&ServerFrame::UserJoined {
                    username: request.name.clone(),
                    count: room.count(),
                });
                room.broadcast_except(&request.key, &joined);
                request.name.clone()
            }
        };
        peer.send(encode(&ServerFrame::Welcome {
            username: name.clone(),
            users: room.members.values().map(|m| m.name.clone()).collect(),
            room: request.room.clone(),
            history,
            history_gap,
            resume: token,
            heartbeat_ms: Some(self.heartbeat_ms),
            limits: Some(self.client_limits.clone()),
            topic: room.topic.clone(),
            locked: room.locked,
        }));
        Ok(Joined {
            membership: Membership {
                room: request.room.clone(),
                key: request.key.clone(),
                name,
            },
            created_room,
        })
    }

    /// Removes one connection. When it was the user's last in the room, the
    /// user leaves at once or after the grace period, as `departure` says.
    pub fn leave(&self, membership: &Membership, peer: &Peer, departure: Departure) {
        let mut state = self.lock();
        let Some(room) = state.rooms.get_mut(&membership.room) else {
            return;
        };
        let Some(member) = room.members.get_mut(&membership.key) else {
            return;
        };
        member.peers.retain(|other| other.id != peer.id);
        if !member.peers.is_empty() {
            return;
        }
        match departure {
            Departure::AtOnce => state.remove_member(&membership.room, &membership.key),
            Departure::AfterGrace => {
                let until = Instant::now() + self.resume_grace;
                member.grace_until = Some(until);
                let earliest = state
                    .graces
                    .first()
                    .is_none_or(|(first, ..)| until < *first);
                state
                    .graces
                    .insert((until, membership.room.clone(), membership.key.clone()));
                drop(state);
                if earliest {
                    self.grace_changed.notify_one();
                }
            }
        }
    }

    /// Ends every grace period that is over at `now`; returns when the
    /// next one ends, if any is running.
    fn end_graces_due(&self, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        while let Some((until, ..)) = state.graces.first() {
            if *until > now {
                return Some(*until);
            }
            if let Some((_, room, key)) = state.graces.pop_first() {
                state.remove_member(&room, &key);
            }
        }
        None
    }

    /// Sends a committed message to every connection in its room, the
    /// sender's included.
    pub fn deliver(&self, room: &str, message: &ChatMessage, committed: std::time::Instant) {
        self.deliver_frame(room, &ServerFrame::Message(message.clone()), committed);
    }

    /// Sends a committed frame (a message, a deletion) to every connection
    /// in the room.
    pub fn deliver_frame(&self, room: &str, event: &ServerFrame, committed: std::time::Instant) {
        let frame = encode(event);
        if let Some(room) = self.lock().rooms.get(room) {
            for peer in room.members.values().flat_map(|member| &member.peers) {
                peer.deliver(frame.clone(), committed);
            }
        }
    }

    /// Whether the room is read-only.
    pub fn is_locked(&self, room: &str) -> bool {
        self.lock().rooms.get(room).is_some_and(|room| room.locked)
    }

    /// Locks or unlocks a room (already stored) and tells its members.
    pub fn set_locked(&self, room_name: &str, locked: bool, moderator: &str) {
        let mut state = self.lock();
        if let Some(room) = state.rooms.get_mut(room_name) {
            room.locked = locked;
            room.broadcast_except(
                "",
                &encode(&ServerFrame::RoomLocked {
                    room: room_name.to_owned(),
                    locked,
                    username: moderator.to_owned(),
                }),
            );
        }
    }

    /// Sets a room's topic (already stored; empty clears it) and tells its
    /// members.
    pub fn set_topic(&self, room_name: &str, topic: &str, moderator: &str) {
        let mut state = self.lock();
        if let Some(room) = state.rooms.get_mut(room_name) {
            room.topic = (!topic.is_empty()).then(|| topic.to_owned());
            room.broadcast_except(
                "",
                &encode(&ServerFrame::Topic {
                    room: room_name.to_owned(),
                    topic: topic.to_owned(),
                    username: moderator.to_owned(),
                }),
            );
        }
    }

    /// The addresses a user is connected from now, in any room: what a ban
    /// of that name keeps out besides the name.
    pub fn addresses_of(&self, key: &str) -> Vec<std::net::IpAddr> {
        self.lock()
            .rooms
            .values()
            .filter_map(|room| room.members.get(key))
            .flat_map(|member| member.peers.iter().map(|peer| peer.client))
            .collect()
    }

    /// Puts a ban (already stored) in force: every user it covers, by name
    /// or by an address of any of their connections, is told why and
    /// closed, and leaves at once.
    pub fn ban(&self, ban: Ban) {
        let now = std::time::SystemTime::now();
        let left = ban.until.duration_since(now).unwrap_or_default();
        let refusal = banned(left);
        let mut state = self.lock();
        let mut covered = Vec::new();
        for (room_name, room) in &state.rooms {
            for (key, member) in &room.members {
                // A member in its grace period has no connection but
                // still holds the name. Moderators are not thrown out by
                // an address they share with whoever they ban.
                let hit = *key == ban.name_key
                    || member
                        .peers
                        .iter()
                        .any(|peer| !peer.is_moderator() && ban.covers(None, peer.client));
                if hit {
                    for peer in &member.peers {
                        peer.reject(&refusal);
                        peer.closer().close_after_flush(close::POLICY, "banned");
                    }
                    covered.push((room_name.clone(), key.clone()));
                }
            }
        }
        for (room, key) in covered {
            state.remove_member(&room, &key);
        }
        state.bans.add(ban);
    }

    /// Users present, counted once per room, and rooms: for the metrics.
    pub fn census(&self) -> (usize, usize) {
        let state = self.lock();
        let users = state.rooms.values().map(|room| room.members.len()).sum();
        (users, state.rooms.len())
    }

    /// Tells everyone else in the room whether this user is typing.
    pub fn typing(&self, author: &Membership, is_typing: bool) {
        let frame = encode(&ServerFrame::Typing {
            username: author.name.clone(),
            is_typing,
        });
        if let Some(room) = self.lock().rooms.get(&author.room) {
            room.broadcast_except(&author.key, &frame);
        }
    }

    /// Every room with how many users are in it now.
    pub fn rooms(&self) -> Vec<RoomInfo> {
        self.lock()
            .rooms
            .iter()
            .map(|(name, room)| RoomInfo {
                name: name.clone(),
                online: room.count(),
            })
            .collect()
    }
}

impl HubState {
    fn remove_member(&mut self, room_name: &str, key: &str) {
        let Some(room) = self.rooms.get_mut(room_name) else {
            return;
        };
        let Some(member) = room.members.remove(key) else {
            return;
        };
        if let Some(until) = member.grace_until {
            self.graces
                .remove(&(until, room_name.to_owned(), key.to_owned()));
        }
        let left = encode(&ServerFrame::UserLeft {
            username: member.name.clone(),
            count: room.count(),
        });
        room.broadcast_except(key, &left);
        tracing::info!(user = %member.name, room = %room_name, "left");
        self.release_name_if_unused(key);
    }

    /// Frees a name once its owner is present in no room at all.
    fn release_name_if_unused(&mut self, key: &str) {
        if !self
            .rooms
            .values()
            .any(|room| room.members.contains_key(key))
        {
            self.names.remove(key);
        }
    }
}

impl Room {
    fn count(&self) -> u32 {
        u32::try_from(self.members.len()).unwrap_or(u32::MAX)
    }

    /// Queues the same bytes for every connection of every member but
    /// `skip_key` (`""` skips none).
    fn broadcast_except(&self, skip_key: &str, frame: &Utf8Bytes) {
        for (key, member) in &self.members {
            if key != skip_key {
                for peer in &member.peers {
                    peer.send(frame.clone());
                }
            }
        }
    }
}

/// The hub's grace task: ends grace periods as they run out, sleeping
/// until the next deadline, or until told of an earlier one; stops with the
/// server.
async fn end_grace_periods(hub: Arc<Hub>, shutdown: CancellationToken) {
    loop {
        let next = hub.end_graces_due(Instant::now());
        let next_deadline = async {
            match next {
                Some(until) => tokio::time::sleep_until(until).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            // A permit is stored if the notice came before this wait, so a
            // deadline set since `end_graces_due` is never missed.
            () = hub.grace_changed.notified() => {}
            () = next_deadline => {}
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

/// 128 random bits as hex: unguessable, so only the holder can resume.
fn new_token() -> Result<String, Rejection> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| {
        // A guessable token would let anyone take over a name: refuse.
        tracing::error!("no randomness for a resume token: {error}");
        Rejection::from(ErrorCode::ServerError)
    })?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::peer::{Closer, Outgoing};
    use crate::telemetry::Metrics;
    use chat_shared::username_key;
    use tokio::sync::mpsc;

    const GRACE: Duration = Duration::from_millis(1_300);

    fn start_hub() -> Arc<Hub> {
        let settings = HubSettings {
            resume_grace: GRACE,
            max_rooms: 10,
            heartbeat: Duration::from_secs(20),
            client_limits: ClientLimits::default(),
        };
        Hub::start(Vec::new(), settings, &CancellationToken::new())
    }

    fn connection(id: u64) -> (Peer, mpsc::Receiver<Outgoing>) {
        let closer = Arc::new(Closer::new(&CancellationToken::new()));
        let client = std::net::IpAddr::from([127, 0, 0, 1]);
        Peer::new(id, client, 64, closer, Arc::new(Metrics::off()))
    }

    fn join(hub: &Hub, name: &str, peer: &Peer) -> Membership {
        rejoin(hub, name, peer, None)
    }

    fn rejoin(hub: &Hub, name: &str, peer: &Peer, resume: Option<String>) -> Membership {
        let request = JoinRequest {
            name: name.to_owned(),
            key: username_key(name),
            room: "general".to_owned(),
            resume,
            join_code: None,
        };
        hub.join(&request, peer, Vec::new(), false, true)
            .expect("join")
            .membership
    }

    fn drain(frames: &mut mpsc::Receiver<Outgoing>) {
        while frames.try_recv().is_ok() {}
    }

    fn resume_token(frames: &mut mpsc::Receiver<Outgoing>) -> String {
        let text = frames.try_recv().expect("a welcome").frame;
        match ServerFrame::decode(&text) {
            Ok(ServerFrame::Welcome { resume, .. }) => resume,
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    async fn next_frame(frames: &mut mpsc::Receiver<Outgoing>) -> ServerFrame {
        let text = frames.recv().await.expect("the connection is open").frame;
        ServerFrame::decode(&text).expect("a server frame")
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_user_leaves_exactly_when_the_grace_ends() {
        let hub = start_hub();
        let (alice, mut to_alice) = connection(1);
        join(&hub, "alice", &alice);
        let (bob, _to_bob) = connection(2);
        let bob_joined = join(&hub, "bob", &bob);
        drain(&mut to_alice);

        // Off any round period a polling loop might have used.
        tokio::time::sleep(Duration::from_millis(170)).await;
        let dropped_at = Instant::now();
        hub.leave(&bob_joined, &bob, Departure::AfterGrace);

        tokio::time::sleep(GRACE - Duration::from_millis(1)).await;
        assert!(
            to_alice.try_recv().is_err(),
            "bob left before his grace ended"
        );
        // Nothing else is waiting, so time moves on to the grace task's
        // deadline and no further.
        let frame = next_frame(&mut to_alice).await;
        assert_eq!(
            frame,
            ServerFrame::UserLeft {
                username: "bob".into(),
                count: 1
            }
        );
        assert_eq!(Instant::now() - dropped_at, GRACE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_return_within_the_grace_cancels_only_that_users_deadline() {
        let hub = start_hub();
        let (alice, mut to_alice) = connection(1);
        join(&hub, "alice", &alice);
        let (bob, mut to_bob) = connection(2);
        let bob_joined = join(&hub, "bob", &bob);
        let bob_token = resume_token(&mut to_bob);
        let (carol, _to_carol) = connection(3);
        let carol_joined = join(&hub, "carol", &carol);
        drain(&mut to_alice);

        hub.leave(&bob_joined, &bob, Departure::AfterGrace);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let carol_dropped_at = Instant::now();
        hub.leave(&carol_joined, &carol, Departure::AfterGrace);
        tokio::time::sleep(Duration::from_millis(400)).await;
        // bob comes back, on a new connection with his token.
        let (bob_again, _to_bob_again) = connection(4);
        rejoin(&hub, "bob", &bob_again, Some(bob_token));
        assert!(to_alice.try_recv().is_err(), "a return is not announced");

        let frame = next_frame(&mut to_alice).await;
        assert_eq!(
            frame,
            ServerFrame::UserLeft {
                username: "carol".into(),
                count: 2
            }
        );
        assert_eq!(Instant::now() - carol_dropped_at, GRACE);
        assert!(hub.lock().graces.is_empty());
        tokio::time::sleep(GRACE * 2).await;
        assert!(to_alice.try_recv().is_err(), "bob stays");
    }

    #[tokio::test(start_paused = true)]
    async fn a_user_who_leaves_at_once_leaves_no_deadline_behind() {
        let hub = start_hub();
        let (alice, mut to_alice) = connection(1);
        join(&hub, "alice", &alice);
        let (bob, _to_bob) = connection(2);
        let bob_joined = join(&hub, "bob", &bob);
        drain(&mut to_alice);
        hub.leave(&bob_joined, &bob, Departure::AtOnce);
        assert!(matches!(
            next_frame(&mut to_alice).await,
            ServerFrame::UserLeft { .. }
        ));
        assert!(hub.lock().graces.is_empty());
    }
}

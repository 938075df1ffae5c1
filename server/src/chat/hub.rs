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

use crate::chat::peer::Peer;
use crate::error::Rejection;
use chat_shared::close::Departure;
use chat_shared::{ChatMessage, ClientLimits, ErrorCode, RoomInfo, ServerFrame};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Utf8Bytes;

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

/// Rooms, their members, and who owns which name.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<HubState>,
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
    /// A hub that knows `rooms` (from the database) and empty of users.
    pub fn new(
        rooms: Vec<String>,
        resume_grace: Duration,
        max_rooms: usize,
        heartbeat: Duration,
        client_limits: ClientLimits,
    ) -> Self {
        let rooms = rooms
            .into_iter()
            .map(|name| (name, Room::default()))
            .collect();
        Self {
            state: Mutex::new(HubState {
                rooms,
                names: HashMap::new(),
            }),
            resume_grace,
            max_rooms,
            heartbeat_ms: u64::try_from(heartbeat.as_millis()).unwrap_or(u64::MAX),
            client_limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // Every update below leaves the maps consistent at each step, so a
        // panic elsewhere while holding the lock is no reason to stop serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection to a room: it gets `welcome` with `history`, and
    /// the others `user_joined` unless the user was already present.
    pub fn join(
        &self,
        request: &JoinRequest,
        peer: &Peer,
        history: Vec<ChatMessage>,
        history_gap: bool,
    ) -> Result<Joined, Rejection> {
        let mut state = self.lock();
        let token = match state.names.get(&request.key) {
            Some(claim) if request.resume.as_deref() == Some(claim.token.as_str()) => {
                claim.token.clone()
            }
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
                member.grace_until = None;
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
                tracing::info!(peer = peer.id, user = %request.name, room = %request.room, "joined");
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
            Departure::AfterGrace => member.grace_until = Some(Instant::now() + self.resume_grace),
        }
    }

    /// Ends the grace period of users who did not come back in time.
    pub fn expire_grace(&self, now: Instant) {
        let mut state = self.lock();
        let expired: Vec<(String, String)> = state
            .rooms
            .iter()
            .flat_map(|(room_name, room)| {
                room.members
                    .iter()
                    .filter(|(_, member)| member.grace_until.is_some_and(|until| until <= now))
                    .map(|(key, _)| (room_name.clone(), key.clone()))
            })
            .collect();
        for (room, key) in expired {
            state.remove_member(&room, &key);
        }
    }

    /// Sends a committed message to every connection in its room, the
    /// sender's included.
    pub fn deliver(&self, room: &str, message: &ChatMessage) {
        let frame = encode(&ServerFrame::Message(message.clone()));
        if let Some(room) = self.lock().rooms.get(room) {
            room.broadcast_except("", &frame);
        }
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

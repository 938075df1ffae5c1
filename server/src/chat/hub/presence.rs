//! The hub's second sequence: who is in each room. Presence changes are
//! applied in the order of the room's presence `seq`, told to this node's
//! members name by name (or, in a large room, only as a count), and kept
//! for a short while for joiners whose snapshot is older.

use super::{encode, Hub, HubState, Room};
use crate::cluster::{LocalPresence, PresenceChange, PresenceEvent, Snapshot};
use chat_shared::{ServerFrame, MAX_USERS_PAGE, PRESENCE_LIST_LIMIT};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How many recent presence changes a room keeps for joiners whose
/// snapshot is older than what the room has applied.
const RECENT_PRESENCE: usize = 64;

/// How often a large room's members hear how many they are, at most.
pub(crate) const ONLINE_INTERVAL: Duration = Duration::from_secs(1);

impl Hub {
    /// Forgets the order of presence changes: the presence lost its state
    /// (a Redis restart numbers every room from 1 again), so the next
    /// changes are taken whatever their `seq`, and [`Hub::resync`] brings
    /// each room up to date.
    pub(crate) fn restart_presence(&self) {
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
    pub(crate) fn resync(&self, room_name: &str, snapshot: Snapshot) {
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
    pub(crate) fn users_page(
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
    pub(crate) fn tell_counts(&self) {
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

    /// Who is connected here, for a presence that lost its state.
    pub(crate) fn local_presence(&self) -> Vec<LocalPresence> {
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
    pub(super) fn apply_presence(&mut self, event: PresenceEvent) {
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
}

/// Tells large rooms how many are in them every [`ONLINE_INTERVAL`], and
/// held names their other rooms' news ([`super::activity`]) a slot each
/// tenth of it, until the server shuts down.
pub(crate) async fn tell_counts(hub: Arc<Hub>, stop: tokio_util::sync::CancellationToken) {
    use super::activity::SLOTS;
    let slots = u32::try_from(SLOTS).unwrap_or(1);
    let mut tick = tokio::time::interval(ONLINE_INTERVAL / slots);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for slot in (0..SLOTS).cycle() {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {
                if slot == 0 {
                    hub.tell_counts();
                }
                hub.tell_activity(slot);
            }
        }
    }
}

//! The seams that let several nodes be one chat, beside the store
//! ([`crate::history::store`]):
//!
//! - [`Bus`]: how what happens on one node (a committed message, a typing
//!   notice, a moderator's action) reaches the members of the room on
//!   every other node;
//! - [`Presence`]: who is online in which room, who holds which name, the
//!   resume tokens and their grace periods.
//!
//! Each has an in-process implementation, the single-node default
//! ([`local`]), and one on Redis ([`redis`]) for a cluster. The rest of
//! the server sees only these traits and [`Node`], the node as the
//! cluster sees it.

#[cfg(test)]
mod conformance;
pub(crate) mod local;
pub(crate) mod node;
pub(crate) mod redis;

use crate::chat::hub::Hub;
use crate::error::Rejection;
use crate::history::moderation::StoredBan;
use chat_shared::close::Departure;
use chat_shared::{ErrorCode, RoomInfo, PRESENCE_LIST_LIMIT};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Something one node tells every other node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum BusEvent {
    /// A committed event of a room (a message, a deletion): `frame` is the
    /// JSON the members receive, `prev` the room's event before it (see
    /// [`crate::history::store::Appended::New`]).
    Committed {
        room: String,
        id: u64,
        prev: u64,
        frame: String,
    },
    /// Someone started or stopped typing; never shown to `key` itself.
    Typing {
        room: String,
        key: String,
        username: String,
        is_typing: bool,
    },
    /// Who is in a room changed.
    Presence(PresenceEvent),
    /// A moderator locked or unlocked a room (already stored).
    Locked {
        room: String,
        locked: bool,
        username: String,
    },
    /// A moderator set a room's topic (already stored; empty clears it).
    Topic {
        room: String,
        topic: String,
        username: String,
    },
    /// A moderator banned someone (already stored): each node closes the
    /// connections it covers.
    Banned(StoredBan),
    /// Something about a held name's person (already stored) that its
    /// connections on every node must follow.
    Person(PersonChange),
}

/// A change to a person ([`crate::history::people`]) that each node
/// applies to its own connections of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub(crate) enum PersonChange {
    /// `room` became one of the person's rooms: its connections hear of
    /// its news from now on.
    RoomAdded { person: u64, room: String },
    /// `room` is no longer one of the person's rooms.
    RoomLeft { person: u64, room: String },
    /// A device was revoked: its connections are closed.
    Revoked { person: u64, device: u64 },
    /// The person is gone (its name released or freed).
    Forgotten { person: u64 },
    /// A frame for every connection of the person (`read`, `level`,
    /// `notify`), already encoded, except those sitting in `except_room`
    /// (which see the message itself). Nothing is stored with it: it is
    /// for whoever is connected now, on whichever node.
    Tell {
        person: u64,
        frame: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        except_room: Option<String>,
    },
}

/// A change of who is in a room, numbered: within a room, `seq` grows by
/// one with every change, in the order the presence made them, so a node
/// applies them in that order and a joiner's snapshot says which ones it
/// already reflects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PresenceEvent {
    pub room: String,
    pub seq: u64,
    pub change: PresenceChange,
}

/// What changed; `count` is the room's number of users after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub(crate) enum PresenceChange {
    Joined {
        key: String,
        username: String,
        count: u32,
    },
    Left {
        key: String,
        username: String,
        count: u32,
    },
}

/// How events from other nodes reach this one.
pub(crate) trait Bus: Send + Sync {
    /// Tells every other node (the in-process bus has none to tell); the
    /// caller applies the event on this node. Never waits: an event that
    /// cannot be sent now is dropped and logged, and the other nodes catch
    /// up from the store and the presence when the link is back.
    fn publish(&self, event: &BusEvent);
}

/// This node's hub with the two seams beside it: what the connections and
/// the journal deliver through.
#[derive(Clone)]
pub(crate) struct Cluster {
    /// This node's rooms and connections.
    pub hub: Arc<Hub>,
    /// How events reach the other nodes (none, on a single node).
    pub bus: Arc<dyn Bus>,
    /// Who is online where, across every node.
    pub presence: Arc<dyn Presence>,
}

impl Cluster {
    /// Tells the other nodes of an event and applies it here: for events
    /// outside the id sequence (typing, moderators' actions), which leave
    /// no gap to fill.
    pub(crate) fn announce(&self, event: BusEvent) {
        self.bus.publish(&event);
        self.hub.apply(event, std::time::Instant::now());
    }
}

/// A request to be present in a room under a name.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub room: String,
    /// The [`chat_shared::username_key`] of `name`.
    pub key: String,
    /// The normalised name.
    pub name: String,
    /// The token from an earlier welcome, if the client has one.
    pub resume: Option<String>,
    /// A held name's shared token ([`crate::history::people::Person`]):
    /// a new claim takes it instead of a fresh one, so the person's
    /// devices, presenting it as `resume`, share the name like tabs.
    pub shared_token: Option<String>,
    /// Whether the join carried the invitation code in force (or the chat
    /// is open). Without it only a resume of a name still held gets in.
    pub invited: bool,
    /// The client's address: a ban of the name covers it too.
    pub address: std::net::IpAddr,
}

/// A claim that succeeded: the connection is counted in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claimed {
    /// The resume token: the one presented, or a new one for a new claim.
    pub token: String,
    /// The name as everyone sees it (an earlier tab's spelling wins).
    pub username: String,
    /// Who is in the room now, this user included, ordered by key: all of
    /// them, or in a large room the first (see [`listed`]).
    pub users: Vec<String>,
    /// How many are in the room now.
    pub online: u32,
    /// The room's presence `seq` that `users` reflects: the joiner has
    /// seen every change up to it.
    pub seq: u64,
}

/// The names a `welcome` lists out of a room's members (key, name),
/// ordered by key and including the joiner: everyone, or in a room of
/// more than [`PRESENCE_LIST_LIMIT`] the first of them, with the joiner
/// in the last place when it comes later. Only that many are read, so a
/// join costs the same in a crowd as in a small room.
pub(crate) fn listed<'a>(
    members: impl IntoIterator<Item = (&'a str, &'a str)>,
    joiner_key: &str,
    joiner_name: &str,
) -> Vec<String> {
    let mut found = false;
    let mut users: Vec<String> = members
        .into_iter()
        .take(PRESENCE_LIST_LIMIT)
        .map(|(key, name)| {
            found |= key == joiner_key;
            name.to_owned()
        })
        .collect();
    if !found {
        if users.len() == PRESENCE_LIST_LIMIT {
            users.pop();
        }
        users.push(joiner_name.to_owned());
    }
    users
}

/// Who is in a room, as of a `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Snapshot {
    pub seq: u64,
    /// (key, name), ordered by key.
    pub members: Vec<(String, String)>,
}

/// Who is online where, across every node.
///
/// Every change is published as a [`PresenceEvent`] to every node,
/// this one included, in `seq` order per room.
pub(crate) trait Presence: Send + Sync {
    /// Counts one more connection of `claim.key` in `claim.room` on this
    /// node, taking the name (or, with its token, taking it back): refused
    /// with `name_taken` while someone else holds it, `forbidden` without
    /// an invitation. A user new to the room is announced (`Joined`); a
    /// return within the grace period, or another tab, is not.
    fn claim<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<Claimed, Rejection>>;

    /// One connection of `key` in `room` on this node ended. When it was
    /// the user's last anywhere, the user leaves (`Left`) at once or after
    /// the grace period, as `departure` says; the name is freed once its
    /// holder is in no room.
    fn release<'a>(
        &'a self,
        room: &'a str,
        key: &'a str,
        departure: Departure,
    ) -> BoxFuture<'a, ()>;

    /// Takes `key` out of every room at once, whatever connections it
    /// has anywhere: a ban.
    fn evict<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;

    /// The addresses the holder of `key` joined from, on any node, while
    /// it holds the name: what a ban of the name keeps out besides it.
    fn addresses<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Vec<std::net::IpAddr>>;

    /// Every room anyone is in, with how many users.
    fn rooms(&self) -> BoxFuture<'_, Result<Vec<RoomInfo>, Rejection>>;

    /// Who is in `room` now, for a node that may have missed changes.
    fn snapshot<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<Snapshot, Rejection>>;
}

/// One user's connections in one room on this node, as the node knows
/// them: what a presence puts back after losing it (a Redis restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalPresence {
    pub room: String,
    pub key: String,
    pub username: String,
    pub token: String,
    /// Open connections (tabs) on this node.
    pub connections: u32,
}

/// This node, as the link to the other nodes sees it.
pub(crate) trait Node: Send + Sync {
    /// An event another node published, or a presence change.
    fn receive(&self, event: BusEvent);

    /// The link to the other nodes was lost for a while and is back:
    /// events may be missing. The node fills message gaps from the store
    /// and brings its rooms' members up to date from the presence.
    fn reconnected(&self);

    /// Who is connected to this node, for a presence that lost its state.
    fn local_presence(&self) -> Vec<LocalPresence>;
}

/// 128 random bits as hex: unguessable, so only the holder can resume.
pub(crate) fn new_token() -> Result<String, Rejection> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| {
        // A guessable token would let anyone take over a name: refuse.
        tracing::error!("no randomness for a resume token: {error}");
        Rejection::from(ErrorCode::ServerError)
    })?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// A node's id, for logs and for the presence to tell nodes apart:
/// random, so two nodes never share one, and short enough to read.
pub(crate) fn new_node_id() -> Result<String, String> {
    new_token()
        .map(|token| token[..12].to_owned())
        .map_err(|_| "no randomness for a node id".to_owned())
}

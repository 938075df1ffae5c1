//! The single-node seams: a bus with no other node to tell, and presence
//! kept in this process's memory.

use super::{
    Bus, BusEvent, Claim, Claimed, Node, Presence, PresenceChange, PresenceEvent, Snapshot,
};
use crate::error::Rejection;
use crate::history::store::{constant_time_eq, sha256_hex};
use chat_shared::close::Departure;
use chat_shared::{ErrorCode, ForbiddenReason, RoomInfo};
use futures_util::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The bus of a chat that runs on one node: everything that happens is
/// already applied here, and there is nobody else to tell.
#[derive(Debug, Default)]
pub(crate) struct LocalBus;

impl Bus for LocalBus {
    fn publish(&self, _event: &BusEvent) {}
}

/// Presence in this process's memory: the single-node default.
///
/// A user is listed once per room however many connections (tabs) it has
/// there, and leaves when the last one closes. A connection that drops
/// without saying goodbye keeps its place for a grace period, so a quick
/// reconnect (a page reload, a flaky phone network) shows no
/// left-and-joined flicker. A name belongs to whoever holds its resume
/// token while any of its presences lasts.
///
/// Grace periods end in a task that sleeps until the earliest deadline
/// (like mini-redis's purge of expired keys): a user who does not come
/// back leaves when the grace ends, not at the next tick of a poll, and an
/// idle server does no work at all.
///
/// Every change reaches the node under the same lock that made it, so the
/// node applies them in `seq` order.
pub(crate) struct MemoryPresence {
    state: Mutex<State>,
    /// Wakes the grace task when it may be sleeping toward the wrong
    /// deadline: one earlier than any it knew of was set.
    grace_changed: Notify,
    resume_grace: Duration,
    node: Arc<dyn Node>,
}

impl std::fmt::Debug for MemoryPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryPresence").finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    rooms: HashMap<String, RoomPresence>,
    /// Names in use, by key: held while the user is present in any room
    /// (connected or within the grace period).
    names: HashMap<String, NameClaim>,
    /// The looks of the names in use ([`chat_shared::username_looks`]):
    /// a name that looks like one held by someone else is taken too.
    looks: HashSet<String>,
    /// Every running grace period as (deadline, room, key), earliest
    /// first: the grace task only ever looks at the first.
    graces: BTreeSet<(Instant, String, String)>,
}

#[derive(Debug)]
struct NameClaim {
    /// The SHA-256 of the resume token: whoever presents the token may
    /// use the name. Compared with [`resumes`], so the time a wrong token
    /// takes says nothing about the right one.
    token_hash: String,
    /// Where its holder joined from.
    addresses: Vec<std::net::IpAddr>,
    /// Its entries in [`State::looks`], freed with it.
    looks: Vec<String>,
}

#[derive(Debug, Default)]
struct RoomPresence {
    seq: u64,
    /// Present users by key; ordered, so a snapshot lists them sorted
    /// case-insensitively without sorting on every join.
    members: BTreeMap<String, Member>,
}

#[derive(Debug)]
struct Member {
    name: String,
    connections: u32,
    /// Set when the last connection dropped: the user stays listed until then.
    grace_until: Option<Instant>,
}

impl MemoryPresence {
    /// An empty presence whose changes go to `node`, with its grace task
    /// running until `shutdown` is cancelled.
    pub(crate) fn start(
        resume_grace: Duration,
        node: Arc<dyn Node>,
        shutdown: &CancellationToken,
    ) -> Arc<Self> {
        let presence = Arc::new(Self {
            state: Mutex::new(State::default()),
            grace_changed: Notify::new(),
            resume_grace,
            node,
        });
        tokio::spawn(end_grace_periods(presence.clone(), shutdown.clone()));
        presence
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the maps consistent at each step, so a panic
        // elsewhere while holding the lock is no reason to stop serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, claim: &Claim) -> Result<Claimed, Rejection> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let token = match (state.names.get_mut(&claim.key), claim.resume.as_deref()) {
            (Some(held), Some(resume)) if resumes(resume, &held.token_hash) => {
                if !held.addresses.contains(&claim.address) {
                    held.addresses.push(claim.address);
                }
                resume.to_owned()
            }
            _ if !claim.invited => return Err(Rejection::forbidden(ForbiddenReason::JoinCode)),
            (Some(_), _) => return Err(ErrorCode::NameTaken.into()),
            (None, _) => {
                let looks = chat_shared::username_looks(&claim.name);
                if looks.iter().any(|look| state.looks.contains(look)) {
                    return Err(ErrorCode::NameTaken.into());
                }
                let token = match &claim.shared_token {
                    Some(token) => token.clone(),
                    None => super::new_token()?,
                };
                for look in &looks {
                    state.looks.insert(look.clone());
                }
                let held = NameClaim {
                    token_hash: sha256_hex(&token),
                    addresses: vec![claim.address],
                    looks,
                };
                state.names.insert(claim.key.clone(), held);
                token
            }
        };
        let room = state.rooms.entry(claim.room.clone()).or_default();
        let username = match room.members.get_mut(&claim.key) {
            Some(member) => {
                // Another tab, or a return within the grace period: the
                // others already see this user, so they are told nothing.
                member.connections += 1;
                if let Some(until) = member.grace_until.take() {
                    state
                        .graces
                        .remove(&(until, claim.room.clone(), claim.key.clone()));
                }
                member.name.clone()
            }
            None => {
                room.members.insert(
                    claim.key.clone(),
                    Member {
                        name: claim.name.clone(),
                        connections: 1,
                        grace_until: None,
                    },
                );
                room.seq += 1;
                self.node.receive(BusEvent::Presence(PresenceEvent {
                    room: claim.room.clone(),
                    seq: room.seq,
                    change: PresenceChange::Joined {
                        key: claim.key.clone(),
                        username: claim.name.clone(),
                        count: room.count(),
                    },
                }));
                claim.name.clone()
            }
        };
        let members = room.members.iter();
        let users = super::listed(
            members.map(|(key, member)| (key.as_str(), member.name.as_str())),
            &claim.key,
            &username,
        );
        Ok(Claimed {
            token,
            username,
            users,
            online: room.count(),
            seq: room.seq,
        })
    }

    fn release_now(&self, room_name: &str, key: &str, departure: Departure) {
        let mut state = self.lock();
        let Some(member) = state
            .rooms
            .get_mut(room_name)
            .and_then(|room| room.members.get_mut(key))
        else {
            return;
        };
        member.connections = member.connections.saturating_sub(1);
        if member.connections > 0 {
            return;
        }
        match departure {
            Departure::AtOnce => self.remove_member(&mut state, room_name, key),
            Departure::AfterGrace => {
                let until = Instant::now() + self.resume_grace;
                member.grace_until = Some(until);
                let earliest = state
                    .graces
                    .first()
                    .is_none_or(|(first, ..)| until < *first);
                state
                    .graces
                    .insert((until, room_name.to_owned(), key.to_owned()));
                drop(state);
                if earliest {
                    self.grace_changed.notify_one();
                }
            }
        }
    }

    fn remove_member(&self, state: &mut State, room_name: &str, key: &str) {
        let Some(room) = state.rooms.get_mut(room_name) else {
            return;
        };
        let Some(member) = room.members.remove(key) else {
            return;
        };
        if let Some(until) = member.grace_until {
            state
                .graces
                .remove(&(until, room_name.to_owned(), key.to_owned()));
        }
        room.seq += 1;
        self.node.receive(BusEvent::Presence(PresenceEvent {
            room: room_name.to_owned(),
            seq: room.seq,
            change: PresenceChange::Left {
                key: key.to_owned(),
                username: member.name,
                count: room.count(),
            },
        }));
        // Frees a name once its owner is present in no room at all.
        if !state
            .rooms
            .values()
            .any(|room| room.members.contains_key(key))
        {
            if let Some(held) = state.names.remove(key) {
                for look in held.looks {
                    state.looks.remove(&look);
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
                self.remove_member(&mut state, &room, &key);
            }
        }
        None
    }
}

impl Presence for MemoryPresence {
    fn claim<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<Claimed, Rejection>> {
        Box::pin(std::future::ready(self.claim_now(claim)))
    }

    fn release<'a>(
        &'a self,
        room: &'a str,
        key: &'a str,
        departure: Departure,
    ) -> BoxFuture<'a, ()> {
        self.release_now(room, key, departure);
        Box::pin(std::future::ready(()))
    }

    fn evict<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        let mut state = self.lock();
        let rooms: Vec<String> = state
            .rooms
            .iter()
            .filter(|(_, room)| room.members.contains_key(key))
            .map(|(name, _)| name.clone())
            .collect();
        for room in rooms {
            self.remove_member(&mut state, &room, key);
        }
        Box::pin(std::future::ready(()))
    }

    fn addresses<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Vec<std::net::IpAddr>> {
        let addresses = self
            .lock()
            .names
            .get(key)
            .map(|held| held.addresses.clone())
            .unwrap_or_default();
        Box::pin(std::future::ready(addresses))
    }

    fn rooms(&self) -> BoxFuture<'_, Result<Vec<RoomInfo>, Rejection>> {
        let mut rooms: Vec<RoomInfo> = self
            .lock()
            .rooms
            .iter()
            .filter(|(_, room)| !room.members.is_empty())
            .map(|(name, room)| RoomInfo {
                name: name.clone(),
                online: room.count(),
                ..RoomInfo::default()
            })
            .collect();
        // In name order, as Redis lists them.
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        Box::pin(std::future::ready(Ok(rooms)))
    }

    fn snapshot<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<Snapshot, Rejection>> {
        let snapshot = self
            .lock()
            .rooms
            .get(room)
            .map(|room| Snapshot {
                seq: room.seq,
                members: room
                    .members
                    .iter()
                    .map(|(key, member)| (key.clone(), member.name.clone()))
                    .collect(),
            })
            .unwrap_or_default();
        Box::pin(std::future::ready(Ok(snapshot)))
    }
}

/// Whether `presented` is the token whose SHA-256 is `held_hash`. The
/// hashes are compared without stopping at the first difference; even a
/// comparison that did would only tell a timer about the hash, which
/// leads to no token.
fn resumes(presented: &str, held_hash: &str) -> bool {
    constant_time_eq(sha256_hex(presented).as_bytes(), held_hash.as_bytes())
}

impl RoomPresence {
    fn count(&self) -> u32 {
        u32::try_from(self.members.len()).unwrap_or(u32::MAX)
    }
}

/// The grace task: ends grace periods as they run out, sleeping until the
/// next deadline, or until told of an earlier one; stops with the server.
async fn end_grace_periods(presence: Arc<MemoryPresence>, shutdown: CancellationToken) {
    loop {
        let next = presence.end_graces_due(Instant::now());
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
            () = presence.grace_changed.notified() => {}
            () = next_deadline => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::LocalPresence;
    use chat_shared::username_key;

    const GRACE: Duration = Duration::from_millis(1_300);

    /// A node that keeps what the presence tells it.
    #[derive(Default)]
    struct Recorder {
        events: Mutex<Vec<PresenceEvent>>,
    }

    impl Recorder {
        fn take(&self) -> Vec<PresenceEvent> {
            std::mem::take(&mut *self.events.lock().expect("not poisoned"))
        }
    }

    impl Node for Recorder {
        fn receive(&self, event: BusEvent) {
            if let BusEvent::Presence(event) = event {
                self.events.lock().expect("not poisoned").push(event);
            }
        }
        fn reconnected(&self) {}
        fn local_presence(&self) -> Vec<LocalPresence> {
            Vec::new()
        }
    }

    fn start() -> (Arc<MemoryPresence>, Arc<Recorder>) {
        let node = Arc::new(Recorder::default());
        let presence = MemoryPresence::start(GRACE, node.clone(), &CancellationToken::new());
        (presence, node)
    }

    fn claim(name: &str, resume: Option<String>) -> Claim {
        Claim {
            room: "general".into(),
            key: username_key(name),
            name: name.into(),
            resume,
            shared_token: None,
            invited: true,
            address: std::net::IpAddr::from([127, 0, 0, 1]),
        }
    }

    fn left(seq: u64, name: &str, count: u32) -> PresenceEvent {
        PresenceEvent {
            room: "general".into(),
            seq,
            change: PresenceChange::Left {
                key: username_key(name),
                username: name.into(),
                count,
            },
        }
    }

    /// Lets the grace task run until it has nothing due.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_user_leaves_exactly_when_the_grace_ends() {
        let (presence, node) = start();
        presence.claim(&claim("alice", None)).await.expect("alice");
        presence.claim(&claim("bob", None)).await.expect("bob");
        node.take();
        // Off any round period a polling loop might have used.
        tokio::time::sleep(Duration::from_millis(170)).await;
        presence
            .release("general", "bob", Departure::AfterGrace)
            .await;
        tokio::time::sleep(GRACE - Duration::from_millis(1)).await;
        settle().await;
        assert_eq!(node.take(), [], "bob left before his grace ended");
        tokio::time::sleep(Duration::from_millis(1)).await;
        settle().await;
        assert_eq!(node.take(), [left(3, "bob", 1)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_return_within_the_grace_cancels_only_that_users_deadline() {
        let (presence, node) = start();
        presence.claim(&claim("alice", None)).await.expect("alice");
        let bob = presence.claim(&claim("bob", None)).await.expect("bob");
        presence.claim(&claim("carol", None)).await.expect("carol");
        node.take();
        presence
            .release("general", "bob", Departure::AfterGrace)
            .await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        presence
            .release("general", "carol", Departure::AfterGrace)
            .await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        // bob comes back, on a new connection with his token; a stranger
        // cannot take the name meanwhile.
        assert!(presence.claim(&claim("Bob", None)).await.is_err());
        let back = presence
            .claim(&claim("bob", Some(bob.token.clone())))
            .await
            .expect("bob is back");
        assert_eq!(back.token, bob.token);
        assert_eq!(node.take(), [], "a return is not announced");
        tokio::time::sleep(GRACE).await;
        settle().await;
        assert_eq!(node.take(), [left(4, "carol", 2)]);
        assert!(presence.lock().graces.is_empty());
        tokio::time::sleep(GRACE * 2).await;
        settle().await;
        assert_eq!(node.take(), [], "bob stays");
    }

    #[tokio::test(start_paused = true)]
    async fn a_user_who_leaves_at_once_leaves_no_deadline_behind_and_frees_the_name() {
        let (presence, node) = start();
        presence.claim(&claim("alice", None)).await.expect("alice");
        presence.claim(&claim("bob", None)).await.expect("bob");
        node.take();
        presence.release("general", "bob", Departure::AtOnce).await;
        assert_eq!(node.take(), [left(3, "bob", 1)]);
        assert!(presence.lock().graces.is_empty());
        let again = presence.claim(&claim("BOB", None)).await.expect("free");
        assert_eq!(again.users, ["alice", "BOB"]);
        assert_eq!(again.seq, 4);
    }

    #[tokio::test]
    async fn only_the_hash_of_a_resume_token_is_kept_and_only_the_token_resumes() {
        let (presence, _node) = start();
        let alice = presence.claim(&claim("alice", None)).await.expect("alice");
        let held = presence.lock().names[&username_key("alice")]
            .token_hash
            .clone();
        assert_ne!(held, alice.token, "not the token itself");
        assert_eq!(held, sha256_hex(&alice.token));
        let mut wrong = alice.token.clone();
        wrong.replace_range(..1, if wrong.starts_with('0') { "1" } else { "0" });
        for guess in [wrong.as_str(), &alice.token[..31], "", held.as_str()] {
            let refused = presence.claim(&claim("alice", Some(guess.into()))).await;
            assert!(refused.is_err(), "{guess:?} resumed");
        }
        let back = presence
            .claim(&claim("alice", Some(alice.token.clone())))
            .await
            .expect("the token resumes");
        assert_eq!(back.token, alice.token);
    }
}

//! One set of behaviour tests for every [`Presence`]: each case takes a
//! [`Chat`] of two nodes (`a` and `b`) and says what any presence must do,
//! like the store's suite (`crate::history::conformance`). The `local` and
//! `redis` modules at the end run all of them against the in-process
//! presence, where one node is the whole chat (`a` and `b` are the same),
//! and against two nodes on a real Redis. Tests of one implementation
//! (exact grace timing with a paused clock, what Redis keeps, a Redis
//! restart, a silent node) live beside it.

use super::local::MemoryPresence;
use super::redis::tests::two_nodes;
use super::{
    BusEvent, Claim, Claimed, LocalPresence, Node, Presence, PresenceChange, PresenceEvent,
};
use chat_shared::close::Departure;
use chat_shared::{username_key, ErrorCode};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The longest any wait in these tests may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// The grace period of the presences under test: the Redis nodes' too.
const GRACE: Duration = Duration::from_secs(1);

/// One node's view of the chat: its presence and what it was told.
pub(crate) struct Side {
    pub(crate) presence: Arc<dyn Presence>,
    pub(crate) recorder: Arc<Recorder>,
}

/// Two nodes of one chat, kept running while it lives.
pub(crate) struct Chat {
    pub(crate) a: Side,
    pub(crate) b: Side,
    /// Whatever must live as long as the nodes (their tasks stop on drop).
    _running: Box<dyn Send + Sync>,
}

/// The in-process presence: its one node is both `a` and `b`.
async fn local_chat() -> Chat {
    let recorder = Arc::new(Recorder::default());
    let shutdown = CancellationToken::new();
    let presence: Arc<dyn Presence> = MemoryPresence::start(GRACE, recorder.clone(), &shutdown);
    let side = || Side {
        presence: presence.clone(),
        recorder: recorder.clone(),
    };
    Chat {
        a: side(),
        b: side(),
        _running: Box::new(shutdown.drop_guard()),
    }
}

/// Two nodes on the test binary's shared Redis, under a fresh prefix.
async fn redis_chat() -> Chat {
    let (a, b) = two_nodes().await;
    let side = |node: &super::redis::tests::TestNode| Side {
        presence: node.presence.clone(),
        recorder: node.recorder.clone(),
    };
    Chat {
        a: side(&a),
        b: side(&b),
        _running: Box::new((a, b)),
    }
}

/// A node that records what the link hands it.
#[derive(Default)]
pub(crate) struct Recorder {
    events: Mutex<Vec<BusEvent>>,
    /// What `local_presence` answers.
    pub(crate) local: Mutex<Vec<LocalPresence>>,
    /// How often the link said it was back.
    pub(crate) reconnects: AtomicUsize,
}

impl Node for Recorder {
    fn receive(&self, event: BusEvent) {
        self.events.lock().expect("events").push(event);
    }

    fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::SeqCst);
    }

    fn local_presence(&self) -> Vec<LocalPresence> {
        self.local.lock().expect("local").clone()
    }
}

impl Recorder {
    pub(crate) fn events(&self) -> Vec<BusEvent> {
        self.events.lock().expect("events").clone()
    }

    /// The presence events of `room`, in arrival order.
    pub(crate) fn presence(&self, room: &str) -> Vec<PresenceEvent> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                BusEvent::Presence(event) if event.room == room => Some(event),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn lefts(&self, room: &str) -> usize {
        self.presence(room)
            .iter()
            .filter(|event| matches!(event.change, PresenceChange::Left { .. }))
            .count()
    }
}

/// A claim of `name` in `room` from the loopback address.
pub(crate) fn claim(room: &str, name: &str, resume: Option<&str>, invited: bool) -> Claim {
    Claim {
        room: room.to_owned(),
        key: username_key(name),
        name: name.to_owned(),
        resume: resume.map(str::to_owned),
        shared_token: None,
        invited,
        address: std::net::IpAddr::from([127, 0, 0, 1]),
    }
}

/// Waits until `done` holds, polling, at most [`PATIENCE`].
pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Who is in a room after `events` (as far as they go), key → name.
pub(crate) fn replay(events: &[PresenceEvent], up_to: u64) -> Vec<String> {
    let mut members = BTreeMap::new();
    for event in events.iter().filter(|event| event.seq <= up_to) {
        match &event.change {
            PresenceChange::Joined { key, username, .. } => {
                members.insert(key.clone(), username.clone());
            }
            PresenceChange::Left { key, .. } => {
                members.remove(key);
            }
        }
    }
    members.into_values().collect()
}

/// A name is one user's in every room, on every node, until it is free;
/// its token resumes it on either node, even without an invitation.
pub(super) async fn names_are_unique_across_nodes_and_a_token_resumes_on_either(chat: &Chat) {
    let (a, b) = (&chat.a, &chat.b);
    let alice = a
        .presence
        .claim(&claim("lobby", "Alice", None, true))
        .await
        .expect("first claim");
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.users, ["Alice"]);
    assert_eq!(alice.seq, 1);
    assert_eq!(alice.token.len(), 32);

    let refused =
        |result: Result<Claimed, crate::error::Rejection>| result.expect_err("refused").code;
    let taken = b.presence.claim(&claim("lobby", "alice", None, true)).await;
    assert_eq!(refused(taken), ErrorCode::NameTaken);
    let elsewhere = b.presence.claim(&claim("other", "ALICE", None, true)).await;
    assert_eq!(refused(elsewhere), ErrorCode::NameTaken);
    let wrong = b
        .presence
        .claim(&claim("lobby", "alice", Some("0123"), true))
        .await;
    assert_eq!(refused(wrong), ErrorCode::NameTaken);
    let uninvited = b.presence.claim(&claim("lobby", "bob", None, false)).await;
    assert_eq!(refused(uninvited), ErrorCode::Forbidden);

    // The token resumes on the other node, even without an invitation,
    // and the first spelling stays.
    let resumed = b
        .presence
        .claim(&claim("lobby", "alice", Some(&alice.token), false))
        .await
        .expect("resume on the other node");
    assert_eq!(resumed.token, alice.token);
    assert_eq!(resumed.username, "Alice");
    assert_eq!(resumed.seq, 1, "another tab is no change");
    let other_room = b
        .presence
        .claim(&claim("other", "alice", Some(&alice.token), true))
        .await
        .expect("the same name in another room");
    assert_eq!(other_room.users, ["alice"]);

    let rooms = a.presence.rooms().await.expect("rooms");
    let rooms: Vec<(String, u32)> = rooms.into_iter().map(|r| (r.name, r.online)).collect();
    assert_eq!(rooms, [("lobby".to_owned(), 1), ("other".to_owned(), 1)]);
}

pub(super) async fn tabs_on_two_nodes_are_one_user(chat: &Chat) {
    let (a, b) = (&chat.a, &chat.b);
    let first = a
        .presence
        .claim(&claim("lobby", "alice", None, true))
        .await
        .expect("first tab");
    b.presence
        .claim(&claim("lobby", "alice", Some(&first.token), true))
        .await
        .expect("second tab, other node");
    a.presence
        .release("lobby", "alice", Departure::AtOnce)
        .await;
    let snapshot = b.presence.snapshot("lobby").await.expect("snapshot");
    assert_eq!(snapshot.members, [("alice".to_owned(), "alice".to_owned())]);
    assert_eq!(snapshot.seq, 1);

    b.presence
        .release("lobby", "alice", Departure::AtOnce)
        .await;
    for node in [&a, &b] {
        eventually("both nodes see alice leave", || {
            node.recorder.presence("lobby").len() == 2
        })
        .await;
        let events = node.recorder.presence("lobby");
        assert!(matches!(
            events[0].change,
            PresenceChange::Joined { count: 1, .. }
        ));
        assert!(matches!(
            events[1].change,
            PresenceChange::Left { count: 0, .. }
        ));
        assert_eq!((events[0].seq, events[1].seq), (1, 2));
    }
    // The name is free again.
    let again = b
        .presence
        .claim(&claim("lobby", "Alice", None, true))
        .await
        .expect("a free name");
    assert_ne!(again.token, first.token);
    assert_eq!(again.seq, 3);
}

pub(super) async fn every_node_sees_every_presence_event_in_one_order(chat: &Chat) {
    let (a, b) = (&chat.a, &chat.b);
    let names: Vec<String> = (0..10).map(|i| format!("user{i}")).collect();
    let claims: Vec<Claim> = names.iter().map(|n| claim("r", n, None, true)).collect();
    let joins = claims.iter().enumerate().map(|(i, c)| {
        let presence = if i % 2 == 0 { &a.presence } else { &b.presence };
        presence.claim(c)
    });
    let claimed: Vec<Claimed> = futures_util::future::join_all(joins)
        .await
        .into_iter()
        .map(|result| result.expect("claim"))
        .collect();
    let leaves = names.iter().enumerate().take(5).map(|(i, name)| {
        let presence = if i % 2 == 0 { &a.presence } else { &b.presence };
        presence.release("r", name, Departure::AtOnce)
    });
    futures_util::future::join_all(leaves).await;

    for node in [&a, &b] {
        eventually("15 presence events arrive", || {
            node.recorder.presence("r").len() == 15
        })
        .await;
    }
    let seen_by_a = a.recorder.presence("r");
    assert_eq!(seen_by_a, b.recorder.presence("r"), "one order everywhere");
    let seqs: Vec<u64> = seen_by_a.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (1..=15).collect::<Vec<u64>>());
    for joined in &claimed {
        assert_eq!(
            joined.users,
            replay(&seen_by_a, joined.seq),
            "a claim's users are the room at its seq"
        );
    }
    let snapshot = a.presence.snapshot("r").await.expect("snapshot");
    assert_eq!(snapshot.seq, 15);
    let members: Vec<String> = snapshot.members.into_iter().map(|(_, name)| name).collect();
    assert_eq!(members, replay(&seen_by_a, 15));
    assert_eq!(members, names[5..]);
}

pub(super) async fn a_grace_ends_with_exactly_one_left(chat: &Chat) {
    let (a, b) = (&chat.a, &chat.b);
    a.presence
        .claim(&claim("r", "alice", None, true))
        .await
        .expect("claim");
    a.presence
        .release("r", "alice", Departure::AfterGrace)
        .await;
    let snapshot = b.presence.snapshot("r").await.expect("snapshot");
    assert_eq!(snapshot.members.len(), 1, "still listed during the grace");
    for node in [&a, &b] {
        eventually("the grace ends", || node.recorder.lefts("r") == 1).await;
    }
    // Both nodes run the grace task; give a second announcement time to
    // show up if there were one.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(a.recorder.lefts("r"), 1);
    assert_eq!(b.recorder.lefts("r"), 1);
    b.presence
        .claim(&claim("r", "alice", None, true))
        .await
        .expect("the name is free after the grace");
}

pub(super) async fn a_return_within_the_grace_keeps_the_place(chat: &Chat) {
    let (a, b) = (&chat.a, &chat.b);
    let first = a
        .presence
        .claim(&claim("r", "alice", None, true))
        .await
        .expect("claim");
    a.presence
        .release("r", "alice", Departure::AfterGrace)
        .await;
    let back = b
        .presence
        .claim(&claim("r", "alice", Some(&first.token), false))
        .await
        .expect("back within the grace, on the other node");
    assert_eq!(back.seq, 1, "no second Joined");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(a.recorder.lefts("r"), 0, "the return ended the grace");
    assert_eq!(a.recorder.presence("r").len(), 1);
    // The subscription's pings kept it up all along.
    assert_eq!(a.recorder.reconnects.load(Ordering::SeqCst), 0);
    assert_eq!(b.recorder.reconnects.load(Ordering::SeqCst), 0);
}

pub(super) async fn a_look_alike_is_taken_on_every_node_until_the_name_is_freed(chat: &Chat) {
    let (a, b) = (&chat.a, &chat.b);
    a.presence
        .claim(&claim("lobby", "alice", None, true))
        .await
        .expect("alice");
    for look_alike in ["aIice", "\u{430}lice"] {
        let taken = b
            .presence
            .claim(&claim("other", look_alike, None, true))
            .await;
        assert_eq!(taken.expect_err("a look-alike").code, ErrorCode::NameTaken);
    }
    a.presence
        .release("lobby", "alice", Departure::AtOnce)
        .await;
    b.presence
        .claim(&claim("lobby", "\u{430}lice", None, true))
        .await
        .expect("free once alice left");
    b.presence.evict(&username_key("\u{430}lice")).await;
    a.presence
        .claim(&claim("lobby", "aIice", None, true))
        .await
        .expect("free once the holder was evicted");
}

/// Two tabs are one user: one `Joined`, and a `Left` only when the last
/// tab is gone.
pub(super) async fn tabs_count_once_and_the_last_one_out_leaves(chat: &Chat) {
    let (presence, node) = (&chat.a.presence, &chat.a.recorder);
    let first = presence
        .claim(&claim("general", "alice", None, true))
        .await
        .expect("tab 1");
    presence
        .claim(&claim("general", "alice", Some(&first.token), true))
        .await
        .expect("tab 2");
    eventually("alice joins", || node.presence("general").len() == 1).await;
    presence
        .release("general", "alice", Departure::AtOnce)
        .await;
    presence
        .release("general", "alice", Departure::AtOnce)
        .await;
    eventually("alice leaves", || node.presence("general").len() >= 2).await;
    let events = node.presence("general");
    assert!(
        matches!(events[0].change, PresenceChange::Joined { .. }),
        "one joined for two tabs: {events:?}"
    );
    assert_eq!(
        events[1..],
        [PresenceEvent {
            room: "general".into(),
            seq: 2,
            change: PresenceChange::Left {
                key: username_key("alice"),
                username: "alice".into(),
                count: 0,
            },
        }],
        "nothing when the first tab goes, one left with the last"
    );
}

/// A name that looks like a held one is taken until the holder leaves.
pub(super) async fn a_look_alike_is_taken_until_the_name_is_freed(chat: &Chat) {
    let presence = &chat.a.presence;
    presence
        .claim(&claim("general", "alice", None, true))
        .await
        .expect("alice");
    let cyrillic = claim("general", "\u{430}lice", None, true);
    assert_ne!(cyrillic.key, username_key("alice"));
    assert!(presence.claim(&cyrillic).await.is_err());
    presence
        .release("general", "alice", Departure::AtOnce)
        .await;
    presence.claim(&cyrillic).await.expect("free again");
    assert!(presence
        .claim(&claim("general", "aIice", None, true))
        .await
        .is_err());
}

/// An eviction ends the name in every room on every node: the rooms it
/// emptied are no longer listed, and its old token is worthless.
pub(super) async fn an_eviction_takes_the_user_out_of_every_room_on_every_node(chat: &Chat) {
    let (a, b) = (&chat.a, &chat.b);
    let alice = a
        .presence
        .claim(&claim("one", "alice", None, true))
        .await
        .expect("alice in one");
    b.presence
        .claim(&claim("two", "alice", Some(&alice.token), true))
        .await
        .expect("alice in two, on b");
    b.presence
        .claim(&claim("two", "bob", None, true))
        .await
        .expect("bob in two");
    b.presence.evict("alice").await;
    for node in [&a, &b] {
        eventually("both rooms see alice leave", || {
            node.recorder.lefts("one") == 1 && node.recorder.lefts("two") == 1
        })
        .await;
    }
    let rooms = a.presence.rooms().await.expect("rooms");
    let rooms: Vec<(String, u32)> = rooms.into_iter().map(|r| (r.name, r.online)).collect();
    assert_eq!(rooms, [("two".to_owned(), 1)]);
    // Her old token is worthless, and her tabs' releases change nothing.
    a.presence
        .release("one", "alice", Departure::AfterGrace)
        .await;
    let stale = a
        .presence
        .claim(&claim("one", "alice", Some(&alice.token), false))
        .await;
    assert_eq!(stale.expect_err("evicted").code, ErrorCode::Forbidden);
    assert_eq!(b.recorder.presence("two").len(), 3);
}

/// Writes, for each presence, one `#[tokio::test]` per conformance case.
macro_rules! conformance_tests {
    ($open:path) => {
        conformance_tests!(
            $open;
            names_are_unique_across_nodes_and_a_token_resumes_on_either,
            tabs_on_two_nodes_are_one_user,
            every_node_sees_every_presence_event_in_one_order,
            a_grace_ends_with_exactly_one_left,
            a_return_within_the_grace_keeps_the_place,
            a_look_alike_is_taken_on_every_node_until_the_name_is_freed,
            tabs_count_once_and_the_last_one_out_leaves,
            a_look_alike_is_taken_until_the_name_is_freed,
            an_eviction_takes_the_user_out_of_every_room_on_every_node,
        );
    };
    ($open:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let chat = $open().await;
                super::$name(&chat).await;
            }
        )*
    };
}

mod local {
    conformance_tests!(super::local_chat);
}

mod redis {
    conformance_tests!(super::redis_chat);
}

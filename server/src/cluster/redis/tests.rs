//! Two or more nodes on one real Redis: the shared one of this test binary
//! with a key prefix per test, or a private one for the tests that kill or
//! flush it.

use super::{connect, RedisBus, RedisPresence, RedisSettings};
use crate::cluster::{
    Bus, BusEvent, Claim, Claimed, LocalPresence, Node, Presence, PresenceChange, PresenceEvent,
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

/// A node that records what the link hands it.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<BusEvent>>,
    /// What `local_presence` answers.
    local: Mutex<Vec<LocalPresence>>,
    reconnects: AtomicUsize,
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
    fn events(&self) -> Vec<BusEvent> {
        self.events.lock().expect("events").clone()
    }

    /// The presence events of `room`, in arrival order.
    fn presence(&self, room: &str) -> Vec<PresenceEvent> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                BusEvent::Presence(event) if event.room == room => Some(event),
                _ => None,
            })
            .collect()
    }

    fn lefts(&self, room: &str) -> usize {
        self.presence(room)
            .iter()
            .filter(|event| matches!(event.change, PresenceChange::Left { .. }))
            .count()
    }
}

/// One node of a test cluster.
struct TestNode {
    bus: Arc<RedisBus>,
    presence: Arc<RedisPresence>,
    recorder: Arc<Recorder>,
    /// Cancelling it stops the node's tasks, as if it died.
    shutdown: CancellationToken,
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Timings short enough for tests.
fn settings(url: &str, prefix: &str, node_id: &str) -> RedisSettings {
    RedisSettings {
        resume_grace: Duration::from_secs(1),
        node_timeout: Duration::from_secs(1),
        key_prefix: prefix.to_owned(),
        ..RedisSettings::new(url, node_id)
    }
}

async fn start(settings: RedisSettings) -> TestNode {
    let recorder = Arc::new(Recorder::default());
    let shutdown = CancellationToken::new();
    let (bus, presence) = connect(settings, recorder.clone(), shutdown.clone())
        .await
        .expect("connect to Redis");
    TestNode {
        bus,
        presence,
        recorder,
        shutdown,
    }
}

/// Two nodes on the shared Redis, under a fresh prefix.
async fn two_nodes() -> (TestNode, TestNode) {
    let url = chat_engines::shared_redis().url();
    let prefix = fresh_prefix();
    let a = start(settings(&url, &prefix, "a")).await;
    let b = start(settings(&url, &prefix, "b")).await;
    (a, b)
}

fn fresh_prefix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("randomness");
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t{hex}:")
}

fn claim(room: &str, name: &str, resume: Option<&str>, invited: bool) -> Claim {
    Claim {
        room: room.to_owned(),
        key: username_key(name),
        name: name.to_owned(),
        resume: resume.map(str::to_owned),
        invited,
        address: std::net::IpAddr::from([127, 0, 0, 1]),
    }
}

/// Empties the Redis as a restart without persistence would, while the
/// nodes stay connected.
async fn flush_all(redis: &chat_engines::Redis) {
    let client = redis::Client::open(redis.url()).expect("client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut connection)
        .await
        .expect("FLUSHALL");
}

/// Waits until `done` holds, polling, at most [`PATIENCE`].
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
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
fn replay(events: &[PresenceEvent], up_to: u64) -> Vec<String> {
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

#[tokio::test]
async fn names_are_unique_across_nodes_and_a_token_resumes_on_either() {
    let (a, b) = two_nodes().await;
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

/// Redis keeps only the SHA-256 of a resume token, and the claim script
/// compares hashes: the stored hash presented as a token resumes nothing.
#[tokio::test]
async fn redis_keeps_only_the_hash_of_a_resume_token() {
    let url = chat_engines::shared_redis().url();
    let prefix = fresh_prefix();
    let a = start(settings(&url, &prefix, "a")).await;
    let alice = a
        .presence
        .claim(&claim("lobby", "alice", None, true))
        .await
        .expect("claim");
    let client = redis::Client::open(url).expect("client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    let names: BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("{prefix}names"))
        .query_async(&mut connection)
        .await
        .expect("HGETALL");
    let held = names.get(&username_key("alice")).expect("the name is held");
    assert_ne!(held, &alice.token, "not the token itself");
    assert_eq!(held, &crate::history::store::sha256_hex(&alice.token));
    for guess in [held.as_str(), &alice.token[..31], "0123"] {
        let refused = a
            .presence
            .claim(&claim("lobby", "alice", Some(guess), true))
            .await;
        assert_eq!(refused.expect_err("refused").code, ErrorCode::NameTaken);
    }
    let back = a
        .presence
        .claim(&claim("lobby", "alice", Some(&alice.token), false))
        .await
        .expect("the token resumes");
    assert_eq!(back.token, alice.token);
}

#[tokio::test]
async fn tabs_on_two_nodes_are_one_user() {
    let (a, b) = two_nodes().await;
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

#[tokio::test]
async fn every_node_sees_every_presence_event_in_one_order() {
    let (a, b) = two_nodes().await;
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

#[tokio::test]
async fn a_grace_ends_with_exactly_one_left() {
    let (a, b) = two_nodes().await;
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

#[tokio::test]
async fn a_return_within_the_grace_keeps_the_place() {
    let (a, b) = two_nodes().await;
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

#[tokio::test]
async fn a_silent_nodes_users_leave_after_the_grace() {
    let (a, b) = two_nodes().await;
    a.presence
        .claim(&claim("r", "alice", None, true))
        .await
        .expect("claim on a");
    b.presence
        .claim(&claim("r", "bob", None, true))
        .await
        .expect("claim on b");
    // Node a dies: no heartbeat, no grace task, no subscriber.
    a.shutdown.cancel();
    let started = tokio::time::Instant::now();
    eventually("b sees alice leave", || b.recorder.lefts("r") == 1).await;
    // Timeout (1 s) + a heartbeat (1/3 s) + the grace (1 s), give or take.
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let snapshot = b.presence.snapshot("r").await.expect("snapshot");
    assert_eq!(snapshot.members, [("bob".to_owned(), "bob".to_owned())]);
    b.presence
        .claim(&claim("r", "alice", None, true))
        .await
        .expect("the dead node's name is free");
}

#[tokio::test]
async fn bus_events_reach_the_other_node_and_own_are_skipped() {
    let (a, b) = two_nodes().await;
    let typing = BusEvent::Typing {
        room: "r".to_owned(),
        key: "alice".to_owned(),
        username: "alice".to_owned(),
        is_typing: true,
    };
    a.bus.publish(&typing);
    eventually("b receives a's event", || {
        b.recorder.events().contains(&typing)
    })
    .await;
    let topic = BusEvent::Topic {
        room: "r".to_owned(),
        topic: "hello".to_owned(),
        username: "mod".to_owned(),
    };
    b.bus.publish(&topic);
    // One channel, one order: once a has b's later event, it would have
    // had its own earlier one too, had it not skipped it.
    eventually("a receives b's event", || {
        a.recorder.events().contains(&topic)
    })
    .await;
    assert_eq!(a.recorder.events(), [topic]);
    assert_eq!(b.recorder.events(), [typing]);
}

/// The tokens the nodes' local presence reports for what they claimed.
fn local(room: &str, claimed: &Claimed, key: &str) -> LocalPresence {
    LocalPresence {
        room: room.to_owned(),
        key: key.to_owned(),
        username: claimed.username.clone(),
        token: claimed.token.clone(),
        connections: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_is_survived() {
    let mut redis = chat_engines::Redis::start().expect("a private Redis");
    let prefix = fresh_prefix();
    let a = start(settings(&redis.url(), &prefix, "a")).await;
    let b = start(settings(&redis.url(), &prefix, "b")).await;
    let alice = a
        .presence
        .claim(&claim("r", "alice", None, true))
        .await
        .expect("alice");
    let bob = b
        .presence
        .claim(&claim("r", "bob", None, true))
        .await
        .expect("bob");
    *a.recorder.local.lock().expect("local") = vec![local("r", &alice, "alice")];
    *b.recorder.local.lock().expect("local") = vec![local("r", &bob, "bob")];

    tokio::task::block_in_place(|| redis.kill()).expect("kill Redis");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let attempt = a.presence.claim(&claim("r", "carol", None, true)).await;
        match attempt {
            Err(rejection) => {
                assert_eq!(rejection.code, ErrorCode::ServerError);
                break;
            }
            Ok(_) => assert!(tokio::time::Instant::now() < deadline, "claims still work"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Refused while down (no waiting on a dead link: the answer comes
    // well within PATIENCE), and a release is no panic.
    let down = tokio::time::timeout(PATIENCE, a.presence.claim(&claim("r", "dave", None, true)))
        .await
        .expect("an answer while Redis is down");
    assert_eq!(down.expect_err("down").code, ErrorCode::ServerError);
    b.presence.release("r", "zed", Departure::AfterGrace).await;
    b.bus.publish(&BusEvent::Locked {
        room: "r".to_owned(),
        locked: true,
        username: "mod".to_owned(),
    });

    tokio::task::block_in_place(|| redis.restart()).expect("restart Redis");
    for node in [&a, &b] {
        eventually("the nodes reconnect", || {
            node.recorder.reconnects.load(Ordering::SeqCst) >= 1
        })
        .await;
    }
    let snapshot = a.presence.snapshot("r").await.expect("snapshot");
    let names: Vec<String> = snapshot.members.into_iter().map(|(_, name)| name).collect();
    assert_eq!(names, ["alice", "bob"]);
    // The restored claims hold: the token still resumes, others are refused.
    let taken = b.presence.claim(&claim("r", "alice", None, true)).await;
    assert_eq!(taken.expect_err("taken").code, ErrorCode::NameTaken);
    b.presence
        .claim(&claim("r", "alice", Some(&alice.token), true))
        .await
        .expect("resume after the restart");
    a.presence
        .claim(&claim("r", "carol", None, true))
        .await
        .expect("claims work again");
}

#[tokio::test]
async fn a_flushed_redis_is_refilled_by_the_heartbeat() {
    let redis = chat_engines::Redis::start().expect("a private Redis");
    let prefix = fresh_prefix();
    let a = start(settings(&redis.url(), &prefix, "a")).await;
    let alice = a
        .presence
        .claim(&claim("r", "alice", None, true))
        .await
        .expect("alice");
    *a.recorder.local.lock().expect("local") = vec![local("r", &alice, "alice")];

    flush_all(&redis).await;
    eventually("the node notices and restores", || {
        a.recorder.reconnects.load(Ordering::SeqCst) >= 1
    })
    .await;
    let snapshot = a.presence.snapshot("r").await.expect("snapshot");
    assert_eq!(snapshot.members, [("alice".to_owned(), "alice".to_owned())]);
}

#[tokio::test]
async fn connect_fails_with_a_clear_message_when_redis_is_away() {
    let redis = chat_engines::Redis::start().expect("a private Redis");
    let url = redis.url();
    drop(redis);
    let outcome = connect(
        settings(&url, "t:", "a"),
        Arc::new(Recorder::default()),
        CancellationToken::new(),
    )
    .await;
    let error = outcome.err().expect("no Redis");
    assert!(error.contains("cannot reach Redis at"), "{error}");
}

#[tokio::test]
async fn an_eviction_takes_the_user_out_of_every_room_on_every_node() {
    let (a, b) = two_nodes().await;
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

#[tokio::test]
async fn a_look_alike_is_taken_on_every_node_until_the_name_is_freed() {
    let (a, b) = two_nodes().await;
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

#[tokio::test]
async fn a_restore_keeps_a_claim_made_meanwhile() {
    let redis = chat_engines::Redis::start().expect("a private Redis");
    let prefix = fresh_prefix();
    // Heartbeats every 5 s: the flush and b's claim happen well before
    // a's first one, which then finds the name taken.
    let slow = |node_id: &str| RedisSettings {
        node_timeout: Duration::from_secs(30),
        ..settings(&redis.url(), &prefix, node_id)
    };
    let a = start(slow("a")).await;
    let b = start(slow("b")).await;
    let first = a
        .presence
        .claim(&claim("r", "alice", None, true))
        .await
        .expect("alice on a");
    *a.recorder.local.lock().expect("local") = vec![local("r", &first, "alice")];
    flush_all(&redis).await;
    let second = b
        .presence
        .claim(&claim("r", "Alice", None, true))
        .await
        .expect("the lost name, taken on b");
    *b.recorder.local.lock().expect("local") = vec![local("r", &second, "alice")];
    for node in [&a, &b] {
        eventually("both nodes restore", || {
            node.recorder.reconnects.load(Ordering::SeqCst) >= 1
        })
        .await;
    }
    let snapshot = a.presence.snapshot("r").await.expect("snapshot");
    assert_eq!(snapshot.members, [("alice".to_owned(), "Alice".to_owned())]);
    let stale = a
        .presence
        .claim(&claim("r", "alice", Some(&first.token), true))
        .await;
    assert_eq!(stale.expect_err("b's claim won").code, ErrorCode::NameTaken);
    // a's old connection is not counted: b's release is the last one.
    b.presence.release("r", "alice", Departure::AtOnce).await;
    eventually("alice leaves", || b.recorder.lefts("r") == 1).await;
}

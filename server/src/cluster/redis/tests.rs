//! Two or more nodes on one real Redis: the shared one of this test binary
//! with a key prefix per test, or a private one for the tests that kill or
//! flush it. What every presence must do is in the conformance suite
//! ([`crate::cluster::conformance`]), run on two such nodes too.

use super::{connect, RedisBus, RedisPresence, RedisSettings};
use crate::cluster::conformance::{claim, eventually, Recorder};
use crate::cluster::{Bus, BusEvent, Claimed, LocalPresence, Presence};
use chat_shared::close::Departure;
use chat_shared::{username_key, ErrorCode};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The longest any wait in these tests may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// One node of a test cluster.
pub(crate) struct TestNode {
    bus: Arc<RedisBus>,
    pub(crate) presence: Arc<RedisPresence>,
    pub(crate) recorder: Arc<Recorder>,
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
pub(crate) async fn two_nodes() -> (TestNode, TestNode) {
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

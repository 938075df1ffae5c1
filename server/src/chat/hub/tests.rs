//! The hub's two orders: committed events by id, presence changes by seq.

use super::*;
use crate::chat::peer::{Closer, Outbox, OutboxLimits};
use crate::cluster::{PresenceChange, PresenceEvent};
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
        push_key: None,
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
        held: false,
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

#[test]
fn activity_tells_each_watcher_once_a_round_a_slot_at_a_time() {
    use crate::chat::hub::activity::{Activity, SLOTS};
    let mut activity = Activity::default();
    let mut outboxes = Vec::new();
    for person in 0..20 {
        let (peer, outbox) = connection(person);
        activity.watch(person, 1, &peer, "lobby", ["big".to_owned()]);
        outboxes.push(outbox);
    }
    // One sitting in the room itself hears nothing of it.
    let (inside, mut inside_outbox) = connection(99);
    activity.watch(99, 1, &inside, "big", ["big".to_owned()]);
    for id in 1..=5 {
        activity.news("big", id);
    }
    activity.news("elsewhere", 7); // nobody has it
    let mut per_slot = Vec::new();
    for slot in 0..SLOTS {
        per_slot.push(activity.tell(slot));
    }
    assert_eq!(per_slot, [2; 10], "a tenth of the twenty each tick");
    for outbox in &mut outboxes {
        assert_eq!(
            drain(outbox),
            [r#"{"type":"activity","room":"big","latest":5}"#]
        );
    }
    assert!(drain(&mut inside_outbox).is_empty());
    // Nothing new: a second round tells nobody.
    assert_eq!((0..SLOTS).map(|slot| activity.tell(slot)).sum::<usize>(), 0);
    // Left: no more news of it.
    activity.remove_room(0, "big");
    activity.news("big", 6);
    assert_eq!(
        (0..SLOTS).map(|slot| activity.tell(slot)).sum::<usize>(),
        19
    );
    assert!(drain(&mut outboxes[0]).is_empty());
}

//! Cluster mode end to end, with real processes: several `chat-server`
//! binaries sharing one PostgreSQL database and one Redis are one chat.
//! Nodes are SIGKILLed and restarted, and Redis and PostgreSQL are taken
//! away under them, because those are the failures cluster mode exists to
//! survive and an in-process server cannot be killed like that.
//!
//! The tests take turns (see [`one_at_a_time`]): each runs two nodes and
//! clients on a machine with two cores, and the timing claims (a dead
//! node's users leave within the bound) mean nothing when every test's
//! cluster competes for them.

mod common;

use chat_shared::{ChatMessage, ClientFrame, ErrorCode, ServerFrame, PRESENCE_LIST_LIMIT};
use common::process::{self, ServerProcess};
use common::{join_frame, Client, Joined, Next};
use futures_util::SinkExt;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The longest any single wait in these tests may take, unless a test
/// waits for the node timeout on purpose.
const BOUND: Duration = Duration::from_secs(15);

/// Flags every node gets: no rate limit (the tests post fast on purpose)
/// and a welcome that carries the whole history of these small rooms.
const NODE_FLAGS: &[&str] = &[
    "--message-rate",
    "100000",
    "--message-burst",
    "100000",
    "--history-on-join",
    "1000",
];

/// Serialises the tests of this binary; see the crate docs.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// A random hex string, so that tests sharing one Redis never share keys.
fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Nodes of one chat: the same database, Redis and prefix, each started
/// with the same flags. Slots stay in place when a node is killed, so a
/// test can restart "node 0" by number.
struct Cluster {
    database: String,
    redis: String,
    prefix: String,
    flags: Vec<String>,
    /// Where the nodes' logs go, one file per start, to read after a failure.
    logs: PathBuf,
    starts: usize,
    /// Each node's process; dropping one SIGKILLs it.
    nodes: Vec<Option<ServerProcess>>,
}

impl Cluster {
    /// `count` nodes on a fresh database of the shared PostgreSQL and the
    /// shared Redis under a fresh prefix.
    async fn start(count: usize, flags: &[&str]) -> Cluster {
        let database = chat_engines::shared_postgres()
            .create_database()
            .expect("a fresh database");
        let redis = chat_engines::shared_redis().url();
        Self::start_on(count, database, redis, flags).await
    }

    /// `count` nodes on the given database and Redis.
    async fn start_on(count: usize, database: String, redis: String, flags: &[&str]) -> Cluster {
        let prefix = format!("t{}:", random_hex());
        let logs =
            std::env::temp_dir().join(format!("chat-cluster-{}", prefix.trim_end_matches(':')));
        std::fs::create_dir_all(&logs).expect("a folder for the node logs");
        let mut cluster = Cluster {
            database,
            redis,
            prefix,
            flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
            logs,
            starts: 0,
            nodes: Vec::new(),
        };
        for _ in 0..count {
            let node = cluster.spawn().await;
            cluster.nodes.push(Some(node));
        }
        cluster
    }

    /// Starts one more process of this chat and waits (bounded) until it
    /// prints the address it listens on.
    async fn spawn(&mut self) -> ServerProcess {
        self.starts += 1;
        let log = std::fs::File::create(self.logs.join(format!("node-{}.log", self.starts)))
            .expect("a node log file");
        let mut command = process::command();
        command
            .args(["--database", &self.database])
            .args(["--redis", &self.redis, "--redis-prefix", &self.prefix])
            .args(NODE_FLAGS)
            .args(&self.flags)
            .env("CHAT_LOG", "info")
            .stderr(log);
        // Waiting for the address blocks: not on the runtime's threads.
        tokio::task::spawn_blocking(move || ServerProcess::start(command))
            .await
            .unwrap_or_else(|_| panic!("the node printed no address; see {}", self.logs.display()))
    }

    fn addr(&self, index: usize) -> SocketAddr {
        self.nodes[index].as_ref().expect("the node runs").addr
    }

    /// SIGKILLs node `index`: no shutdown, no goodbye to Redis.
    fn kill(&mut self, index: usize) {
        drop(self.nodes[index].take().expect("the node runs"));
    }

    /// Starts node `index` again (on a new port) after [`Cluster::kill`].
    async fn restart(&mut self, index: usize) {
        assert!(self.nodes[index].is_none(), "kill the node first");
        let node = self.spawn().await;
        self.nodes[index] = Some(node);
    }

    async fn connect(&self, index: usize) -> Client {
        connect(self.addr(index)).await
    }
}

impl Drop for Cluster {
    /// Kills the nodes, then removes their logs unless the test failed,
    /// when they are what explains it.
    fn drop(&mut self) {
        self.nodes.clear();
        if std::thread::panicking() {
            eprintln!("the node logs are kept in {}", self.logs.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.logs);
        }
    }
}

async fn connect(addr: SocketAddr) -> Client {
    tokio::time::timeout(BOUND, common::connect_to(addr))
        .await
        .expect("the handshake finishes in time")
}

/// The next chat frame, which must come within [`BOUND`].
async fn expect_frame(client: &mut Client) -> ServerFrame {
    match client.next_frame(BOUND).await {
        Next::Frame(frame) => frame,
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// Sends a join and returns its welcome; any other answer fails the test,
/// and so does a change in its history: these tests change no messages.
async fn join_with(client: &mut Client, frame: ClientFrame) -> Joined {
    let welcome = client.join_with(frame).await;
    assert!(
        welcome.changes.is_empty(),
        "unexpected changes {:?}",
        welcome.changes
    );
    welcome
}

async fn join(client: &mut Client, name: &str) -> Joined {
    join_with(client, ClientFrame::join(name)).await
}

/// Reads until the message with `client_id` arrives, returning every
/// message read on the way (that one included); other frames are skipped.
async fn read_until_client_id(client: &mut Client, client_id: &str) -> Vec<ChatMessage> {
    let mut seen = Vec::new();
    loop {
        match expect_frame(client).await {
            ServerFrame::Message(message) => {
                let done = message.client_id.as_deref() == Some(client_id);
                seen.push(message);
                if done {
                    return seen;
                }
            }
            _ => continue,
        }
    }
}

/// Reads messages until one with each of `ids` has arrived (or the bound
/// passes), returning every message read.
async fn read_until_ids(client: &mut Client, ids: &HashSet<u64>) -> Vec<ChatMessage> {
    let deadline = Instant::now() + BOUND;
    let mut seen = Vec::new();
    let mut missing = ids.clone();
    while !missing.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.next_frame(left).await {
            Next::Frame(ServerFrame::Message(message)) => {
                missing.remove(&message.id);
                seen.push(message);
            }
            Next::Frame(_) => continue,
            other => panic!("{} messages never arrived ({other:?})", missing.len()),
        }
    }
    seen
}

/// The room's whole history as a fresh client on `addr` sees it, by paging
/// back with `history` requests (the welcome is capped).
async fn full_history(addr: SocketAddr, name: &str) -> Vec<ChatMessage> {
    let mut client = connect(addr).await;
    join(&mut client, name).await;
    let mut before = i64::MAX as u64;
    let mut pages: Vec<Vec<ChatMessage>> = Vec::new();
    loop {
        client
            .send(ClientFrame::History {
                before: Some(before),
                limit: Some(100),
                around: None,
            })
            .await;
        let (messages, has_more) = loop {
            if let ServerFrame::History {
                messages, has_more, ..
            } = expect_frame(&mut client).await
            {
                break (messages, has_more);
            }
        };
        let Some(oldest) = messages.first() else {
            break;
        };
        before = oldest.id;
        pages.push(messages);
        if !has_more {
            break;
        }
    }
    pages.into_iter().rev().flatten().collect()
}

/// Fails unless the ids strictly increase (so none repeats).
fn assert_strictly_increasing(messages: &[ChatMessage], who: &str) {
    for pair in messages.windows(2) {
        assert!(
            pair[0].id < pair[1].id,
            "{who}: id {} came after {}",
            pair[1].id,
            pair[0].id
        );
    }
}

fn ids(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|message| message.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posters_on_both_nodes_are_seen_once_in_one_order_everywhere() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    const POSTERS_PER_NODE: usize = 4;
    const MESSAGES_EACH: usize = 50;
    let cluster = Cluster::start(2, &[]).await;

    // Everyone is seated before anyone posts, so everyone is owed everything.
    let mut posters = Vec::new();
    for node in 0..2 {
        for i in 0..POSTERS_PER_NODE {
            let mut client = cluster.connect(node).await;
            let name = format!("poster-{node}-{i}");
            join(&mut client, &name).await;
            posters.push((name, client));
        }
    }
    let total = 2 * POSTERS_PER_NODE * MESSAGES_EACH;
    let mut tasks = tokio::task::JoinSet::new();
    for (name, mut client) in posters {
        tasks.spawn(async move {
            for n in 0..MESSAGES_EACH {
                client
                    .say_with_id(&format!("{name} #{n}"), &format!("{name}-{n}"))
                    .await;
            }
            let deadline = Instant::now() + BOUND;
            let mut seen = Vec::new();
            while seen.len() < total {
                let left = deadline.saturating_duration_since(Instant::now());
                match client.next_frame(left).await {
                    Next::Frame(ServerFrame::Message(message)) => seen.push(message),
                    Next::Frame(_) => continue,
                    other => panic!("{name} saw {} of {total} ({other:?})", seen.len()),
                }
            }
            // Anything beyond `total` would be a repeat.
            if let Next::Frame(ServerFrame::Message(extra)) =
                client.next_frame(Duration::from_millis(500)).await
            {
                panic!("{name} got a message beyond the {total} sent: {extra:?}");
            }
            (name, seen)
        });
    }
    let mut views = Vec::new();
    while let Some(result) = tasks.join_next().await {
        views.push(result.expect("a poster task"));
    }

    let (first_name, first) = &views[0];
    assert_strictly_increasing(first, first_name);
    let sent: HashSet<String> = (0..2)
        .flat_map(|node| {
            (0..POSTERS_PER_NODE).flat_map(move |i| {
                (0..MESSAGES_EACH).map(move |n| format!("poster-{node}-{i}-{n}"))
            })
        })
        .collect();
    let received: HashSet<String> = first
        .iter()
        .map(|message| {
            message
                .client_id
                .clone()
                .expect("every message has a client_id")
        })
        .collect();
    assert_eq!(received, sent, "{first_name} saw every message");
    for (name, seen) in &views {
        assert_strictly_increasing(seen, name);
        assert_eq!(
            ids(seen),
            ids(first),
            "{name} and {first_name} saw one order"
        );
    }
    eprintln!("took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_storm_over_both_nodes_is_one_room() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    const CLIENTS: usize = 200;
    const AT_ONCE: usize = 50;
    // The first joiner on each node, whose final counts are checked.
    const FIRST_JOINERS: [&str; 2] = ["user000", "user001"];
    let cluster = Cluster::start(2, &[]).await;
    let addrs = [cluster.addr(0), cluster.addr(1)];

    // All but the last, in waves of concurrent joins alternating nodes.
    let mut clients: Vec<(String, Client)> = Vec::new();
    for wave in 0..(CLIENTS - 1).div_ceil(AT_ONCE) {
        let mut joins = tokio::task::JoinSet::new();
        for i in wave * AT_ONCE..((wave + 1) * AT_ONCE).min(CLIENTS - 1) {
            let addr = addrs[i % 2];
            joins.spawn(async move {
                let name = format!("user{i:03}");
                let mut client = connect(addr).await;
                join(&mut client, &name).await;
                (name, client)
            });
        }
        while let Some(joined) = joins.join_next().await {
            clients.push(joined.expect("a join task"));
        }
    }

    // The last joiner, on node 1, is told there are 200 (the others are on
    // both nodes, so node 1 alone cannot know them), and its pages of
    // `users` name them all. Presence travels through Redis, so allow it a
    // moment to settle: retry the join.
    let last = format!("user{:03}", CLIENTS - 1);
    let deadline = Instant::now() + BOUND;
    let listed = loop {
        let mut client = connect(addrs[1]).await;
        let welcome = join(&mut client, &last).await;
        let online = welcome.online.map_or(welcome.users.len(), |n| n as usize);
        if online == CLIENTS || Instant::now() > deadline {
            assert_eq!(
                welcome.users.len(),
                PRESENCE_LIST_LIMIT,
                "a large room's welcome"
            );
            // The welcome's count comes from Redis; node 1's own list of
            // the room fills as the presence events reach it: page again
            // until it holds everyone (or the bound passes).
            let mut listed = client.all_users(64).await;
            while listed.len() < CLIENTS && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(200)).await;
                listed = client.all_users(64).await;
            }
            clients.push((last.clone(), client));
            break listed;
        }
        eprintln!("the last welcome counted {online} users; again");
        client
            .socket
            .close(None)
            .await
            .expect("close the early join");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let listed: HashSet<&str> = listed.iter().map(String::as_str).collect();
    assert_eq!(listed.len(), CLIENTS, "the pages of users list everyone");
    for (name, _) in &clients {
        assert!(listed.contains(name.as_str()), "{name} is listed");
    }

    clients[0]
        .1
        .say_with_id("storm is over", "storm-over")
        .await;
    let mut readers = tokio::task::JoinSet::new();
    for (name, mut client) in clients {
        // The first joiners wait for the room's final count too: in a
        // large room it comes in an `online` about once a second.
        let awaits_count = FIRST_JOINERS.contains(&name.as_str());
        readers.spawn(async move {
            let (mut last_count, mut got_message) = (None, false);
            loop {
                match expect_frame(&mut client).await {
                    ServerFrame::Message(message) => {
                        assert_eq!(message.text, "storm is over", "{name}");
                        got_message = true;
                    }
                    ServerFrame::UserJoined { count, .. }
                    | ServerFrame::UserLeft { count, .. }
                    | ServerFrame::Online { count } => last_count = Some(count),
                    _ => {}
                }
                if got_message && (!awaits_count || last_count == Some(CLIENTS as u32)) {
                    return (name, last_count);
                }
            }
        });
    }
    let mut received = 0;
    let mut final_counts = BTreeMap::new();
    while let Some(result) = readers.join_next().await {
        let (name, count) = result.expect("every client receives the message");
        received += 1;
        final_counts.insert(name, count);
    }
    assert_eq!(received, CLIENTS);
    // The first joiners on each node heard every later join, from both
    // nodes, with the count of the whole room.
    for name in FIRST_JOINERS {
        assert_eq!(
            final_counts[name],
            Some(CLIENTS as u32),
            "{name}'s last presence count"
        );
    }
    eprintln!("took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_replay_and_client_id_resend_work_across_nodes_while_someone_posts() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    let cluster = Cluster::start(2, &[]).await;

    // Carol posts all along, on node 1 (index 0), until told to stop.
    let mut carol = cluster.connect(0).await;
    join(&mut carol, "carol").await;
    let stop = Arc::new(AtomicBool::new(false));
    let carol_task = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut n = 0;
            let mut confirmed = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let client_id = format!("carol-{n}");
                carol.say_with_id(&format!("carol #{n}"), &client_id).await;
                let seen = read_until_client_id(&mut carol, &client_id).await;
                confirmed.push(seen.last().expect("the echo").id);
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            confirmed
        }
    });

    let mut alice = cluster.connect(0).await;
    let welcome = join(&mut alice, "alice").await;
    let mut alice_saw = welcome.history;
    alice.say_with_id("alice before moving", "alice-1").await;
    let mut seen = read_until_client_id(&mut alice, "alice-1").await;
    let original = seen.last().expect("the echo").clone();
    alice_saw.append(&mut seen);
    let since = alice_saw.last().expect("alice saw something").id;
    // Gone without a close frame, as when a network drops; Carol goes on.
    drop(alice);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut alice = cluster.connect(1).await;
    let welcome = join_with(
        &mut alice,
        join_frame("alice", None, Some(since), Some(&welcome.resume)),
    )
    .await;
    assert_eq!(welcome.username, "alice");
    assert!(
        welcome.history.iter().all(|message| message.id > since),
        "the replay starts after since"
    );
    assert!(
        !welcome.history.is_empty(),
        "carol posted while alice was away, so there is something to replay"
    );
    alice_saw.extend(welcome.history);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let carol_confirmed = carol_task.await.expect("carol's task");
    assert!(carol_confirmed.len() > 5, "carol posted throughout");
    let wanted: HashSet<u64> = carol_confirmed
        .iter()
        .copied()
        .filter(|id| *id > alice_saw.last().map_or(0, |message| message.id))
        .collect();
    alice_saw.extend(read_until_ids(&mut alice, &wanted).await);

    // The resend on node 2 gets the original back, to the sender only.
    alice.say_with_id("alice before moving", "alice-1").await;
    match expect_frame(&mut alice).await {
        ServerFrame::Message(echo) => assert_eq!(echo.id, original.id, "the original id"),
        other => panic!("expected the original back, got {other:?}"),
    }

    let history = full_history(cluster.addr(1), "historian").await;
    assert_strictly_increasing(&alice_saw, "alice");
    assert_eq!(
        ids(&alice_saw),
        ids(&history),
        "alice saw the whole history once: no gap, no repeat across the move"
    );
    let stored = history
        .iter()
        .filter(|message| message.text == "alice before moving")
        .count();
    assert_eq!(stored, 1, "the resent message is stored once");
    eprintln!("took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_on_the_other_node_keeps_the_name_and_tells_nobody() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    let grace = Duration::from_secs(4);
    let cluster = Cluster::start(2, &["--resume-grace", "4s"]).await;

    let mut olga = cluster.connect(1).await;
    join(&mut olga, "olga").await;
    let mut alice = cluster.connect(0).await;
    let welcome = join(&mut alice, "alice").await;
    match expect_frame(&mut olga).await {
        ServerFrame::UserJoined { username, count } => {
            assert_eq!((username.as_str(), count), ("alice", 2));
        }
        other => panic!("expected alice's join, got {other:?}"),
    }
    let dropped = Instant::now();
    drop(alice);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut stranger = cluster.connect(1).await;
    stranger.send(ClientFrame::join("Alice")).await;
    match expect_frame(&mut stranger).await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::NameTaken),
        other => panic!("the stranger took a name in its grace period: {other:?}"),
    }

    let mut alice = cluster.connect(1).await;
    let resumed = join_with(
        &mut alice,
        join_frame("alice", None, None, Some(&welcome.resume)),
    )
    .await;
    assert!(
        dropped.elapsed() < grace,
        "the test resumed within the grace"
    );
    assert_eq!(resumed.username, "alice");
    let mut listed = resumed.users.clone();
    listed.sort();
    assert_eq!(listed, ["alice", "olga"]);

    // Past the old connection's grace period, which must not end the
    // resumed session: Olga's next frame is Alice speaking, nothing before.
    tokio::time::sleep(grace + Duration::from_secs(1)).await;
    alice.say("still here").await;
    match expect_frame(&mut olga).await {
        ServerFrame::Message(message) => assert_eq!(message.text, "still here"),
        other => panic!("olga was told something about the resume: {other:?}"),
    }
    eprintln!("took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_users_leave_within_the_node_timeout() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    let mut cluster = Cluster::start(2, &["--node-timeout", "2s", "--resume-grace", "1s"]).await;

    let mut olga = cluster.connect(1).await;
    join(&mut olga, "olga").await;
    let mut doomed = cluster.connect(0).await;
    join(&mut doomed, "doomed").await;
    match expect_frame(&mut olga).await {
        ServerFrame::UserJoined { username, .. } => assert_eq!(username, "doomed"),
        other => panic!("expected doomed's join, got {other:?}"),
    }
    // The claim is cluster-wide while its node lives.
    let mut rival = cluster.connect(1).await;
    rival.send(ClientFrame::join("doomed")).await;
    match expect_frame(&mut rival).await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::NameTaken),
        other => panic!("the name was free on the other node: {other:?}"),
    }

    cluster.kill(0);
    let killed = Instant::now();
    match expect_frame(&mut olga).await {
        ServerFrame::UserLeft { username, count } => {
            assert_eq!((username.as_str(), count), ("doomed", 1));
        }
        other => panic!("expected doomed to leave, got {other:?}"),
    }
    eprintln!("doomed left {:?} after the kill", killed.elapsed());

    let welcome = join(&mut rival, "doomed").await;
    assert_eq!(welcome.username, "doomed");
    eprintln!("took {:?}", started.elapsed());
}

/// Posts `count` messages with client ids `{name}-{tag}-{n}` and returns
/// the confirmed ones, reading (and returning) every message on the way.
async fn post_confirmed(
    client: &mut Client,
    name: &str,
    tag: &str,
    count: usize,
) -> (Vec<ChatMessage>, Vec<ChatMessage>) {
    let mut confirmed = Vec::new();
    let mut seen = Vec::new();
    for n in 0..count {
        let client_id = format!("{name}-{tag}-{n}");
        client
            .say_with_id(&format!("{name} {tag} #{n}"), &client_id)
            .await;
        let mut read = read_until_client_id(client, &client_id).await;
        confirmed.push(read.last().expect("the echo").clone());
        seen.append(&mut read);
    }
    (confirmed, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_pauses_cross_node_delivery_and_loses_nothing() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    let mut redis = chat_engines::Redis::start().expect("a private Redis");
    let database = chat_engines::shared_postgres()
        .create_database()
        .expect("a fresh database");
    let cluster = Cluster::start_on(2, database, redis.url(), &[]).await;

    let mut alice = cluster.connect(0).await;
    let mut alice_saw = join(&mut alice, "alice").await.history;
    let mut bob = cluster.connect(1).await;
    let mut bob_saw = join(&mut bob, "bob").await.history;
    let (_, mut seen) = post_confirmed(&mut alice, "alice", "before", 1).await;
    alice_saw.append(&mut seen);
    bob_saw.extend(read_until_ids(&mut bob, &ids(&alice_saw).into_iter().collect()).await);

    redis.kill().expect("kill Redis");
    let (alice_down, mut seen) = post_confirmed(&mut alice, "alice", "down", 5).await;
    alice_saw.append(&mut seen);
    let (bob_down, mut seen) = post_confirmed(&mut bob, "bob", "down", 5).await;
    bob_saw.append(&mut seen);
    eprintln!(
        "confirmed without Redis: {:?} and {:?}",
        ids(&alice_down),
        ids(&bob_down)
    );

    // Without Redis nothing crosses between nodes; this is what makes the
    // catch-up below a test of the reconnect.
    assert!(
        matches!(
            alice.next_frame(Duration::from_millis(500)).await,
            Next::Quiet
        ),
        "alice heard something while Redis was down"
    );

    redis.restart().expect("restart Redis");
    let restarted = Instant::now();
    // Bob's posts came after Alice's, so his node filled hers from the
    // store as it committed his; Alice's node has nothing to notice Bob's
    // by but the reconnect, which must catch up from the store by itself.
    let wanted: HashSet<u64> = ids(&bob_down).into_iter().collect();
    alice_saw.extend(read_until_ids(&mut alice, &wanted).await);
    eprintln!(
        "alice had what bob posted {:?} after the restart",
        restarted.elapsed()
    );
    // Cross-node delivery comes back by itself: Alice posts until Bob
    // hears one of hers.
    let mut probes = 0;
    loop {
        assert!(
            restarted.elapsed() < BOUND,
            "no cross-node delivery within {BOUND:?} of the restart"
        );
        let (_, mut seen) = post_confirmed(&mut alice, "alice", "probe", 1).await;
        probes += 1;
        alice_saw.append(&mut seen);
        let mut heard = false;
        while let Next::Frame(frame) = bob.next_frame(Duration::from_millis(500)).await {
            if let ServerFrame::Message(message) = frame {
                heard |= message.username == "alice";
                bob_saw.push(message);
            }
        }
        if heard {
            break;
        }
    }
    eprintln!(
        "cross-node delivery back {:?} after the restart, {probes} probes",
        restarted.elapsed()
    );
    // One more from each side, so each has every earlier id to catch up to.
    let (_, mut seen) = post_confirmed(&mut bob, "bob", "after", 1).await;
    bob_saw.append(&mut seen);
    let (_, mut seen) = post_confirmed(&mut alice, "alice", "after", 1).await;
    alice_saw.append(&mut seen);

    let history = full_history(cluster.addr(0), "historian").await;
    let stored: HashSet<u64> = ids(&history).into_iter().collect();
    for message in alice_down.iter().chain(&bob_down) {
        assert!(
            stored.contains(&message.id),
            "confirmed {message:?} is stored"
        );
    }
    let everything: HashSet<u64> = stored.clone();
    alice_saw.extend(read_until_ids(&mut alice, &everything_after(&everything, &alice_saw)).await);
    bob_saw.extend(read_until_ids(&mut bob, &everything_after(&everything, &bob_saw)).await);
    for (who, saw) in [("alice", &alice_saw), ("bob", &bob_saw)] {
        assert_strictly_increasing(saw, who);
        assert_eq!(ids(saw), ids(&history), "{who} received every message once");
    }
    let mut fresh = cluster.connect(1).await;
    let welcome = join(&mut fresh, "newcomer").await;
    assert_eq!(
        ids(&welcome.history),
        ids(&history),
        "a fresh join's history"
    );
    // The restarted Redis started empty: the nodes told it again who is here.
    for name in ["alice", "bob"] {
        assert!(
            welcome.users.iter().any(|user| user == name),
            "{name} is listed"
        );
    }
    let mut rival = cluster.connect(1).await;
    rival.send(ClientFrame::join("alice")).await;
    match expect_frame(&mut rival).await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::NameTaken),
        other => panic!("alice's name was free after the Redis restart: {other:?}"),
    }
    eprintln!("took {:?}", started.elapsed());
}

/// The ids of `all` that `saw` has not got yet.
fn everything_after(all: &HashSet<u64>, saw: &[ChatMessage]) -> HashSet<u64> {
    let have: HashSet<u64> = ids(saw).into_iter().collect();
    all.difference(&have).copied().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_every_node_mid_stream_loses_no_confirmed_message() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    let mut cluster = Cluster::start(2, &["--node-timeout", "2s", "--resume-grace", "1s"]).await;

    let mut posters = tokio::task::JoinSet::new();
    for node in 0..2 {
        for i in 0..2 {
            let mut client = cluster.connect(node).await;
            let name = format!("poster-{node}-{i}");
            join(&mut client, &name).await;
            posters.spawn(async move {
                // Pipelined: several in flight, as a client with an outbox.
                let mut confirmed = Vec::new();
                let mut n = 0usize;
                'posting: loop {
                    for _ in 0..5 {
                        let frame = ClientFrame::Message {
                            text: format!("{name} #{n}"),
                            client_id: Some(format!("{name}-{n}")),
                            reply_to: None,
                            attachments: Vec::new(),
                        };
                        if client
                            .socket
                            .send(Message::text(frame.encode()))
                            .await
                            .is_err()
                        {
                            break 'posting;
                        }
                        n += 1;
                    }
                    loop {
                        match client.next_frame(Duration::from_millis(50)).await {
                            Next::Frame(ServerFrame::Message(message))
                                if message.username == name =>
                            {
                                confirmed.push(message)
                            }
                            Next::Frame(_) => continue,
                            Next::Quiet => break,
                            Next::Gone => break 'posting,
                        }
                    }
                }
                (name, n, confirmed)
            });
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.kill(0);
    cluster.kill(1);
    let mut confirmed = Vec::new();
    while let Some(result) = posters.join_next().await {
        let (name, sent, mut mine) = result.expect("a poster task");
        eprintln!("{name}: {} confirmed of {sent} sent", mine.len());
        confirmed.append(&mut mine);
    }
    assert!(
        confirmed.len() > 20,
        "the posters got going before the kill"
    );

    cluster.restart(0).await;
    let history = full_history(cluster.addr(0), "historian").await;
    assert_strictly_increasing(&history, "history");
    let mut client_ids = HashSet::new();
    for message in &history {
        let client_id = message
            .client_id
            .clone()
            .unwrap_or_else(|| message.text.clone());
        assert!(client_ids.insert(client_id), "{message:?} is stored once");
    }
    let by_id: BTreeMap<u64, &ChatMessage> = history.iter().map(|m| (m.id, m)).collect();
    for message in &confirmed {
        let stored = by_id
            .get(&message.id)
            .unwrap_or_else(|| panic!("confirmed {message:?} is lost"));
        assert_eq!(
            (stored.text.as_str(), stored.username.as_str()),
            (message.text.as_str(), message.username.as_str())
        );
    }

    // No node that held the posters survives to expire them: the restarted
    // one must, once the dead nodes' timeout and the grace have passed.
    let deadline = Instant::now() + BOUND;
    let mut heir = cluster.connect(0).await;
    loop {
        heir.send(ClientFrame::join("poster-0-0")).await;
        match expect_frame(&mut heir).await {
            ServerFrame::Welcome(chat_shared::Welcome { users, .. }) => {
                let ghosts: Vec<&String> = users
                    .iter()
                    .filter(|user| user.starts_with("poster-") && *user != "poster-0-0")
                    .collect();
                assert!(ghosts.is_empty(), "ghosts of the dead nodes: {ghosts:?}");
                break;
            }
            ServerFrame::Error {
                code: ErrorCode::NameTaken,
                ..
            } => {
                assert!(
                    Instant::now() < deadline,
                    "the dead node's user still holds its name"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => panic!("expected welcome or name_taken, got {other:?}"),
        }
    }
    eprintln!("took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgres_answers_server_error_and_posting_recovers_by_itself() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    let mut postgres = chat_engines::Postgres::start().expect("a private PostgreSQL");
    let database = postgres.create_database().expect("a database");
    let cluster = Cluster::start_on(1, database, chat_engines::shared_redis().url(), &[]).await;

    let mut alice = cluster.connect(0).await;
    join(&mut alice, "alice").await;
    post_confirmed(&mut alice, "alice", "before", 1).await;

    postgres.stop().expect("stop PostgreSQL");
    alice.say_with_id("into the void", "void-1").await;
    match expect_frame(&mut alice).await {
        ServerFrame::Error {
            code, client_id, ..
        } => {
            assert_eq!(code, ErrorCode::ServerError);
            assert_eq!(client_id.as_deref(), Some("void-1"));
        }
        other => panic!("expected server_error, got {other:?}"),
    }
    // Still open and answering.
    alice.send(ClientFrame::ListRooms).await;
    loop {
        match expect_frame(&mut alice).await {
            ServerFrame::Rooms { .. } => break,
            ServerFrame::Error {
                code: ErrorCode::ServerError,
                ..
            } => continue,
            other => panic!("expected the room list, got {other:?}"),
        }
    }

    postgres.restart().expect("restart PostgreSQL");
    let restarted = Instant::now();
    let mut attempt = 0;
    let recovered = loop {
        assert!(
            restarted.elapsed() < BOUND,
            "posting did not recover within {BOUND:?}"
        );
        attempt += 1;
        let client_id = format!("retry-{attempt}");
        alice.say_with_id("back again", &client_id).await;
        match expect_frame(&mut alice).await {
            ServerFrame::Message(message) => break message,
            ServerFrame::Error {
                code: ErrorCode::ServerError,
                ..
            } => tokio::time::sleep(Duration::from_millis(300)).await,
            other => panic!("expected a message or server_error, got {other:?}"),
        }
    };
    eprintln!(
        "posting recovered {:?} after the restart, attempt {attempt}",
        restarted.elapsed()
    );
    assert_eq!(recovered.text, "back again");
    let history = full_history(cluster.addr(0), "historian").await;
    assert!(history
        .iter()
        .all(|message| message.text != "into the void"));
    eprintln!("took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_raced_for_on_both_nodes_goes_to_exactly_one() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    const NAMES: usize = 20;
    let cluster = Cluster::start(2, &[]).await;
    let addrs = [cluster.addr(0), cluster.addr(1)];

    let mut races = tokio::task::JoinSet::new();
    for n in 0..NAMES {
        for addr in addrs {
            races.spawn(async move {
                let name = format!("contested{n}");
                let mut client = connect(addr).await;
                // Different spellings of one name: the claim compares keys.
                let spelling = match addr == addrs[0] {
                    true => name.clone(),
                    false => name.to_uppercase(),
                };
                client.send(ClientFrame::join(spelling)).await;
                let won = match expect_frame(&mut client).await {
                    ServerFrame::Welcome(chat_shared::Welcome { .. }) => true,
                    ServerFrame::Error {
                        code: ErrorCode::NameTaken,
                        ..
                    } => false,
                    other => panic!("expected welcome or name_taken, got {other:?}"),
                };
                (name, won, client)
            });
        }
    }
    let mut winners: BTreeMap<String, usize> = BTreeMap::new();
    let mut clients = Vec::new();
    while let Some(result) = races.join_next().await {
        let (name, won, client) = result.expect("a racing join");
        *winners.entry(name).or_default() += usize::from(won);
        clients.push(client);
    }
    for (name, count) in &winners {
        assert_eq!(*count, 1, "{name} went to {count} joiners");
    }
    assert_eq!(winners.len(), NAMES);
    eprintln!("took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_a_killed_node_resumes_on_another_and_nobody_sees_a_leave() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    let node_timeout = Duration::from_secs(2);
    let grace = Duration::from_secs(5);
    let mut cluster = Cluster::start(2, &["--node-timeout", "2s", "--resume-grace", "5s"]).await;

    let mut olga = cluster.connect(1).await;
    join(&mut olga, "olga").await;
    let mut alice = cluster.connect(0).await;
    let welcome = join(&mut alice, "alice").await;
    match expect_frame(&mut olga).await {
        ServerFrame::UserJoined { username, .. } => assert_eq!(username, "alice"),
        other => panic!("expected alice's join, got {other:?}"),
    }

    cluster.kill(0);
    let killed = Instant::now();
    // Past the node timeout, inside the grace that it started: a client
    // that reconnects to a surviving node, as the app does.
    tokio::time::sleep(node_timeout + Duration::from_secs(1)).await;
    let mut alice = cluster.connect(1).await;
    let resumed = join_with(
        &mut alice,
        join_frame("alice", None, None, Some(&welcome.resume)),
    )
    .await;
    assert!(
        killed.elapsed() < node_timeout + grace,
        "the test resumed within the grace"
    );
    assert_eq!(resumed.username, "alice");

    // Past the end of the grace the kill started: Olga hears Alice speak,
    // and nothing before it.
    tokio::time::sleep(
        (node_timeout + grace + Duration::from_secs(1)).saturating_sub(killed.elapsed()),
    )
    .await;
    alice.say("survived").await;
    match expect_frame(&mut olga).await {
        ServerFrame::Message(message) => assert_eq!(message.text, "survived"),
        other => panic!("olga was told something about the failover: {other:?}"),
    }
    eprintln!("took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiners_arriving_mid_stream_on_either_node_get_history_then_live_without_a_seam() {
    let _turn = one_at_a_time().await;
    let started = Instant::now();
    const MESSAGES_EACH: usize = 100;
    const JOINERS: usize = 6;
    let cluster = Cluster::start(2, &[]).await;
    let addrs = [cluster.addr(0), cluster.addr(1)];

    let mut posters = tokio::task::JoinSet::new();
    for (node, addr) in addrs.into_iter().enumerate() {
        let mut client = connect(addr).await;
        let name = format!("poster-{node}");
        join(&mut client, &name).await;
        posters.spawn(async move {
            let mut last = None;
            for n in 0..MESSAGES_EACH {
                let client_id = format!("{name}-{n}");
                client
                    .say_with_id(&format!("{name} #{n}"), &client_id)
                    .await;
                let seen = read_until_client_id(&mut client, &client_id).await;
                last = seen.last().map(|message| message.id);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            last.expect("the poster posted")
        });
    }

    // Joiners arrive while both post; each reads until the posters are done.
    let mut joiners = tokio::task::JoinSet::new();
    let mut welcomed = Vec::new();
    for j in 0..JOINERS {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut client = connect(addrs[j % 2]).await;
        let name = format!("joiner-{j}");
        let mut saw = join(&mut client, &name).await.history;
        welcomed.push(saw.len());
        joiners.spawn(async move {
            let done: HashSet<String> = (0..2)
                .map(|node| format!("poster-{node}-{}", MESSAGES_EACH - 1))
                .collect();
            let mut missing = done.clone();
            missing.retain(|client_id| {
                !saw.iter()
                    .any(|m| m.client_id.as_deref() == Some(client_id))
            });
            while !missing.is_empty() {
                match expect_frame(&mut client).await {
                    ServerFrame::Message(message) => {
                        if let Some(client_id) = &message.client_id {
                            missing.remove(client_id);
                        }
                        saw.push(message);
                    }
                    _ => continue,
                }
            }
            (name, saw)
        });
    }
    while let Some(result) = posters.join_next().await {
        result.expect("a poster task");
    }
    let history = full_history(addrs[0], "historian").await;
    assert_eq!(history.len(), 2 * MESSAGES_EACH, "everything is stored");
    eprintln!("the joiners' welcomes had {welcomed:?} messages");
    assert!(
        welcomed.iter().any(|&len| 0 < len && len < history.len()),
        "some joiner arrived mid-stream"
    );
    while let Some(result) = joiners.join_next().await {
        let (name, saw) = result.expect("a joiner task");
        assert_strictly_increasing(&saw, &name);
        assert_eq!(
            ids(&saw),
            ids(&history),
            "{name}: its welcome and the live messages meet without a gap or a repeat"
        );
    }
    eprintln!("took {:?}", started.elapsed());
}

//! Clients as the load needs them: thousands of sockets, each from its own
//! loopback address, joined, and read by a task of their own so the server
//! never sees a slow reader that the load generator made.

use crate::latency::{self, Latencies};
use chat_shared::{ClientFrame, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// One client's WebSocket.
pub(crate) type Socket = WebSocketStream<TcpStream>;

/// Read buffer per client socket: tens of thousands of them share this
/// process with the server, and chat frames are small.
const CLIENT_READ_BUFFER: usize = 8 * 1024;

/// The server under test: one address, or the nodes of a cluster, which
/// clients are spread over round-robin by index.
#[derive(Clone)]
pub(crate) struct Target {
    /// Where each node listens, with its WebSocket endpoint.
    nodes: Arc<[(SocketAddr, String)]>,
}

impl Target {
    /// The nodes listening on `addrs` (at least one).
    pub(crate) fn new(addrs: &[SocketAddr]) -> Self {
        Self {
            nodes: addrs
                .iter()
                .map(|addr| (*addr, format!("ws://{addr}/ws")))
                .collect(),
        }
    }

    /// How many nodes the clients are spread over.
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len().max(1)
    }

    /// The node client `index` connects to: round-robin, so that any run of
    /// consecutive indices (the senders are the first ones) is spread too.
    pub(crate) fn node_of(&self, index: usize) -> usize {
        index % self.node_count()
    }

    /// The address of client `index`'s node, for plain HTTP requests
    /// (uploads) beside its WebSocket.
    pub(crate) fn addr_of(&self, index: usize) -> SocketAddr {
        self.nodes[self.node_of(index)].0
    }
}

/// Raises this process's descriptor limit to the hard limit (each client
/// is one descriptor) and returns the limit in force.
pub(crate) fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            eprintln!("loadgen: cannot raise the descriptor limit: {error}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

/// The source address of client `index`: 127.1.0.1 onwards, 250 clients to
/// an address, so that no one address runs out of ports and per-address
/// limits never decide what is measured.
fn source_address(index: usize) -> IpAddr {
    let host = index / 250;
    let (hi, lo) = ((host / 250 % 250) as u8, (host % 250) as u8);
    IpAddr::V4(Ipv4Addr::new(127, 1 + hi, lo, (index % 250) as u8 + 1))
}

/// Opens client `index`'s WebSocket from its own source address.
pub(crate) async fn connect(target: &Target, index: usize) -> Result<Socket, String> {
    let (addr, url) = &target.nodes[target.node_of(index)];
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(source_address(index), 0))
        .map_err(|e| format!("bind {}: {e}", source_address(index)))?;
    let stream = socket
        .connect(*addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(config))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    Ok(socket)
}

/// Sends `join` and waits for the `welcome`.
pub(crate) async fn join(
    socket: &mut Socket,
    name: &str,
    room: Option<String>,
) -> Result<(), String> {
    join_as(socket, name, room, None).await
}

/// Sends `join` with an author key, when given, and waits for the
/// `welcome`: a keyed join holds the name and makes the room one of its
/// rooms (issue 23), which the `activity` scenario needs.
pub(crate) async fn join_as(
    socket: &mut Socket,
    name: &str,
    room: Option<String>,
    author_key: Option<String>,
) -> Result<(), String> {
    let frame = ClientFrame::Join {
        username: name.to_owned(),
        room,
        since: None,
        resume: None,
        join_code: None,
        author_key,
        link_code: None,
        device: None,
    };
    socket
        .send(Message::text(frame.encode()))
        .await
        .map_err(|e| format!("send join: {e}"))?;
    while let Some(frame) = socket.next().await {
        let Message::Text(text) = frame.map_err(|e| format!("before welcome: {e}"))? else {
            continue;
        };
        match ServerFrame::decode(&text) {
            Ok(ServerFrame::Welcome(chat_shared::Welcome { .. })) => return Ok(()),
            Ok(ServerFrame::Error { code, message, .. }) => {
                return Err(format!("join refused: {code:?} {message}"))
            }
            _ => {}
        }
    }
    Err("closed before welcome".into())
}

/// What every reader adds to, for the scenario to read.
pub(crate) struct Tally {
    /// Chat messages received, by all clients together.
    pub deliveries: AtomicU64,
    /// Clients' own messages echoed back to them: each is one message the
    /// server committed.
    pub echoed: AtomicU64,
    /// Error frames received (rate limits, refusals).
    pub errors: AtomicU64,
    /// `activity` frames received: news of another of a held name's rooms.
    pub activity: AtomicU64,
    /// `room_left` frames received: answers to `leave_room`.
    pub rooms_left: AtomicU64,
    /// Readers whose socket ended: the server closed or dropped them.
    pub closed: AtomicUsize,
    /// Latency of stamped messages, while a window is open.
    pub latencies: Latencies,
}

impl Tally {
    /// All zero, no window open.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            deliveries: AtomicU64::new(0),
            echoed: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            activity: AtomicU64::new(0),
            rooms_left: AtomicU64::new(0),
            closed: AtomicUsize::new(0),
            latencies: Latencies::new(),
        })
    }

    /// Deliveries so far.
    pub(crate) fn delivered(&self) -> u64 {
        self.deliveries.load(Ordering::Relaxed)
    }

    /// Waits until deliveries stop growing for `quiet` (the server has sent
    /// what it had queued), at most `limit`.
    pub(crate) async fn settle(&self, quiet: Duration, limit: Duration) {
        let until = Instant::now() + limit;
        let mut last = self.delivered();
        while Instant::now() < until {
            tokio::time::sleep(quiet).await;
            let now = self.delivered();
            if now == last {
                return;
            }
            last = now;
        }
    }
}

/// A joined client: its sending half, and a task reading the other.
pub(crate) struct Member {
    /// Its client index, which says its node and source address.
    pub index: usize,
    /// Its name in the room, which marks its own messages' echoes.
    pub name: Arc<str>,
    /// For the scenario's sender loop.
    pub sink: SplitSink<Socket, Message>,
    /// One permit per own message echoed back: a closed-loop sender waits
    /// on it.
    pub echoes: Arc<Semaphore>,
}

impl Member {
    /// Starts reading a joined socket; `index` spreads histogram locks.
    pub(crate) fn start(socket: Socket, index: usize, name: &str, tally: &Arc<Tally>) -> Self {
        let (sink, stream) = socket.split();
        let name: Arc<str> = name.into();
        let echoes = Arc::new(Semaphore::new(0));
        tokio::spawn(read_frames(
            stream,
            index,
            Arc::clone(&name),
            Arc::clone(tally),
            Arc::clone(&echoes),
        ));
        Self {
            index,
            name,
            sink,
            echoes,
        }
    }

    /// Sends one chat message with a client id, as the browser app does.
    pub(crate) async fn send(&mut self, text: String, seq: u64) -> Result<(), String> {
        let frame = ClientFrame::Message {
            text,
            client_id: Some(format!("{}-{seq}", self.name)),
            reply_to: None,
            attachments: Vec::new(),
        };
        self.sink
            .send(Message::text(frame.encode()))
            .await
            .map_err(|e| format!("send: {e}"))
    }
}

/// The fields of a server frame the readers look at, borrowed from the
/// text: a full decode of every delivery would take CPU from the server
/// that shares this machine.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    username: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

/// Reads until the socket ends, counting messages, recording stamped
/// ones' latency and releasing an echo permit for each own message.
async fn read_frames(
    mut stream: SplitStream<Socket>,
    index: usize,
    name: Arc<str>,
    tally: Arc<Tally>,
    echoes: Arc<Semaphore>,
) {
    while let Some(Ok(frame)) = stream.next().await {
        let Message::Text(text) = frame else {
            continue;
        };
        let Ok(peek) = serde_json::from_str::<Peek>(&text) else {
            continue;
        };
        match peek.kind.as_ref() {
            "message" => {
                tally.deliveries.fetch_add(1, Ordering::Relaxed);
                if let Some(age) = peek.text.as_deref().and_then(latency::age_of) {
                    tally.latencies.record(index, age);
                }
                if peek.username.as_deref() == Some(&*name) {
                    tally.echoed.fetch_add(1, Ordering::Relaxed);
                    echoes.add_permits(1);
                }
            }
            "error" => {
                tally.errors.fetch_add(1, Ordering::Relaxed);
            }
            "activity" => {
                tally.activity.fetch_add(1, Ordering::Relaxed);
            }
            "room_left" => {
                tally.rooms_left.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
    tally.closed.fetch_add(1, Ordering::Relaxed);
}

/// How to bring a crowd in.
pub(crate) struct JoinPlan {
    /// Clients to connect, indices `first..first + count`.
    pub count: usize,
    /// The first client's index (names and source addresses follow it).
    pub first: usize,
    /// Connections being opened or joined at once.
    pub in_flight: usize,
    /// Gives up on joins not done by then.
    pub deadline: Duration,
    /// The room of client `index`; None for the server's default.
    pub room_of: fn(usize) -> Option<String>,
    /// The author key client `index` joins with; None for a keyless join,
    /// as the seed's clients make.
    pub key_of: fn(usize) -> Option<String>,
}

/// What came of a [`JoinPlan`].
pub(crate) struct Crowd {
    /// Every client that joined, by index (so the first few, which the
    /// scenarios make senders, are spread over the nodes).
    pub members: Vec<Member>,
    /// Clients that could not connect or join (or not in time).
    pub failed: usize,
    /// From the first connect to the last welcome.
    pub elapsed: Duration,
    /// The first failure, to say why.
    pub first_error: Option<String>,
}

/// The name of client `index`.
pub(crate) fn name_of(index: usize) -> String {
    format!("u{index}")
}

/// Connects and joins `plan.count` clients, `plan.in_flight` at a time,
/// each starting its reader as soon as it is welcomed.
pub(crate) async fn join_crowd(target: &Target, plan: &JoinPlan, tally: &Arc<Tally>) -> Crowd {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(plan.in_flight.max(1)));
    let mut joins = JoinSet::new();
    for index in plan.first..plan.first + plan.count {
        let (gate, target, tally) = (Arc::clone(&gate), target.clone(), Arc::clone(tally));
        let room = (plan.room_of)(index);
        let key = (plan.key_of)(index);
        joins.spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
            let name = name_of(index);
            let mut socket = connect(&target, index).await?;
            join_as(&mut socket, &name, room, key).await?;
            Ok::<Member, String>(Member::start(socket, index, &name, &tally))
        });
    }
    let deadline = tokio::time::Instant::from_std(started + plan.deadline);
    let mut crowd = Crowd {
        members: Vec::with_capacity(plan.count),
        failed: 0,
        elapsed: Duration::ZERO,
        first_error: None,
    };
    loop {
        match tokio::time::timeout_at(deadline, joins.join_next()).await {
            Ok(Some(Ok(Ok(member)))) => {
                crowd.members.push(member);
                crowd.elapsed = started.elapsed();
            }
            Ok(Some(Ok(Err(error)))) => {
                crowd.failed += 1;
                crowd.first_error.get_or_insert(error);
            }
            Ok(Some(Err(error))) => {
                crowd.failed += 1;
                crowd.first_error.get_or_insert(error.to_string());
            }
            Ok(None) => break,
            Err(_) => {
                let late = joins.len();
                crowd.failed += late;
                crowd
                    .first_error
                    .get_or_insert(format!("{late} not joined after {:?}", plan.deadline));
                joins.abort_all();
                break;
            }
        }
    }
    crowd.members.sort_unstable_by_key(|member| member.index);
    crowd
}

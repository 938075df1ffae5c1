//! A real server on an ephemeral loopback port and real WebSocket clients.
#![allow(dead_code)] // each test binary uses a different part of this

use chat_server::Config;
use chat_shared::{
    username_key, Change, ChatMessage, ClientFrame, ClientLimits, ErrorCode, ForbiddenReason,
    HistoryItem, ServerFrame,
};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) mod http;
pub(crate) mod process;
pub(crate) mod push_service;

/// How long a test waits for a frame it expects before failing.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Settings for tests that send many messages on purpose: no rate limit.
pub(crate) fn unthrottled() -> Config {
    Config {
        limits: chat_server::limits::Limits {
            message_rate: 1e9,
            message_burst: u32::MAX,
            ..Default::default()
        },
        ..Config::default()
    }
}

/// Which setup the suite runs against, from `CHAT_TEST_SETUP`: `single`
/// (the default: one node on SQLite) or `cluster` (two nodes on one
/// PostgreSQL and one Redis, started for the test binary, with each
/// test's clients spread over both nodes).
pub(crate) fn cluster_setup() -> bool {
    match std::env::var("CHAT_TEST_SETUP").as_deref() {
        Ok("cluster") => true,
        Ok("single") | Err(_) => false,
        Ok(other) => panic!("CHAT_TEST_SETUP is single or cluster, not {other:?}"),
    }
}

/// How many nodes a cluster test server runs.
const CLUSTER_NODES: usize = 2;

pub(crate) struct TestServer {
    /// The first node's address: where plain HTTP requests go.
    pub addr: SocketAddr,
    /// Where `/metrics` is served, when the test asked for it.
    pub metrics_addr: Option<SocketAddr>,
    /// The S3 bucket the cluster's files are in (on the shared S3 server).
    pub bucket: Option<String>,
    nodes: Vec<RunningNode>,
    /// Which node the next `connect` goes to.
    next: std::sync::atomic::AtomicUsize,
}

struct RunningNode {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// A join of `name` into `room` (the default one when `None`) with `key`
/// and, for a new device, `link_code`, from the app's device "Test on
/// Loopback".
pub(crate) fn join(
    name: &str,
    room: Option<&str>,
    key: Option<&str>,
    link_code: Option<&str>,
) -> ClientFrame {
    ClientFrame::Join {
        username: name.into(),
        room: room.map(Into::into),
        since: None,
        resume: None,
        join_code: None,
        author_key: key.map(Into::into),
        link_code: link_code.map(Into::into),
        device: Some("Test on Loopback".into()),
    }
}

impl TestServer {
    /// A connection that joined `name` into `room`, holding the name with
    /// `key` (`None`: a keyless join, as old clients make).
    pub(crate) async fn joined(&self, name: &str, room: &str, key: Option<&str>) -> Client {
        let mut client = self.connect().await;
        client.join_with(join(name, Some(room), key, None)).await;
        client
    }

    pub(crate) async fn start() -> Self {
        Self::start_with(Config::default()).await
    }

    /// A server with these settings: in the cluster setup, two nodes
    /// sharing a fresh database, unless the test names an SQLite file
    /// (it is about that file) or asks for one node.
    pub(crate) async fn start_with(config: Config) -> Self {
        let nodes = match on_shared_engines(&config) {
            true => CLUSTER_NODES,
            false => 1,
        };
        Self::start_serving(config, false, nodes).await
    }

    /// One node, in either setup: for tests of what one process does on
    /// its own (its limits per address, its metrics). In the cluster
    /// setup it still runs on the shared engines.
    pub(crate) async fn start_one_node(config: Config) -> Self {
        Self::start_serving(config, false, 1).await
    }

    /// One node that also serves its metrics, on a port of their own.
    pub(crate) async fn start_with_metrics(config: Config) -> Self {
        Self::start_serving(config, true, 1).await
    }

    async fn start_serving(mut config: Config, metrics: bool, nodes: usize) -> Self {
        if on_shared_engines(&config) {
            let url = chat_engines::shared_postgres()
                .create_database()
                .expect("a fresh PostgreSQL database");
            config.database = Some(chat_server::config::Database::parse(&url).expect("url"));
            config.redis = Some(chat_engines::shared_redis().url());
            config.redis_prefix = format!("t{}:", unique_suffix());
            if !config.files.no_files {
                // Every node reaches every file: a fresh bucket on the
                // test binary's S3 server, its keys from the environment
                // as an operator's would be (the same for every test).
                let s3 = chat_engines::shared_s3();
                let bucket = s3.create_bucket("chat").expect("a fresh bucket");
                std::env::set_var("AWS_ACCESS_KEY_ID", s3.access_key());
                std::env::set_var("AWS_SECRET_ACCESS_KEY", s3.secret_key());
                config.files.files_s3 = Some(s3.bucket_url(&bucket));
                config.files.files_dir = None;
            }
        }
        let bucket = config.files.files_s3.as_ref().map(|_| bucket_of(&config));
        let mut running = Vec::with_capacity(nodes);
        let mut metrics_addr = None;
        for index in 0..nodes {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let addr = listener.local_addr().expect("local addr");
            let metrics_listener = match metrics && index == 0 {
                true => Some(TcpListener::bind("127.0.0.1:0").await.expect("bind")),
                false => None,
            };
            if let Some(listener) = &metrics_listener {
                metrics_addr = Some(listener.local_addr().expect("local addr"));
            }
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(chat_server::run_with_metrics(
                listener,
                metrics_listener,
                config.clone(),
                async {
                    let _ = stopped.await;
                },
            ));
            running.push(RunningNode {
                addr,
                stop: Some(stop),
                task,
            });
        }
        Self {
            addr: running[0].addr,
            metrics_addr,
            nodes: running,
            bucket,
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The address the next client connects to: the nodes in turn.
    pub(crate) fn next_addr(&self) -> SocketAddr {
        let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.nodes[turn % self.nodes.len()].addr
    }

    /// The first node's WebSocket address.
    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A client of the next node in turn.
    pub(crate) async fn connect(&self) -> Client {
        connect_to(self.next_addr()).await
    }

    /// A client whose kernel receive buffer is tiny, so that when it stops
    /// reading the server notices quickly.
    pub(crate) async fn connect_with_small_buffer(&self) -> Client {
        let tcp = TcpSocket::new_v4().expect("socket");
        tcp.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let addr = self.next_addr();
        let stream = tcp.connect(addr).await.expect("connect");
        let url = format!("ws://{addr}/ws");
        let (socket, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .expect("websocket handshake");
        Client { socket }
    }

    /// Stops every node gracefully and returns what the first one's `run`
    /// returned (the first failure, if any failed).
    pub(crate) async fn stop(mut self) -> std::io::Result<()> {
        for node in &mut self.nodes {
            if let Some(stop) = node.stop.take() {
                let _ = stop.send(());
            }
        }
        let mut outcome = Ok(());
        for node in &mut self.nodes {
            let result = tokio::time::timeout(PATIENCE, &mut node.task)
                .await
                .expect("server stops in time")
                .expect("server task");
            if outcome.is_ok() {
                outcome = result;
            }
        }
        outcome
    }
}

/// Whether, in this setup, a server with `config` runs on the test
/// binary's PostgreSQL and Redis: in the cluster setup, unless the test
/// chose its own database.
fn on_shared_engines(config: &Config) -> bool {
    cluster_setup() && config.db.as_path() == Path::new(":memory:") && config.database.is_none()
}

/// A suffix no other test server of any test binary uses.
/// A fresh folder name under the temporary folder, for this test alone.
pub(crate) fn temp_folder(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("chat-test-{name}-{}", unique_suffix()))
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh path for an SQLite database file in the temporary folder:
/// nothing is there, nor its `-wal` and `-shm` companions. `name` is
/// unique within the test binary; the process id keeps test binaries that
/// run at once apart.
pub(crate) fn temp_db(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("chat-test-{}-{name}", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// A join of `name`, optionally into `room`, after the message `since`,
/// with a resume token: the fields a reconnecting client sets.
pub(crate) fn join_frame(
    name: &str,
    room: Option<&str>,
    since: Option<u64>,
    resume: Option<&str>,
) -> ClientFrame {
    ClientFrame::Join {
        username: name.into(),
        room: room.map(Into::into),
        since,
        resume: resume.map(Into::into),
        join_code: None,
        author_key: None,
        link_code: None,
        device: None,
    }
}

/// A client of the server at `addr` (a node, or a server process).
pub(crate) async fn connect_to(addr: SocketAddr) -> Client {
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("websocket handshake");
    Client { socket }
}

/// What waiting for the next chat frame came to.
// Boxing the frame would only make every match on it noisier: a `Next`
// lives for one loop iteration.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Next {
    Frame(ServerFrame),
    /// Nothing within the time asked for.
    Quiet,
    /// The socket closed or failed (a node killed, say).
    Gone,
}

/// The fields of a `welcome` frame, its history split into messages
/// and changes.
#[derive(Debug)]
pub(crate) struct Joined {
    pub username: String,
    pub users: Vec<String>,
    pub room: String,
    /// The messages of `welcome.history`.
    pub history: Vec<ChatMessage>,
    /// The changes in `welcome.history` (a replay after `since`), in
    /// order; every item of the history is in one of the two.
    pub changes: Vec<Change>,
    pub history_gap: bool,
    pub resume: String,
    pub heartbeat_ms: Option<u64>,
    pub answers_ping: bool,
    pub limits: Option<ClientLimits>,
    pub topic: Option<String>,
    pub locked: bool,
    pub online: Option<u32>,
    pub held: bool,
    /// The VAPID key offered for Web Push (held names only).
    pub push_key: Option<String>,
}

pub(crate) struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub(crate) async fn send(&mut self, frame: ClientFrame) {
        self.send_text(&frame.encode()).await;
    }

    pub(crate) async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("send frame");
    }

    pub(crate) async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("send frame");
    }

    /// Sends, tolerating a server that already closed the connection.
    pub(crate) async fn try_send_raw(&mut self, message: Message) {
        if let Err(error) = self.socket.send(message).await {
            eprintln!("send failed (the server may have closed first): {error}");
        }
    }

    /// The next chat frame, skipping heartbeats like a client that has no
    /// use for them; fails the test if none comes in time or the socket
    /// closes.
    pub(crate) async fn recv(&mut self) -> ServerFrame {
        loop {
            match self.next_message().await {
                Message::Text(text) => match ServerFrame::decode(&text).expect("frame decodes") {
                    ServerFrame::Heartbeat => continue,
                    frame => return frame,
                },
                Message::Close(frame) => panic!("socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next chat frame within `within`, skipping heartbeats and
    /// pings; a socket that ends is an answer too, not a failure.
    pub(crate) async fn next_frame(&mut self, within: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Next::Quiet,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Next::Gone,
                Ok(Some(Ok(Message::Text(text)))) => {
                    match ServerFrame::decode(&text).expect("frame decodes") {
                        ServerFrame::Heartbeat => continue,
                        frame => return Next::Frame(frame),
                    }
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    async fn next_message(&mut self) -> Message {
        tokio::time::timeout(PATIENCE, self.socket.next())
            .await
            .expect("a frame arrives in time")
            .expect("socket still open")
            .expect("frame is valid")
    }

    /// Reads until the server's close frame and returns it, skipping chat
    /// frames still queued before it.
    pub(crate) async fn expect_close(&mut self) -> Option<CloseFrame> {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("close arrives in time")
            {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(error)) => panic!("socket failed before a close frame: {error}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }

    /// Leaves on purpose: sends a normal close and reads until the
    /// connection ends (the server may answer with its close frame or
    /// just go).
    pub(crate) async fn leave(&mut self) {
        self.try_send_raw(Message::Close(None)).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(PATIENCE, self.socket.next()).await {}
    }

    /// Asserts that nothing arrives for a short while.
    pub(crate) async fn expect_silence(&mut self) {
        if let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(300), self.socket.next()).await
        {
            panic!("expected no frame, got {message:?}");
        }
    }

    /// Joins and returns the welcome's user list.
    pub(crate) async fn join(&mut self, username: &str) -> Vec<String> {
        self.send(ClientFrame::join(username)).await;
        match self.recv().await {
            ServerFrame::Welcome(chat_shared::Welcome { users, .. }) => users,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Sends any join frame and returns its welcome.
    pub(crate) async fn join_with(&mut self, frame: ClientFrame) -> Joined {
        self.send(frame).await;
        match self.recv().await {
            ServerFrame::Welcome(welcome) => {
                let ids: Vec<u64> = welcome.history.iter().map(HistoryItem::id).collect();
                assert!(
                    ids.windows(2).all(|pair| pair[0] < pair[1]),
                    "welcome.history out of id order: {ids:?}"
                );
                let (mut messages, mut changes) = (Vec::new(), Vec::new());
                for item in welcome.history {
                    match item {
                        HistoryItem::Message(message) => messages.push(message),
                        HistoryItem::Change(change) => changes.push(change),
                    }
                }
                Joined {
                    username: welcome.username,
                    users: welcome.users,
                    room: welcome.room,
                    history: messages,
                    changes,
                    history_gap: welcome.history_gap,
                    resume: welcome.resume,
                    heartbeat_ms: welcome.heartbeat_ms,
                    answers_ping: welcome.answers_ping,
                    limits: welcome.limits,
                    topic: welcome.topic,
                    locked: welcome.locked,
                    online: welcome.online,
                    held: welcome.held,
                    push_key: welcome.push_key,
                }
            }
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// The next frame, which must be a `forbidden` refusal by the rule
    /// `reason`; returns the `client_id` it names.
    pub(crate) async fn expect_forbidden(&mut self, reason: ForbiddenReason) -> Option<String> {
        match self.recv().await {
            ServerFrame::Error {
                code: ErrorCode::Forbidden,
                reason: Some(got),
                client_id,
                ..
            } if got == reason => client_id,
            other => panic!("expected forbidden for {reason:?}, got {other:?}"),
        }
    }

    /// The next frame, which must be a chat message.
    pub(crate) async fn recv_message(&mut self) -> ChatMessage {
        match self.recv().await {
            ServerFrame::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    pub(crate) async fn say(&mut self, text: &str) {
        self.send(ClientFrame::message(text)).await;
    }

    /// Sends a message with a `client_id`, as a client that tracks its
    /// messages in flight does.
    pub(crate) async fn say_with_id(&mut self, text: &str, client_id: &str) {
        self.send(ClientFrame::Message {
            text: text.into(),
            client_id: Some(client_id.into()),
            reply_to: None,
            attachments: Vec::new(),
        })
        .await;
    }

    /// Every name in the room, page by page, checking the pages' shape.
    pub(crate) async fn all_users(&mut self, page: u32) -> Vec<String> {
        let mut names = Vec::new();
        let mut after = None;
        loop {
            self.send(ClientFrame::Users {
                after: after.clone(),
                limit: Some(page),
            })
            .await;
            let (users, online, next) = loop {
                match self.recv().await {
                    ServerFrame::Users {
                        users,
                        online,
                        next,
                    } => break (users, online, next),
                    // The count a joiner may or may not have heard yet.
                    ServerFrame::Online { .. } => continue,
                    other => panic!("expected a users page, got {other:?}"),
                }
            };
            assert!(users.len() <= page as usize, "a page holds at most limit");
            names.extend(users);
            match next {
                Some(next) => {
                    assert_eq!(next, username_key(names.last().expect("a full page")));
                    after = Some(next);
                }
                None => {
                    assert_eq!(online as usize, names.len(), "the last page says how many");
                    return names;
                }
            }
        }
    }
}

/// The first frame of `client` that `wanted` picks, skipping the rest
/// (presence, activity, messages); fails after [`PATIENCE`] in all.
pub(crate) async fn until<T>(
    client: &mut Client,
    mut wanted: impl FnMut(ServerFrame) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "waited too long");
        if let Some(found) = wanted(client.recv().await) {
            return found;
        }
    }
}

/// A joined client, after the others have seen it join.
pub(crate) async fn joined(server: &TestServer, name: &str, others: &mut [&mut Client]) -> Client {
    let mut client = server.connect().await;
    client.join(name).await;
    for other in others.iter_mut() {
        match other.recv().await {
            ServerFrame::UserJoined { username, .. } if username == name => {}
            frame => panic!("expected user_joined for {name}, got {frame:?}"),
        }
    }
    client
}

/// The bucket of an `s3://BUCKET?…` URL.
fn bucket_of(config: &Config) -> String {
    let url = config.files.files_s3.as_deref().unwrap_or_default();
    let rest = url.strip_prefix("s3://").unwrap_or(url);
    rest.split(['?', '/']).next().unwrap_or_default().to_owned()
}

/// How many objects a server keeps under `prefix` (`blobs/`: one per
/// stored content): in its files folder, or in the cluster setup in the
/// shared S3 server's bucket.
pub(crate) async fn stored_objects(server: &TestServer, folder: &Path, prefix: &str) -> usize {
    fn count(path: &Path) -> usize {
        match std::fs::read_dir(path) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|entry| match entry.file_type() {
                    Ok(kind) if kind.is_dir() => count(&entry.path()),
                    Ok(_) => 1,
                    Err(_) => 0,
                })
                .sum(),
            Err(_) => 0,
        }
    }
    match &server.bucket {
        // s3s-fs keeps a bucket as a folder of its own.
        Some(bucket) => count(&chat_engines::shared_s3().bucket_dir(bucket).join(prefix)),
        None => count(&folder.join(prefix)),
    }
}

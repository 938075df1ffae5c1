//! The link to Redis that the bus and the presence share: the command
//! connection, the state of the link (up, or down and reconnecting), and
//! the background tasks (the subscription, the heartbeat, the end of
//! graces).

use super::scripts::Scripts;
use crate::cluster::{BusEvent, LocalPresence, Node};
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink, PubSubStream};
use redis::{Client, Script};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long one command may take before the link counts as broken: a
/// claim must fail fast, not hang a join, while Redis is away.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// How long connecting may take (at start-up and on every retry).
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The first wait before reconnecting; doubled on each failure.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between reconnection attempts.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How often, at most, grace periods are checked: a grace another node
/// started may end before the earliest deadline this node knew of.
const GRACE_POLL: Duration = Duration::from_millis(500);

/// How often a node says it is alive, at most: node death is noticed
/// within the node timeout plus this.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Why a command to Redis did not give an answer.
#[derive(Debug)]
pub(super) enum LinkError {
    /// Redis answered with an error, or the connection failed.
    Redis(redis::RedisError),
    /// No answer within [`COMMAND_TIMEOUT`].
    Timeout,
    /// A script's answer did not have the shape we expect: a bug.
    Reply(serde_json::Error),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Redis(error) => write!(f, "{error}"),
            Self::Timeout => write!(f, "no answer within {COMMAND_TIMEOUT:?}"),
            Self::Reply(error) => write!(f, "unexpected answer from a script: {error}"),
        }
    }
}

/// What travels on the bus channel, as read: an event and the node it
/// comes from, so a node can skip its own (it applied them already). The
/// bus writes it from borrowed parts.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    /// The node that published it (for presence: the one that acted).
    pub node: String,
    /// What happened.
    pub event: BusEvent,
}

/// Lets a warning through at most once per period, counting the rest, so
/// an outage does not flood the log with one line per event.
#[derive(Debug)]
pub(super) struct Throttle {
    /// What the other times are measured from.
    start: Instant,
    /// Milliseconds since `start` before which nothing is let through.
    next_ms: AtomicU64,
    /// Warnings held back since the last one let through.
    suppressed: AtomicU64,
    /// The period.
    every: Duration,
}

impl Throttle {
    /// A throttle that lets one warning through per `every`.
    pub(super) fn new(every: Duration) -> Self {
        Self {
            start: Instant::now(),
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            every,
        }
    }

    /// `Some(how many were held back)` when a warning may go out now.
    pub(super) fn ready(&self) -> Option<u64> {
        let now = millis(self.start.elapsed());
        let next = self.next_ms.load(Ordering::Relaxed);
        let won = now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + millis(self.every),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if won {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// One entry of a node's presence, as the restore script reads it.
#[derive(Debug, Serialize)]
struct RestoreEntry<'a> {
    room: &'a str,
    key: &'a str,
    username: &'a str,
    /// The SHA-256 of the resume token: Redis keeps only hashes.
    token: String,
    connections: u32,
    /// The name's looks, taken again with the name if it was lost.
    looks: Vec<String>,
}

/// The restore script's answer.
#[derive(Debug, Deserialize)]
struct RestoreReply {
    /// Members it put back.
    added: u64,
    /// (room, key) of entries whose name someone else holds now.
    #[serde(deserialize_with = "lua_list")]
    conflicts: Vec<(String, String)>,
}

/// The heartbeat script's answer.
#[derive(Debug, Deserialize)]
struct HeartbeatReply {
    /// This node had no entry: Redis lost its data, or the others took
    /// it for dead.
    missing: bool,
    /// Nodes it found dead and forgot.
    #[serde(deserialize_with = "lua_list")]
    reaped: Vec<String>,
}

/// The grace script's answer.
#[derive(Debug, Deserialize)]
struct GraceReply {
    /// Milliseconds until the next grace ends; negative: none is running.
    next_ms: i64,
}

/// The link to Redis, shared by [`super::RedisBus`],
/// [`super::RedisPresence`] and the background tasks.
pub(super) struct Link {
    /// Put in front of every key and of the channel name: several chats
    /// (or tests) can share one Redis.
    pub prefix: String,
    /// The bus channel: `{prefix}bus`.
    pub channel: String,
    /// This node's id, in every envelope and every connection count.
    pub node_id: String,
    /// How long a dropped user keeps its place and name.
    pub resume_grace: Duration,
    /// How long a node may stay silent before the others take it for dead.
    pub node_timeout: Duration,
    /// For the dedicated pub/sub connection, made anew on each reconnect.
    client: Client,
    /// The command connection; reconnects by itself, and clones share it.
    connection: ConnectionManager,
    /// Every script, hashed once.
    pub scripts: Scripts,
    /// Who receives the events and knows this node's presence.
    pub node: Arc<dyn Node>,
    /// False from the moment the subscription is lost until this node's
    /// presence is restored: claims fail fast meanwhile, and publishing
    /// drops events instead of queueing behind a dead connection.
    up: AtomicBool,
    /// A change of this node's presence may not have reached Redis (a
    /// release during an outage, a timed-out claim): the next heartbeat
    /// restores.
    restore_needed: AtomicBool,
    /// Evictions that failed, tried again after the next restore.
    pending_evictions: Mutex<Vec<String>>,
    /// Claims and releases hold it shared; a restore holds it alone, so
    /// the list it restores is not outdated by a change running beside it.
    pub gate: tokio::sync::RwLock<()>,
    /// Limits the warnings about failed commands.
    pub command_warnings: Throttle,
}

impl Link {
    /// A link that is up, over `connection`.
    pub(super) fn new(
        settings: &super::RedisSettings,
        client: Client,
        connection: ConnectionManager,
        node: Arc<dyn Node>,
    ) -> Self {
        Self {
            prefix: settings.key_prefix.clone(),
            channel: format!("{}bus", settings.key_prefix),
            node_id: settings.node_id.clone(),
            resume_grace: settings.resume_grace,
            node_timeout: settings.node_timeout,
            client,
            connection,
            scripts: Scripts::new(),
            node,
            up: AtomicBool::new(true),
            restore_needed: AtomicBool::new(false),
            pending_evictions: Mutex::new(Vec::new()),
            gate: tokio::sync::RwLock::new(()),
            command_warnings: Throttle::new(Duration::from_secs(10)),
        }
    }

    /// Whether Redis is reachable and this node's presence is in it.
    pub(super) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Remembers that Redis may not reflect this node's presence.
    pub(super) fn needs_restore(&self) {
        self.restore_needed.store(true, Ordering::Release);
    }

    /// Remembers an eviction to make once the link is back.
    pub(super) fn evict_later(&self, key: &str) {
        self.pending_evictions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(key.to_owned());
    }

    /// The grace period in whole milliseconds, as the scripts take it.
    pub(super) fn grace_ms(&self) -> String {
        millis(self.resume_grace).to_string()
    }

    /// Runs `script` with the prefix and `args`, decoding its JSON answer.
    pub(super) async fn eval<T: DeserializeOwned>(
        &self,
        script: &Script,
        args: &[&str],
    ) -> Result<T, LinkError> {
        let mut invocation = script.prepare_invoke();
        invocation.arg(&self.prefix);
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        let reply: String =
            tokio::time::timeout(COMMAND_TIMEOUT, invocation.invoke_async(&mut connection))
                .await
                .map_err(|_| LinkError::Timeout)?
                .map_err(LinkError::Redis)?;
        serde_json::from_str(&reply).map_err(LinkError::Reply)
    }

    /// PUBLISHes one envelope on the bus channel.
    pub(super) async fn publish(&self, payload: &str) -> Result<(), LinkError> {
        let mut connection = self.connection.clone();
        let command = redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(payload)
            .clone();
        tokio::time::timeout(COMMAND_TIMEOUT, command.query_async::<u64>(&mut connection))
            .await
            .map_err(|_| LinkError::Timeout)?
            .map_err(LinkError::Redis)?;
        Ok(())
    }

    /// Makes this node's entries in Redis exactly what the node reports
    /// (see the restore script), then makes the evictions left to do.
    pub(super) async fn restore(&self) -> Result<(), LinkError> {
        let _alone = self.gate.write().await;
        self.restore_needed.store(false, Ordering::Release);
        let local = self.node.local_presence();
        let entries: Vec<RestoreEntry<'_>> = local.iter().map(RestoreEntry::from).collect();
        let entries = serde_json::to_string(&entries).map_err(LinkError::Reply)?;
        let grace_ms = self.grace_ms();
        let restored = self
            .eval::<RestoreReply>(&self.scripts.restore, &[&self.node_id, &grace_ms, &entries])
            .await;
        let reply = match restored {
            Ok(reply) => reply,
            Err(error) => {
                self.needs_restore();
                return Err(error);
            }
        };
        for (room, key) in &reply.conflicts {
            // The node's connections for it stay open: the trait has no
            // way to say they lost their name.
            tracing::warn!(%room, %key, "presence restore: someone else claimed this name meanwhile; theirs wins");
        }
        tracing::debug!(
            entries = local.len(),
            added = reply.added,
            "presence restored"
        );
        let evictions = std::mem::take(
            &mut *self
                .pending_evictions
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for key in evictions {
            if let Err(error) = self
                .eval::<serde_json::Value>(&self.scripts.evict, &[&self.node_id, &key])
                .await
            {
                tracing::warn!(%key, "an eviction still failed: {error}");
                self.evict_later(&key);
            }
        }
        Ok(())
    }

    /// Marks the link down; warns once per outage.
    fn went_down(&self, why: &str) {
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                node = %self.node_id,
                "lost the link to Redis ({why}); reconnecting: joins fail and bus events are dropped meanwhile"
            );
        }
    }

    /// Marks the link up again after a restore.
    fn came_back(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            tracing::info!(node = %self.node_id, "the link to Redis is back; presence restored");
        }
    }

    /// Hands one message of the subscription to the node.
    fn forward(&self, payload: &[u8]) {
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(envelope) => envelope,
            Err(error) => {
                if let Some(held_back) = self.command_warnings.ready() {
                    tracing::warn!(held_back, "an unreadable message on the bus: {error}");
                }
                return;
            }
        };
        // This node applied its own events before publishing them, except
        // presence changes, which every node applies only from here.
        let own = envelope.node == self.node_id;
        if own && !matches!(envelope.event, BusEvent::Presence(_)) {
            return;
        }
        self.node.receive(envelope.event);
    }
}

impl<'a> From<&'a LocalPresence> for RestoreEntry<'a> {
    fn from(local: &'a LocalPresence) -> Self {
        Self {
            room: &local.room,
            key: &local.key,
            username: &local.username,
            token: crate::history::store::sha256_hex(&local.token),
            connections: local.connections,
            looks: chat_shared::username_looks(&local.username),
        }
    }
}

/// A dedicated pub/sub connection subscribed to the bus channel.
///
/// RESP2 pub/sub on a connection of its own rather than RESP3 pushes on
/// the command connection: its end is the one clear sign that messages
/// may have been missed, and nothing else shares its fate.
pub(super) async fn subscribe(
    client: &Client,
    channel: &str,
) -> Result<(PubSubSink, PubSubStream), String> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub.split())
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(subscription)) => Ok(subscription),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

/// The subscriber task: hands every bus message to the node in arrival
/// order; when the subscription is lost, marks the link down, reconnects
/// with backoff, restores this node's presence and tells the node.
pub(super) async fn run_subscriber(
    link: Arc<Link>,
    first: (PubSubSink, PubSubStream),
    shutdown: CancellationToken,
) {
    let mut subscription = Some(first);
    let mut backoff = MIN_BACKOFF;
    loop {
        let (sink, stream) = match subscription.take() {
            Some(subscription) => subscription,
            None => {
                let attempt = async {
                    let subscription = subscribe(&link.client, &link.channel).await?;
                    restore_with_retries(&link).await?;
                    Ok::<_, String>(subscription)
                };
                let outcome = tokio::select! {
                    () = shutdown.cancelled() => return,
                    outcome = attempt => outcome,
                };
                match outcome {
                    Ok(subscription) => {
                        backoff = MIN_BACKOFF;
                        link.came_back();
                        link.node.reconnected();
                        subscription
                    }
                    Err(error) => {
                        tracing::debug!("reconnecting to Redis failed: {error}");
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
        };
        let why = tokio::select! {
            () = shutdown.cancelled() => return,
            why = read_subscription(&link, sink, stream) => why,
        };
        link.went_down(&why);
    }
}

/// Restores after a reconnect; the command connection may need a try or
/// two to notice that its old connection is gone.
async fn restore_with_retries(link: &Link) -> Result<(), String> {
    let mut wait = MIN_BACKOFF;
    let mut last = String::new();
    for _ in 0..4 {
        match link.restore().await {
            Ok(()) => return Ok(()),
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_BACKOFF);
    }
    Err(format!("restoring this node's presence failed: {last}"))
}

/// Forwards messages until the subscription ends; PINGs it now and then,
/// so a connection that died without closing (a lost network) is noticed
/// too. Returns why it ended.
async fn read_subscription(link: &Link, mut sink: PubSubSink, mut stream: PubSubStream) -> String {
    let every = heartbeat_every(link.node_timeout);
    let mut last_ping = tokio::time::Instant::now();
    loop {
        let ping_due = last_ping + every;
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => link.forward(message.get_payload_bytes()),
                None => return "the subscription's connection closed".to_owned(),
            },
            () = tokio::time::sleep_until(ping_due) => {
                last_ping = tokio::time::Instant::now();
                match tokio::time::timeout(COMMAND_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => return format!("the subscription's ping failed: {error}"),
                    Err(_) => return "the subscription's ping had no answer".to_owned(),
                }
            }
        }
    }
}

/// How often a node says it is alive: often enough that a live node is
/// never taken for dead.
pub(super) fn heartbeat_every(node_timeout: Duration) -> Duration {
    (node_timeout / 3).clamp(Duration::from_millis(50), HEARTBEAT_EVERY)
}

/// The heartbeat task: says this node is alive, forgets dead nodes, and
/// restores this node's presence when Redis lost it (a restart that kept
/// the connection, a flush, or the others took this node for dead) or a
/// change may not have reached it.
pub(super) async fn run_heartbeat(link: Arc<Link>, shutdown: CancellationToken) {
    let every = heartbeat_every(link.node_timeout);
    let timeout_ms = millis(link.node_timeout).to_string();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if !link.is_up() {
            continue;
        }
        let grace_ms = link.grace_ms();
        let beat = link
            .eval::<HeartbeatReply>(
                &link.scripts.heartbeat,
                &[&link.node_id, &timeout_ms, &grace_ms],
            )
            .await;
        let reply = match beat {
            Ok(reply) => reply,
            Err(error) => {
                if let Some(held_back) = link.command_warnings.ready() {
                    tracing::warn!(held_back, "heartbeat to Redis failed: {error}");
                }
                continue;
            }
        };
        for dead in &reply.reaped {
            tracing::warn!(node = %dead, "a node went silent; its users' connections are dropped");
        }
        if reply.missing || link.restore_needed.load(Ordering::Acquire) {
            if reply.missing {
                tracing::warn!(node = %link.node_id, "Redis had lost this node's presence; restoring it");
            }
            match link.restore().await {
                // Presence events may have been lost with the data.
                Ok(()) => link.node.reconnected(),
                Err(error) => tracing::warn!("restoring this node's presence failed: {error}"),
            }
        }
    }
}

/// The grace task: ends the graces that are due, on whichever node gets
/// there first (the script removes each once), sleeping until the next
/// deadline but never longer than [`GRACE_POLL`].
pub(super) async fn run_graces(link: Arc<Link>, shutdown: CancellationToken) {
    loop {
        let mut wait = GRACE_POLL;
        if link.is_up() {
            match link
                .eval::<GraceReply>(&link.scripts.end_graces, &[&link.node_id])
                .await
            {
                Ok(reply) => {
                    if let Ok(next) = u64::try_from(reply.next_ms) {
                        wait =
                            Duration::from_millis(next).clamp(Duration::from_millis(5), GRACE_POLL);
                    }
                }
                Err(error) => {
                    if let Some(held_back) = link.command_warnings.ready() {
                        tracing::warn!(held_back, "ending grace periods failed: {error}");
                    }
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// A duration in whole milliseconds, saturating.
pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A list from a script: `cjson` encodes an empty table as `{}`, which
/// cannot tell an empty list from an empty object.
fn lua_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    match value {
        serde_json::Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        other => serde_json::from_value(other).map_err(serde::de::Error::custom),
    }
}

//! The bus and the presence of a cluster, on one Redis (7.0 or later)
//! that every node shares.
//!
//! # Layout
//!
//! - `link.rs`: the connection, whether the link is up, the background
//!   tasks (the subscription, the heartbeat, the end of graces) and the
//!   restore after an outage;
//! - `bus.rs`: [`RedisBus`];
//! - `presence.rs`: [`RedisPresence`];
//! - `scripts.rs`: the Lua scripts, one per change of presence.
//!
//! # Ordering
//!
//! Every event is one JSON envelope `{"node": .., "event": ..}` on one
//! channel, `{prefix}bus`, read by each node's subscriber task in arrival
//! order. A node skips its own events, which it applied before publishing
//! them, except presence events: those are PUBLISHed by the Lua script
//! that made the change, so the channel carries them in the order Redis
//! ran the changes, and every node, the acting one included, applies them
//! only from there. Each room's `seq` is INCRed by the same script.
//!
//! # Keys (after the prefix, `chat:` by default)
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `names` | hash | key → SHA-256 of the resume token: the names held |
//! | `looks` | hash | look → key: the looks of the names held ([`chat_shared::username_looks`]) |
//! | `name-looks:{key}` | set | the looks a name holds, freed with it |
//! | `room:{room}` | hash | key → name: members, connected or in grace |
//! | `rooms` | set | rooms with members |
//! | `online:{room}` | hash | key → connections over every node |
//! | `conns:{room}` | hash | `["key","node"]` → connections on that node |
//! | `seq:{room}` | string | the room's presence seq (kept when it empties) |
//! | `user-rooms:{key}` | set | the rooms a user is a member of |
//! | `graces` | zset | `["room","key"]`, score: deadline in Redis ms |
//! | `nodes` | hash | node → last seen, Redis ms |
//! | `node:{node}` | set | `["room","key"]` the node has connections for |
//!
//! # Node death and Redis restarts
//!
//! Each node's heartbeat writes its last-seen time (Redis's clock) and
//! forgets nodes silent for longer than the node timeout, dropping their
//! connections: users with none left elsewhere start their grace. A node
//! that finds its own entry gone (Redis restarted or was flushed, or the
//! others took it for dead) restores its presence from
//! [`crate::cluster::Node::local_presence`]. So does a node whose
//! subscription was lost, once it is back, since it may have missed
//! events; then it calls [`crate::cluster::Node::reconnected`].

mod bus;
mod link;
mod presence;
mod scripts;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use bus::RedisBus;
pub(crate) use presence::RedisPresence;

use crate::cluster::Node;
use link::Link;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a node joins the cluster's Redis.
#[derive(Debug, Clone)]
pub(crate) struct RedisSettings {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// This node's id, unique in the cluster (given by whoever runs it).
    pub node_id: String,
    /// How long a dropped connection keeps its place and name.
    pub resume_grace: Duration,
    /// How long a node may stay silent before the others drop its users.
    pub node_timeout: Duration,
    /// Put in front of every key and the channel: several chats (or
    /// tests) can share one Redis.
    pub key_prefix: String,
}

#[cfg(test)]
impl RedisSettings {
    /// The defaults: a 30 s grace, a 15 s node timeout, prefix `chat:`.
    pub(crate) fn new(url: impl Into<String>, node_id: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            node_id: node_id.into(),
            resume_grace: Duration::from_secs(30),
            node_timeout: Duration::from_secs(15),
            key_prefix: "chat:".to_owned(),
        }
    }
}

/// Connects to Redis, subscribes to the bus, registers this node (and
/// clears what an earlier run under the same id left), and starts the
/// background tasks, which stop on `shutdown`. Fails with a message that
/// names the Redis when it cannot be reached.
pub(crate) async fn connect(
    settings: RedisSettings,
    node: Arc<dyn Node>,
    shutdown: CancellationToken,
) -> Result<(Arc<RedisBus>, Arc<RedisPresence>), String> {
    let url = redacted(&settings.url);
    let client = redis::Client::open(settings.url.as_str())
        .map_err(|error| format!("the Redis url {url} is not valid: {error}"))?;
    let unreachable =
        |error: &dyn std::fmt::Display| format!("cannot reach Redis at {url}: {error}");
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(link::CONNECT_TIMEOUT))
        .set_response_timeout(Some(link::COMMAND_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(link::MAX_BACKOFF);
    let connection = tokio::time::timeout(
        link::CONNECT_TIMEOUT * 2,
        ConnectionManager::new_with_config(client.clone(), config),
    )
    .await
    .map_err(|_| unreachable(&"no answer"))?
    .map_err(|error| unreachable(&error))?;
    // Subscribed before registering, so that no event after it is missed.
    let channel = format!("{}bus", settings.key_prefix);
    let subscription = link::subscribe(&client, &channel)
        .await
        .map_err(|error| unreachable(&error))?;
    let link = Arc::new(Link::new(&settings, client, connection, node));
    link.restore()
        .await
        .map_err(|error| unreachable(&format!("registering this node failed: {error}")))?;
    tokio::spawn(link::run_subscriber(
        link.clone(),
        subscription,
        shutdown.clone(),
    ));
    tokio::spawn(link::run_heartbeat(link.clone(), shutdown.clone()));
    tokio::spawn(link::run_graces(link.clone(), shutdown.clone()));
    let bus = Arc::new(RedisBus::start(link.clone(), shutdown));
    Ok((bus, Arc::new(RedisPresence::new(link))))
}

/// The url without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

//! [`RedisBus`]: events to the other nodes, through one channel.

use super::link::{Link, Throttle};
use crate::cluster::{Bus, BusEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How many events may wait for the publisher task: a burst fits, a
/// Redis that stopped answering does not make the queue grow without end.
pub(super) const PUBLISH_QUEUE: usize = 1024;

/// The bus of a cluster: every event goes out as one JSON envelope
/// (`{"node": .., "event": ..}`) on the `{prefix}bus` channel, which
/// every node's subscriber task reads.
pub(crate) struct RedisBus {
    /// The publisher task's queue: `publish` only hands the event over.
    queue: mpsc::Sender<String>,
    /// Put in every envelope, so that nodes skip their own events.
    node_id: String,
    /// Limits the warnings about dropped events.
    drops: Arc<Throttle>,
}

impl RedisBus {
    /// A bus that hands its events to a publisher task on `link`, which
    /// runs until `shutdown`.
    pub(super) fn start(link: Arc<Link>, shutdown: CancellationToken) -> Self {
        let (queue, events) = mpsc::channel(PUBLISH_QUEUE);
        let drops = Arc::new(Throttle::new(Duration::from_secs(10)));
        tokio::spawn(run_publisher(link.clone(), events, drops.clone(), shutdown));
        Self {
            queue,
            node_id: link.node_id.clone(),
            drops,
        }
    }
}

impl Bus for RedisBus {
    fn publish(&self, event: &BusEvent) {
        let envelope = Outgoing {
            node: &self.node_id,
            event,
        };
        let payload = match serde_json::to_string(&envelope) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!("a bus event that cannot be encoded: {error}");
                return;
            }
        };
        if self.queue.try_send(payload).is_err() {
            if let Some(held_back) = self.drops.ready() {
                tracing::warn!(
                    held_back,
                    "the bus queue is full: an event for the other nodes was dropped"
                );
            }
        }
    }
}

/// A [`super::link::Envelope`] as written: the same JSON, borrowing what it sends.
#[derive(serde::Serialize)]
struct Outgoing<'a> {
    node: &'a str,
    event: &'a BusEvent,
}

/// Sends queued events in order; while the link is down they are dropped
/// (the other nodes catch up from the store and the presence).
async fn run_publisher(
    link: Arc<Link>,
    mut events: mpsc::Receiver<String>,
    drops: Arc<Throttle>,
    shutdown: CancellationToken,
) {
    loop {
        let payload = tokio::select! {
            () = shutdown.cancelled() => return,
            payload = events.recv() => match payload {
                Some(payload) => payload,
                None => return,
            },
        };
        let outcome = match link.is_up() {
            true => link
                .publish(&payload)
                .await
                .map_err(|error| error.to_string()),
            false => Err("Redis is unreachable".to_owned()),
        };
        if let Err(error) = outcome {
            if let Some(held_back) = drops.ready() {
                tracing::warn!(
                    held_back,
                    "an event for the other nodes was dropped: {error}"
                );
            }
        }
    }
}

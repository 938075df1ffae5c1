//! This node as the seams see it: where events from the presence and the
//! other nodes land, and how it catches up after missing some.

use super::{BusEvent, LocalPresence, Node, Presence};
use crate::chat::hub::Hub;
use crate::history::journal::{Journal, WeakJournal};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

/// The hub, and the journal that fills its gaps from the store. The
/// journal and the presence are set once they exist: both are built with
/// this node in hand.
pub(crate) struct ThisNode {
    hub: Arc<Hub>,
    /// Weak: the journal's thread holds the presence and the bus, which
    /// hold this node.
    journal: OnceLock<WeakJournal>,
    presence: OnceLock<Weak<dyn Presence>>,
}

impl ThisNode {
    /// A node around `hub`; call [`ThisNode::attach`] before serving.
    pub(crate) fn new(hub: Arc<Hub>) -> Arc<Self> {
        Arc::new(Self {
            hub,
            journal: OnceLock::new(),
            presence: OnceLock::new(),
        })
    }

    /// Hands the node its journal and presence.
    pub(crate) fn attach(&self, journal: &Journal, presence: &Arc<dyn Presence>) {
        // Attached once at start: a second call changes nothing.
        let _ = self.journal.set(journal.downgrade());
        let _ = self.presence.set(Arc::downgrade(presence));
    }
}

impl Node for ThisNode {
    fn receive(&self, event: BusEvent) {
        if let Some(gap) = self.hub.apply(event, Instant::now()) {
            match self.journal.get().and_then(WeakJournal::upgrade) {
                Some(journal) => journal.fill(gap),
                None => tracing::debug!("an event came while the journal is not running"),
            }
        }
    }

    fn reconnected(&self) {
        self.hub.restart_presence();
        let rooms = self.hub.seated_rooms();
        if let Some(journal) = self.journal.get().and_then(WeakJournal::upgrade) {
            for (room, delivered) in &rooms {
                journal.catch_up(room, *delivered);
            }
        }
        let Some(presence) = self.presence.get().and_then(Weak::upgrade) else {
            return;
        };
        let hub = self.hub.clone();
        tokio::spawn(async move {
            for (room, _) in rooms {
                match presence.snapshot(&room).await {
                    Ok(snapshot) => hub.resync(&room, snapshot),
                    Err(error) => {
                        tracing::warn!(room = %room, "cannot read who is in the room: {}", error.message);
                    }
                }
            }
        });
    }

    fn local_presence(&self) -> Vec<LocalPresence> {
        self.hub.local_presence()
    }
}

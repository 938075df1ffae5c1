//! How what the journal committed reaches every member: this node's hub
//! and, through the bus, every other node's. The journal sees only the
//! [`Delivery`] trait it defines; this is the chat's side of it.

use crate::chat::hub::encode;
use crate::cluster::{BusEvent, Cluster};
use crate::history::journal::{Delivery, Gap};
use chat_shared::{HistoryItem, ServerFrame};
use std::time::Instant;

impl Delivery for Cluster {
    fn committed(&self, room: &str, event: HistoryItem, prev: u64, at: Instant) -> Option<Gap> {
        let event = BusEvent::Committed {
            room: room.to_owned(),
            id: event.id(),
            prev,
            frame: live_frame(event).encode(),
        };
        self.bus.publish(&event);
        self.hub.apply(event, at)
    }

    fn fill(&self, room: &str, events: Vec<HistoryItem>, through: u64, at: Instant) {
        let events = events
            .into_iter()
            .map(|event| (event.id(), encode(&live_frame(event))))
            .collect();
        self.hub.fill(room, events, through, at);
    }
}

/// The frame an event of the history goes out as, live.
fn live_frame(event: HistoryItem) -> ServerFrame {
    match event {
        HistoryItem::Message(message) => ServerFrame::Message(message),
        HistoryItem::Change(change) => change.into_frame(),
    }
}

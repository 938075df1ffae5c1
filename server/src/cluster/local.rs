//! The single-node seams: a bus with no other node to tell, and presence
//! kept in this process's memory.

use super::{Bus, BusEvent};

/// The bus of a chat that runs on one node: everything that happens is
/// already applied here, and there is nobody else to tell.
#[derive(Debug, Default)]
pub struct LocalBus;

impl Bus for LocalBus {
    fn publish(&self, _event: BusEvent) {}
}

//! `history`, `users` and `list_rooms`: what a client reads.

use super::{server_error, Caller};
use crate::chat::hub::encode;
use crate::chat::peer::Peer;
use crate::error::Rejection;
use crate::history::journal::{Failed, Page, Reply};
use crate::limits::default_history_page;
use crate::AppState;
use chat_shared::{ErrorCode, ForbiddenReason, ServerFrame};

/// A `history` request: which page, and how many messages.
#[derive(Debug)]
pub(crate) struct History {
    page: Result<Page, Rejection>,
    limit: usize,
}

impl History {
    /// Reads a `history` frame's fields: `before` or `around`, not both.
    pub(crate) fn new(before: Option<u64>, around: Option<u64>, limit: Option<u32>) -> Self {
        let page = match (before, around) {
            (Some(_), Some(_)) => Err(Rejection::new(
                ErrorCode::BadRequest,
                "A history request names before or around, not both",
            )),
            (_, Some(around)) => Ok(Page::Around(around)),
            (before, None) => Ok(Page::Before(before.unwrap_or(u64::MAX))),
        };
        let limit = limit.map_or_else(default_history_page, |limit| limit as usize);
        Self { page, limit }
    }

    /// Asks the journal for the page, in order with the room's messages;
    /// it goes to the caller alone.
    pub(crate) async fn apply(self, state: &AppState, caller: &Caller) -> Result<(), Rejection> {
        let member = caller.joined()?;
        let page = self.page?;
        let reply = Box::new(PageReply {
            peer: caller.peer.clone(),
        });
        let journal = &state.journal;
        journal.history(&member.room, page, self.limit, reply).await;
        Ok(())
    }
}

/// The client that asked for a page of history.
struct PageReply {
    peer: Peer,
}

impl Reply<Result<ServerFrame, Failed>> for PageReply {
    fn send(self: Box<Self>, page: Result<ServerFrame, Failed>) {
        match page {
            Ok(frame) => self.peer.send(encode(&frame)),
            Err(failed) => self.peer.reject(&server_error(failed)),
        }
    }

    fn wanted(&self) -> bool {
        !self.peer.closer().token.is_cancelled()
    }
}

/// A `users` request: a page of who is in the caller's room.
#[derive(Debug)]
pub(crate) struct Users {
    /// The key the page starts after.
    pub(crate) after: Option<String>,
    pub(crate) limit: Option<u32>,
}

impl Users {
    /// Sends the page, from this node's picture of the room.
    pub(crate) fn apply(self, state: &AppState, caller: &Caller) -> Result<(), Rejection> {
        let member = caller.joined()?;
        let hub = &state.cluster.hub;
        let bytes = state.config.page_bytes();
        let page = hub.users_page(&member.room, self.after.as_deref(), self.limit, bytes);
        caller.peer.send(encode(&page));
        Ok(())
    }
}

/// Lists the rooms; on an invite-only chat only to a connection that
/// joined with the code.
pub(crate) async fn list_rooms(state: &AppState, caller: &Caller) -> Result<(), Rejection> {
    if caller.membership.is_none() && !state.journal.admits(None).await.map_err(server_error)? {
        return Err(Rejection::forbidden(ForbiddenReason::JoinCode));
    }
    let online = state.cluster.presence.rooms().await?;
    let rooms = super::dm::shown_rooms(state, caller, state.cluster.hub.rooms(online)).await?;
    caller.peer.send(encode(&ServerFrame::Rooms { rooms }));
    Ok(())
}

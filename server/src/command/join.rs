//! `join`: taking a name in a room, with the room's history; and leaving
//! it when the connection ends.

use super::{server_error, Caller};
use crate::chat::hub::{JoinRequest, Membership};
use crate::cluster::{Claim, Claimed};
use crate::error::Rejection;
use crate::history::changes::owner_hash;
use crate::history::pages::Replay;
use crate::AppState;
use chat_shared::close::Departure;
use chat_shared::{
    is_valid_author_key, normalize_room, normalize_username, username_key, ErrorCode,
    ForbiddenReason, DEFAULT_ROOM, MAX_AUTHOR_KEY_CHARS, MIN_AUTHOR_KEY_CHARS,
};

/// A `join`, its name and room normalised and its author key hashed.
#[derive(Debug)]
pub(crate) struct Join {
    name: Result<String, Rejection>,
    room: Result<String, Rejection>,
    /// The hash of the author key, if the frame carried a valid one.
    owner: Result<Option<String>, Rejection>,
    /// The newest event the client already has, for a replay of the rest.
    since: Option<u64>,
    resume: Option<String>,
    join_code: Option<String>,
}

impl Join {
    /// Reads a `join` frame's fields.
    pub(crate) fn new(
        username: &str,
        room: Option<&str>,
        since: Option<u64>,
        resume: Option<String>,
        join_code: Option<String>,
        author_key: Option<&str>,
    ) -> Self {
        let owner = match author_key {
            Some(key) if !is_valid_author_key(key) => Err(Rejection::new(
                ErrorCode::BadRequest,
                format!(
                    "author_key must be {MIN_AUTHOR_KEY_CHARS} to {MAX_AUTHOR_KEY_CHARS} \
                     letters, digits, '-' or '_'"
                ),
            )),
            key => Ok(key.map(owner_hash)),
        };
        Self {
            name: normalize_username(username).map_err(|error| Rejection::new(error.code(), error)),
            room: normalize_room(room.unwrap_or(DEFAULT_ROOM))
                .map_err(|error| Rejection::new(error.code(), error)),
            owner,
            since,
            resume,
            join_code,
        }
    }

    /// Claims the name in the room (the presence decides), reads the
    /// history and seats the connection: it gets `welcome`, then the
    /// room's events.
    pub(crate) async fn apply(
        self,
        state: &AppState,
        caller: &mut Caller,
    ) -> Result<(), Rejection> {
        if caller.membership.is_some() {
            return Err(ErrorCode::AlreadyJoined.into());
        }
        let name = self.name?;
        let room = self.room?;
        let owner = self.owner?;
        let since = self.since;
        let request = JoinRequest {
            key: username_key(&name),
            name,
            room,
            resume: self.resume,
            join_code: self.join_code,
        };
        let invited = check_join_code(state, caller, &request).await?;
        // The admission lasts until the join ends, whichever way.
        let admission = state.cluster.hub.admit(&request, &caller.peer)?;
        let claim = Claim {
            room: request.room.clone(),
            key: request.key.clone(),
            name: request.name.clone(),
            resume: request.resume.clone(),
            invited,
            address: caller.peer.client,
        };
        let claimed = state.cluster.presence.claim(&claim).await?;
        let membership = Membership {
            room: request.room.clone(),
            key: request.key.clone(),
            name: claimed.username.clone(),
        };
        // The history is read only for a join the claim let in.
        let seated = match state.journal.read_for_join(&request.room, since, 0).await {
            Ok(replay) => seat(state, caller, since, &membership, &claimed, replay).await,
            Err(failed) => Err(server_error(failed)),
        };
        if let Err(rejection) = seated {
            let presence = &state.cluster.presence;
            presence
                .release(&membership.room, &membership.key, Departure::AtOnce)
                .await;
            return Err(rejection);
        }
        admission.seated(&membership.key, caller.peer.client);
        tracing::info!(user = %membership.name, room = %membership.room, "joined");
        caller.membership = Some(membership);
        caller.owner = owner;
        Ok(())
    }
}

/// Whether the join carries the code in force (or the chat is open).
/// Without it only a resume of a name still held may get in (the claim
/// decides); anything else is refused here. Wrong codes are slowed per
/// address.
async fn check_join_code(
    state: &AppState,
    caller: &Caller,
    request: &JoinRequest,
) -> Result<bool, Rejection> {
    let hub = &state.cluster.hub;
    if request.join_code.is_some() {
        hub.may_try_code(caller.peer.client)?;
    }
    let invited = state
        .journal
        .admits(request.join_code.clone())
        .await
        .map_err(server_error)?;
    if !invited && request.join_code.is_some() {
        tracing::warn!("a wrong join code");
        hub.wrong_code(caller.peer.client);
    }
    if !invited && request.resume.is_none() {
        return Err(Rejection::forbidden(ForbiddenReason::JoinCode));
    }
    Ok(invited)
}

/// Seats the claimed connection in its room with its history, reading the
/// history again while the room has delivered newer events than the read
/// holds (events committed meanwhile, here or elsewhere).
async fn seat(
    state: &AppState,
    caller: &Caller,
    since: Option<u64>,
    membership: &Membership,
    claimed: &Claimed,
    mut replay: Replay,
) -> Result<(), Rejection> {
    /// Each read is newer than the last, so this is only reached by a room
    /// that keeps outrunning its reads: give up rather than spin.
    const MAX_READS: usize = 20;
    let room = &membership.room;
    for _ in 0..MAX_READS {
        let through = match state
            .cluster
            .hub
            .seat(membership, &caller.peer, claimed, replay)
        {
            Ok(()) => return Ok(()),
            Err(through) => through,
        };
        replay = state
            .journal
            .read_for_join(room, since, through)
            .await
            .map_err(server_error)?;
    }
    tracing::error!(room = %room, "history reads kept falling behind the room");
    Err(ErrorCode::ServerError.into())
}

/// Takes a joined connection out of its room as it ends: `departure` says
/// whether its name waits for a reconnect.
pub(crate) async fn leave(state: &AppState, caller: &mut Caller, departure: Departure) {
    if let Some(membership) = caller.membership.take() {
        state.cluster.hub.unseat(&membership, &caller.peer);
        let presence = &state.cluster.presence;
        presence
            .release(&membership.room, &membership.key, departure)
            .await;
    }
}

//! `join`: taking a name in a room, with the room's history; and leaving
//! it when the connection ends.

use super::{dm, people, server_error, Caller};
use crate::chat::hub::{JoinRequest, Membership};
use crate::cluster::{Claim, Claimed};
use crate::error::Rejection;
use crate::history::changes::owner_hash;
use crate::history::pages::Replay;
use crate::AppState;
use chat_shared::close::Departure;
use chat_shared::{
    is_valid_author_key, normalize_device_label, normalize_room, normalize_username, ErrorCode,
    ForbiddenReason, DEFAULT_ROOM, MAX_AUTHOR_KEY_CHARS, MAX_DEVICE_LABEL_CHARS,
    MIN_AUTHOR_KEY_CHARS,
};

/// A `join`, its name and room normalised and its author key hashed.
#[derive(Debug)]
pub(crate) struct Join {
    name: Result<String, Rejection>,
    room: Result<String, Rejection>,
    /// The hash of the author key, if the frame carried a valid one.
    owner: Result<Option<String>, Rejection>,
    /// The hash of a link code, if the frame carried a valid one.
    link_code: Result<Option<String>, Rejection>,
    /// The device's label (empty: none).
    device: Result<String, Rejection>,
    /// The newest event the client already has, for a replay of the rest.
    since: Option<u64>,
    resume: Option<String>,
    join_code: Option<String>,
}

/// A `join` frame's fields as they came.
#[derive(Debug)]
pub(crate) struct JoinFields<'a> {
    pub(crate) username: &'a str,
    pub(crate) room: Option<&'a str>,
    pub(crate) since: Option<u64>,
    pub(crate) resume: Option<String>,
    pub(crate) join_code: Option<String>,
    pub(crate) author_key: Option<&'a str>,
    pub(crate) link_code: Option<&'a str>,
    pub(crate) device: Option<&'a str>,
}

impl Join {
    /// Reads a `join` frame's fields.
    pub(crate) fn new(fields: JoinFields<'_>) -> Self {
        let owner = match fields.author_key {
            Some(key) if !is_valid_author_key(key) => Err(Rejection::new(
                ErrorCode::BadRequest,
                format!(
                    "author_key must be {MIN_AUTHOR_KEY_CHARS} to {MAX_AUTHOR_KEY_CHARS} \
                     letters, digits, '-' or '_'"
                ),
            )),
            key => Ok(key.map(owner_hash)),
        };
        let device = normalize_device_label(fields.device.unwrap_or_default()).ok_or_else(|| {
            Rejection::new(
                ErrorCode::BadRequest,
                format!("device must have at most {MAX_DEVICE_LABEL_CHARS} characters"),
            )
        });
        Self {
            name: normalize_username(fields.username)
                .map_err(|error| Rejection::new(error.code(), error)),
            room: normalize_room(fields.room.unwrap_or(DEFAULT_ROOM))
                .map_err(|error| Rejection::new(error.code(), error)),
            link_code: people::link_code_hash(fields.link_code, fields.author_key.is_some()),
            owner,
            device,
            since: fields.since,
            resume: fields.resume,
            join_code: fields.join_code,
        }
    }

    /// Finds who the joiner is (a held name needs one of its devices or a
    /// link code), claims the name in the room (the presence decides),
    /// holds the name for a joiner with a key, reads the history and
    /// seats the connection: it gets `welcome`, then the room's events.
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
        let link_code = self.link_code?;
        let label = self.device?;
        let since = self.since;
        let who = people::presented(state, &name, owner.clone(), link_code, label);
        // One read for the join code and the name: the code's refusal
        // comes first, so an uninvited visitor learns nothing of names.
        let (invited, found) = people::identify(state, caller, &who, &self.join_code).await?;
        let resumes = self.resume.is_some() || found.as_ref().is_ok_and(|f| f.person.is_some());
        let linked = found.as_ref().is_ok_and(|f| f.linked);
        let invited = check_join_code(
            state,
            caller,
            self.join_code.is_some(),
            invited,
            linked,
            resumes,
        )?;
        let found = found?;
        dm::check_dm(state, &room, found.person.as_ref()).await?;
        let request = JoinRequest {
            key: found.key(&who),
            name: found.name(&who),
            room,
            resume: found.resume(self.resume),
        };
        // The admission lasts until the join ends, whichever way.
        let admission = state.cluster.hub.admit(&request, &caller.peer)?;
        let claim = Claim {
            room: request.room.clone(),
            key: request.key.clone(),
            name: request.name.clone(),
            resume: request.resume.clone(),
            shared_token: found.person.as_ref().map(|person| person.token.clone()),
            invited,
            address: caller.peer.client,
        };
        let claimed = state.cluster.presence.claim(&claim).await?;
        let held = people::settle(state, &who, found, &claimed).await;
        let person = match held {
            Ok(person) => person,
            Err(rejection) => {
                let presence = &state.cluster.presence;
                presence
                    .release(&request.room, &request.key, Departure::AtOnce)
                    .await;
                return Err(rejection);
            }
        };
        let membership = Membership {
            room: request.room.clone(),
            key: request.key.clone(),
            name: claimed.username.clone(),
            held: person.is_some(),
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
        tracing::info!(user = %membership.name, room = %membership.room, held = membership.held, "joined");
        if let Some(person) = &person {
            people::enter_room(state, caller, person, &membership.room).await;
        }
        caller.membership = Some(membership);
        caller.owner = owner;
        caller.person = person;
        Ok(())
    }
}

/// Whether the join carries the code in force (or the chat is open).
/// Without it only a resume of a name still held may get in (the claim
/// decides); anything else is refused here. Wrong codes are slowed per
/// address.
fn check_join_code(
    state: &AppState,
    caller: &Caller,
    carried_code: bool,
    invited: bool,
    linked: bool,
    resumes: bool,
) -> Result<bool, Rejection> {
    if !invited && carried_code {
        tracing::warn!("a wrong join code");
        state.cluster.hub.wrong_code(caller.peer.client);
    }
    if linked {
        // A link code that let a new device in (it was checked by now)
        // is an invitation from the name's holder.
        return Ok(true);
    }
    if !invited && !resumes {
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
    if let Some(person) = caller.person.take() {
        people::leave(state, caller, &person).await;
    }
    if let Some(membership) = caller.membership.take() {
        state.cluster.hub.unseat(&membership, &caller.peer);
        let presence = &state.cluster.presence;
        presence
            .release(&membership.room, &membership.key, departure)
            .await;
    }
}

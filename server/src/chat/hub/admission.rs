//! Who may enter, and how rooms come and go: the checks before a join
//! claims its name (bans, the room limit, and per-address budgets for new
//! rooms and wrong join codes), and forgetting a room nobody uses.
//!
//! A room exists once a join into it succeeded (its claim), never because
//! one was tried: a refused join leaves nothing behind, in memory or in
//! the store. A room that never held a message, has no lock or topic, and
//! whose last member left is forgotten, so joins alone cannot fill
//! `--max-rooms` for good. (The store forgets such rooms at the next
//! start: [`crate::history::store::Messages::forget_unused_rooms`].)

use super::{banned, Hub, HubState, JoinRequest, UNSPECIFIED};
use crate::chat::peer::Peer;
use crate::error::Rejection;
use chat_shared::{is_dm_room, ErrorCode};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Wrong join codes one address may try at once ("about ten a minute").
pub(crate) const CODE_TRIES_BURST: u32 = 10;
/// How often an address earns one more try after that.
pub(crate) const CODE_TRY_EVERY: Duration = Duration::from_secs(6);
/// Rooms one address may create at once.
pub(crate) const NEW_ROOMS_BURST: u32 = 10;
/// How often an address may create one more after that.
pub(crate) const NEW_ROOM_EVERY: Duration = Duration::from_secs(60);

/// A join let through [`Hub::admit`], until it ends (seated or refused).
/// While it lasts its room is not forgotten, and a room it would create
/// counts against `--max-rooms` already; dropping it ends it.
#[must_use = "the join's place is given up when this is dropped"]
pub(crate) struct Admission<'a> {
    hub: &'a Hub,
    room: String,
}

impl Admission<'_> {
    /// The join succeeded: remembers the address the name came from, so a
    /// ban of the name covers it for a while even after the user left.
    pub(crate) fn seated(self, name_key: &str, client: IpAddr) {
        let mut state = self.hub.lock();
        state.recent.saw(name_key, client, SystemTime::now());
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        if let Some(count) = state.joining.get_mut(&self.room) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.joining.remove(&self.room);
            }
        }
        // A join that failed after its claim may have left an empty room.
        state.forget_if_unused(&self.room);
    }
}

impl Hub {
    /// Lets a join go on to claim its name, or says why not: a ban (of the
    /// name, or of the address for anyone but a moderator), or a new room
    /// past `--max-rooms` or past the address's budget of new rooms.
    /// Creates nothing: the room appears once the claim succeeds.
    pub(crate) fn admit(
        &self,
        request: &JoinRequest,
        peer: &Peer,
    ) -> Result<Admission<'_>, Rejection> {
        let mut state = self.lock();
        let now = SystemTime::now();
        // A moderator's connection is kept out by its name only: the
        // address may be one it shares with whoever it banned.
        let left = match peer.is_moderator() {
            true => state.bans.time_left(Some(&request.key), UNSPECIFIED, now),
            false => state.bans.time_left(Some(&request.key), peer.client, now),
        };
        if let Some(left) = left {
            return Err(banned(left));
        }
        let known =
            state.rooms.contains_key(&request.room) || state.joining.contains_key(&request.room);
        // A DM is not counted against the rooms' limit: only its members
        // (checked before) may enter it, and a group of friends may have
        // many; the limit is for rooms anyone can make.
        if !known && !is_dm_room(&request.room) {
            let coming = state
                .joining
                .keys()
                .filter(|room| !is_dm_room(room) && !state.rooms.contains_key(*room))
                .count();
            let rooms = state.rooms.keys().filter(|room| !is_dm_room(room)).count();
            if rooms + coming >= self.max_rooms {
                return Err(Rejection::new(
                    ErrorCode::InvalidRoom,
                    format!(
                        "This server has reached its limit of {} rooms",
                        self.max_rooms
                    ),
                ));
            }
            if self.budgets_apply(peer.client) {
                self.new_rooms
                    .take(peer.client, Instant::now())
                    .map_err(|wait| slowed(wait, "Too many new rooms from your address"))?;
            }
        }
        *state.joining.entry(request.room.clone()).or_default() += 1;
        Ok(Admission {
            hub: self,
            room: request.room.clone(),
        })
    }

    /// Before a join code is compared: refuses an address that guessed
    /// wrong too often. Every code from it is refused while it waits, the
    /// right one too, so a guesser learns nothing from the answers.
    pub(crate) fn may_try_code(&self, client: IpAddr) -> Result<(), Rejection> {
        if !self.budgets_apply(client) {
            return Ok(());
        }
        self.wrong_codes
            .available(client, Instant::now())
            .map_err(|wait| slowed(wait, "Too many wrong join codes"))
    }

    /// A join code was wrong: spends one of the address's tries.
    pub(crate) fn wrong_code(&self, client: IpAddr) {
        if self.budgets_apply(client) {
            self.wrong_codes.spend(client, Instant::now());
        }
    }

    /// The addresses `name_key` joined from here lately (see
    /// [`crate::chat::moderation::RECENT_ADDRESSES_FOR`]): what a ban of
    /// the name covers besides its open connections.
    pub(crate) fn recent_addresses(&self, name_key: &str) -> Vec<IpAddr> {
        self.lock().recent.of(name_key, SystemTime::now())
    }

    /// Whether `client` spends from the per-address budgets: every address
    /// but loopback ones, which only with `--limit-loopback`.
    fn budgets_apply(&self, client: IpAddr) -> bool {
        self.limit_loopback || !client.to_canonical().is_loopback()
    }
}

impl HubState {
    /// Forgets `room` when nothing keeps it: nobody in it or on the way
    /// in, no event ever, no lock, no topic, not from the store. Returns
    /// whether it did.
    pub(super) fn forget_if_unused(&mut self, room: &str) -> bool {
        let unused = !self.joining.contains_key(room)
            && self.rooms.get(room).is_some_and(|state| {
                !state.lasting
                    && state.last_delivered == 0
                    && !state.locked
                    && state.topic.is_none()
                    && state.users.is_empty()
                    && state.members.is_empty()
            });
        if unused {
            self.rooms.remove(room);
            tracing::debug!(room, "forgot a room nobody uses");
        }
        unused
    }
}

/// A `rate_limited` refusal of a per-address budget, naming the wait.
fn slowed(wait: Duration, what: &str) -> Rejection {
    let rejection = Rejection::new(ErrorCode::RateLimited, "").with_retry_after(wait);
    let ms = rejection.retry_after_ms.unwrap_or(1);
    Rejection {
        message: format!("{what}: retry in {ms} ms"),
        ..rejection
    }
}

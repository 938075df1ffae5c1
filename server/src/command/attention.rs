//! Catching up and being called (issue 24): `mark_read`, `set_level`,
//! what `list_rooms` adds for a held name's rooms, and `notify`.
//!
//! Markers and levels belong to the held person, not the connection: each
//! change is stored, then told to every connection of the person on every
//! node (`PersonChange::Tell`), so reading on the phone clears the laptop.
//! Keyless names keep their markers in the browser alone and are refused
//! here (`forbidden`, `not_held`). Both frames take only one of the
//! person's rooms: a DM only for its members (`not_member`, like every DM
//! read), and any other room only once the person has entered it
//! (`not_found`), so nobody stores rows for rooms they never saw. What is
//! stored, and what a count costs, is in [`crate::history::attention`].

use super::dm::check_dm;
use super::people::held;
use super::{server_error, Caller};
use crate::cluster::{BusEvent, Cluster, PersonChange};
use crate::error::Rejection;
use crate::history::attention::{Called, RoomAttention};
use crate::history::people::Person;
use crate::push::dispatch::{Call, Pusher};
use crate::AppState;
use chat_shared::{normalize_room, quote_excerpt, ErrorCode, NotifyLevel, RoomInfo, ServerFrame};

/// The caller's person and the room a marker or level is for, checked:
/// a held name, a valid room name, a DM only for its members.
async fn person_and_room(
    state: &AppState,
    caller: &Caller,
    room: &str,
) -> Result<(Person, String), Rejection> {
    let person = held(caller)?.clone();
    let room = normalize_room(room).map_err(|error| Rejection::new(error.code(), error))?;
    check_dm(state, &room, Some(&person)).await?;
    Ok((person, room))
}

/// The refusal of a marker or level for a room the person is not in.
fn not_my_room(room: &str) -> Rejection {
    Rejection::new(
        ErrorCode::NotFound,
        format!("#{room} is not one of your rooms: join it first"),
    )
}

/// Tells every connection of `person`, on every node, of `frame`.
fn tell(cluster: &Cluster, person: u64, frame: &ServerFrame, except_room: Option<String>) {
    cluster.announce(BusEvent::Person(PersonChange::Tell {
        person,
        frame: frame.encode(),
        except_room,
    }));
}

/// `mark_read`: the caller's marker in `room` moves to `id` (forward
/// only, and no further than the room's newest event); every connection
/// of the person hears the marker in force with `read`.
pub(crate) async fn mark_read(
    state: &AppState,
    caller: &Caller,
    room: &str,
    id: u64,
) -> Result<(), Rejection> {
    let (person, room) = person_and_room(state, caller, room).await?;
    let (me, marked) = (person.id, room.clone());
    let read = state
        .journal
        .people(move |store| {
            if !store.my_rooms(me)?.contains(&marked) {
                return Ok(None);
            }
            store.mark_read(me, &marked, id).map(Some)
        })
        .await
        .map_err(server_error)?;
    let id = read.ok_or_else(|| not_my_room(&room))?;
    tell(
        &state.cluster,
        person.id,
        &ServerFrame::Read { room, id },
        None,
    );
    Ok(())
}

/// `set_level`: how much of `room` calls the caller's person; every
/// connection of the person hears it with `level`.
pub(crate) async fn set_level(
    state: &AppState,
    caller: &Caller,
    room: &str,
    level: NotifyLevel,
) -> Result<(), Rejection> {
    let (person, room) = person_and_room(state, caller, room).await?;
    if level == NotifyLevel::Unknown {
        return Err(Rejection::new(
            ErrorCode::BadRequest,
            "level must be \"all\", \"mentions\" or \"none\"",
        ));
    }
    let (me, set) = (person.id, room.clone());
    let done = state
        .journal
        .people(move |store| {
            if !store.my_rooms(me)?.contains(&set) {
                return Ok(false);
            }
            store.set_level(me, &set, level)?;
            Ok(true)
        })
        .await
        .map_err(server_error)?;
    if !done {
        return Err(not_my_room(&room));
    }
    tell(
        &state.cluster,
        person.id,
        &ServerFrame::Level { room, level },
        None,
    );
    Ok(())
}

/// Fills `list_rooms`' `read`, `unread`, `mentions` and `level` of the
/// caller's own rooms; each is left out of the frame when it is the
/// default (no marker, nothing unread, the room's default level).
pub(crate) fn fill(rooms: &mut [RoomInfo], attention: &[RoomAttention]) {
    for room in rooms.iter_mut().filter(|room| room.mine) {
        let Some(found) = attention.iter().find(|found| found.room == room.name) else {
            continue;
        };
        room.read = (found.read > 0).then_some(found.read);
        room.unread = found.unread;
        room.mentions = found.mentions;
        room.level = found.level;
    }
}

/// Who a new message calls, worked out once it is stored: `notify` at
/// once to the connections of each called person that sit in another
/// room (the ones in the room see the message itself), on every node,
/// and a push for those with no connection open
/// ([`crate::push::dispatch`]).
///
/// Cost: the journal reads whom a message may call right after storing
/// it, on its own thread ([`crate::history::journal::Posted`]): the
/// holders of the names the text mentions (one primary-key lookup each,
/// at most [`chat_shared::mention::MAX_MENTION_CANDIDATES`]), the author
/// of the message it replies to, the persons who chose `all` in the room
/// and a DM's members ([`crate::history::attention::Attention::called`]).
/// A message in a room of 10,000 members that mentions two of them costs
/// two lookups and two frames, never a walk over the members; a message
/// that calls nobody (most of them) costs those index probes and nothing
/// more.
pub(crate) struct Calling {
    cluster: Cluster,
    pusher: Pusher,
    /// Where the work runs once the journal has stored the message (the
    /// journal answers on its own thread).
    runtime: tokio::runtime::Handle,
    room: String,
    author: String,
    /// The author's person: never called by their own message.
    author_person: Option<u64>,
    /// The start of the text, as `notify` carries it.
    excerpt: String,
}

impl Calling {
    /// What a post will call, gathered before it is stored.
    pub(crate) fn new(
        state: &AppState,
        caller: &Caller,
        room: &str,
        author: &str,
        text: &str,
    ) -> Self {
        Self {
            cluster: state.cluster.clone(),
            pusher: state.pusher.clone(),
            runtime: tokio::runtime::Handle::current(),
            room: room.to_owned(),
            author: author.to_owned(),
            author_person: caller.person.as_ref().map(|person| person.id),
            excerpt: quote_excerpt(text),
        }
    }

    /// Message `id` was stored and may call `called`: call them, off the
    /// journal's thread. Nothing at all when it calls nobody.
    pub(crate) fn stored(self, id: u64, called: Vec<Called>) {
        if called.is_empty() {
            return;
        }
        let runtime = self.runtime.clone();
        runtime.spawn(async move { self.call(id, called) });
    }

    fn call(self, id: u64, called: Vec<Called>) {
        let Self {
            cluster,
            pusher,
            room,
            author,
            author_person,
            excerpt,
            ..
        } = self;
        let frame = |mention| ServerFrame::Notify {
            room: room.clone(),
            id,
            author: author.clone(),
            text: excerpt.clone(),
            mention,
        };
        for called in called {
            let level = NotifyLevel::effective(called.level, &room);
            if Some(called.person) == author_person || !level.calls(called.mention) {
                continue;
            }
            tell(
                &cluster,
                called.person,
                &frame(called.mention),
                Some(room.clone()),
            );
            pusher.call(Call {
                person: called.person,
                room: room.clone(),
                id,
                author: author.clone(),
                text: excerpt.clone(),
            });
        }
    }
}

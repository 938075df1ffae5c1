//! Direct messages and "my rooms" (issue 23): `open_dm`, `leave_room`,
//! who may enter a DM, and what `list_rooms` shows a held name.
//!
//! A DM is a room whose name the server makes from its members (persons,
//! not names: a later holder of a name is not a member). Only its members
//! may join it, and since history is read only in the joined room, only
//! they may read it; anyone else is told `forbidden` (`not_member`), the
//! same whether or not the DM exists.

use super::people::{held, hold_ms, now_ms};
use super::{server_error, Caller};
use crate::chat::hub::encode;
use crate::cluster::{BusEvent, PersonChange};
use crate::error::Rejection;
use crate::history::people::Person;
use crate::history::store::sha256_hex;
use crate::AppState;
use chat_shared::{
    is_dm_room, normalize_dm_with, normalize_room, username_key, ErrorCode, ForbiddenReason,
    RoomInfo, ServerFrame, DM_ROOM_PREFIX,
};
use std::collections::BTreeMap;

/// How many hex digits of the members' hash a DM's name has: 96 bits,
/// and `dm-` plus them fits a room name.
const DM_HASH_DIGITS: usize = 24;

/// The DM room of these persons: the same persons, the same room.
fn dm_room(persons: &[u64]) -> String {
    let mut ids = persons.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let joined: Vec<String> = ids.iter().map(u64::to_string).collect();
    let hash = sha256_hex(&joined.join(","));
    format!("{DM_ROOM_PREFIX}{}", &hash[..DM_HASH_DIGITS])
}

/// Whether `person` may enter `room`: any room that is not a DM; a DM
/// only for its members.
pub(crate) async fn check_dm(
    state: &AppState,
    room: &str,
    person: Option<&Person>,
) -> Result<(), Rejection> {
    if !is_dm_room(room) {
        return Ok(());
    }
    let refused = || Rejection::forbidden(ForbiddenReason::NotMember);
    let person = person.ok_or_else(refused)?.id;
    let room = room.to_owned();
    let members = state
        .journal
        .people(move |store| store.dm_members(&room))
        .await
        .map_err(server_error)?;
    if members.iter().any(|(member, _)| *member == person) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// `open_dm`: the DM of the caller and `with`, made if new; every member
/// has it among their rooms from now on.
pub(crate) async fn open_dm(
    state: &AppState,
    caller: &Caller,
    with: &[String],
) -> Result<(), Rejection> {
    let me = held(caller)?.clone();
    let others = normalize_dm_with(with, &me.name)
        .map_err(|error| Rejection::new(ErrorCode::BadRequest, error))?;
    let (now, hold) = (now_ms(), hold_ms(state));
    let keys: Vec<String> = others.iter().map(|name| username_key(name)).collect();
    let holders = state
        .journal
        .people(move |store| {
            keys.iter()
                .map(|key| store.holder(key, now, hold))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(server_error)?;
    let mut members = vec![(me.id, me.name.clone())];
    for (name, holder) in others.iter().zip(holders) {
        let Some(holder) = holder else {
            return Err(Rejection {
                message: format!(
                    "{name} is not a name that lasts (no one holds it), so it cannot get \
                     direct messages"
                ),
                ..Rejection::forbidden(ForbiddenReason::NotHeld)
            });
        };
        members.push(holder);
    }
    let ids: Vec<u64> = members.iter().map(|(id, _)| *id).collect();
    let room = dm_room(&ids);
    let mut names: Vec<String> = members.iter().map(|(_, name)| name.clone()).collect();
    names.sort();
    let opened = room.clone();
    state
        .journal
        .people(move |store| store.open_dm(&opened, &members))
        .await
        .map_err(server_error)?;
    for person in ids {
        let room = room.clone();
        state
            .cluster
            .announce(BusEvent::Person(PersonChange::RoomAdded { person, room }));
    }
    caller
        .peer
        .send(encode(&ServerFrame::Dm { room, with: names }));
    Ok(())
}

/// `leave_room`: `room` is no longer one of the caller's rooms.
pub(crate) async fn leave_room(
    state: &AppState,
    caller: &Caller,
    room: &str,
) -> Result<(), Rejection> {
    let person = held(caller)?.id;
    let room = normalize_room(room).map_err(|error| Rejection::new(error.code(), error))?;
    let left = room.clone();
    state
        .journal
        .people(move |store| store.leave_my_room(person, &left))
        .await
        .map_err(server_error)?;
    state
        .cluster
        .announce(BusEvent::Person(PersonChange::RoomLeft {
            person,
            room: room.clone(),
        }));
    caller.peer.send(encode(&ServerFrame::RoomLeft { room }));
    Ok(())
}

/// The rooms as `list_rooms` shows them to the caller: DMs only to their
/// members (with their names), and a held name's own rooms marked
/// `mine` and listed even when nobody is in them, with their read
/// markers, unread and mention counts and levels
/// ([`super::attention::fill`]).
pub(crate) async fn shown_rooms(
    state: &AppState,
    caller: &Caller,
    mut rooms: Vec<RoomInfo>,
) -> Result<Vec<RoomInfo>, Rejection> {
    let (mine, dms, attention) = match &caller.person {
        Some(person) => {
            let (id, key) = (person.id, person.name_key.clone());
            state
                .journal
                .people(move |store| {
                    let mine = store.my_rooms(id)?;
                    let attention = store.attention(id, &key, &mine)?;
                    let mut dms = BTreeMap::new();
                    for room in mine.iter().filter(|room| is_dm_room(room)) {
                        let names = store.dm_members(room)?;
                        dms.insert(
                            room.clone(),
                            names.into_iter().map(|(_, name)| name).collect(),
                        );
                    }
                    Ok((mine, dms, attention))
                })
                .await
                .map_err(server_error)?
        }
        None => (
            Vec::new(),
            BTreeMap::<String, Vec<String>>::new(),
            Vec::new(),
        ),
    };
    rooms.retain(|room| !is_dm_room(&room.name) || dms.contains_key(&room.name));
    for room in &mine {
        if !rooms.iter().any(|listed| &listed.name == room) {
            rooms.push(RoomInfo {
                name: room.clone(),
                ..RoomInfo::default()
            });
        }
    }
    for room in &mut rooms {
        room.mine = mine.contains(&room.name);
        room.with = dms.get(&room.name).cloned().unwrap_or_default();
    }
    super::attention::fill(&mut rooms, &attention);
    rooms.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rooms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_persons_always_get_the_same_dm_room() {
        assert_eq!(dm_room(&[3, 1]), dm_room(&[1, 3]));
        assert_eq!(dm_room(&[1, 3, 3]), dm_room(&[3, 1]));
        assert_ne!(dm_room(&[1, 3]), dm_room(&[1, 4]));
        let room = dm_room(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(is_dm_room(&room));
        assert_eq!(normalize_room(&room), Ok(room.clone()));
    }
}

//! Names that last (issue 23): who a joiner is, and `release_name`,
//! `free_name`, `link_device`, `devices` and `revoke_device`.
//!
//! A name joined with an author key is held by that key's device; the
//! person's other devices join with their own keys, added by one-time
//! link codes. What is stored is in [`crate::history::people`];
//! docs/identity.md says what it proves.

use super::{server_error, Caller};
use crate::chat::hub::encode;
use crate::cluster::{new_token, BusEvent, Claimed, PersonChange};
use crate::error::Rejection;
use crate::history::people::{Identity, Person, Presented};
use crate::history::store::sha256_hex;
use crate::AppState;
use chat_shared::{
    is_valid_link_code, normalize_username, username_key, username_looks, AuditAction, ErrorCode,
    ForbiddenReason, ServerFrame, LINK_CODE_CHARS,
};
use std::time::SystemTime;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// How long a held name stays held unused, in milliseconds.
pub(crate) fn hold_ms(state: &AppState) -> u64 {
    u64::try_from(state.config.name_hold.as_millis()).unwrap_or(u64::MAX)
}

/// The refusal of a held name to a join that is not its holder's.
fn name_held() -> Rejection {
    ErrorCode::NameHeld.into()
}

/// The refusal of a request only a held name may make.
fn not_held() -> Rejection {
    Rejection::forbidden(ForbiddenReason::NotHeld)
}

/// The caller's person, or why it has none.
pub(crate) fn held(caller: &Caller) -> Result<&Person, Rejection> {
    caller.joined()?;
    caller.person.as_ref().ok_or_else(not_held)
}

/// A join's `link_code` checked and hashed: it must come with an author
/// key (the device it adds) and be 32 hex digits.
pub(crate) fn link_code_hash(
    code: Option<&str>,
    has_key: bool,
) -> Result<Option<String>, Rejection> {
    match code {
        None => Ok(None),
        Some(_) if !has_key => Err(Rejection::new(
            ErrorCode::BadRequest,
            "link_code needs an author_key: the new device's own key",
        )),
        Some(code) if !is_valid_link_code(code) => Err(Rejection::new(
            ErrorCode::BadRequest,
            format!("link_code must be {LINK_CODE_CHARS} lower-case hex digits"),
        )),
        Some(code) => Ok(Some(sha256_hex(code))),
    }
}

/// What a join presents, for the store.
pub(crate) fn presented(
    state: &AppState,
    name: &str,
    owner: Option<String>,
    link_code: Option<String>,
    label: String,
) -> Presented {
    Presented {
        name_key: username_key(name),
        name: name.to_owned(),
        looks: username_looks(name),
        owner,
        link_code,
        label,
        now_ms: now_ms(),
        hold_ms: hold_ms(state),
    }
}

/// Who a joiner turned out to be.
#[derive(Debug)]
pub(crate) struct Found {
    /// A device of the name's holder (or newly linked to it).
    pub(crate) person: Option<Person>,
    /// A holder nobody used for the hold period: the claim takes it over.
    lapsed: Option<u64>,
    /// A link code just added this device.
    pub(crate) linked: bool,
}

impl Found {
    /// The key the presence files the joiner under: the person's, so its
    /// devices are one user even under a look-alike spelling.
    pub(crate) fn key(&self, who: &Presented) -> String {
        self.person
            .as_ref()
            .map_or_else(|| who.name_key.clone(), |person| person.name_key.clone())
    }

    /// The name shown: the person's own spelling.
    pub(crate) fn name(&self, who: &Presented) -> String {
        self.person
            .as_ref()
            .map_or_else(|| who.name.clone(), |person| person.name.clone())
    }

    /// The resume token the claim presents: the person's shared one.
    pub(crate) fn resume(&self, asked: Option<String>) -> Option<String> {
        match &self.person {
            Some(person) => Some(person.token.clone()),
            None => asked,
        }
    }
}

/// Whether `join_code` lets the joiner in (or the chat is open), and
/// who the joiner is as far as the name goes (`name_held` for a name
/// someone else holds): one read of the store. Wrong codes, join or link,
/// are slowed per address.
pub(crate) async fn identify(
    state: &AppState,
    caller: &Caller,
    who: &Presented,
    join_code: &Option<String>,
) -> Result<(bool, Result<Found, Rejection>), Rejection> {
    let hub = &state.cluster.hub;
    if who.link_code.is_some() || join_code.is_some() {
        hub.may_try_code(caller.peer.client)?;
    }
    let asked = who.clone();
    let code = join_code.clone();
    let (invited, identity) = state
        .journal
        .people(move |store| {
            let invited = store.join_code_admits(code.as_deref())?;
            Ok((invited, store.identify(&asked)?))
        })
        .await
        .map_err(server_error)?;
    Ok((invited, found(state, caller, who, identity)))
}

/// What an identity means for the join.
fn found(
    state: &AppState,
    caller: &Caller,
    who: &Presented,
    identity: Identity,
) -> Result<Found, Rejection> {
    let hub = &state.cluster.hub;
    match identity {
        Identity::Free => Ok(Found {
            person: None,
            lapsed: None,
            linked: false,
        }),
        Identity::Mine(person) => Ok(Found {
            person: Some(person),
            lapsed: None,
            linked: who.link_code.is_some(),
        }),
        Identity::Held {
            person,
            lapsed: true,
            ..
        } => Ok(Found {
            person: None,
            lapsed: Some(person),
            linked: false,
        }),
        Identity::Held { wrong_code, .. } => {
            if wrong_code {
                tracing::warn!("a wrong link code");
                hub.wrong_code(caller.peer.client);
            }
            Err(name_held())
        }
    }
}

/// After the claim: a joiner with a key of a name nobody holds now holds
/// it (a lapsed holder is forgotten), and the person is the connection's.
pub(crate) async fn settle(
    state: &AppState,
    who: &Presented,
    found: Found,
    claimed: &Claimed,
) -> Result<Option<Person>, Rejection> {
    if let Some(person) = found.person {
        return Ok(Some(person));
    }
    if who.owner.is_none() && found.lapsed.is_none() {
        return Ok(None);
    }
    let asked = who.clone();
    let token = claimed.token.clone();
    let lapsed = found.lapsed;
    let identity = state
        .journal
        .people(move |store| store.hold(&asked, &token, lapsed))
        .await
        .map_err(server_error)?;
    match identity {
        Identity::Mine(person) => {
            tracing::info!(user = %person.name, "holds the name");
            Ok(Some(person))
        }
        Identity::Free => Ok(None),
        Identity::Held { .. } => Err(name_held()),
    }
}

/// A held name's connection entered `room`: the room is one of its
/// rooms on every device, and this connection hears its other rooms'
/// news. A room that already was one is neither written again nor
/// announced: most joins are returns to one's own rooms.
pub(crate) async fn enter_room(state: &AppState, caller: &Caller, person: &Person, room: &str) {
    let id = person.id;
    let entered = room.to_owned();
    let rooms = state
        .journal
        .people(move |store| {
            let mut rooms = store.my_rooms(id)?;
            let new = !rooms.contains(&entered);
            if new {
                store.add_my_room(id, &entered)?;
                rooms.push(entered);
            }
            Ok((rooms, new))
        })
        .await;
    let Ok((rooms, new)) = rooms else {
        return;
    };
    if new {
        state
            .cluster
            .announce(BusEvent::Person(PersonChange::RoomAdded {
                person: id,
                room: room.to_owned(),
            }));
    }
    let hub = &state.cluster.hub;
    hub.watch(id, person.device, &caller.peer, room, rooms);
}

/// A held name's connection ended: it was seen now.
pub(crate) async fn leave(state: &AppState, caller: &Caller, person: &Person) {
    state.cluster.hub.unwatch(person.id, caller.peer.id);
    let (id, device) = (person.id, person.device);
    let now = now_ms();
    // A failure is logged by the journal; the hold lapses a little early.
    let _ = state
        .journal
        .people(move |store| store.seen(id, device, now))
        .await;
}

/// Forgets a person (released or freed) and tells every node.
async fn forget(
    state: &AppState,
    person: u64,
    by: &str,
    action: AuditAction,
) -> Result<bool, Rejection> {
    let by = by.to_owned();
    let forgotten = state
        .journal
        .people(move |store| store.release(person, &by, action))
        .await
        .map_err(server_error)?;
    state
        .cluster
        .announce(BusEvent::Person(PersonChange::Forgotten { person }));
    Ok(forgotten)
}

/// `release_name`: the caller's name is free again.
pub(crate) async fn release_name(state: &AppState, caller: &mut Caller) -> Result<(), Rejection> {
    let person = held(caller)?.clone();
    forget(state, person.id, &person.name, AuditAction::Release).await?;
    tracing::info!(user = %person.name, "gave up the name");
    caller.person = None;
    caller.peer.send(encode(&ServerFrame::NameReleased {
        username: person.name,
    }));
    Ok(())
}

/// `free_name`: a moderator frees a held name.
pub(crate) async fn free_name(
    state: &AppState,
    caller: &Caller,
    username: &str,
) -> Result<(), Rejection> {
    let moderator = caller.moderator()?.name.clone();
    let name = normalize_username(username).map_err(|error| Rejection::new(error.code(), error))?;
    let key = username_key(&name);
    let holder = state
        .journal
        .people(move |store| store.holder(&key, 0, u64::MAX))
        .await
        .map_err(server_error)?;
    let Some((person, held_name)) = holder else {
        return Err(Rejection::new(
            ErrorCode::NotFound,
            "No one holds that name: it is free already",
        ));
    };
    forget(state, person, &moderator, AuditAction::FreeName).await?;
    tracing::info!(user = %held_name, "a moderator freed the name");
    caller.peer.send(encode(&ServerFrame::NameReleased {
        username: held_name,
    }));
    Ok(())
}

/// `link_device`: a one-time code that adds a device to the caller's
/// person, valid for `--link-code-lifetime` (by default
/// [`chat_shared::LINK_CODE_SECS`]); a new code replaces the last.
pub(crate) async fn link_device(state: &AppState, caller: &Caller) -> Result<(), Rejection> {
    let person = held(caller)?.id;
    let code = new_token()?;
    let hash = sha256_hex(&code);
    let lifetime = state.config.link_code_lifetime;
    let expires = SystemTime::now() + lifetime;
    let lifetime_ms = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
    let now = now_ms();
    let expires_ms = now.saturating_add(lifetime_ms);
    state
        .journal
        .people(move |store| store.add_link_code(person, &hash, now, expires_ms))
        .await
        .map_err(server_error)?;
    caller.peer.send(encode(&ServerFrame::DeviceLink {
        code,
        expires_at: humantime::format_rfc3339_millis(expires).to_string(),
    }));
    Ok(())
}

/// `devices`: the caller's person's devices.
pub(crate) async fn devices(state: &AppState, caller: &Caller) -> Result<(), Rejection> {
    let person = held(caller)?;
    send_devices(state, caller, person).await
}

async fn send_devices(state: &AppState, caller: &Caller, person: &Person) -> Result<(), Rejection> {
    let (id, this) = (person.id, person.device);
    let mut devices = state
        .journal
        .people(move |store| store.devices(id))
        .await
        .map_err(server_error)?;
    for device in &mut devices {
        device.this = device.id == this;
    }
    caller.peer.send(encode(&ServerFrame::Devices { devices }));
    Ok(())
}

/// `revoke_device`: the device holds the name no more, and its open
/// connections, on every node, are closed.
pub(crate) async fn revoke_device(
    state: &AppState,
    caller: &Caller,
    device: u64,
) -> Result<(), Rejection> {
    let person = held(caller)?;
    let id = person.id;
    let revoked = state
        .journal
        .people(move |store| store.revoke_device(id, device))
        .await
        .map_err(server_error)?;
    if revoked.is_none() {
        return Err(Rejection::new(
            ErrorCode::NotFound,
            "That is not one of this name's devices",
        ));
    }
    tracing::info!(user = %person.name, device, "revoked a device");
    send_devices(state, caller, person).await?;
    state
        .cluster
        .announce(BusEvent::Person(PersonChange::Revoked {
            person: id,
            device,
        }));
    Ok(())
}

//! What lasts of people (issue 23): held names, their devices and link
//! codes, the rooms and DMs each is in, and which persons a DM has.
//!
//! A **person** is one holding of a name: it has its own id, so when the
//! name is released, freed or lapses and someone else takes it, the new
//! holder is a new person: not a member of the old one's DMs, not the
//! author of its messages. The store keeps only hashes of author keys and
//! link codes. The rules (who may do what) are in `crate::command::people`;
//! the store only stores.

use crate::history::store::StoreResult;
use chat_shared::{AuditAction, DeviceInfo};

/// One holding of a name, as a join that may use it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    pub id: u64,
    /// The name's [`chat_shared::username_key`].
    pub name_key: String,
    /// The name as its holder first wrote it: every device shows it.
    pub name: String,
    /// The resume token its devices share in the presence, so that two
    /// devices of one person hold the name together like two tabs.
    pub token: String,
    /// The device this join is.
    pub device: u64,
}

/// Who a join is, as far as the name goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    /// Nobody holds the name or one that looks like it.
    Free,
    /// A device of the person who holds it (or one a link code just
    /// added).
    Mine(Person),
    /// Someone else holds it. `lapsed`: nobody used it for the hold
    /// period, so whoever claims it now may take it over (see
    /// [`People::hold`]). `wrong_code`: the join brought a link code that
    /// is not one for this name (or has expired).
    Held {
        person: u64,
        lapsed: bool,
        wrong_code: bool,
    },
}

/// What a join presents about itself.
#[derive(Debug, Clone)]
pub(crate) struct Presented {
    /// The name's [`chat_shared::username_key`].
    pub name_key: String,
    /// The normalised name.
    pub name: String,
    /// [`chat_shared::username_looks`] of the name.
    pub looks: Vec<String>,
    /// The SHA-256 of its author key, if any.
    pub owner: Option<String>,
    /// The SHA-256 of a link code, if any.
    pub link_code: Option<String>,
    /// The device's label.
    pub label: String,
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// How long an unused name stays held, in milliseconds.
    pub hold_ms: u64,
}

/// The people half of a store.
pub(crate) trait People {
    /// Who `who` is: a device of the name's holder (or, with a valid link
    /// code and a key, a new one, the code used up), someone else, or a
    /// joiner of a free name. Reads only, unless a device joins.
    fn identify(&mut self, who: &Presented) -> StoreResult<Identity>;

    /// Makes `who` (who has a key and has claimed the name) the holder,
    /// its key the first device, `token` the shared resume token. A
    /// lapsed holder (`replacing`) is forgotten first. `Held` when
    /// someone else got there first (nothing is stored then).
    fn hold(
        &mut self,
        who: &Presented,
        token: &str,
        replacing: Option<u64>,
    ) -> StoreResult<Identity>;

    /// Marks the person and its device used now (a join, a leave).
    fn seen(&mut self, person: u64, device: u64, now_ms: u64) -> StoreResult<()>;

    /// Forgets the person (its name is free), logging `action` by `by`;
    /// `false` when it was already gone.
    fn release(&mut self, person: u64, by: &str, action: AuditAction) -> StoreResult<bool>;

    /// The person holding `name_key` now (not lapsed): its id and name.
    fn holder(
        &mut self,
        name_key: &str,
        now_ms: u64,
        hold_ms: u64,
    ) -> StoreResult<Option<(u64, String)>>;

    /// Stores a link code's hash for the person, until `expires_ms`, in
    /// place of any earlier one; forgets every code expired at `now_ms`.
    fn add_link_code(
        &mut self,
        person: u64,
        code_hash: &str,
        now_ms: u64,
        expires_ms: u64,
    ) -> StoreResult<()>;

    /// The person's devices that are not revoked, oldest first.
    fn devices(&mut self, person: u64) -> StoreResult<Vec<DeviceInfo>>;

    /// Revokes one of the person's devices (and drops the push
    /// subscriptions it made): the hash of its key, or
    /// `None` when it is not one of them (or already revoked).
    fn revoke_device(&mut self, person: u64, device: u64) -> StoreResult<Option<String>>;

    /// Records a DM and its members (id, name), and makes it one of each
    /// member's rooms. Idempotent.
    fn open_dm(&mut self, room: &str, members: &[(u64, String)]) -> StoreResult<()>;

    /// A DM's members (id, name), by name; empty for a room that is not one.
    fn dm_members(&mut self, room: &str) -> StoreResult<Vec<(u64, String)>>;

    /// The person's rooms and DMs.
    fn my_rooms(&mut self, person: u64) -> StoreResult<Vec<String>>;

    /// Makes `room` one of the person's rooms.
    fn add_my_room(&mut self, person: u64, room: &str) -> StoreResult<()>;

    /// Takes `room` off the person's rooms; `false` when it was not one.
    fn leave_my_room(&mut self, person: u64, room: &str) -> StoreResult<bool>;

    /// Logs a report of message `id` of `room` by `reporter`, with the
    /// message's author and current text; `false` when the room has no
    /// such message (or it is deleted).
    fn report(&mut self, room: &str, id: u64, reporter: &str, reason: &str) -> StoreResult<bool>;
}

//! The Lua scripts behind [`super::RedisPresence`]: every change of
//! presence is one script, so Redis runs it whole or not at all, and the
//! `PresenceEvent` it causes is PUBLISHed from inside it, so the order of
//! the events on the bus is exactly the order Redis ran the changes in.
//!
//! Every script gets the key prefix as `ARGV[1]` and builds its keys from
//! it (see the layout in [`super`]): the keys a change touches depend on
//! what it finds (every room of a user, every node), which `KEYS` cannot
//! say in advance. That is fine on one Redis, not on Redis Cluster.
//!
//! Every script answers one JSON string (`cjson.encode`), decoded with
//! serde on our side: no positional arrays to keep in step. Deadlines use
//! Redis's `TIME`, so the nodes' clocks never matter.
//!
//! The scripts themselves are the `.lua` files in `lua/`, one per
//! constant here, where editors and linters can read them; each runs with
//! `lua/prelude.lua` in front.

use redis::Script;

/// Helpers every script starts with.
///
/// Compound members and fields (`room|key`, `key|node`) are JSON arrays
/// (`pair`): no separator can clash with a character of a room name, a
/// key or a node id. `cjson.encode` of the same two strings is always the
/// same text, so the encoded pair works as an exact field name.
const PRELUDE: &str = include_str!("lua/prelude.lua");

/// ARGV: prefix, node, room, key, name, the SHA-256 of the resume token
/// (`""`: none), invited (`"1"`), the SHA-256 of a fresh token for a new
/// claim, the client's address, the name's looks
/// ([`chat_shared::username_looks`]) as a JSON array.
///
/// The hub's rules: the token whose hash is stored resumes; otherwise no
/// invitation is `forbidden`, and a name held by someone else, or one
/// that looks like it, is `name_taken`. Redis keeps and compares only
/// hashes: Lua's `==` stops at the first difference, which could tell a
/// timer about the stored hash, never about a token that has it; and a
/// copy of Redis's data hands out no name. The answer says whether the
/// claim resumed (the node then answers with the token presented) or is
/// new (the fresh one).
const CLAIM: &str = include_str!("lua/claim.lua");

/// ARGV: prefix, node, room, key, departure (`"now"` or `"grace"`),
/// grace in ms.
const RELEASE: &str = include_str!("lua/release.lua");

/// ARGV: prefix, node. Ends the graces that are due, at most 100 a run,
/// and says how long until the next one ends.
const END_GRACES: &str = include_str!("lua/end_graces.lua");

/// ARGV: prefix, node, node timeout in ms, grace in ms.
///
/// Marks this node seen, then forgets every node not seen for longer than
/// the timeout: its connections are dropped, starting the grace of each
/// user who has none left anywhere. Answers whether this node was missing
/// (Redis lost its data, or the others took it for dead): it must restore.
const HEARTBEAT: &str = include_str!("lua/heartbeat.lua");

/// ARGV: prefix, node, grace in ms, this node's presence as JSON
/// (`[{room, key, username, token, connections, looks}]`, `token` the
/// SHA-256 of the resume token, as `names` keeps it).
///
/// Makes this node's entries exactly that list: missing claims and
/// members come back (Joined for each member added); a claim someone
/// else made meanwhile, with another token, wins and the entry is
/// reported back as a conflict; connections no longer listed go, starting
/// graces where a user's total reaches 0.
const RESTORE: &str = include_str!("lua/restore.lua");

/// ARGV: prefix, node, key. Takes the user out of every room now.
const EVICT: &str = include_str!("lua/evict.lua");

/// ARGV: prefix, key. The addresses the name's holder joined from.
const ADDRESSES: &str = include_str!("lua/addresses.lua");

/// ARGV: prefix, room. The room's members as of its seq.
const SNAPSHOT: &str = include_str!("lua/snapshot.lua");

/// ARGV: prefix. Every room with members, and how many.
const ROOMS: &str = include_str!("lua/rooms.lua");

/// The scripts, each hashed once; `EVALSHA`, loading it again after a
/// `NOSCRIPT` (a restarted Redis has forgotten them).
#[derive(Debug)]
pub(super) struct Scripts {
    /// [`CLAIM`]: take a name and count a connection.
    pub claim: Script,
    /// [`RELEASE`]: one connection fewer; a leave or a grace.
    pub release: Script,
    /// [`END_GRACES`]: the graces that are due end.
    pub end_graces: Script,
    /// [`HEARTBEAT`]: this node is alive; silent ones are forgotten.
    pub heartbeat: Script,
    /// [`RESTORE`]: this node's entries become what it reports.
    pub restore: Script,
    /// [`EVICT`]: a user out of every room.
    pub evict: Script,
    /// [`SNAPSHOT`]: a room's members at its seq.
    pub snapshot: Script,
    /// [`ROOMS`]: every room with members.
    pub rooms: Script,
    /// [`ADDRESSES`]: where a name's holder joined from.
    pub addresses: Script,
}

impl Scripts {
    /// Every script with the prelude in front.
    pub(super) fn new() -> Self {
        let with_prelude = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Self {
            claim: with_prelude(CLAIM),
            release: with_prelude(RELEASE),
            end_graces: with_prelude(END_GRACES),
            heartbeat: with_prelude(HEARTBEAT),
            restore: with_prelude(RESTORE),
            evict: with_prelude(EVICT),
            snapshot: with_prelude(SNAPSHOT),
            rooms: with_prelude(ROOMS),
            addresses: with_prelude(ADDRESSES),
        }
    }
}

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

use redis::Script;

/// Helpers every script starts with.
///
/// Compound members and fields (`room|key`, `key|node`) are JSON arrays
/// (`pair`): no separator can clash with a character of a room name, a
/// key or a node id. `cjson.encode` of the same two strings is always the
/// same text, so the encoded pair works as an exact field name.
const PRELUDE: &str = r#"
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function pair(a, b) return cjson.encode({a, b}) end
local function int(value) return tonumber(value or '0') or 0 end
local function publish(node, room, seq, change, key, name, count)
  local event = {kind = 'presence', room = room, seq = seq,
    change = {change = change, key = key, username = name, count = count}}
  redis.call('PUBLISH', P .. 'bus', cjson.encode({node = node, event = event}))
end
-- Frees the looks of key's name (see the claim script).
local function free_looks(key)
  for _, look in ipairs(redis.call('SMEMBERS', P .. 'name-looks:' .. key)) do
    if redis.call('HGET', P .. 'looks', look) == key then
      redis.call('HDEL', P .. 'looks', look)
    end
  end
  redis.call('DEL', P .. 'name-looks:' .. key)
end
-- Takes key out of room now, whatever connections it has on any node:
-- Left is published, and the name is freed once its holder is in no room.
local function remove_member(node, room, key)
  local name = redis.call('HGET', P .. 'room:' .. room, key)
  if not name then return end
  local member = pair(room, key)
  redis.call('HDEL', P .. 'room:' .. room, key)
  redis.call('ZREM', P .. 'graces', member)
  redis.call('HDEL', P .. 'online:' .. room, key)
  for _, other in ipairs(redis.call('HKEYS', P .. 'nodes')) do
    if redis.call('HDEL', P .. 'conns:' .. room, pair(key, other)) == 1 then
      redis.call('SREM', P .. 'node:' .. other, member)
    end
  end
  local count = redis.call('HLEN', P .. 'room:' .. room)
  if count == 0 then redis.call('SREM', P .. 'rooms', room) end
  redis.call('SREM', P .. 'user-rooms:' .. key, room)
  if redis.call('SCARD', P .. 'user-rooms:' .. key) == 0 then
    redis.call('HDEL', P .. 'names', key)
    redis.call('DEL', P .. 'addrs:' .. key)
    free_looks(key)
  end
  local seq = redis.call('INCR', P .. 'seq:' .. room)
  publish(node, room, seq, 'left', key, name, count)
end
-- Adds key to room under name if it is not a member yet (Joined).
local function add_member(node, room, key, name)
  local shown = redis.call('HGET', P .. 'room:' .. room, key)
  if shown then return shown end
  redis.call('HSET', P .. 'room:' .. room, key, name)
  redis.call('SADD', P .. 'rooms', room)
  redis.call('SADD', P .. 'user-rooms:' .. key, room)
  local seq = redis.call('INCR', P .. 'seq:' .. room)
  publish(node, room, seq, 'joined', key, name, redis.call('HLEN', P .. 'room:' .. room))
  return name
end
-- Sets how many connections node has for key in room; when that brings
-- the user's total over every node to 0, a member's grace starts, and
-- when it brings it above 0, a running grace ends.
local function set_connections(node, room, key, want, now, grace_ms)
  local field = pair(key, node)
  local member = pair(room, key)
  local have = int(redis.call('HGET', P .. 'conns:' .. room, field))
  if want == have then return end
  if want > 0 then
    redis.call('HSET', P .. 'conns:' .. room, field, want)
    redis.call('SADD', P .. 'node:' .. node, member)
  else
    redis.call('HDEL', P .. 'conns:' .. room, field)
    redis.call('SREM', P .. 'node:' .. node, member)
  end
  local total = redis.call('HINCRBY', P .. 'online:' .. room, key, want - have)
  if total > 0 then
    redis.call('ZREM', P .. 'graces', member)
    return
  end
  redis.call('HDEL', P .. 'online:' .. room, key)
  if redis.call('HEXISTS', P .. 'room:' .. room, key) == 1 then
    redis.call('ZADD', P .. 'graces', now + grace_ms, member)
  end
end
local function members(room)
  local flat = redis.call('HGETALL', P .. 'room:' .. room)
  local map = {}
  for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
  return map
end
"#;

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
const CLAIM: &str = r#"
local node, room, key, name, resume_hash, invited, fresh_hash, address, looks =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9],
  cjson.decode(ARGV[10])
local stored = redis.call('HGET', P .. 'names', key)
local resumed = false
if stored and resume_hash ~= '' and resume_hash == stored then
  resumed = true
elseif invited ~= '1' then
  return cjson.encode({refused = 'forbidden'})
elseif stored then
  return cjson.encode({refused = 'name_taken'})
else
  for _, look in ipairs(looks) do
    local holder = redis.call('HGET', P .. 'looks', look)
    if holder and holder ~= key then
      return cjson.encode({refused = 'name_taken'})
    end
  end
  redis.call('HSET', P .. 'names', key, fresh_hash)
  for _, look in ipairs(looks) do
    redis.call('HSET', P .. 'looks', look, key)
    redis.call('SADD', P .. 'name-looks:' .. key, look)
  end
end
redis.call('SADD', P .. 'addrs:' .. key, address)
local field = pair(key, node)
local have = int(redis.call('HGET', P .. 'conns:' .. room, field))
set_connections(node, room, key, have + 1, 0, 0)
local shown = add_member(node, room, key, name)
local seq = int(redis.call('GET', P .. 'seq:' .. room))
return cjson.encode({ok = {resumed = resumed, username = shown, seq = seq,
  members = members(room)}})
"#;

/// ARGV: prefix, node, room, key, departure (`"now"` or `"grace"`),
/// grace in ms.
const RELEASE: &str = r#"
local node, room, key, departure, grace_ms = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local have = int(redis.call('HGET', P .. 'conns:' .. room, pair(key, node)))
if have == 0 then return cjson.encode({released = false}) end
if departure == 'now' and int(redis.call('HGET', P .. 'online:' .. room, key)) == 1 then
  remove_member(node, room, key)
else
  set_connections(node, room, key, have - 1, now_ms(), grace_ms)
end
return cjson.encode({released = true})
"#;

/// ARGV: prefix, node. Ends the graces that are due, at most 100 a run,
/// and says how long until the next one ends.
const END_GRACES: &str = r#"
local node = ARGV[2]
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', P .. 'graces', '-inf', now, 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  redis.call('ZREM', P .. 'graces', member)
  local rk = cjson.decode(member)
  if int(redis.call('HGET', P .. 'online:' .. rk[1], rk[2])) == 0 then
    remove_member(node, rk[1], rk[2])
  end
end
local first = redis.call('ZRANGE', P .. 'graces', 0, 0, 'WITHSCORES')
local next_ms = -1
if #first == 2 then next_ms = math.max(0, tonumber(first[2]) - now) end
return cjson.encode({ended = #due, next_ms = next_ms})
"#;

/// ARGV: prefix, node, node timeout in ms, grace in ms.
///
/// Marks this node seen, then forgets every node not seen for longer than
/// the timeout: its connections are dropped, starting the grace of each
/// user who has none left anywhere. Answers whether this node was missing
/// (Redis lost its data, or the others took it for dead): it must restore.
const HEARTBEAT: &str = r#"
local node, timeout_ms, grace_ms = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
local missing = redis.call('HSET', P .. 'nodes', node, now) == 1
local reaped = {}
local seen = redis.call('HGETALL', P .. 'nodes')
for i = 1, #seen, 2 do
  local other, at = seen[i], tonumber(seen[i + 1])
  if other ~= node and now - at > timeout_ms then
    for _, member in ipairs(redis.call('SMEMBERS', P .. 'node:' .. other)) do
      local rk = cjson.decode(member)
      set_connections(other, rk[1], rk[2], 0, now, grace_ms)
    end
    redis.call('DEL', P .. 'node:' .. other)
    redis.call('HDEL', P .. 'nodes', other)
    table.insert(reaped, other)
  end
end
return cjson.encode({missing = missing, reaped = reaped})
"#;

/// ARGV: prefix, node, grace in ms, this node's presence as JSON
/// (`[{room, key, username, token, connections, looks}]`, `token` the
/// SHA-256 of the resume token, as `names` keeps it).
///
/// Makes this node's entries exactly that list: missing claims and
/// members come back (Joined for each member added); a claim someone
/// else made meanwhile, with another token, wins and the entry is
/// reported back as a conflict; connections no longer listed go, starting
/// graces where a user's total reaches 0.
const RESTORE: &str = r#"
local node, grace_ms, entries = ARGV[2], tonumber(ARGV[3]), cjson.decode(ARGV[4])
local now = now_ms()
redis.call('HSET', P .. 'nodes', node, now)
local wanted = {}
local conflicts = {}
for _, e in ipairs(entries) do
  if e.connections > 0 then
    local stored = redis.call('HGET', P .. 'names', e.key)
    if stored and stored ~= e.token then
      table.insert(conflicts, {e.room, e.key})
    else
      if not stored then
        redis.call('HSET', P .. 'names', e.key, e.token)
        for _, look in ipairs(e.looks) do
          if redis.call('HSETNX', P .. 'looks', look, e.key) == 1 then
            redis.call('SADD', P .. 'name-looks:' .. e.key, look)
          end
        end
      end
      wanted[pair(e.room, e.key)] = e
    end
  end
end
for _, member in ipairs(redis.call('SMEMBERS', P .. 'node:' .. node)) do
  if not wanted[member] then
    local rk = cjson.decode(member)
    set_connections(node, rk[1], rk[2], 0, now, grace_ms)
  end
end
local added = 0
for _, e in pairs(wanted) do
  if redis.call('HEXISTS', P .. 'room:' .. e.room, e.key) == 0 then added = added + 1 end
  add_member(node, e.room, e.key, e.username)
  set_connections(node, e.room, e.key, e.connections, now, grace_ms)
end
return cjson.encode({added = added, conflicts = conflicts})
"#;

/// ARGV: prefix, node, key. Takes the user out of every room now.
const EVICT: &str = r#"
local node, key = ARGV[2], ARGV[3]
local rooms = redis.call('SMEMBERS', P .. 'user-rooms:' .. key)
table.sort(rooms)
for _, room in ipairs(rooms) do remove_member(node, room, key) end
redis.call('HDEL', P .. 'names', key)
redis.call('DEL', P .. 'addrs:' .. key)
free_looks(key)
return cjson.encode({rooms = #rooms})
"#;

/// ARGV: prefix, key. The addresses the name's holder joined from.
const ADDRESSES: &str = r#"
local addresses = redis.call('SMEMBERS', P .. 'addrs:' .. ARGV[2])
if #addresses == 0 then return '[]' end
return cjson.encode(addresses)
"#;

/// ARGV: prefix, room. The room's members as of its seq.
const SNAPSHOT: &str = r#"
local room = ARGV[2]
return cjson.encode({seq = int(redis.call('GET', P .. 'seq:' .. room)), members = members(room)})
"#;

/// ARGV: prefix. Every room with members, and how many.
const ROOMS: &str = r#"
local rooms = {}
for _, room in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do
  rooms[room] = redis.call('HLEN', P .. 'room:' .. room)
end
return cjson.encode(rooms)
"#;

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
    pub fn new() -> Self {
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

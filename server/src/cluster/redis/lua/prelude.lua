-- Helpers every script starts with: see the doc comment of `PRELUDE` in ../scripts.rs.
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

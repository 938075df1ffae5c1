-- claim: see the doc comment of `CLAIM` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
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

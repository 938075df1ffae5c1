-- restore: see the doc comment of `RESTORE` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
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

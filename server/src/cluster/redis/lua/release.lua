-- release: see the doc comment of `RELEASE` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
local node, room, key, departure, grace_ms = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local have = int(redis.call('HGET', P .. 'conns:' .. room, pair(key, node)))
if have == 0 then return cjson.encode({released = false}) end
if departure == 'now' and int(redis.call('HGET', P .. 'online:' .. room, key)) == 1 then
  remove_member(node, room, key)
else
  set_connections(node, room, key, have - 1, now_ms(), grace_ms)
end
return cjson.encode({released = true})

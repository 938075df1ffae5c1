-- evict: see the doc comment of `EVICT` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
local node, key = ARGV[2], ARGV[3]
local rooms = redis.call('SMEMBERS', P .. 'user-rooms:' .. key)
table.sort(rooms)
for _, room in ipairs(rooms) do remove_member(node, room, key) end
redis.call('HDEL', P .. 'names', key)
redis.call('DEL', P .. 'addrs:' .. key)
free_looks(key)
return cjson.encode({rooms = #rooms})

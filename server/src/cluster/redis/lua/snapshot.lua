-- snapshot: see the doc comment of `SNAPSHOT` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
local room = ARGV[2]
return cjson.encode({seq = int(redis.call('GET', P .. 'seq:' .. room)), members = members(room)})

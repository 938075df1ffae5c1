-- rooms: see the doc comment of `ROOMS` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
local rooms = {}
for _, room in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do
  rooms[room] = redis.call('HLEN', P .. 'room:' .. room)
end
return cjson.encode(rooms)

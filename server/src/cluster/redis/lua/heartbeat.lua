-- heartbeat: see the doc comment of `HEARTBEAT` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
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

-- end_graces: see the doc comment of `END_GRACES` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
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

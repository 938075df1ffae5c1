-- addresses: see the doc comment of `ADDRESSES` in ../scripts.rs. Runs after prelude.lua, which
-- defines P (the key prefix) and the local helper functions called here.
local addresses = redis.call('SMEMBERS', P .. 'addrs:' .. ARGV[2])
if #addresses == 0 then return '[]' end
return cjson.encode(addresses)

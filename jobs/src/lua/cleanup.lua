-- Removes finished jobs: apalis-redis keeps every done job's data, meta and result forever.
-- KEYS[1] done set, KEYS[2] data hash, KEYS[3] meta prefix; ARGV[1] how many at most.
local ids = redis.call('SPOP', KEYS[1], tonumber(ARGV[1]))
for _, id in ipairs(ids) do
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3] .. ':result', id)
    redis.call('DEL', KEYS[3] .. ':' .. id)
end
return #ids

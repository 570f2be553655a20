-- renew.lua: extend the lease of a job still being worked on.
-- KEYS[1] in-flight zset  KEYS[2] leases hash
-- ARGV: 1 member, 2 token, 3 new lease deadline ms
-- Returns 1, or 0 when the lease is no longer this claim's (it ran out and
-- the job was reclaimed).
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1

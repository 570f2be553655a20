-- release.lua: give a claimed job back without changing the incident.
-- KEYS[1] jobs zset  KEYS[2] in-flight zset  KEYS[3] leases hash
-- ARGV: 1 member, 2 token, 3 due ms to run it again ('' = drop it),
--       4 'lt' for a chat job: a member re-queued meanwhile (a change while the job ran) is due
--         at once, 5 now ms (with 'lt'); otherwise due at ARGV[3], never later than it already is
-- Returns 1, or 0 when the lease was no longer this claim's (then nothing changes:
-- whoever holds it now decides).
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[4] == 'lt' then
  if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
    redis.call('ZADD', KEYS[1], 'LT', ARGV[5], ARGV[1])
  elseif ARGV[3] ~= '' then
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  end
elseif ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1

-- release.lua: give a claimed job back without changing the incident.
-- KEYS[1] jobs zset  KEYS[2] in-flight zset  KEYS[3] leases hash  KEYS[4] holds hash
-- KEYS[5] urgent zset (claim.lua: the index of KEYS[1]'s urgent jobs)
-- ARGV: 1 member, 2 token, 3 due ms to run it again ('' = drop it),
--       4 mode: '' plain: due at ARGV[3];
--               'lt' for a chat job: a member re-queued meanwhile (a change while the job ran) is due
--                 at once, otherwise due at ARGV[3];
--               'hold': due at ARGV[3] whatever a re-queue said, and held until then (claim.lua
--                 skips a held member: a 429's Retry-After wins over a state change's redraw),
--       5 now ms (with 'lt'),
--       6 "1" when the job was claimed urgent: given back due, it stays urgent
-- Returns 1, or 0 when the lease was no longer this claim's (then nothing changes:
-- whoever holds it now decides).
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[4] == 'hold' and ARGV[3] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
elseif ARGV[4] == 'lt' then
  if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
    redis.call('ZADD', KEYS[1], 'LT', ARGV[5], ARGV[1])
  elseif ARGV[3] ~= '' then
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  end
elseif ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  if ARGV[6] == '1' then
    redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
  end
else
  redis.call('ZREM', KEYS[5], ARGV[1])
end
return 1

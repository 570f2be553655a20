-- claimpage.lua: hand one incident's page job to the runner of the replica that
-- opened the incident, and read what its first decision needs, in one round trip.
-- KEYS[1] jobs zset  KEYS[2] in-flight zset  KEYS[3] leases hash  KEYS[4] holds hash
-- KEYS[5] urgent zset (as claim.lua's)
-- KEYS[6] the incident hash  KEYS[7] its static JSON  KEYS[8] its pending note
-- KEYS[9] its page record  KEYS[10] its paged-in people
-- ARGV: 1 the member ("page:<n>"), 2 now ms, 3 lease deadline ms, 4 token
-- Returns {} when the job is not this caller's to run now: not due (or not queued at all:
-- already claimed and run by another replica), in flight under someone's lease, or held.
-- Otherwise the job is claimed exactly as claim.lua's take() claims it, and the reply is
-- {due ms, urgent 0|1, the incident hash (flat), static JSON or false, pending note or false,
--  page record's #rev or false, its #at or false, the paged-in hash (flat)}.
local m = ARGV[1]
local now = tonumber(ARGV[2])
local due = redis.call('ZSCORE', KEYS[1], m)
if not due or tonumber(due) > now then
  return {}
end
if redis.call('ZSCORE', KEYS[2], m) then
  return {}
end
local hold = tonumber(redis.call('HGET', KEYS[4], m) or '')
if hold and hold > now then
  return {}
end
if hold then
  redis.call('HDEL', KEYS[4], m)
end
local u = redis.call('ZSCORE', KEYS[5], m)
local urgent = 0
if u and tonumber(u) <= now then
  urgent = 1
end
redis.call('ZREM', KEYS[1], m)
redis.call('ZREM', KEYS[5], m)
if u and urgent == 0 then
  -- urgent later than now: keep the entry as claim.lua would, for when it is given back
  redis.call('ZADD', KEYS[5], u, m)
end
redis.call('ZADD', KEYS[2], ARGV[3], m)
redis.call('HSET', KEYS[3], m, ARGV[4])
local pg = redis.call('HMGET', KEYS[9], '#rev', '#at')
return {due, urgent, redis.call('HGETALL', KEYS[6]), redis.call('GET', KEYS[7]), redis.call('GET', KEYS[8]),
  pg[1], pg[2], redis.call('HGETALL', KEYS[10])}

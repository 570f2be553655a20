-- acklease.lua: the owner's ack lease on one incident (incident/acklease.go), atomically.
-- KEYS[1] incident hash  KEYS[2] jobs zset
-- ARGV: 1 op (renew|back|begin|warned), 2 number, 3 now ms, 4 person, 5 base ms (begin, warned)
-- The incident hash keeps: lease_at (ms of the owner's latest sign of work,
-- renew), lease_warn (the lease base ms whose "still on it?" DM was sent,
-- warned), lease_wbeg (the lease base whose DM began to be sent, begin: a run
-- that finds it equal to the base and lease_warn not looks for the DM before
-- sending it again), lease_back (ms the owner handed the incident back, back). The
-- lease's deadlines derive from max(ack_at, lease_at): a renewal moves them
-- by writing lease_at; the "acktimeout:<n>" job, queued at or before the old
-- deadline, recomputes them when it runs and queues itself at the new one.
-- Renewing twice is renewing once (the later time wins).
-- Returns:
--   renew  → {'ok'} | {'not_found'} | {'not_acked'} | {'not_owner'}
--   back   → {'ok'} | {'not_found'} | {'not_acked'} | {'not_owner'}
--   begin, warned → {'ok'}
local op, n, now, p = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_found'}
end
if op == 'warned' then
  redis.call('HSET', KEYS[1], 'lease_warn', ARGV[5])
  return {'ok'}
end
if op == 'begin' then
  redis.call('HSET', KEYS[1], 'lease_wbeg', ARGV[5])
  return {'ok'}
end
local status, owner = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner'))
if status ~= 'acknowledged' then return {'not_acked'} end
if (owner or '') ~= p then return {'not_owner'} end
if op == 'renew' then
  local prev = tonumber(redis.call('HGET', KEYS[1], 'lease_at')) or 0
  if now > prev then redis.call('HSET', KEYS[1], 'lease_at', now) end
  return {'ok'}
end
if op == 'back' then
  redis.call('HSET', KEYS[1], 'lease_back', now)
  local member = 'acktimeout:' .. n
  redis.call('ZADD', KEYS[2], now, member)
  redis.call('ZADD', string.sub(KEYS[2], 1, -5) .. 'urgent', now, member)
  return {'ok'}
end
return redis.error_reply('acklease: unknown op ' .. op)

-- email.lua: the record of the email jobs ("email:<n>:<tag>", in the jobs zset).
-- KEYS[1] the incident's mail record hash  KEYS[2] jobs zset  KEYS[3] in-flight zset
-- KEYS[4] leases hash  KEYS[5] urgent zset (claim.lua's index of KEYS[2]'s urgent jobs)
-- ARGV: 1 op, 2 member, 3 token ('failed'), 4 due ms ('schedule', 'failed'), 5 record ttl ms
-- The record holds, per member: <member> → failed attempts so far, <member>#sent → "1".
--
-- 'schedule': queue the member due at ARGV[4], urgent, unless it was sent, is queued or
--             is in flight (a page job run again after a crash asks for the same email
--             again: it is not doubled). Returns 1 when queued, 0 when not.
-- 'sent':     mark the member sent: a run of the job after this finds it sent and only
--             records it. Returns 1.
-- 'failed':   when the lease is ARGV[3]'s, count one more failed attempt and give the
--             job back due at ARGV[4] (urgent). Returns the attempts, or -1 when the lease
--             was no longer this claim's (nothing changes).
local op, member = ARGV[1], ARGV[2]
if op == 'schedule' then
  if redis.call('HEXISTS', KEYS[1], member .. '#sent') == 1 then return 0 end
  if redis.call('ZSCORE', KEYS[3], member) then return 0 end
  if redis.call('ZSCORE', KEYS[2], member) then return 0 end
  redis.call('ZADD', KEYS[2], ARGV[4], member)
  redis.call('ZADD', KEYS[5], ARGV[4], member)
  return 1
elseif op == 'sent' then
  redis.call('HSET', KEYS[1], member .. '#sent', '1')
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
elseif op == 'failed' then
  if redis.call('HGET', KEYS[4], member) ~= ARGV[3] then return -1 end
  redis.call('ZREM', KEYS[3], member)
  redis.call('HDEL', KEYS[4], member)
  local n = redis.call('HINCRBY', KEYS[1], member, 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('ZADD', KEYS[2], ARGV[4], member)
  redis.call('ZADD', KEYS[5], ARGV[4], member)
  return n
end
return redis.error_reply('email.lua: unknown op ' .. tostring(op))

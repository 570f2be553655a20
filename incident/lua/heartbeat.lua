-- heartbeat.lua: a heartbeat monitor's beat, or its deadline, decided in one
-- atomic step against the last beat (Store.Beat, Store.CheckHeartbeat).
-- The store prepends lua/audit.lua and then open.lua's body, unchanged, as
--   local function open_one(KEYS, ARGV) <open.lua> end
-- so the incident of a missed heartbeat opens, and its recovery resolves it,
-- exactly as an alert through Open would (dedup, grouping, jobs due, audit).
-- KEYS[1] the heartbeat's hash {last = ms of the last beat, state = up|missed,
--         miss = the missed deadline ms (the alert's source time), n = the incident it opened,
--         svc = the service it was opened for (open.lua's ARGV[4]): a beat's recovery names it}
-- KEYS[2] jobs zset  KEYS[3] urgent zset  KEYS[4] in-flight zset  KEYS[5] leases hash
-- KEYS[6..] open.lua's KEYS for the heartbeat's alert
-- ARGV[1] op: 'beat' | 'check'
-- ARGV[2] now ms  ARGV[3] the window ms (interval + grace)  ARGV[4] the job member ("heartbeat:<name>")
-- ARGV[5] check: the claim's token
-- ARGV[6] check: the last beat ms the caller read and built the alert from ('' none)
-- ARGV[7] the index in open.lua's ARGV of the alert's source time
-- ARGV[8..] open.lua's ARGV: a beat's recovery, or a check's firing alert
-- Returns
--   beat:  {'up', last ms, due ms, open.lua's reply or false}
--   check: {'lost'}                       the lease is no longer this claim's: nothing changed
--          {'waiting'}                    no beat ever: the job is dropped
--          {'up', last ms, due ms}        a beat came since (or the window grew): due again then
--          {'retry'}                      missed, but the last beat is not ARGV[6]: nothing changed
--          {'missed', last ms, due ms, n} missed and opened already: the job is dropped
--          {'opened', last ms, due ms, open.lua's reply}
-- An open.lua refusal (the epoch marker changed) is returned before this
-- script writes anything, so it leaves everything as it was.
--
-- Why one script: a beat and the deadline race. Here they are ordered by
-- Redis: a check that runs first opens the incident and the beat resolves it;
-- a beat that runs first moves the deadline and the check opens nothing.
-- Either way no incident stays open after a beat.
local hb, jobs, urgent, inflight, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, window, member = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local okeys, oargs = {}, {}
for i = 6, #KEYS do okeys[#okeys + 1] = KEYS[i] end
for i = 8, #ARGV do oargs[#oargs + 1] = ARGV[i] end
local src_at = tonumber(ARGV[7])
local h = redis.call('HMGET', hb, 'last', 'state', 'miss', 'n')
local last = tonumber(h[1])

if ARGV[1] == 'beat' then
  -- A beat never goes back in time (replicas' clocks differ): the next
  -- deadline is after every recovery this heartbeat remembers, so its
  -- firing alert is never taken for one a recovery overtook.
  local b = now
  if last and last > b then b = last end
  local missed = h[2] == 'missed'
  if missed then
    -- The recovery's source time is not before the missed alert's, so it
    -- resolves it (at equal times the recovery wins; open.lua).
    local miss = tonumber(h[3]) or 0
    if miss > b then b = miss end
  end
  local res = false
  if missed then
    oargs[src_at] = tostring(b)
    res = open_one(okeys, oargs)
    if type(res) == 'table' and res.err then return res end
  end
  redis.call('HSET', hb, 'last', b, 'state', 'up')
  redis.call('HDEL', hb, 'miss', 'n', 'svc')
  local due = b + window
  redis.call('ZADD', jobs, due, member)
  redis.call('ZADD', urgent, due, member)
  return {'up', b, due, res}
end

-- check: the job's claim must still be this runner's.
if redis.call('HGET', leases, member) ~= ARGV[5] then
  return {'lost'}
end
local function done()
  redis.call('ZREM', inflight, member)
  redis.call('HDEL', leases, member)
end
if not last then
  done()
  return {'waiting'}
end
local due = last + window
if due > now then
  done()
  redis.call('ZADD', jobs, due, member)
  redis.call('ZADD', urgent, due, member)
  return {'up', last, due}
end
if h[2] == 'missed' then
  done()
  return {'missed', last, due, tonumber(h[4]) or 0}
end
if h[1] ~= ARGV[6] then
  -- The caller's alert names another last beat: it reads again, still
  -- holding the lease.
  return {'retry'}
end
oargs[src_at] = tostring(due)
local res = open_one(okeys, oargs)
if type(res) == 'table' and res.err then return res end
done()
redis.call('HSET', hb, 'state', 'missed', 'miss', due, 'n', res[1], 'svc', oargs[4])
return {'opened', last, due, res}

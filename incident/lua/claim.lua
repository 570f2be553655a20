-- claim.lua: hand due jobs to one runner, under a lease, urgent work first.
-- KEYS[1] jobs zset (member -> due ms)  KEYS[2] in-flight zset (member -> lease deadline ms)
-- KEYS[3] leases hash (member -> token of the claim that holds it)
-- KEYS[4] holds hash (member -> ms before which it is not claimed; release.lua 'hold')
-- KEYS[5] urgent zset (member -> ms from which it is urgent): the index of KEYS[1]'s urgent jobs
-- ARGV: 1 now ms, 2 lease deadline ms, 3 max jobs to claim, 4 token, 5 max expired leases to reclaim,
--       6 "1" for an exclusive queue (chat jobs): a member still in flight is not claimed a second
--         time; it waits until its lease deadline (its holder's release brings it forward),
--       7 "1" to claim urgent jobs first (the page queue); otherwise by due time alone,
--       8 the incidents' key prefix ("<prefix>{inc}:i:") to claim live incidents' jobs first (the
--         chat queue): see "Live first" below; "" for none
-- Returns {next ms or -1, reclaimed count, member1, due1, urgent1, member2, due2, urgent2, ...},
-- where next is the earlier of the first due time still waiting and the first lease deadline in
-- flight (a lease that runs out then makes its job due: the caller wakes at once instead of at
-- its next poll), and urgent is 1 for a job claimed as urgent, else 0.
--
-- A lease that ran out belongs to a runner that died or stalled: its job goes
-- back to the due set (at now, or earlier if a transition re-queued it
-- sooner), urgent because it is late already, and is claimed again here or by
-- another runner. The claimer's work is therefore at-least-once; the commit
-- script's revision check keeps a stale runner from overwriting what a newer
-- one decided.
--
-- Priorities. KEYS[1] is the truth of what is due; KEYS[5] only says which of
-- those jobs are urgent (first pages, escalations, acknowledgement timeouts)
-- and from when. Due urgent jobs are claimed before any other due job, however
-- long the others have waited (a backlog of re-pages). An entry of KEYS[5]
-- whose member is no longer in KEYS[1] (done, or dropped by a resolve) is
-- stale: removed here; one whose member is due later than the entry says
-- moves to that due time.
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[3])
local urgent_first = ARGV[7] == '1'
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('HDEL', KEYS[3], m)
  local cur = redis.call('ZSCORE', KEYS[1], m)
  if not cur or tonumber(cur) > now then
    redis.call('ZADD', KEYS[1], now, m)
  end
  if urgent_first then
    redis.call('ZADD', KEYS[5], now, m)
  end
end
local out = {-1, #expired}
local claimed = 0
local holds = redis.call('HLEN', KEYS[4]) > 0

-- take claims m, due at due, unless it is in flight (exclusive queue) or held.
local function take(m, due, urgent)
  local held = ARGV[6] == '1' and redis.call('ZSCORE', KEYS[2], m)
  local hold = holds and tonumber(redis.call('HGET', KEYS[4], m) or '')
  if held then
    -- Re-queued by a change while its job runs: one run at a time per
    -- member. Due again when the lease ends, unless the holder's release
    -- (release.lua, 'lt') makes it due at once.
    redis.call('ZADD', KEYS[1], held, m)
    return
  elseif hold and hold > now then
    -- Held (a 429's Retry-After): a re-queue due now, which a state change
    -- makes with ZADD LT, does not bring it forward. Due again when the
    -- hold ends.
    redis.call('ZADD', KEYS[1], hold, m)
    return
  end
  if hold then
    redis.call('HDEL', KEYS[4], m)
  end
  redis.call('ZREM', KEYS[1], m)
  if urgent_first then
    redis.call('ZREM', KEYS[5], m)
  end
  redis.call('ZADD', KEYS[2], ARGV[2], m)
  redis.call('HSET', KEYS[3], m, ARGV[4])
  out[#out + 1] = m
  out[#out + 1] = due
  out[#out + 1] = urgent
  claimed = claimed + 1
end

if urgent_first then
  -- Every pass removes each member it reads from KEYS[5] or moves it past
  -- now, so the loop ends.
  while claimed < max do
    local us = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, max - claimed)
    if #us == 0 then
      break
    end
    for _, m in ipairs(us) do
      local due = redis.call('ZSCORE', KEYS[1], m)
      redis.call('ZREM', KEYS[5], m)
      if due and tonumber(due) <= now then
        take(m, due, 1)
      elseif due then
        -- Given back for later (release.lua of a job a transition made
        -- urgent while it ran): urgent when it falls due.
        redis.call('ZADD', KEYS[5], due, m)
      end
    end
  end
end
-- Live first (the chat queue, ARGV[8]). A chat job "chat:<n>" of an
-- incident that is not resolved is live work (its channel, its card, the
-- redraws of what people act on); one of a resolved incident is catch-up
-- (its channel and card for the record, its settled redraws). Among the
-- first live_scan due jobs, the live ones are claimed first, by due time, so
-- a storm's resolved incidents waiting ahead in the queue do not hold back a
-- new incident's channel. The incident hash is in the same slot.
--
-- The due jobs are read a page at a time and the scan stops once enough are
-- claimed: a claim of a few jobs reads a few, not live_scan, however long the
-- queue. Every member take() is given leaves the due range (claimed, or moved
-- to its lease's or hold's end, both after now), so the next page starts
-- after the members skipped here (resolved incidents' jobs), which stay.
local live_scan = 512
local live_page = 16
if ARGV[8] and ARGV[8] ~= '' and claimed < max then
  local skipped, scanned = 0, 0
  while claimed < max and scanned < live_scan do
    local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', skipped, live_page)
    if #due == 0 then
      break
    end
    for i = 1, #due, 2 do
      if claimed >= max then
        break
      end
      scanned = scanned + 1
      local n = string.match(due[i], '^chat:(%d+)$')
      if n and redis.call('HGET', ARGV[8] .. n, 'status') ~= 'resolved' then
        take(due[i], due[i + 1], 0)
      else
        skipped = skipped + 1
      end
    end
  end
end
if claimed < max then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, max - claimed)
  for i = 1, #due, 2 do
    take(due[i], due[i + 1], 0)
  end
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nxt[2] then
  out[1] = nxt[2]
end
local lease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if lease[2] and (out[1] == -1 or tonumber(lease[2]) < tonumber(out[1])) then
  out[1] = lease[2]
end
return out

-- The Slack rate budget shared by baton's replicas (pacer.go, sharedBudget):
-- one GCRA limiter per Web API method, or per method and channel.
--
-- KEYS[1]  hash: tat (theoretical arrival time of the next call), blocked
--          (no call before this: a 429's Retry-After); unix microseconds
-- KEYS[2]  sorted set: ticket -> the send time reserved for it (unix µs)
-- KEYS[3]  sorted set: send times given up by a ticket that yields now (its
--          holder's incident was resolved): the next call that books without
--          yielding takes the earliest (member and score: the time, µs)
--
-- ARGV[1] = "r": reserve a send time.
--   ARGV[2] now, ARGV[3] interval, ARGV[4] tolerance (µs), ARGV[5] ticket
--   ("" for none), ARGV[6] max wait (µs; -1: unbounded), ARGV[7] how long
--   the keys outlive the last time they name (µs), ARGV[8] and ARGV[9] the
--   caller's own copy of tat and blocked (µs; 0: none), taken where later
--   than what is stored: what the caller has spent that Redis does not
--   hold (sends paced in memory while Redis did not answer, a Redis that
--   came back empty) is not spent again. ARGV[10] "1": the call yields
--   (bot.Pacing.Yield): unless a ticket holds a slot, it books only when
--   that leaves the next slot free now and no block holds; otherwise it is
--   deferred until then, booking and holding nothing; a yielding ticket
--   whose slot is further than the max wait gives it up (KEYS[3]) and is
--   treated so; a call that does not yield takes a slot given up before
--   booking a new one. ARGV[11] how long past
--   its time a held slot stays its ticket's (µs; pacer.go's lateFor).
--   Answers {wait µs, deferred 0|1, tat, blocked}: tat and blocked as stored
--   after the call, for the caller's copy (integer replies keep all 16
--   digits). A ticket holding a slot gets that slot, unless the slot is
--   more than ARGV[11] in the past (then it is void). Otherwise the next slot
--   is booked (after any block); when it is further than the max wait the
--   answer is deferred and, with a ticket, the slot is held for it.
-- ARGV[1] = "b": block until ARGV[3] (µs), now ARGV[2], keep ARGV[4] (µs).
--   Later slots start after it; every held slot is void. Answers 1.
--
-- Times are written with %.0f: a Lua number turned into a string by
-- redis.call keeps only 14 digits, and unix microseconds have 16.
local op = ARGV[1]
local now = tonumber(ARGV[2])
local function f(x) return string.format('%.0f', x) end
local function expire(horizon, keep)
  local ttl = math.max(horizon - now, 0) + keep
  redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000))
  redis.call('PEXPIRE', KEYS[2], math.ceil(ttl / 1000))
  redis.call('PEXPIRE', KEYS[3], math.ceil(ttl / 1000))
end

local st = redis.call('HMGET', KEYS[1], 'tat', 'blocked')
local tat = tonumber(st[1]) or now
local blocked = tonumber(st[2]) or 0

if op == 'b' then
  local untl = tonumber(ARGV[3])
  if untl > blocked then blocked = untl end
  if tat < untl then tat = untl end
  redis.call('HSET', KEYS[1], 'tat', f(tat), 'blocked', f(blocked))
  redis.call('DEL', KEYS[2], KEYS[3])
  expire(math.max(tat, blocked), tonumber(ARGV[4]))
  return 1
end

local interval = tonumber(ARGV[3])
local tolerance = tonumber(ARGV[4])
local ticket = ARGV[5]
local maxwait = tonumber(ARGV[6])
local keep = tonumber(ARGV[7])
local mytat = tonumber(ARGV[8]) or 0
local myblocked = tonumber(ARGV[9]) or 0
if mytat > tat then tat = mytat end
if myblocked > blocked then blocked = myblocked end

-- A held slot more than ARGV[11] past its time is void: its job came back
-- late (every replica restarted), and sending all the late ones now would
-- be a burst Slack refuses; the job books again at the current rate below.
-- Within it the slot is still its own (a runner a little late under load).
local late = tonumber(ARGV[11]) or interval
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. f(now - late))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. f(now - late))
local yield = ARGV[10] == '1'
if ticket ~= '' then
  local at = redis.call('ZSCORE', KEYS[2], ticket)
  if at then
    local d = tonumber(at) - now
    local deferred = 0
    if maxwait >= 0 and d > maxwait and yield then
      -- The ticket yields now (its incident was resolved since it
      -- booked): its slot is given up (KEYS[3]) to the next call that
      -- books without yielding, and it waits below as any yielding call.
      redis.call('ZREM', KEYS[2], ticket)
      redis.call('ZADD', KEYS[3], f(tonumber(at)), f(tonumber(at)))
    else
      if maxwait >= 0 and d > maxwait then
        deferred = 1
      else
        redis.call('ZREM', KEYS[2], ticket)
      end
      redis.call('HSET', KEYS[1], 'tat', f(tat), 'blocked', f(blocked))
      expire(math.max(tat, blocked), keep)
      return {d, deferred, tat, blocked}
    end
  end
end

if not yield then
  -- A slot given up by a yielding ticket is taken before a new one.
  local free = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if free[1] then
    redis.call('ZREM', KEYS[3], free[1])
    local at = tonumber(free[2])
    local d = at - now
    local deferred = 0
    if maxwait >= 0 and d > maxwait then
      deferred = 1
      if ticket ~= '' then
        redis.call('ZADD', KEYS[2], f(at), ticket)
      end
    end
    redis.call('HSET', KEYS[1], 'tat', f(tat), 'blocked', f(blocked))
    expire(math.max(tat, blocked), keep)
    return {d, deferred, tat, blocked}
  end
end

if yield then
  local last = tonumber(st[1]) or 0 -- nothing stored: nothing booked
  if mytat > last then last = mytat end
  local ready = last + interval - tolerance
  if ready < blocked then ready = blocked end
  if ready > now then
    return {ready - now, 1, tat, blocked}
  end
end

if tat < now then tat = now end
local at = tat - tolerance
if at < now then at = now end
if at < blocked then
  at = blocked
  tat = blocked + tolerance
end
tat = tat + interval
local d = at - now
local deferred = 0
if maxwait >= 0 and d > maxwait then
  deferred = 1
  if ticket ~= '' then
    redis.call('ZADD', KEYS[2], f(at), ticket)
  end
end
redis.call('HSET', KEYS[1], 'tat', f(tat), 'blocked', f(blocked))
expire(math.max(tat, blocked), keep)
return {d, deferred, tat, blocked}

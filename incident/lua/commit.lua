-- commit.lua: finish a claimed job by applying the escalation step it decided,
-- if the incident has not changed since the decision.
-- KEYS[1] incident hash  KEYS[2] timeline list  KEYS[3] jobs zset  KEYS[4] in-flight zset
-- KEYS[5] leases hash  KEYS[6] events stream  KEYS[7] dead-letter hash  KEYS[8] chat job zset
-- KEYS[9] pending escalation note (deleted once a step leaves no escalation pending:
--         the decision consumed it and its events carry the note)
-- KEYS[10] urgent zset (claim.lua: the index of KEYS[3]'s urgent jobs, by the ms from which
--         each is urgent)
-- ARGV: 1 number, 2 claimed member, 3 token, 4 expected rev, 5 now ms, 6 bump ("1": count as a transition),
--       7 nset, then nset pairs (field, value; an empty value deletes the field),
--       then nev, then nev groups of 8 (type, at ms, person, by, level, note, bundle, chats): decided events,
--       then nfact, then nfact groups of 8: facts (pages sent or given up; bundle names the message
--         a page went out in with others, '' for a page alone),
--       then nsched, then nsched triples (member, due ms, urgent-from ms: '' for routine work,
--         else the job is urgent from then on, and from its due time at the earliest),
--       then dead-letter field and JSON ('' and '' for none),
--       then the step's level, round, level_at ms, paged_at ms ('' for no step),
--       then the audit stream's retention ms and max entries
-- Returns 1 when applied; 0 when the incident is gone or its rev moved on
-- (an ack, resolve, assign, escalate or another runner's commit happened
-- meanwhile). Then the decision is void: nothing is set or rescheduled,
-- because that transition already queued whatever must happen next. What
-- did happen is still recorded, whole: when the step sent (or gave up) a
-- page, its decided events go to the timeline with its facts (an escalation
-- whose page went out is an escalation: never a "paged ... escalated" line
-- without its "escalated" line), merged by time with the events appended
-- since the decision (the ack that overtook it comes after the page that
-- went out before it); a step that sent nothing records nothing. And the
-- escalation position (level, round) moves forward to the step's if it is
-- ahead, so that an incident acknowledged while its page was being sent
-- remembers the level that was paged. A position never moves backwards,
-- so a stale runner cannot undo a newer one's escalation. A step that
-- another run of the same job committed (the hash's 'crev', the job member
-- and rev of the latest committed step, '<member>@<rev>', is this one's)
-- records nothing: that run recorded the same pages. (Other jobs' facts,
-- an email's, decided at the same rev, are recorded as before.)
local n = ARGV[1]
local member = ARGV[2]
if redis.call('HGET', KEYS[5], member) == ARGV[3] then
  redis.call('ZREM', KEYS[4], member)
  redis.call('HDEL', KEYS[5], member)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end

local i = 7
local function take(count, width)
  local from = i
  i = i + count * width
  return from
end
local nset = tonumber(ARGV[i]); i = i + 1
local set_at = take(nset, 2)
local nev = tonumber(ARGV[i]); i = i + 1
local ev_at = take(nev, 8)
local nfact = tonumber(ARGV[i]); i = i + 1
local fact_at = take(nfact, 8)
local nsched = tonumber(ARGV[i]); i = i + 1
local sched_at = take(nsched, 3)
local dead_field, dead_json = ARGV[i], ARGV[i + 1]
local step_level, step_round, step_level_at, step_paged_at = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
local audit_age, audit_max = ARGV[i + 6], ARGV[i + 7]
-- audit_with is lua/audit.lua's, prepended by the store.
local function audit(...) audit_with(KEYS[6], audit_age, audit_max, ...) end

local service = redis.call('HGET', KEYS[1], 'service') or ''

-- Re-pages fold: a "paged" event with note "repeat" (the owner again,
-- still unacknowledged) to the same person at the same level as the run of
-- re-pages in progress adds to that run's timeline entry (count: the
-- re-pages it stands for, from 1; last: the latest one's ms) instead of
-- appending one, so an incident paged all day
-- keeps one line per run. The hash field 'rpf' holds the run's entry index;
-- any other page (first, escalated, assigned, retriggered, fallback, to
-- someone else) is its own event and ends the run. Timelines only grow at
-- the end, so the index stays right. The audit stream still gets one entry
-- per page.
local function fold_repage(at, person, level)
  local idx = redis.call('HGET', KEYS[1], 'rpf')
  if not idx then return false end
  local raw = redis.call('LINDEX', KEYS[2], idx)
  if not raw then return false end
  local prev = cjson.decode(raw)
  if prev.type ~= 'paged' or prev.note ~= 'repeat' or prev.person ~= person or (prev.level or 0) ~= level then
    return false
  end
  prev.count = (prev.count or 1) + 1
  if at > (prev.last or prev.at) then prev.last = at end
  redis.call('LSET', KEYS[2], idx, cjson.encode(prev))
  return true
end

local function events(from, count)
  local j = from
  for _ = 1, count do
    local typ, at, person, by, level, note = ARGV[j], tonumber(ARGV[j + 1]), ARGV[j + 2], ARGV[j + 3], tonumber(ARGV[j + 4]), ARGV[j + 5]
    local bundle, chats = ARGV[j + 6], ARGV[j + 7]
    local repage = typ == 'paged' and note == 'repeat' and person ~= ''
    if not (repage and fold_repage(at, person, level)) then
      local ev = {type = typ, at = at, by = by}
      if person ~= '' then ev.person = person end
      if level ~= 0 then ev.level = level end
      if note ~= '' then ev.note = note end
      if bundle ~= '' then ev.bundle = bundle end
      if chats ~= '' then ev.chats = chats end
      if repage then ev.count = 1; ev.last = at end
      local len = redis.call('RPUSH', KEYS[2], cjson.encode(ev))
      if repage then
        redis.call('HSET', KEYS[1], 'rpf', len - 1)
      elseif typ == 'paged' then
        redis.call('HDEL', KEYS[1], 'rpf')
      end
    end
    audit('type', typ, 'n', n, 'at', at, 'by', by, 'person', person, 'level', level, 'service', service)
    j = j + 8
  end
end

-- The fields that hold a timeline index (a run folded in place: re-pages
-- here, recoveries and grouped alerts in open.lua).
local index_fields = {'rpf', 'arfi', 'gpfi'}

-- insert_step records a stale step's decided events and facts merged by
-- time into the timeline's tail: the entries after the step's earliest
-- event (at most 200 of them, the events since the decision) are taken off
-- and put back in time order with the step's, each step event its own
-- entry; the index fields are moved with the entries they name, and 'rpf'
-- follows the last "paged" entry of the merged part. With no such entries
-- the step's events are appended (a re-page folds) as an applied step's.
local function insert_step()
  local step = {}
  local function collect(from, count)
    local j = from
    for _ = 1, count do
      step[#step + 1] = j
      j = j + 8 -- an event's 8 fields, as events() reads them
    end
  end
  collect(ev_at, nev)
  collect(fact_at, nfact)
  -- stable sort by time (insertion sort: a step has a few events)
  for a = 2, #step do
    local v = step[a]
    local b = a - 1
    while b >= 1 and tonumber(ARGV[step[b] + 1]) > tonumber(ARGV[v + 1]) do
      step[b + 1] = step[b]
      b = b - 1
    end
    step[b + 1] = v
  end
  local first = tonumber(ARGV[step[1] + 1])
  local len = redis.call('LLEN', KEYS[2])
  local keep = len -- entries [0, keep) stay where they are
  local tail = {}
  while keep > 0 and len - keep < 200 do
    local raw = redis.call('LINDEX', KEYS[2], keep - 1)
    local ok, ev = pcall(cjson.decode, raw)
    if not ok or type(ev) ~= 'table' or tonumber(ev.at or 0) <= first then break end
    table.insert(tail, 1, raw)
    keep = keep - 1
  end
  if #tail == 0 then
    -- nothing came after the step: appended as an applied step's are
    events(ev_at, nev)
    events(fact_at, nfact)
    return
  end
  if keep == 0 then
    redis.call('DEL', KEYS[2])
  else
    redis.call('LTRIM', KEYS[2], 0, keep - 1)
  end
  local moved = {}
  for _, f in ipairs(index_fields) do
    local idx = tonumber(redis.call('HGET', KEYS[1], f))
    if idx and idx >= keep then moved[f] = idx - keep + 1 end
  end
  local t, si = 1, 1
  local last_paged
  while t <= #tail or si <= #step do
    local take_step = si <= #step
    if take_step and t <= #tail then
      take_step = tonumber(ARGV[step[si] + 1]) <= tonumber(cjson.decode(tail[t]).at)
    end
    local pos
    if take_step then
      local j = step[si]
      local typ, at, person, by, level, note, bundle = ARGV[j], tonumber(ARGV[j + 1]), ARGV[j + 2], ARGV[j + 3], tonumber(ARGV[j + 4]), ARGV[j + 5], ARGV[j + 6]
      local chats = ARGV[j + 7]
      local ev = {type = typ, at = at, by = by}
      if person ~= '' then ev.person = person end
      if level ~= 0 then ev.level = level end
      if note ~= '' then ev.note = note end
      if bundle ~= '' then ev.bundle = bundle end
      if chats ~= '' then ev.chats = chats end
      if typ == 'paged' and note == 'repeat' and person ~= '' then ev.count = 1; ev.last = at end
      pos = redis.call('RPUSH', KEYS[2], cjson.encode(ev)) - 1
      if typ == 'paged' then last_paged = {pos, note == 'repeat' and person ~= ''} end
      audit('type', typ, 'n', n, 'at', at, 'by', by, 'person', person, 'level', level, 'service', service)
      si = si + 1
    else
      pos = redis.call('RPUSH', KEYS[2], tail[t]) - 1
      for f, old in pairs(moved) do
        if old == t then redis.call('HSET', KEYS[1], f, pos) end
      end
      local ev = cjson.decode(tail[t])
      if ev.type == 'paged' then last_paged = {pos, ev.count ~= nil} end
      t = t + 1
    end
  end
  if last_paged then
    if last_paged[2] then
      redis.call('HSET', KEYS[1], 'rpf', last_paged[1])
    else
      redis.call('HDEL', KEYS[1], 'rpf')
    end
  end
end

local rev = redis.call('HGET', KEYS[1], 'rev') or '0'
if rev ~= ARGV[4] then
  if nfact > 0 and redis.call('HGET', KEYS[1], 'crev') ~= member .. '@' .. ARGV[4] then
    insert_step()
  end
  if step_level ~= '' then
    local cur_level, cur_round = unpack(redis.call('HMGET', KEYS[1], 'level', 'round'))
    cur_level, cur_round = tonumber(cur_level) or 0, tonumber(cur_round) or 0
    local l, r = tonumber(step_level), tonumber(step_round)
    if r > cur_round or (r == cur_round and l > cur_level) then
      redis.call('HSET', KEYS[1], 'level', l, 'round', r)
      redis.call('ZADD', KEYS[8], 'LT', ARGV[5], 'chat:' .. n)
      if step_level_at ~= '' then redis.call('HSET', KEYS[1], 'level_at', step_level_at) end
      if step_paged_at ~= '' then redis.call('HSET', KEYS[1], 'paged_at', step_paged_at) end
    end
  end
  if dead_field ~= '' then
    redis.call('HSET', KEYS[7], dead_field, dead_json)
  end
  return 0
end

for j = set_at, set_at + 2 * (nset - 1), 2 do
  local f, v = ARGV[j], ARGV[j + 1]
  if v == '' then
    redis.call('HDEL', KEYS[1], f)
  else
    redis.call('HSET', KEYS[1], f, v)
  end
end
if ARGV[6] == '1' then
  redis.call('HINCRBY', KEYS[1], 'rev', 1)
  redis.call('HSET', KEYS[1], 'crev', member .. '@' .. ARGV[4])
  if redis.call('HGET', KEYS[1], 'pend') ~= 'escalate' then
    redis.call('DEL', KEYS[9])
  end
  -- The card shows owner and level: redraw it (chat.go).
  redis.call('ZADD', KEYS[8], 'LT', ARGV[5], 'chat:' .. n)
end
events(ev_at, nev)
events(fact_at, nfact)
-- A step that made someone paged into the incident its owner ends their
-- page-in (lua/pageinend.lua): they are paged as the owner now.
end_pagein(KEYS[1], KEYS[3], n, redis.call('HGET', KEYS[1], 'owner'), ARGV[5], 'owns the incident', audit)
for j = sched_at, sched_at + 3 * (nsched - 1), 3 do
  local m, due, urgent = ARGV[j], ARGV[j + 1], ARGV[j + 2]
  redis.call('ZADD', KEYS[3], due, m)
  if urgent == '' then
    redis.call('ZREM', KEYS[10], m)
  else
    redis.call('ZADD', KEYS[10], math.max(tonumber(due), tonumber(urgent)), m)
  end
end
if dead_field ~= '' then
  redis.call('HSET', KEYS[7], dead_field, dead_json)
end
return 1

-- transition.lua: ack, resolve, assign, escalate and note on one incident, atomically.
-- KEYS[1] incident hash  KEYS[2] timeline list  KEYS[3] open zset  KEYS[4] jobs zset
-- KEYS[5] events stream  KEYS[6] dedup hash  KEYS[7] resolved zset
-- KEYS[8] pending escalation note (string)
-- KEYS[9] a grouped incident's alerts still firing (hash: dedup digest -> source time ms)
-- ARGV: 1 op (ack|resolve|assign|escalate|note), 2 number, 3 now ms, 4 by, 5 person (assign target),
--       6 note (already cut to incident.MaxNote), 7 ack timeout ms (ack only; 0 = none),
--       8 audit retention ms, 9 audit max entries
-- Returns {err_code, status, owner}; err_code "" on success, else
-- not_found | already_resolved | already_acknowledged | same_owner, or
-- {'held', window id, until ms} for an assign or escalate of a held incident.
--
-- Every op but note increments 'rev': the escalation runner decides on a
-- snapshot of the incident and commits only if 'rev' is unchanged, so any
-- transition here makes a decision in flight void. 'pend' tells the next
-- page job why it runs (assign, escalate); ack and resolve clear it. The note
-- of a manual escalation waits in KEYS[8] for the page job, which writes it
-- on the escalated event (commit.lua deletes it); a transition that overtakes
-- the escalation writes it as a note event by whoever asked, so it is kept.
local op = ARGV[1]
local n = ARGV[2]
local now = tonumber(ARGV[3])
local by = ARGV[4]
-- audit_with is lua/audit.lua's, prepended by the store.
local function audit(...) audit_with(KEYS[5], ARGV[8], ARGV[9], ...) end

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_found', '', ''}
end
local status, owner, service, dk = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner', 'service', 'dk'))
owner = owner or ''

local function event(typ, person, note)
  local ev = {type = typ, at = now, by = by}
  if person ~= '' then ev.person = person end
  if note ~= '' then ev.note = note end
  redis.call('RPUSH', KEYS[2], cjson.encode(ev))
  audit('type', typ, 'n', n, 'at', now, 'by', by, 'person', person, 'service', service)
end

-- A pending escalation's note that the page job did not get to write.
local function flush_pending_note()
  local pn = redis.call('GET', KEYS[8])
  if not pn then return end
  local pby = redis.call('HGET', KEYS[1], 'pend_by') or ''
  local ev = {type = 'note', at = now, by = pby, note = pn}
  redis.call('RPUSH', KEYS[2], cjson.encode(ev))
  audit('type', 'note', 'n', n, 'at', now, 'by', pby, 'person', '', 'service', service)
  redis.call('DEL', KEYS[8])
end

-- The index of urgent jobs (incident/lua/claim.lua) sits beside KEYS[4], in
-- the same slot. Every job a transition queues is urgent: a new owner's page,
-- an escalation, an acknowledgement timeout.
local urgentq = string.sub(KEYS[4], 1, -5) .. 'urgent'

local function cancel_escalation()
  redis.call('ZREM', KEYS[4], 'page:' .. n, 'escalate:' .. n, 'acktimeout:' .. n)
  redis.call('ZREM', urgentq, 'page:' .. n, 'acktimeout:' .. n)
end

local function queue_urgent(at, member)
  redis.call('ZADD', KEYS[4], at, member)
  redis.call('ZADD', urgentq, at, member)
end

local function bump()
  redis.call('HINCRBY', KEYS[1], 'rev', 1)
end

-- Hash values stay under 64 bytes (listpack encoding); ids are far shorter.
-- The cut backs off to the start of a UTF-8 sequence (a byte 10xxxxxx
-- continues one), as internal/text.FitBytes does on the Go side.
local function short(s)
  if #s <= 63 then
    return s
  end
  local cut = 63
  while cut > 0 do
    local b = string.byte(s, cut + 1)
    if b < 0x80 or b >= 0xC0 then
      break
    end
    cut = cut - 1
  end
  return string.sub(s, 1, cut)
end

-- Every change is mirrored in chat: the incident's chat job (incident/chat.go,
-- a zset beside KEYS[4] in the same slot) is due now, never later than it was.
local function redraw()
  redis.call('ZADD', string.sub(KEYS[4], 1, -5) .. 'chat', 'LT', now, 'chat:' .. n)
end

if op == 'note' then
  event('note', '', ARGV[6])
  redraw()
  return {'', status, owner}
end

if status == 'resolved' then
  return {'already_resolved', status, owner}
end

if op == 'ack' then
  if status == 'acknowledged' then
    return {'already_acknowledged', status, owner}
  end
  -- The first acknowledgement is what MTTA measures; a later one (after a
  -- re-trigger) does not move it. 'ack_at' is the latest, for the ack timeout.
  if not redis.call('HGET', KEYS[1], 'acknowledged') then
    redis.call('HSET', KEYS[1], 'acknowledged', now)
  end
  flush_pending_note()
  redis.call('HSET', KEYS[1], 'status', 'acknowledged', 'owner', by, 'ack_at', now)
  redis.call('HDEL', KEYS[1], 'pend', 'pend_by', 'pf')
  bump()
  cancel_escalation()
  local timeout = tonumber(ARGV[7]) or 0
  if timeout > 0 then
    queue_urgent(now + timeout, 'acktimeout:' .. n)
  end
  event('acknowledged', by, ARGV[6])
  end_pagein(KEYS[1], KEYS[4], n, by, now, 'owns the incident', audit)
  redraw()
  return {'', 'acknowledged', by}
end

if op == 'resolve' then
  flush_pending_note()
  redis.call('HSET', KEYS[1], 'status', 'resolved', 'resolved', now)
  if owner == '' then redis.call('HSET', KEYS[1], 'owner', by) end
  redis.call('HDEL', KEYS[1], 'pend', 'pend_by', 'pf')
  bump()
  redis.call('ZREM', KEYS[3], n)
  redis.call('ZADD', KEYS[7], now, n)
  -- Only drop the dedup entry if it still points at this incident.
  if redis.call('HGET', KEYS[6], dk) == n then
    redis.call('HDEL', KEYS[6], dk)
  end
  -- So does every alert grouped into it (open.lua): the next one opens a
  -- new incident.
  for _, m in ipairs(redis.call('HKEYS', KEYS[9])) do
    if redis.call('HGET', KEYS[6], m) == n then
      redis.call('HDEL', KEYS[6], m)
    end
  end
  redis.call('DEL', KEYS[9])
  cancel_escalation()
  event('resolved', '', ARGV[6])
  redraw()
  return {'', 'resolved', owner}
end

-- An incident held by a maintenance window has no channel and pages nobody
-- until the window ends: an assignment or an escalation (each pages
-- someone) is refused, naming the window (incident/maintenance.go).
if op == 'assign' or op == 'escalate' then
  local mw = redis.call('HGET', KEYS[1], 'held')
  if mw then
    local untl = redis.call('HGET', string.sub(KEYS[4], 1, -5) .. 'mw:w:' .. mw, 'until') or '0'
    return {'held', mw, untl}
  end
end

if op == 'assign' then
  local to = ARGV[5]
  if to == owner then
    return {'same_owner', status, owner}
  end
  -- As in PagerDuty, a reassigned incident is triggered again for its new
  -- owner, who is paged now; the page job decides whom from the owner field.
  flush_pending_note()
  redis.call('HSET', KEYS[1], 'owner', to, 'status', 'triggered', 'pend', 'assign', 'pend_by', short(by))
  redis.call('HDEL', KEYS[1], 'pf')
  bump()
  cancel_escalation()
  queue_urgent(now, 'page:' .. n)
  event('reassigned', to, ARGV[6])
  end_pagein(KEYS[1], KEYS[4], n, to, now, 'owns the incident', audit)
  redraw()
  return {'', 'triggered', to}
end

if op == 'escalate' then
  -- A manual escalation moves the incident up a level now, acknowledged or
  -- not. The page job does the moving (it knows the policy and who is on
  -- call) and writes the 'escalated' event with 'by' from pend_by and the
  -- note from KEYS[8].
  flush_pending_note()
  redis.call('HSET', KEYS[1], 'status', 'triggered', 'pend', 'escalate', 'pend_by', short(by))
  if ARGV[6] ~= '' then
    redis.call('SET', KEYS[8], ARGV[6])
  end
  redis.call('HDEL', KEYS[1], 'pf')
  bump()
  cancel_escalation()
  queue_urgent(now, 'page:' .. n)
  redraw()
  return {'', 'triggered', owner}
end

return redis.error_reply('unknown op ' .. op)

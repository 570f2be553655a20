-- open.lua: store one alert atomically.
-- KEYS[1] seq  KEYS[2] dedup hash  KEYS[3] open zset  KEYS[4] jobs zset  KEYS[5] events stream
-- KEYS[6] resolved zset  KEYS[7] delivery marker (used only when ARGV[15] is "1")
-- KEYS[8] recovery memory of this (service, dedup key): a hash {at = the recovery's source
--         time ms, n = the incident it resolved or 0, superseded = count, noted = ms}
-- ARGV: 1 incident key base ("<prefix>{inc}:i:"), 2 dedup field, 3 now ms,
--       4 service, 5 static json (title, source, dedup key, links, details; written once), 6 severity,
--       7 source, 8 dedup digest, 9 alert status, 10 audit retention ms, 11 audit max entries, 12 repeat note interval ms, 13 first job member prefix ("page:"),
--       14 delivery marker ttl ms, 15 "1" when the alert carries a delivery id,
--       16 the alert's source time ms (when the source says the state changed), 17 recovery memory ttl ms,
--       18 the epoch marker the caller knows ("" when it checks none),
--       19 the number floor: a new incident's number is above it even if the counter went back
--          (Redis lost its latest writes); "0" or absent: none (Store.WithNumberFloor)
-- KEYS[9] the epoch marker: when ARGV[18] is set and KEYS[9] does not hold it (missing: Redis
--         lost its data; another: someone found that out first), nothing is stored and the
--         reply is an error "EPOCH …" (Store.WithEpoch), so no incident number is issued twice.
-- KEYS[10] the grouping index of this alert's group, "<prefix>{inc}:g:<digest>" (a string: the
--          incident alerts of the group join), used only when ARGV[20] > 0
-- ARGV[20] the service's grouping window ms ("0": the alert is not grouped; incident/grouping.go)
-- ARGV[21] optional: the alert's sealed raw payload and its TTL, "<ttl ms> <received ms> <envelope>"
--          ("" or absent: none): "<received ms> <envelope>" is pushed with the alert onto
--          "<base><n>:raw" (newest first, at most 50) of the incident the alert reached, which
--          expires the TTL after (Store.WithSealTTL)
-- Also enqueues the incident's chat job ("chat:<n>", in the zset named like KEYS[4] with
-- "chat" for "jobs"): due now when created or resolved, due now unless already waiting on a repeat.
-- Returns {number, created(1/0), alert_count, status, outcome}, and for
-- "superseded_by_recovery" a sixth element, the remembered recovery's source time ms;
-- a duplicate delivery returns the number, count and status of the incident its first delivery reached.
-- outcome: "created" | "repeated" | "resolved" | "no_open_incident" | "duplicate_delivery"
--          | "superseded_by_recovery" | "stale_recovery" | "grouped" | "alert_recovered"
-- The incident hash keeps the latest source time of its firing alerts (src, ms)
-- so that a recovery older than it (from an earlier flap, arriving late) does
-- not resolve it: "stale_recovery". An incident stored before src existed has none (0).
if ARGV[18] and ARGV[18] ~= '' and redis.call('GET', KEYS[9]) ~= ARGV[18] then
  return redis.error_reply('EPOCH the epoch marker is not the one the caller knows')
end
local base = ARGV[1]
-- audit_with is lua/audit.lua's, prepended by the store.
local function audit(...) audit_with(KEYS[5], ARGV[10], ARGV[11], ...) end
-- A redelivered message (same SNS MessageId) has one effect: the marker is
-- written in the same step as the effect, so a failed attempt leaves no marker.
if ARGV[15] == '1' then
  local prev = redis.call('GET', KEYS[7])
  if prev then
    -- Answer with the incident the first delivery reached, as it is now
    -- (0 when that delivery was a recovery with nothing open).
    local got = {0, ''}
    if prev ~= '0' then
      got = redis.call('HMGET', base .. prev, 'alert_count', 'status')
    end
    return {tonumber(prev), 0, tonumber(got[1]) or 0, got[2] or '', 'duplicate_delivery'}
  end
end
local function mark(n)
  if ARGV[15] == '1' then
    redis.call('SET', KEYS[7], n, 'PX', ARGV[14])
  end
  if ARGV[21] and ARGV[21] ~= '' and tonumber(n) ~= 0 then
    local ttl, entry = string.match(ARGV[21], '^(%d+) (.*)$')
    local raw = base .. n .. ':raw'
    redis.call('LPUSH', raw, entry)
    redis.call('LTRIM', raw, 0, 49)
    redis.call('PEXPIRE', raw, ttl)
    redis.call('HSET', base .. n, 'sealed', 1)
  end
end
local field = ARGV[2]
local now = tonumber(ARGV[3])
local existing = redis.call('HGET', KEYS[2], field)

local function event(n, typ, by, note)
  local ev = cjson.encode({type = typ, at = now, by = by, note = note})
  redis.call('RPUSH', base .. n .. ':t', ev)
  audit('type', typ, 'n', n, 'at', now, 'by', by, 'service', ARGV[4])
end

local rank = {critical = 3, warning = 2, info = 1}

-- A run of grouped alerts (or of their recoveries) within a minute is one
-- timeline entry with a count and the last time, as commit.lua folds
-- re-pages; the hash keeps the run's entry index (<f>i) and its start (<f>t).
-- Timelines only grow at the end, so the index stays right. The audit
-- stream gets one entry per alert.
local function fold(n, typ, f, note)
  local key = base .. n
  local tl = key .. ':t'
  audit('type', typ, 'n', n, 'at', now, 'by', ARGV[7], 'service', ARGV[4])
  local h = redis.call('HMGET', key, f .. 'i', f .. 't')
  local idx, t = tonumber(h[1]), tonumber(h[2])
  if idx and t and now - t < tonumber(ARGV[12]) then
    local raw = redis.call('LINDEX', tl, idx)
    if raw then
      local ev = cjson.decode(raw)
      if ev.type == typ then
        ev.count = (ev.count or 1) + 1
        if now > (ev.last or ev.at) then ev.last = now end
        ev.note = note
        redis.call('LSET', tl, idx, cjson.encode(ev))
        return
      end
    end
  end
  local len = redis.call('RPUSH', tl, cjson.encode({type = typ, at = now, by = ARGV[7], note = note, count = 1, last = now}))
  redis.call('HSET', key, f .. 'i', len - 1, f .. 't', now)
end

-- The chat job queue (incident/chat.go) sits beside the jobs zset, in the same slot.
local chatq = string.sub(KEYS[4], 1, -5) .. 'chat'
-- So does the index of urgent jobs (incident/lua/claim.lua).
local urgentq = string.sub(KEYS[4], 1, -5) .. 'urgent'

-- Maintenance windows (incident/maintenance.go) live in the same slot:
-- "mw:s:<service>" names the service's active window, "mw:w:<id>" is the
-- window's hash (until ms, alerts), "mw:h:<id>" the set of incidents it
-- holds. A new incident of a service whose window is active is held: stored
-- and deduplicated, but no page job and no chat job; lua/maintenance.lua
-- queues both when the window ends. A held incident keeps 'held' = the id.
local mwslot = string.sub(KEYS[4], 1, -5) .. 'mw:'
local function window_of(service)
  local id = redis.call('GET', mwslot .. 's:' .. service)
  if not id then return nil end
  local u = tonumber(redis.call('HGET', mwslot .. 'w:' .. id, 'until') or '0') or 0
  if u > now then return id end
  return nil
end
-- held(n, recovery): the window holding incident n ("" when none); an alert
-- reaching a held incident is counted on its window: a firing one in its
-- 'alerts', a recovery in its 'recoveries' and, by incident, in
-- mw:rc:<id> (the summary counts alerts without them: a source's recovery
-- is not an alert that arrived).
local function held(n, recovery)
  local id = redis.call('HGET', base .. n, 'held')
  if id then
    if recovery then
      redis.call('HINCRBY', mwslot .. 'w:' .. id, 'recoveries', 1)
      redis.call('HINCRBY', mwslot .. 'rc:' .. id, n, 1)
    else
      redis.call('HINCRBY', mwslot .. 'w:' .. id, 'alerts', 1)
    end
    return id
  end
  return ''
end


-- A recovery is remembered for a while with its source time, so that a firing
-- alert it overtook on the way (older at the source, later to arrive) opens
-- nothing. The newest recovery wins; each recovery restarts the hour.
local src = tonumber(ARGV[16])
local function remember(n)
  local prev = redis.call('HMGET', KEYS[8], 'at', 'n')
  local at = ARGV[16]
  if prev[1] and tonumber(prev[1]) > src then at = prev[1] end
  if n == 0 and prev[2] then n = prev[2] end
  redis.call('HSET', KEYS[8], 'at', at, 'n', n)
  redis.call('PEXPIRE', KEYS[8], ARGV[17])
end

if ARGV[9] == 'resolved' then
  -- A recovery strictly older at the source than the open incident's latest
  -- firing alert is from an earlier flap: counted and audited, the incident
  -- stays open, and it is not remembered (the firing state is newer).
  -- Equal times: the recovery wins.
  if existing then
    local key = base .. existing
    -- An alert of a grouped incident is judged by its own latest firing.
    local fraw = redis.call('HGET', key .. ':m', field) or redis.call('HGET', key, 'src') or '0'
    local fsrc = tonumber(fraw) or 0
    if src < fsrc then
      local count = redis.call('HINCRBY', key, 'alert_count', 1)
      redis.call('HSET', key, 'last_seen', now)
      held(existing, true)
      audit('type', 'stale_recovery', 'n', existing, 'at', now, 'by', ARGV[7],
        'service', ARGV[4], 'source_time', ARGV[16], 'firing_at', fraw)
      mark(existing)
      return {tonumber(existing), 0, count, redis.call('HGET', key, 'status'), 'stale_recovery'}
    end
  end
  remember(existing or 0)
  if not existing then
    mark(0)
    return {0, 0, 0, '', 'no_open_incident'}
  end
  local key = base .. existing
  local count = redis.call('HINCRBY', key, 'alert_count', 1)
  -- One alert of a grouped incident recovered while others still fire: its
  -- own dedup entry goes, the incident stays as it is. The last one's
  -- recovery resolves it below.
  local members = key .. ':m'
  if redis.call('HEXISTS', members, field) == 1 then
    redis.call('HDEL', members, field)
    local left = redis.call('HLEN', members)
    if left > 0 then
      redis.call('HDEL', KEYS[2], field)
      redis.call('HSET', key, 'last_seen', now)
      fold(existing, 'alert_recovered', 'arf', left .. ' still firing')
      if held(existing, true) == '' then
        redis.call('ZADD', chatq, 'NX', now, 'chat:' .. existing)
      end
      mark(existing)
      return {tonumber(existing), 0, count, redis.call('HGET', key, 'status'), 'alert_recovered'}
    end
  end
  redis.call('DEL', members)
  -- A pending escalation's note that its page job did not get to write is
  -- kept as a note by whoever asked (as transition.lua's flush_pending_note).
  local pn = redis.call('GET', key .. ':pn')
  if pn then
    local pby = redis.call('HGET', key, 'pend_by') or ''
    event(existing, 'note', pby, pn)
    redis.call('DEL', key .. ':pn')
  end
  redis.call('HSET', key, 'status', 'resolved', 'resolved', now, 'last_seen', now)
  -- A resolve like any other: void escalation decisions in flight (see transition.lua).
  redis.call('HDEL', key, 'pend', 'pend_by', 'pf')
  redis.call('HINCRBY', key, 'rev', 1)
  redis.call('ZREM', KEYS[3], existing)
  redis.call('ZADD', KEYS[6], now, existing)
  redis.call('HDEL', KEYS[2], field)
  redis.call('ZREM', KEYS[4], 'page:' .. existing, 'escalate:' .. existing, 'acktimeout:' .. existing)
  redis.call('ZREM', urgentq, 'page:' .. existing, 'acktimeout:' .. existing)
  -- A held incident never reached chat: its recovery posts nothing now;
  -- the window's summary counts it.
  if held(existing, true) == '' then
    redis.call('ZADD', chatq, 'LT', now, 'chat:' .. existing)
  end
  event(existing, 'resolved', ARGV[7], 'recovered at the source')
  mark(existing)
  return {tonumber(existing), 0, count, 'resolved', 'resolved'}
end

-- A firing alert no newer at the source than a remembered recovery is over
-- already: it is counted and audited (one stream entry a minute per key, so a
-- storm of stale alerts does not grow the stream) but opens and pages nothing.
local rec = redis.call('HMGET', KEYS[8], 'at', 'n', 'noted')
if rec[1] and src <= tonumber(rec[1]) then
  local rn = tonumber(rec[2]) or 0
  local count = redis.call('HINCRBY', KEYS[8], 'superseded', 1)
  if now - (tonumber(rec[3]) or 0) >= tonumber(ARGV[12]) then
    redis.call('HSET', KEYS[8], 'noted', now)
    audit('type', 'superseded_by_recovery', 'n', rn, 'at', now, 'by', ARGV[7],
      'service', ARGV[4], 'source_time', ARGV[16], 'recovered_at', rec[1], 'count', count)
  end
  mark(rn)
  local st = ''
  if rn > 0 then st = 'resolved' end
  return {rn, 0, 0, st, 'superseded_by_recovery', tonumber(rec[1])}
end

if existing then
  local key = base .. existing
  local count = redis.call('HINCRBY', key, 'alert_count', 1)
  redis.call('HSET', key, 'last_seen', now)
  local fsrc = tonumber(redis.call('HGET', key, 'src') or '0') or 0
  if src > fsrc then
    redis.call('HSET', key, 'src', ARGV[16])
  end
  local msrc = redis.call('HGET', key .. ':m', field)
  if msrc and src > tonumber(msrc) then
    redis.call('HSET', key .. ':m', field, ARGV[16])
  end
  local sev = redis.call('HGET', key, 'severity')
  if (rank[ARGV[6]] or 0) > (rank[sev] or 0) then
    redis.call('HSET', key, 'severity', ARGV[6])
  end
  -- A storm of repeats is one timeline line a minute, not one per alert.
  local last = tonumber(redis.call('HGET', key, 'repeat_noted') or '0')
  if now - last >= tonumber(ARGV[12]) then
    redis.call('HSET', key, 'repeat_noted', now)
    event(existing, 'repeated', ARGV[7], 'alert count ' .. count)
  end
  -- NX: a chat job already waiting (a thread reply throttled to once a
  -- minute) keeps its time, so a storm of repeats is one chat job.
  if held(existing) == '' then
    redis.call('ZADD', chatq, 'NX', now, 'chat:' .. existing)
  end
  local status = redis.call('HGET', key, 'status')
  mark(existing)
  return {tonumber(existing), 0, count, status, 'repeated'}
end

-- Grouping: a firing alert with a new dedup key joins the incident its
-- group's index names while that incident is triggered and opened less than
-- the window ago. Its own dedup entry points at the incident, so the same
-- alert again is a repeat there, and the incident keeps which of its alerts
-- still fire (i:<n>:m, each with its latest source time) so a recovery
-- resolves only its own part.
local window = tonumber(ARGV[20] or '0') or 0
if window > 0 then
  local g = redis.call('GET', KEYS[10])
  if g then
    local key = base .. g
    local st, created = unpack(redis.call('HMGET', key, 'status', 'created'))
    if st == 'triggered' and now - (tonumber(created) or 0) < window then
      local members = key .. ':m'
      if redis.call('EXISTS', members) == 0 then
        local first = redis.call('HMGET', key, 'dk', 'src')
        redis.call('HSET', members, first[1], first[2] or '0')
      end
      redis.call('HSET', members, field, ARGV[16])
      redis.call('HSET', KEYS[2], field, g)
      local count = redis.call('HINCRBY', key, 'alert_count', 1)
      redis.call('HINCRBY', key, 'grouped', 1)
      redis.call('HSET', key, 'last_seen', now)
      local fsrc = tonumber(redis.call('HGET', key, 'src') or '0') or 0
      if src > fsrc then
        redis.call('HSET', key, 'src', ARGV[16])
      end
      local sev = redis.call('HGET', key, 'severity')
      if (rank[ARGV[6]] or 0) > (rank[sev] or 0) then
        redis.call('HSET', key, 'severity', ARGV[6])
      end
      fold(g, 'grouped', 'gpf', 'alert count ' .. count)
      -- NX, as a repeat: the thread line waits for the reply interval.
      if held(g) == '' then
        redis.call('ZADD', chatq, 'NX', now, 'chat:' .. g)
      end
      mark(g)
      return {tonumber(g), 0, count, st, 'grouped'}
    end
  end
end

local floor = tonumber(ARGV[19] or '0') or 0
if floor > 0 and (tonumber(redis.call('GET', KEYS[1]) or '0') or 0) < floor then
  redis.call('SET', KEYS[1], floor)
end
local n = redis.call('INCR', KEYS[1])
local key = base .. n
-- Every hash value stays under 64 bytes so Redis keeps the hash as a compact
-- listpack; long, write-once text lives in the ':s' string beside it.
redis.call('HSET', key,
  'service', ARGV[4], 'severity', ARGV[6], 'dk', ARGV[8],
  'status', 'triggered', 'level', 0, 'alert_count', 1,
  'first_seen', now, 'last_seen', now, 'created', now, 'repeat_noted', now, 'src', ARGV[16])
redis.call('SET', key .. ':s', ARGV[5])
redis.call('HSET', KEYS[2], field, n)
redis.call('ZADD', KEYS[3], now, n)
local mw = window_of(ARGV[4])
if mw then
  -- Held by the service's maintenance window: no page, no channel until it ends.
  redis.call('HSET', key, 'held', mw)
  redis.call('SADD', mwslot .. 'h:' .. mw, n)
  redis.call('HINCRBY', mwslot .. 'w:' .. mw, 'alerts', 1)
else
  redis.call('ZADD', KEYS[4], now, ARGV[13] .. n)
  redis.call('ZADD', urgentq, now, ARGV[13] .. n) -- a first page: claimed before re-pages
  redis.call('ZADD', chatq, now, 'chat:' .. n)
end
if window > 0 then
  -- The group's index names the newest incident of the group; it lives as
  -- long as the incident takes alerts.
  redis.call('SET', KEYS[10], n, 'PX', window)
end
event(n, 'opened', ARGV[7], '')
if mw then
  event(n, 'held', 'baton', 'maintenance ' .. mw)
end
mark(n)
return {n, 1, 1, 'triggered', 'created'}

-- coalesce.lua: several firing alerts of one (service, dedup key), gathered from
-- concurrent Open calls by the batcher (incident/batch.go), stored in ONE script
-- call, with each alert's own answer. The store prepends lua/audit.lua and then
-- open.lua's body, unchanged, as
--   local function open_one(KEYS, ARGV) <open.lua> end
-- The result is exactly that of open_one run once per alert, in order (each alert
-- sees the ones before it): the alerts that are plain repeats of the open incident
-- (no delivery id seen before, not older at the source than a remembered
-- recovery) are applied together as open.lua's repeat branch would apply them one
-- by one (count, last seen, source time, severity, the "repeated" line at most a
-- minute, the chat job, the maintenance window's count, delivery markers, sealed
-- payloads); every other alert (the first of a key with nothing open, a delivery id
-- already seen, before or inside the call, a superseded one) is run through
-- open_one itself, after the repeats before it were applied.
-- KEYS[1..10] open.lua's KEYS of the first alert; KEYS[10+i] alert i's delivery marker.
-- ARGV[1] the number of alerts m; ARGV[2..22] open.lua's ARGV 1..21 of the first
-- alert (21: "" for no sealed payload); then for alert i (1..m), 6 values at
-- 22+6(i-1)+1..6: its now ms, its static json ("": the previous alert's), its
-- severity, its source time ms, "1" when it carries a delivery id, its sealed
-- payload argument ("" none). Everything else is the same for every alert (the
-- batcher merges only calls whose other KEYS and ARGV are equal).
-- Returns one open.lua reply per alert, in order; the epoch check is the first
-- alert's, before anything is written, so a refusal stores nothing.
local m = tonumber(ARGV[1])
local common, ck = {}, {}
for j = 1, 21 do common[j] = ARGV[1 + j] end
for j = 1, 10 do ck[j] = KEYS[j] end
if common[18] and common[18] ~= '' and redis.call('GET', ck[9]) ~= common[18] then
  return redis.error_reply('EPOCH the epoch marker is not the one the caller knows')
end
-- alert i's own open.lua KEYS and ARGV
local blobs = {}
local function per(i)
  local o = 22 + 6 * (i - 1)
  local a = {}
  for j = 1, 21 do a[j] = common[j] end
  a[3], a[6], a[16], a[15], a[21] = ARGV[o + 1], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5], ARGV[o + 6]
  a[5] = blobs[i]
  local k = {}
  for j = 1, 10 do k[j] = ck[j] end
  k[7] = KEYS[10 + i]
  return k, a
end
for i = 1, m do
  local b = ARGV[22 + 6 * (i - 1) + 2]
  if b == '' then b = blobs[i - 1] end
  blobs[i] = b
end

local base, field = common[1], common[2]
local rank = {critical = 3, warning = 2, info = 1}
local chatq = string.sub(ck[4], 1, -5) .. 'chat'
local mwslot = string.sub(ck[4], 1, -5) .. 'mw:'
local recovered = tonumber(redis.call('HGET', ck[8], 'at') or '')
local out = {}
local run = {}
local existing = redis.call('HGET', ck[2], field)

-- apply the pending run of plain repeats of incident existing, as open.lua's
-- repeat branch does once per alert
local function flush()
  local r = #run
  if r == 0 then return end
  local key = base .. existing
  local count = redis.call('HINCRBY', key, 'alert_count', r) - r
  local h = redis.call('HMGET', key, 'src', 'severity', 'repeat_noted', 'held', 'status')
  local fsrc, sev, last = tonumber(h[1] or '0') or 0, h[2], tonumber(h[3] or '0') or 0
  local msrc = redis.call('HGET', key .. ':m', field)
  local noted, raised, maxsrc, maxsrcs, lastnow = false, false, -1, nil, nil
  local seals = {}
  for j, i in ipairs(run) do
    local o = 22 + 6 * (i - 1)
    local now, s = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 4])
    lastnow = ARGV[o + 1]
    if s > maxsrc then maxsrc, maxsrcs = s, ARGV[o + 4] end
    if (rank[ARGV[o + 3]] or 0) > (rank[sev] or 0) then sev, raised = ARGV[o + 3], true end
    if now - last >= tonumber(common[12]) then
      last, noted = now, true
      local ev = cjson.encode({type = 'repeated', at = now, by = common[7], note = 'alert count ' .. (count + j)})
      redis.call('RPUSH', key .. ':t', ev)
      audit_with(ck[5], common[10], common[11], 'type', 'repeated', 'n', existing, 'at', now, 'by', common[7], 'service', common[4])
    end
    if ARGV[o + 5] == '1' then
      redis.call('SET', KEYS[10 + i], existing, 'PX', common[14])
    end
    if ARGV[o + 6] ~= '' then seals[#seals + 1] = ARGV[o + 6] end
    out[i] = {tonumber(existing), 0, count + j, h[5], 'repeated'}
  end
  redis.call('HSET', key, 'last_seen', lastnow)
  if maxsrc > fsrc then redis.call('HSET', key, 'src', maxsrcs) end
  if msrc and maxsrc > tonumber(msrc) then redis.call('HSET', key .. ':m', field, maxsrcs) end
  if raised then redis.call('HSET', key, 'severity', sev) end
  if noted then redis.call('HSET', key, 'repeat_noted', last) end
  if h[4] then
    redis.call('HINCRBY', mwslot .. 'w:' .. h[4], 'alerts', r)
  else
    redis.call('ZADD', chatq, 'NX', ARGV[22 + 6 * (run[1] - 1) + 1], 'chat:' .. existing)
  end
  -- The newest 50 are all a list of at most 50 keeps.
  if #seals > 0 then
    local raw = base .. existing .. ':raw'
    local from = math.max(1, #seals - 49)
    local ttl
    for j = from, #seals do
      local t, entry = string.match(seals[j], '^(%d+) (.*)$')
      ttl = t
      redis.call('LPUSH', raw, entry)
    end
    redis.call('LTRIM', raw, 0, 49)
    redis.call('PEXPIRE', raw, ttl)
    redis.call('HSET', key, 'sealed', 1)
  end
  run = {}
end

local seen = {}
for i = 1, m do
  local o = 22 + 6 * (i - 1)
  local id = ARGV[o + 5] == '1'
  local plain = existing and not (recovered and tonumber(ARGV[o + 4]) <= recovered)
  if plain and id then
    plain = not seen[KEYS[10 + i]] and redis.call('EXISTS', KEYS[10 + i]) == 0
  end
  if plain then
    run[#run + 1] = i
    if id then seen[KEYS[10 + i]] = true end
  else
    flush()
    local k, a = per(i)
    local r = open_one(k, a)
    if type(r) == 'table' and r.err then return r end
    out[i] = r
    existing = redis.call('HGET', ck[2], field)
  end
end
flush()
return out

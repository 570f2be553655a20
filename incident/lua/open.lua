-- open.lua: store one alert atomically.
-- KEYS[1] seq  KEYS[2] dedup hash  KEYS[3] open zset  KEYS[4] jobs zset  KEYS[5] events stream
-- KEYS[6] resolved zset
-- ARGV: 1 incident key base ("<prefix>{inc}:i:"), 2 dedup field, 3 now ms,
--       4 service, 5 title, 6 severity, 7 source, 8 dedup key, 9 alert status,
--       10 links json, 11 details json, 12 repeat note interval ms, 13 first job member prefix ("page:")
-- Returns {number, created(1/0), alert_count, status, outcome}
-- outcome: "created" | "repeated" | "resolved" | "no_open_incident"
local base = ARGV[1]
local field = ARGV[2]
local now = tonumber(ARGV[3])
local existing = redis.call('HGET', KEYS[2], field)

local function event(n, typ, by, note)
  local ev = cjson.encode({type = typ, at = now, by = by, note = note})
  redis.call('RPUSH', base .. n .. ':t', ev)
  redis.call('XADD', KEYS[5], '*', 'type', typ, 'n', n, 'at', now, 'by', by, 'service', ARGV[4])
end

local rank = {critical = 3, warning = 2, info = 1}

if ARGV[9] == 'resolved' then
  if not existing then
    return {0, 0, 0, '', 'no_open_incident'}
  end
  local key = base .. existing
  local count = redis.call('HINCRBY', key, 'alert_count', 1)
  redis.call('HSET', key, 'status', 'resolved', 'resolved', now, 'last_seen', now)
  redis.call('ZREM', KEYS[3], existing)
  redis.call('ZADD', KEYS[6], now, existing)
  redis.call('HDEL', KEYS[2], field)
  redis.call('ZREM', KEYS[4], 'page:' .. existing, 'escalate:' .. existing, 'acktimeout:' .. existing)
  event(existing, 'resolved', ARGV[7], 'recovered at the source')
  return {tonumber(existing), 0, count, 'resolved', 'resolved'}
end

if existing then
  local key = base .. existing
  local count = redis.call('HINCRBY', key, 'alert_count', 1)
  redis.call('HSET', key, 'last_seen', now)
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
  local status = redis.call('HGET', key, 'status')
  return {tonumber(existing), 0, count, status, 'repeated'}
end

local n = redis.call('INCR', KEYS[1])
local key = base .. n
redis.call('HSET', key,
  'service', ARGV[4], 'title', ARGV[5], 'severity', ARGV[6], 'source', ARGV[7],
  'dedup_key', ARGV[8], 'status', 'triggered', 'level', 0, 'alert_count', 1,
  'first_seen', now, 'last_seen', now, 'created', now, 'repeat_noted', now,
  'links', ARGV[10], 'details', ARGV[11])
redis.call('HSET', KEYS[2], field, n)
redis.call('ZADD', KEYS[3], now, n)
redis.call('ZADD', KEYS[4], now, ARGV[13] .. n)
event(n, 'opened', ARGV[7], '')
return {n, 1, 1, 'triggered', 'created'}

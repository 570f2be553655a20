-- maintenance.lua: start and end a service's maintenance window, atomically
-- (incident/maintenance.go). audit.lua is prepended by the store.
-- KEYS[1] jobs zset  KEYS[2] events stream; every other key is in their slot
-- and named from KEYS[1]: <slot>mw:seq (ids), <slot>mw:all (zset of active
-- windows by until), <slot>mw:s:<service> (the service's active window id),
-- <slot>mw:w:<id> (the window's hash), <slot>mw:h:<id> (set of the incidents
-- it holds; open.lua adds to it), <slot>i:<n> (incidents), <slot>open,
-- <slot>urgent, <slot>chat.
-- ARGV: 1 op (start|end|posted), 2 now ms, 3 audit retention ms, 4 audit max entries,
--   start: 5 service, 6 until ms, 7 by, 8 reason, 9 "1" when longer than the bound was allowed,
--          10 ms an ended window's hash is kept
--          → {'ok', id} | {'active', id, until ms}
--   end:   5 id, 6 by ("" when its due job ends it), 7 ms an ended window's hash is kept
--          → {'ok', summary json} | {'ended', summary json, posted} | {'not_found'} | {'early', until ms}
--   posted: 5 id → {'ok'}
local slot = string.sub(KEYS[1], 1, -5)
local mw = slot .. 'mw:'
local op = ARGV[1]
local now = tonumber(ARGV[2])
local function audit(...) audit_with(KEYS[2], ARGV[3], ARGV[4], ...) end
local job = function(id) return 'maintenance:' .. id end

-- Redraw the cards of the service's open incidents (they show the window).
local function redraw(service)
  for _, n in ipairs(redis.call('ZRANGE', slot .. 'open', 0, -1)) do
    if redis.call('HGET', slot .. 'i:' .. n, 'service') == service then
      if not redis.call('HGET', slot .. 'i:' .. n, 'held') then
        redis.call('ZADD', slot .. 'chat', 'LT', now, 'chat:' .. n)
      end
    end
  end
end

if op == 'start' then
  local service, untl, by, reason = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
  local cur = redis.call('GET', mw .. 's:' .. service)
  if cur then
    local w = redis.call('HMGET', mw .. 'w:' .. cur, 'until', 'state')
    if w[2] == 'active' then
      return {'active', cur, w[1]}
    end
  end
  local id = 'mw-' .. redis.call('INCR', mw .. 'seq')
  redis.call('HSET', mw .. 'w:' .. id, 'id', id, 'service', service, 'from', now, 'until', untl,
    'by', by, 'reason', reason, 'long', ARGV[9], 'state', 'active', 'alerts', 0)
  redis.call('SET', mw .. 's:' .. service, id)
  redis.call('ZADD', mw .. 'all', untl, id)
  redis.call('ZADD', KEYS[1], untl, job(id))
  redis.call('ZADD', slot .. 'urgent', untl, job(id))
  audit('type', 'maintenance_started', 'n', 0, 'at', now, 'by', by, 'service', service,
    'window', id, 'until', untl, 'reason', reason, 'long', ARGV[9])
  redraw(service)
  return {'ok', id}
end

local id = ARGV[5]
local wk = mw .. 'w:' .. id
if redis.call('EXISTS', wk) == 0 then
  return {'not_found'}
end

if op == 'posted' then
  redis.call('HSET', wk, 'posted', now)
  return {'ok'}
end

-- op == 'end'
local by = ARGV[6]
local w = redis.call('HGETALL', wk)
local h = {}
for i = 1, #w, 2 do h[w[i]] = w[i + 1] end
if h.state ~= 'active' then
  return {'ended', h.summary or '', h.posted or ''}
end
if by == '' and tonumber(h['until']) > now then
  return {'early', h['until']}
end
local service = h.service
redis.call('HSET', wk, 'state', 'ended', 'ended', now, 'ended_by', by)
if redis.call('GET', mw .. 's:' .. service) == id then
  redis.call('DEL', mw .. 's:' .. service)
end
redis.call('ZREM', mw .. 'all', id)
-- Release what it held: an incident still open pages and opens its channel
-- now, as if it had just arrived; one a recovery resolved meanwhile is only
-- counted in the summary.
local list = {}
local members = redis.call('SMEMBERS', mw .. 'h:' .. id)
table.sort(members, function(a, b) return tonumber(a) < tonumber(b) end)
for _, n in ipairs(members) do
  local key = slot .. 'i:' .. n
  local st, count = unpack(redis.call('HMGET', key, 'status', 'alert_count'))
  if st then
    redis.call('HDEL', key, 'held')
    if st ~= 'resolved' then
      redis.call('ZADD', KEYS[1], now, 'page:' .. n)
      redis.call('ZADD', slot .. 'urgent', now, 'page:' .. n)
      redis.call('ZADD', slot .. 'chat', now, 'chat:' .. n)
      redis.call('HINCRBY', key, 'rev', 1)
      local ev = cjson.encode({type = 'released', at = now, by = 'baton', note = 'maintenance ' .. id .. ' ended'})
      redis.call('RPUSH', key .. ':t', ev)
    end
    -- Its alerts are those that fired: a recovery (open.lua counts it in
    -- alert_count) is not an alert that arrived.
    local rc = tonumber(redis.call('HGET', mw .. 'rc:' .. id, n) or '0') or 0
    table.insert(list, {n = tonumber(n), alerts = math.max((tonumber(count) or 0) - rc, 0), status = st})
  end
end
redis.call('DEL', mw .. 'h:' .. id, mw .. 'rc:' .. id)
local summary = cjson.encode({
  id = id, service = service, from = tonumber(h.from), ['until'] = tonumber(h['until']), ended = now,
  by = h.by, ended_by = by, reason = h.reason, long = h.long == '1', alerts = tonumber(h.alerts) or 0,
  incidents = list,
})
redis.call('HSET', wk, 'summary', summary)
redis.call('PEXPIRE', wk, ARGV[7])
-- The summary is posted by the window's job: due now when a person ended it
-- early (the job was waiting for until); when the job itself ends it, it
-- goes on to post.
if by ~= '' then
  redis.call('ZADD', KEYS[1], now, job(id))
  redis.call('ZADD', slot .. 'urgent', now, job(id))
end
audit('type', 'maintenance_ended', 'n', 0, 'at', now, 'by', by, 'service', service,
  'window', id, 'alerts', tonumber(h.alerts) or 0, 'incidents', #list)
redraw(service)
return {'ok', summary}

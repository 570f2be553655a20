-- pagein.lua: a person paged into an incident (incident/pagein.go), atomically.
-- audit.lua is prepended by the store.
-- KEYS[1] incident hash  KEYS[2] timeline  KEYS[3] page-ins hash ("<incident>:pi")
-- KEYS[4] jobs zset  KEYS[5] events stream
-- ARGV: 1 op (add|begin|sent|ack|failed), 2 number, 3 now ms, 4 person, 5 audit retention ms,
--       6 audit max entries, 7 by (add), 8 reason (add) or the page's count (sent)
-- The page-ins hash has, per person p: p = paged|acked, p:by, p:why, p:k (pages
-- sent), p:at (ms of the latest), p:s (the count of a page begun and not yet
-- recorded sent), p:ack (ms of the acknowledgement). p = failed when their page
-- could not be delivered (op failed, ARGV[8] the note); paging them in again
-- starts over.
-- Returns:
--   add   → {'ok'} | {'not_found'} | {'already_resolved'} | {'owner'} | {'held', window, until ms}
--   begin → {'send', count, unknown (1: a page of this count began and its outcome
--            went unrecorded), service, status, owner} | {'stop', why}
--   sent  → {'ok'}
--   ack   → {'ok'} | {'not_found'} | {'not_paged'} | {'already_acked'} | {'resolved'}
--   failed → {'ok'} | {'not_found'} | {'not_paged'}
local op, n, now, p = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local function audit(...) audit_with(KEYS[5], ARGV[5], ARGV[6], ...) end
local slot = string.sub(KEYS[4], 1, -5)
local member = 'pagein:' .. n .. ':' .. p

if redis.call('EXISTS', KEYS[1]) == 0 then
  if op == 'begin' then return {'stop', 'gone'} end
  return {'not_found'}
end
local status, owner, service = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner', 'service'))
owner = owner or ''

local function event(typ, by, note)
  local ev = {type = typ, at = now, by = by, person = p}
  if note ~= '' then ev.note = note end
  redis.call('RPUSH', KEYS[2], cjson.encode(ev))
  audit('type', typ, 'n', n, 'at', now, 'by', by, 'person', p, 'service', service)
end

if op == 'add' then
  if status == 'resolved' then return {'already_resolved'} end
  if owner == p then return {'owner'} end
  -- Held by a maintenance window: no channel, nobody paged until it ends.
  local mw = redis.call('HGET', KEYS[1], 'held')
  if mw then
    return {'held', mw, redis.call('HGET', slot .. 'mw:w:' .. mw, 'until') or '0'}
  end
  -- Already paged in and not acknowledged: the request is a repeat (a
  -- double click, a retry, another replica): nothing changes, nobody is
  -- paged again.
  if redis.call('HGET', KEYS[3], p) == 'paged' then return {'ok'} end
  redis.call('HSET', KEYS[3], p, 'paged', p .. ':by', ARGV[7], p .. ':why', ARGV[8], p .. ':k', 0)
  redis.call('HDEL', KEYS[3], p .. ':s', p .. ':ack', p .. ':at')
  event('paged_in', ARGV[7], ARGV[8])
  redis.call('ZADD', KEYS[4], now, member)
  redis.call('ZADD', slot .. 'urgent', now, member)
  redis.call('ZADD', slot .. 'chat', 'LT', now, 'chat:' .. n)
  return {'ok'}
end

if op == 'begin' then
  if status == 'resolved' then return {'stop', 'resolved'} end
  local st, k, s = unpack(redis.call('HMGET', KEYS[3], p, p .. ':k', p .. ':s'))
  if st ~= 'paged' then return {'stop', st or 'not_paged'} end
  -- They own the incident now (however they came to): paged as its owner.
  if end_pagein(KEYS[1], KEYS[4], n, owner, now, 'owns the incident', audit) and owner == p then
    return {'stop', 'owner'}
  end
  local next = (tonumber(k) or 0) + 1
  local unknown = 0
  if tonumber(s) == next then unknown = 1 end
  redis.call('HSET', KEYS[3], p .. ':s', next)
  return {'send', next, unknown, service or '', status, owner}
end

if op == 'sent' then
  local k = tonumber(ARGV[8])
  if (tonumber(redis.call('HGET', KEYS[3], p .. ':k')) or 0) < k then
    redis.call('HSET', KEYS[3], p .. ':k', k, p .. ':at', now)
  end
  if tonumber(redis.call('HGET', KEYS[3], p .. ':s')) == k then
    redis.call('HDEL', KEYS[3], p .. ':s')
  end
  audit('type', 'paged_in_page', 'n', n, 'at', now, 'by', 'baton', 'person', p, 'service', service, 'count', k)
  return {'ok'}
end

if op == 'failed' then
  -- The person's page-in could not be delivered: it stops (a page_failed
  -- event says why; the runner posted it in the fallback channel).
  if redis.call('HGET', KEYS[3], p) ~= 'paged' then return {'not_paged'} end
  redis.call('HSET', KEYS[3], p, 'failed')
  redis.call('HDEL', KEYS[3], p .. ':s')
  event('page_failed', 'baton', ARGV[8])
  redis.call('ZREM', KEYS[4], member)
  redis.call('ZREM', slot .. 'urgent', member)
  redis.call('ZADD', slot .. 'chat', 'LT', now, 'chat:' .. n)
  return {'ok'}
end

-- op == 'ack'
local st = redis.call('HGET', KEYS[3], p)
if st == 'acked' then return {'already_acked'} end
-- Resolving the incident stopped the page-in: an old button or reaction
-- is told so, not that they were never paged in.
if st == 'paged' and status == 'resolved' then return {'resolved'} end
if st ~= 'paged' then return {'not_paged'} end
redis.call('HSET', KEYS[3], p, 'acked', p .. ':ack', now)
redis.call('HDEL', KEYS[3], p .. ':s')
event('page_acknowledged', p, '')
redis.call('ZREM', KEYS[4], member)
redis.call('ZREM', slot .. 'urgent', member)
redis.call('ZADD', slot .. 'chat', 'LT', now, 'chat:' .. n)
return {'ok'}

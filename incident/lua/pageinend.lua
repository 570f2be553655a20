-- pageinend.lua: end_pagein, prepended (after audit.lua) to the scripts in
-- which a person comes to own an incident (transition.lua's ack and assign,
-- commit.lua's escalation step) and to pagein.lua. A person who owns the
-- incident is paged as its owner: their page-in, if still pending, ends as
-- acknowledged (a page_acknowledged event with note), its job goes, and
-- their page-in reminders stop. inc is the incident's hash key (its
-- timeline is inc..':t', its page-ins inc..':pi'), jobs the jobs zset,
-- audit the caller's audit function. Returns true when it ended one.
local function end_pagein(inc, jobs, n, p, now, note, audit)
  if p == nil or p == false or p == '' then return false end
  local pik = inc .. ':pi'
  if redis.call('HGET', pik, p) ~= 'paged' then return false end
  redis.call('HSET', pik, p, 'acked', p .. ':ack', now)
  redis.call('HDEL', pik, p .. ':s')
  local member = 'pagein:' .. n .. ':' .. p
  redis.call('ZREM', jobs, member)
  redis.call('ZREM', string.sub(jobs, 1, -5) .. 'urgent', member)
  redis.call('RPUSH', inc .. ':t', cjson.encode({type = 'page_acknowledged', at = tonumber(now), by = p, person = p, note = note}))
  audit('type', 'page_acknowledged', 'n', n, 'at', now, 'by', p, 'person', p)
  return true
end
